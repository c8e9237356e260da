//! `chibo serve` over TLS and mutual TLS, with certificates made in the test: which clients get
//! through (the CLI with --ca, --cert and --key, and a tonic client), which are refused and how
//! (plaintext, another CA, a client certificate from another CA), and that a server never
//! listens beyond loopback without TLS. Getting through TLS is not yet being let in: every call
//! here also presents a credential, the admin's token or a client certificate issued as one.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use chibo_proto::v1::ledger_client::LedgerClient;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use crate::harness::{
    admin_token, bearer, cell, is_server_written, name_tls_provider, read_all, Fixture, Server, CHIBO,
};

/// A CA, and the files of what it signs.
pub(crate) struct Ca {
    certificate: rcgen::Certificate,
    key: KeyPair,
    /// Its certificate's PEM file.
    pub(crate) pem: PathBuf,
}

/// A certificate and its key, as PEM files.
pub(crate) struct Issued {
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
}

impl Ca {
    /// A CA named `name`, its certificate written to `dir/{file}.pem`.
    pub(crate) fn new(dir: &Path, name: &str) -> Ca {
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
    pub(crate) fn issue(&self, dir: &Path, file: &str, names: &[&str]) -> Issued {
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
pub(crate) struct Pki {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) ca: Ca,
    pub(crate) server: Issued,
    pub(crate) client: Issued,
    pub(crate) other_ca: Ca,
    pub(crate) other_client: Issued,
}

impl Pki {
    pub(crate) fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new(dir.path(), "chibo test CA");
        let server = ca.issue(dir.path(), "server", &["127.0.0.1", "localhost"]);
        let client = ca.issue(dir.path(), "client", &["recorder.tan-hoa"]);
        let other_ca = Ca::new(dir.path(), "another CA");
        let other_client = other_ca.issue(dir.path(), "other-client", &["recorder.tan-hoa"]);
        Pki { dir, ca, server, client, other_ca, other_client }
    }

    /// `serve` flags for TLS with the server's certificate.
    pub(crate) fn serve_flags(&self) -> Vec<String> {
        vec!["--tls-cert".into(), path(&self.server.cert), "--tls-key".into(), path(&self.server.key)]
    }

    /// `serve` flags for TLS that asks for client certificates from the CA.
    pub(crate) fn mutual_flags(&self) -> Vec<String> {
        let mut flags = self.serve_flags();
        flags.extend(["--client-ca".into(), path(&self.ca.pem)]);
        flags
    }
}

pub(crate) fn path(p: &Path) -> String {
    p.to_str().unwrap().to_owned()
}

/// `chibo serve` with `flags` on `data`, the harness's own connections trusting `ca`.
pub(crate) fn start(data: &Path, flags: &[String], ca: &Path) -> Server {
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    Server::start_with(data, &flags).trusting(ca)
}

/// Whom a CLI command calls as.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Caller {
    /// The harness's admin (`CHIBO_TOKEN`).
    Admin,
    /// Nobody: no token (a client certificate, if the flags give one, is all it has).
    Nobody,
}

/// Runs `chibo args…` as `caller`; fails the test if it has not finished within 30 s (a client
/// that hangs is a failure as much as one that gets through).
pub(crate) fn chibo_within_30s(caller: Caller, args: &[&str]) -> Output {
    let mut command = Command::new(CHIBO);
    match caller {
        Caller::Admin => command.env("CHIBO_TOKEN", admin_token()),
        Caller::Nobody => command.env_remove("CHIBO_TOKEN"),
    };
    let mut child = command
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

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `chibo read --server URL [flags]` of the province's stream as `caller`, off the async runtime.
async fn cli_read(url: &str, caller: Caller, flags: &[String]) -> Output {
    let mut args = vec!["read".to_owned(), "--server".into(), url.into(), "--stream".into(), "org-ca-mau".into()];
    args.extend_from_slice(flags);
    cli(caller, args).await
}

/// `chibo args…` as `caller`, off the async runtime.
pub(crate) async fn cli(caller: Caller, args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        chibo_within_30s(caller, &args)
    })
    .await
    .unwrap()
}

/// The README's example province (`org-ca-mau`), and a district under it (`org-dam-doi`).
const PROVINCE: (&str, &str) = ("org-ca-mau", "1a-province.json");
const DISTRICT: (&str, &str) = ("org-dam-doi", "1b-district.json");

/// `chibo submit` of an example to its stream as `caller`, off the async runtime.
async fn cli_submit(url: &str, caller: Caller, (stream, file): (&str, &str), flags: &[String]) -> Output {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ops/examples").join(file);
    let mut args = vec!["submit".to_owned(), "--server".into(), url.into(), "--stream".into(), stream.into()];
    args.extend_from_slice(flags);
    args.push(path(&example));
    cli(caller, args).await
}

/// A Ledger client over TLS trusting `ca`, presenting `identity` if given, and no token (see
/// [`reads`]); the error as text.
pub(crate) async fn tls_client(
    url: &str,
    ca: &Path,
    identity: Option<&Issued>,
) -> Result<LedgerClient<Channel>, String> {
    tls_channel(url, ca, identity).await.map(LedgerClient::new)
}

/// A connection over TLS trusting `ca`, presenting `identity` if given; the error as text.
pub(crate) async fn tls_channel(url: &str, ca: &Path, identity: Option<&Issued>) -> Result<Channel, String> {
    name_tls_provider();
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
    Ok(channel)
}

/// How many events a ReadAll over `client` returns within 10 s (the server's own checkpoints
/// and credentials aside), calling with `token` if given; the error as text.
pub(crate) async fn reads(client: &mut LedgerClient<Channel>, token: Option<&str>) -> Result<usize, String> {
    let mut request = tonic::Request::new(chibo_proto::v1::ReadAllRequest { after_position: None, max_count: 0 });
    if let Some(token) = token {
        request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    let call = async {
        let mut stream = client.read_all(request).await.map_err(|e| format!("{e:?}"))?.into_inner();
        let mut n = 0;
        while let Some(event) = stream.message().await.map_err(|e| format!("{e:?}"))? {
            n += usize::from(!is_server_written(&event));
        }
        Ok(n)
    };
    tokio::time::timeout(Duration::from_secs(10), call).await.unwrap_or_else(|_| Err("no answer within 10 s".into()))
}

#[tokio::test]
async fn clients_trusting_the_ca_submit_and_read_over_tls() {
    let pki = Pki::new();
    let data = pki.dir.path().join("data");
    let server = start(&data, &pki.serve_flags(), &pki.ca.pem);
    assert!(server.url.starts_with("https://127.0.0.1:"), "the announce line says tls=on: {}", server.url);
    let ca = vec!["--ca".to_owned(), path(&pki.ca.pem)];

    let submitted = cli_submit(&server.url, Caller::Admin, PROVINCE, &ca).await;
    assert!(submitted.status.success(), "chibo submit --ca: {}", stderr(&submitted));
    let read = cli_read(&server.url, Caller::Admin, &ca).await;
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
            .env("CHIBO_TOKEN", admin_token())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(by_env.status.success(), "CHIBO_SERVER, CHIBO_CA and CHIBO_TOKEN: {}", stderr(&by_env));
    assert!(String::from_utf8_lossy(&by_env.stdout).contains(r#""duplicate":true"#));

    // Tonic clients, the way any gRPC client connects: the harness's (which record the fixture)
    // and one made here.
    let fixture = Fixture::record(&server, &[cell("tls-a", ["nguyen-van-an"])]).await;
    let channel = tls_channel(&server.url, &pki.ca.pem, None).await.unwrap();
    let mut client = LedgerClient::new(InterceptedService::new(channel, bearer(admin_token())));
    let events = read_all(&mut client).await.into_iter().filter(|e| !is_server_written(e)).count();
    assert_eq!(events, 1 + fixture.len(), "the CLI's event and the fixture's");
    server.stop().await;
}

#[tokio::test]
async fn a_plaintext_client_fails_cleanly_and_the_server_serves_on() {
    let pki = Pki::new();
    let server = start(&pki.dir.path().join("data"), &pki.serve_flags(), &pki.ca.pem);
    let plaintext = server.url.replace("https://", "http://");

    let out = cli_read(&plaintext, Caller::Admin, &[]).await;
    assert_eq!(out.status.code(), Some(2), "chibo read over http:// fails: {}", stderr(&out));
    assert!(stderr(&out).starts_with("chibo: "), "an error, not a panic: {}", stderr(&out));

    // A tonic client in plaintext: an error, not a hang.
    let attempt = async {
        let mut client = LedgerClient::connect(plaintext.clone()).await.map_err(|e| format!("{e:?}"))?;
        reads(&mut client, Some(admin_token())).await
    };
    let outcome = tokio::time::timeout(Duration::from_secs(15), attempt).await.expect("the plaintext client gives up");
    assert!(outcome.is_err(), "a plaintext client reads nothing: {outcome:?}");

    // The server serves a TLS client as before, and stops cleanly.
    let mut client = tls_client(&server.url, &pki.ca.pem, None).await.unwrap();
    assert_eq!(reads(&mut client, Some(admin_token())).await, Ok(0));
    server.stop().await;
}

#[tokio::test]
async fn a_client_trusting_another_ca_refuses_the_server() {
    let pki = Pki::new();
    let server = start(&pki.dir.path().join("data"), &pki.serve_flags(), &pki.ca.pem);

    let out = cli_read(&server.url, Caller::Admin, &["--ca".into(), path(&pki.other_ca.pem)]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot reach the chibo server") && stderr(&out).contains("UnknownIssuer"),
        "the error says the server's certificate is not from a trusted issuer: {}",
        stderr(&out)
    );
    let refused = tls_client(&server.url, &pki.other_ca.pem, None).await.map(drop).unwrap_err();
    assert!(refused.contains("UnknownIssuer"), "{refused}");

    // A server whose certificate is not for the name the client asked for is refused too.
    name_tls_provider();
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
    let server = start(&pki.dir.path().join("data"), &pki.mutual_flags(), &pki.ca.pem);
    assert!(server.url.starts_with("https://"));
    let mut ca = vec!["--ca".to_owned(), path(&pki.ca.pem)];

    // Getting through TLS brings a client to the services, which want a credential: the admin
    // issues the client certificate as one (an admin's, so that it may register the province).
    let mut issue: Vec<String> =
        ["keys", "issue", "--server", &server.url, "--id", "tls-client"].map(Into::into).into();
    issue.extend(["--principal", "tls client", "--role", "admin", "--certificate"].map(String::from));
    issue.push(path(&pki.client.cert));
    issue.extend(ca.iter().cloned());
    let issued = cli(Caller::Admin, issue).await;
    assert!(issued.status.success(), "chibo keys issue --certificate: {}", stderr(&issued));

    // A certificate from the client CA: through, with the CLI and with tonic, with no token.
    let mut with_cert = ca.clone();
    with_cert.extend(["--cert".into(), path(&pki.client.cert), "--key".into(), path(&pki.client.key)]);
    let submitted = cli_submit(&server.url, Caller::Nobody, PROVINCE, &with_cert).await;
    assert!(submitted.status.success(), "chibo submit --cert --key: {}", stderr(&submitted));
    let mut client = tls_client(&server.url, &pki.ca.pem, Some(&pki.client)).await.unwrap();
    assert_eq!(reads(&mut client, None).await, Ok(1));

    // A certificate from another CA: refused at the handshake, nothing written. Over TLS 1.3 the
    // client finishes its side of the handshake before the server has checked its certificate,
    // so the refusal reaches it as the server's alert (`UnknownCA`) or, when the client's HTTP/2
    // connection ends before a request was on it, as the connection closed or never ready.
    let mut other = ca.clone();
    other.extend(["--cert".into(), path(&pki.other_client.cert), "--key".into(), path(&pki.other_client.key)]);
    let out = cli_submit(&server.url, Caller::Nobody, DISTRICT, &other).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let refusals = ["received fatal alert: UnknownCA", "connection closed", "connection was not ready"];
    assert!(
        stderr(&out).starts_with("chibo: the connection to the server failed: ")
            && refusals.iter().any(|refusal| stderr(&out).contains(refusal)),
        "{}",
        stderr(&out)
    );
    let refused = match tls_client(&server.url, &pki.ca.pem, Some(&pki.other_client)).await {
        Ok(mut client) => reads(&mut client, None).await,
        Err(e) => Err(e),
    };
    assert!(refused.is_err(), "{refused:?}");

    // No certificate at all: through TLS, and a bearer token says who the client is. The district
    // refused above was not recorded. With neither a certificate nor a token, the services
    // refuse.
    let read = cli_read(&server.url, Caller::Admin, &ca).await;
    assert!(read.status.success(), "{}", stderr(&read));
    let mut client = tls_client(&server.url, &pki.ca.pem, None).await.unwrap();
    assert_eq!(reads(&mut client, Some(admin_token())).await, Ok(1));
    let anonymous = reads(&mut client, None).await.unwrap_err();
    assert!(anonymous.contains("Unauthenticated"), "{anonymous}");
    let submitted = cli_submit(&server.url, Caller::Admin, DISTRICT, &ca).await;
    assert!(submitted.status.success(), "{}", stderr(&submitted));

    // The client's key must be the certificate's.
    ca.extend(["--cert".into(), path(&pki.client.cert), "--key".into(), path(&pki.other_client.key)]);
    let out = cli_read(&server.url, Caller::Nobody, &ca).await;
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
        move || {
            chibo_within_30s(
                Caller::Nobody,
                &["serve", "--listen", "0.0.0.0:0", "--metrics", "off", "--web", "off", "--data", &data],
            )
        }
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
    let server = start(&pki.dir.path().join("data"), &flags, &pki.ca.pem);
    let port = server.url.rsplit(':').next().unwrap().to_owned();
    assert!(server.url.starts_with("https://0.0.0.0:"), "{}", server.url);
    let mut client = tls_client(&format!("https://127.0.0.1:{port}"), &pki.ca.pem, None).await.unwrap();
    assert_eq!(reads(&mut client, Some(admin_token())).await, Ok(0));
    server.stop().await;
}

#[tokio::test]
async fn unusable_tls_files_stop_the_server_with_the_file_and_the_reason() {
    let pki = Pki::new();
    let dir = pki.dir.path();
    let data = path(&dir.join("data"));
    let serve = move |extra: Vec<String>| {
        let mut args = vec![
            "serve".to_owned(),
            "--metrics".into(),
            "off".into(),
            "--web".into(),
            "off".into(),
            "--data".into(),
            data.clone(),
        ];
        args.extend(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        chibo_within_30s(Caller::Nobody, &args)
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
    let out = cli_read("https://127.0.0.1:1", Caller::Admin, &["--ca".into(), path(&dir.join("absent.pem"))]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--ca: cannot read") && stderr(&out).contains("absent.pem"), "{}", stderr(&out));
    let out = cli_read("http://127.0.0.1:1", Caller::Admin, &["--ca".into(), path(&pki.ca.pem)]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("use an https:// URL"), "{}", stderr(&out));
    // An IPv6 address is a name the certificate can hold, not an invalid DNS name: nothing
    // listens there, so connecting fails.
    let out = cli_read("https://[::1]:1", Caller::Admin, &["--ca".into(), path(&pki.ca.pem)]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot reach the chibo server at https://[::1]:1: "), "{}", stderr(&out));
}
