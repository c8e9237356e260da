//! `chibo serve` over TLS and mutual TLS, with certificates made in the test: which clients get
//! through (the CLI with --ca, --cert and --key, and a tonic client), which are refused and how
//! (plaintext, another CA, a client certificate from another CA), and that a server never
//! listens beyond loopback without TLS.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use chibo_proto::v1::ledger_client::LedgerClient;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use crate::harness::{cell, is_checkpoint, read_all, Fixture, Server, CHIBO};

/// A CA, and the files of what it signs.
struct Ca {
    certificate: rcgen::Certificate,
    key: KeyPair,
    /// Its certificate's PEM file.
    pem: PathBuf,
}

/// A certificate and its key, as PEM files.
struct Issued {
    cert: PathBuf,
    key: PathBuf,
}

impl Ca {
    /// A CA named `name`, its certificate written to `dir/{file}.pem`.
    fn new(dir: &Path, name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let certificate = params.self_signed(&key).unwrap();
        let pem = dir.join(format!("{}.pem", name.replace(' ', "-")));
        std::fs::write(&pem, certificate.pem()).unwrap();
        Ca { certificate, key, pem }
    }

    /// A certificate for `names` (DNS names or IP addresses), written to `dir/{file}.pem` and
    /// `dir/{file}.key`.
    fn issue(&self, dir: &Path, file: &str, names: &[&str]) -> Issued {
        let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        params.distinguished_name.push(DnType::CommonName, file);
        let key = KeyPair::generate().unwrap();
        let certificate = params.signed_by(&key, &self.certificate, &self.key).unwrap();
        let issued = Issued { cert: dir.join(format!("{file}.pem")), key: dir.join(format!("{file}.key")) };
        std::fs::write(&issued.cert, certificate.pem()).unwrap();
        std::fs::write(&issued.key, key.serialize_pem()).unwrap();
        issued
    }
}

/// Everything a test needs: the CA, the server's certificate for 127.0.0.1 and localhost, a
/// client certificate from the CA, and another CA with a client certificate of its own.
struct Pki {
    dir: tempfile::TempDir,
    ca: Ca,
    server: Issued,
    client: Issued,
    other_ca: Ca,
    other_client: Issued,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new(dir.path(), "chibo test CA");
        let server = ca.issue(dir.path(), "server", &["127.0.0.1", "localhost"]);
        let client = ca.issue(dir.path(), "client", &["recorder.tan-hoa"]);
        let other_ca = Ca::new(dir.path(), "another CA");
        let other_client = other_ca.issue(dir.path(), "other-client", &["recorder.tan-hoa"]);
        Pki { dir, ca, server, client, other_ca, other_client }
    }

    /// `serve` flags for TLS with the server's certificate.
    fn serve_flags(&self) -> Vec<String> {
        vec!["--tls-cert".into(), path(&self.server.cert), "--tls-key".into(), path(&self.server.key)]
    }

    /// `serve` flags for TLS that asks for client certificates from the CA.
    fn mutual_flags(&self) -> Vec<String> {
        let mut flags = self.serve_flags();
        flags.extend(["--client-ca".into(), path(&self.ca.pem)]);
        flags
    }
}

fn path(p: &Path) -> String {
    p.to_str().unwrap().to_owned()
}

fn start(data: &Path, flags: &[String]) -> Server {
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    Server::start_with(data, &flags)
}

/// Runs `chibo args…`; fails the test if it has not finished within 30 s (a client that hangs
/// is a failure as much as one that gets through).
fn chibo_within_30s(args: &[&str]) -> Output {
    let mut child = Command::new(CHIBO)
        .args(args)
        .env("CHIBO_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the chibo binary runs");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("chibo {args:?} still running after 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `chibo read --server URL [flags]` of the province's stream, off the async runtime.
async fn cli_read(url: &str, flags: &[String]) -> Output {
    let mut args = vec!["read".to_owned(), "--server".into(), url.into(), "--stream".into(), "org-ca-mau".into()];
    args.extend_from_slice(flags);
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        chibo_within_30s(&args)
    })
    .await
    .unwrap()
}

/// The README's example province (`org-ca-mau`), and a district under it (`org-dam-doi`).
const PROVINCE: (&str, &str) = ("org-ca-mau", "1a-province.json");
const DISTRICT: (&str, &str) = ("org-dam-doi", "1b-district.json");

/// `chibo submit` of an example to its stream, off the async runtime.
async fn cli_submit(url: &str, (stream, file): (&str, &str), flags: &[String]) -> Output {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ops/examples").join(file);
    let mut args = vec!["submit".to_owned(), "--server".into(), url.into(), "--stream".into(), stream.into()];
    args.extend_from_slice(flags);
    args.push(path(&example));
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        chibo_within_30s(&args)
    })
    .await
    .unwrap()
}

/// A Ledger client over TLS trusting `ca`, presenting `identity` if given; the error as text.
async fn tls_client(url: &str, ca: &Path, identity: Option<&Issued>) -> Result<LedgerClient<Channel>, String> {
    let mut config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(std::fs::read(ca).unwrap()));
    if let Some(issued) = identity {
        config = config
            .identity(Identity::from_pem(std::fs::read(&issued.cert).unwrap(), std::fs::read(&issued.key).unwrap()));
    }
    let endpoint = Channel::from_shared(url.to_owned()).unwrap().tls_config(config).unwrap();
    let channel = tokio::time::timeout(Duration::from_secs(10), endpoint.connect())
        .await
        .map_err(|_| "no connection within 10 s".to_owned())?
        .map_err(|e| format!("{e:?}"))?;
    Ok(LedgerClient::new(channel))
}

/// How many events a ReadAll over `client` returns within 10 s (the server's own checkpoints
/// aside); the error as text.
async fn reads(client: &mut LedgerClient<Channel>) -> Result<usize, String> {
    let request = chibo_proto::v1::ReadAllRequest { after_position: None, max_count: 0 };
    let call = async {
        let mut stream = client.read_all(request).await.map_err(|e| format!("{e:?}"))?.into_inner();
        let mut n = 0;
        while let Some(event) = stream.message().await.map_err(|e| format!("{e:?}"))? {
            n += usize::from(!is_checkpoint(&event));
        }
        Ok(n)
    };
    tokio::time::timeout(Duration::from_secs(10), call).await.unwrap_or_else(|_| Err("no answer within 10 s".into()))
}

#[tokio::test]
async fn clients_trusting_the_ca_submit_and_read_over_tls() {
    let pki = Pki::new();
    let data = pki.dir.path().join("data");
    let server = start(&data, &pki.serve_flags());
    assert!(server.url.starts_with("https://127.0.0.1:"), "the announce line says tls=on: {}", server.url);
    let ca = vec!["--ca".to_owned(), path(&pki.ca.pem)];

    let submitted = cli_submit(&server.url, PROVINCE, &ca).await;
    assert!(submitted.status.success(), "chibo submit --ca: {}", stderr(&submitted));
    let read = cli_read(&server.url, &ca).await;
    assert!(read.status.success(), "chibo read --ca: {}", stderr(&read));
    let stdout = String::from_utf8_lossy(&read.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("organizationRegistered") && stdout.contains("ca-mau"), "{stdout}");

    // The environment variables do what the flags do.
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ops/examples/1a-province.json");
    let url = server.url.clone();
    let ca_file = pki.ca.pem.clone();
    let by_env = tokio::task::spawn_blocking(move || {
        Command::new(CHIBO)
            .args(["submit", "--stream", "org-ca-mau"])
            .arg(example)
            .env("CHIBO_SERVER", url)
            .env("CHIBO_CA", ca_file)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(by_env.status.success(), "CHIBO_SERVER and CHIBO_CA: {}", stderr(&by_env));
    assert!(String::from_utf8_lossy(&by_env.stdout).contains(r#""duplicate":true"#));

    // A tonic client, the way any gRPC client connects.
    let mut client = tls_client(&server.url, &pki.ca.pem, None).await.unwrap();
    let fixture = Fixture::record(&mut client, &[cell("tls-a", ["nguyen-van-an"])]).await;
    let events = read_all(&mut client).await.into_iter().filter(|e| !is_checkpoint(e)).count();
    assert_eq!(events, 1 + fixture.len(), "the CLI's event and the fixture's");
    server.stop().await;
}

#[tokio::test]
async fn a_plaintext_client_fails_cleanly_and_the_server_serves_on() {
    let pki = Pki::new();
    let server = start(&pki.dir.path().join("data"), &pki.serve_flags());
    let plaintext = server.url.replace("https://", "http://");

    let out = cli_read(&plaintext, &[]).await;
    assert_eq!(out.status.code(), Some(2), "chibo read over http:// fails: {}", stderr(&out));
    assert!(stderr(&out).starts_with("chibo: "), "an error, not a panic: {}", stderr(&out));

    // A tonic client in plaintext: an error, not a hang.
    let attempt = async {
        let mut client = LedgerClient::connect(plaintext.clone()).await.map_err(|e| format!("{e:?}"))?;
        reads(&mut client).await
    };
    let outcome = tokio::time::timeout(Duration::from_secs(15), attempt).await.expect("the plaintext client gives up");
    assert!(outcome.is_err(), "a plaintext client reads nothing: {outcome:?}");

    // The server serves a TLS client as before, and stops cleanly.
    let mut client = tls_client(&server.url, &pki.ca.pem, None).await.unwrap();
    assert_eq!(reads(&mut client).await, Ok(0));
    server.stop().await;
}

#[tokio::test]
async fn a_client_trusting_another_ca_refuses_the_server() {
    let pki = Pki::new();
    let server = start(&pki.dir.path().join("data"), &pki.serve_flags());

    let out = cli_read(&server.url, &["--ca".into(), path(&pki.other_ca.pem)]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot reach the chibo server") && stderr(&out).contains("UnknownIssuer"),
        "the error says the server's certificate is not from a trusted issuer: {}",
        stderr(&out)
    );
    let refused = tls_client(&server.url, &pki.other_ca.pem, None).await.map(drop).unwrap_err();
    assert!(refused.contains("UnknownIssuer"), "{refused}");

    // A server whose certificate is not for the name the client asked for is refused too.
    let config = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(std::fs::read(&pki.ca.pem).unwrap()))
        .domain_name("chibo.elsewhere.example");
    let endpoint = Channel::from_shared(server.url.clone()).unwrap().tls_config(config).unwrap();
    let misnamed = endpoint.connect().await.map(drop).map_err(|e| format!("{e:?}"));
    assert!(misnamed.unwrap_err().contains("NotValidForName"));
    server.stop().await;
}

#[tokio::test]
async fn with_a_client_ca_certificates_from_it_are_accepted_others_refused_and_none_allowed() {
    let pki = Pki::new();
    let server = start(&pki.dir.path().join("data"), &pki.mutual_flags());
    assert!(server.url.starts_with("https://"));
    let mut ca = vec!["--ca".to_owned(), path(&pki.ca.pem)];

    // A certificate from the client CA: through, with the CLI and with tonic.
    let mut with_cert = ca.clone();
    with_cert.extend(["--cert".into(), path(&pki.client.cert), "--key".into(), path(&pki.client.key)]);
    let submitted = cli_submit(&server.url, PROVINCE, &with_cert).await;
    assert!(submitted.status.success(), "chibo submit --cert --key: {}", stderr(&submitted));
    let mut client = tls_client(&server.url, &pki.ca.pem, Some(&pki.client)).await.unwrap();
    assert_eq!(reads(&mut client).await, Ok(1));

    // A certificate from another CA: refused at the handshake, nothing written. Over TLS 1.3 the
    // client finishes its side of the handshake before the server has checked its certificate,
    // so the refusal reaches it as the server's alert (`UnknownCA`) or, when the client's HTTP/2
    // connection ends before a request was on it, as the connection closed.
    let mut other = ca.clone();
    other.extend(["--cert".into(), path(&pki.other_client.cert), "--key".into(), path(&pki.other_client.key)]);
    let out = cli_submit(&server.url, DISTRICT, &other).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("chibo: the connection to the server failed: ")
            && (stderr(&out).contains("received fatal alert: UnknownCA") || stderr(&out).contains("connection closed")),
        "{}",
        stderr(&out)
    );
    let refused = match tls_client(&server.url, &pki.ca.pem, Some(&pki.other_client)).await {
        Ok(mut client) => reads(&mut client).await,
        Err(e) => Err(e),
    };
    assert!(refused.is_err(), "{refused:?}");

    // No certificate at all: through (a bearer token will say who the client is). The district
    // refused above was not recorded.
    let read = cli_read(&server.url, &ca).await;
    assert!(read.status.success(), "{}", stderr(&read));
    let mut client = tls_client(&server.url, &pki.ca.pem, None).await.unwrap();
    assert_eq!(reads(&mut client).await, Ok(1));
    let submitted = cli_submit(&server.url, DISTRICT, &ca).await;
    assert!(submitted.status.success(), "{}", stderr(&submitted));

    // The client's key must be the certificate's.
    ca.extend(["--cert".into(), path(&pki.client.cert), "--key".into(), path(&pki.other_client.key)]);
    let out = cli_read(&server.url, &ca).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--cert and --key: the private key in")
            && stderr(&out).contains("other-client.key does not belong to the certificate in"),
        "{}",
        stderr(&out)
    );
    server.stop().await;
}

#[tokio::test]
async fn a_network_address_needs_tls() {
    let pki = Pki::new();
    let data = pki.dir.path().join("refused");
    let out = tokio::task::spawn_blocking({
        let data = path(&data);
        move || chibo_within_30s(&["serve", "--listen", "0.0.0.0:0", "--metrics", "off", "--data", &data])
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(
        message.contains("refusing to serve on 0.0.0.0:0 without TLS")
            && message.contains("--tls-cert FILE and --tls-key FILE"),
        "{message}"
    );
    assert!(!data.exists(), "nothing was created");

    // With TLS it serves there; the certificate names 127.0.0.1, so connect by that address.
    let mut flags = vec!["--listen".to_owned(), "0.0.0.0:0".into()];
    flags.extend(pki.serve_flags());
    let server = start(&pki.dir.path().join("data"), &flags);
    let port = server.url.rsplit(':').next().unwrap().to_owned();
    assert!(server.url.starts_with("https://0.0.0.0:"), "{}", server.url);
    let mut client = tls_client(&format!("https://127.0.0.1:{port}"), &pki.ca.pem, None).await.unwrap();
    assert_eq!(reads(&mut client).await, Ok(0));
    server.stop().await;
}

#[tokio::test]
async fn unusable_tls_files_stop_the_server_with_the_file_and_the_reason() {
    let pki = Pki::new();
    let dir = pki.dir.path();
    let data = path(&dir.join("data"));
    let serve = move |extra: Vec<String>| {
        let mut args = vec!["serve".to_owned(), "--metrics".into(), "off".into(), "--data".into(), data.clone()];
        args.extend(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        chibo_within_30s(&args)
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--tls-cert".into(), path(&pki.server.cert), "--tls-key".into(), path(&pki.client.key)],
            "client.key does not belong to the certificate in",
        ),
        (
            vec!["--tls-cert".into(), path(&dir.join("absent.pem")), "--tls-key".into(), path(&pki.server.key)],
            "cannot read",
        ),
        (
            vec!["--tls-cert".into(), path(&pki.server.key), "--tls-key".into(), path(&pki.server.cert)],
            "server.key holds no certificate",
        ),
        (
            vec!["--tls-cert".into(), path(&pki.server.cert), "--tls-key".into(), path(&pki.server.cert)],
            "server.pem holds no private key",
        ),
        (
            {
                let mut flags = pki.serve_flags();
                flags.extend(["--client-ca".into(), path(&pki.client.key)]);
                flags
            },
            "client.key holds no certificate",
        ),
        (vec!["--tls-cert".into(), path(&pki.server.cert)], "--tls-key <FILE>"),
    ];
    let outcomes = tokio::task::spawn_blocking(move || {
        cases.into_iter().map(|(flags, expected)| (serve(flags), expected)).collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for (out, expected) in outcomes {
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(expected), "{expected:?} in {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    }
    assert!(!dir.join("data").exists(), "the server stopped before opening its data directory");

    // The client side says the same of its files, and that TLS files need an https:// URL.
    let out = cli_read("https://127.0.0.1:1", &["--ca".into(), path(&dir.join("absent.pem"))]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--ca: cannot read") && stderr(&out).contains("absent.pem"), "{}", stderr(&out));
    let out = cli_read("http://127.0.0.1:1", &["--ca".into(), path(&pki.ca.pem)]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("use an https:// URL"), "{}", stderr(&out));
    // An IPv6 address is a name the certificate can hold, not an invalid DNS name: nothing
    // listens there, so connecting fails.
    let out = cli_read("https://[::1]:1", &["--ca".into(), path(&pki.ca.pem)]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot reach the chibo server at https://[::1]:1: "), "{}", stderr(&out));
}
