//! The gRPC listener's TLS through real handshakes on a socket: which clients get through, the
//! client certificate a request is seen with (`client_certificate`), the handshake timeout, and
//! what is said about unusable PEM files. The certificates are made here, for each test.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use chibo_server::tls::{self, ServerTls, TlsConfigError};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};
use tonic::{
    service::interceptor::InterceptedService,
    transport::{Certificate, Channel, ClientTlsConfig, Identity},
    Request, Status,
};
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

/// A CA, and what it signs.
struct Ca {
    certificate: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        Ca { certificate: params.self_signed(&key).unwrap(), key }
    }

    /// A leaf certificate for `names` (DNS names or IP addresses) and its key, in PEM.
    fn issue(&self, names: &[&str]) -> (String, String, Vec<u8>) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.push(DnType::CommonName, "chibo test");
        let key = KeyPair::generate().unwrap();
        let certificate = params.signed_by(&key, &self.certificate, &self.key).unwrap();
        (certificate.pem(), key.serialize_pem(), certificate.der().to_vec())
    }
}

/// The test's PEM files.
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        Files { dir: tempfile::tempdir().unwrap() }
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

/// What the served requests' client certificates were, in order.
type Seen = Arc<Mutex<Vec<Option<[u8; 32]>>>>;

/// Serves `grpc.health.v1` over `tls` on a free port, recording each request's
/// `client_certificate`; returns the port.
async fn serve(tls: ServerTls, seen: Seen) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (_reporter, health) = tonic_health::server::health_reporter();
    let record = move |request: Request<()>| -> Result<Request<()>, Status> {
        seen.lock().unwrap().push(tls::client_certificate(&request));
        Ok(request)
    };
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(InterceptedService::new(health, record))
            .serve_with_incoming(tls::incoming(listener, tls)),
    );
    port
}

/// One health check over TLS, trusting `ca`, presenting `identity` if given.
async fn check(port: u16, ca: &str, identity: Option<(&str, &str)>) -> Result<(), String> {
    // tonic's TLS client takes rustls's process-wide provider, which rustls picks by itself only
    // while one is compiled in; a workspace build has two (the KurrentDB client's too).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca));
    if let Some((cert, key)) = identity {
        config = config.identity(Identity::from_pem(cert, key));
    }
    let endpoint = Channel::from_shared(format!("https://127.0.0.1:{port}")).unwrap().tls_config(config).unwrap();
    let attempt = async {
        let channel = endpoint.connect().await.map_err(|e| format!("connect: {e:?}"))?;
        HealthClient::new(channel)
            .check(HealthCheckRequest { service: String::new() })
            .await
            .map(drop)
            .map_err(|e| format!("check: {e:?}"))
    };
    tokio::time::timeout(Duration::from_secs(10), attempt).await.unwrap_or_else(|_| Err("no answer in 10 s".into()))
}

/// A server certificate for 127.0.0.1 from `ca`, with the files written.
fn server_files(files: &Files, ca: &Ca) -> (PathBuf, PathBuf) {
    let (cert, key, _) = ca.issue(&["127.0.0.1", "localhost"]);
    (files.write("server.pem", &cert), files.write("server.key", &key))
}

#[tokio::test]
async fn the_server_sees_the_certificate_a_client_presents() {
    let files = Files::new();
    let ca = Ca::new("chibo test CA");
    let (server_cert, server_key) = server_files(&files, &ca);
    let client_ca = files.write("client-ca.pem", &ca.certificate.pem());
    let tls = ServerTls::from_files(&server_cert, &server_key, Some(&client_ca)).unwrap();
    let seen = Seen::default();
    let port = serve(tls, seen.clone()).await;
    let (client_cert, client_key, client_der) = ca.issue(&["recorder.tan-hoa"]);

    check(port, &ca.certificate.pem(), Some((&client_cert, &client_key))).await.unwrap();
    // No certificate: allowed through the handshake, seen as none.
    check(port, &ca.certificate.pem(), None).await.unwrap();

    let expected = tls::certificate_sha256(&client_der);
    assert_eq!(*seen.lock().unwrap(), [Some(expected), None]);
    // The fingerprint is SHA-256 over the certificate's DER, as `sha256sum` of the DER file gives.
    assert_eq!(expected.as_slice(), <sha2::Sha256 as sha2::Digest>::digest(&client_der).as_slice());
}

#[tokio::test]
async fn a_client_certificate_from_another_ca_is_refused_at_the_handshake() {
    let files = Files::new();
    let ca = Ca::new("chibo test CA");
    let other = Ca::new("someone else's CA");
    let (server_cert, server_key) = server_files(&files, &ca);
    let client_ca = files.write("client-ca.pem", &ca.certificate.pem());
    let tls = ServerTls::from_files(&server_cert, &server_key, Some(&client_ca)).unwrap();
    let seen = Seen::default();
    let port = serve(tls, seen.clone()).await;
    let (cert, key, _) = other.issue(&["intruder"]);

    // Over TLS 1.3 the client learns of the refusal after its side of the handshake is done: from
    // the server's alert (`UnknownCA`), or as its connection closing, whichever it reads first.
    let refused = check(port, &ca.certificate.pem(), Some((&cert, &key))).await;
    assert!(refused.is_err(), "{refused:?}");
    assert!(seen.lock().unwrap().is_empty(), "no request of that client reached a service");
    // And the server goes on serving.
    check(port, &ca.certificate.pem(), None).await.unwrap();
}

#[tokio::test]
async fn without_a_client_ca_no_certificate_is_asked_for_or_seen() {
    let files = Files::new();
    let ca = Ca::new("chibo test CA");
    let (server_cert, server_key) = server_files(&files, &ca);
    let tls = ServerTls::from_files(&server_cert, &server_key, None).unwrap();
    let seen = Seen::default();
    let port = serve(tls, seen.clone()).await;
    let (cert, key, _) = ca.issue(&["recorder.tan-hoa"]);

    check(port, &ca.certificate.pem(), Some((&cert, &key))).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), [None]);
}

#[tokio::test]
async fn a_connection_without_a_handshake_is_closed_and_others_are_served() {
    let files = Files::new();
    let ca = Ca::new("chibo test CA");
    let (server_cert, server_key) = server_files(&files, &ca);
    let tls = ServerTls::from_files(&server_cert, &server_key, None)
        .unwrap()
        .with_handshake_timeout(Duration::from_millis(300));
    let port = serve(tls, Seen::default()).await;

    // Silent: closed by the server after the timeout.
    let mut silent = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    // Not TLS at all: closed at once.
    let mut garbage = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    garbage.write_all(b"GET / HTTP/1.1\r\nHost: chibo\r\n\r\n").await.unwrap();
    // Meanwhile a real client is served.
    check(port, &ca.certificate.pem(), None).await.unwrap();

    for (name, connection) in [("silent", &mut silent), ("garbage", &mut garbage)] {
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), connection.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "the {name} connection is closed by the server");
    }
    check(port, &ca.certificate.pem(), None).await.unwrap();
}

/// The error `ServerTls::from_files` gives for these files.
fn refusal(cert: &Path, key: &Path, client_ca: Option<&Path>) -> (TlsConfigError, String) {
    let error = ServerTls::from_files(cert, key, client_ca).unwrap_err();
    let message = error.to_string();
    (error, message)
}

#[test]
fn unusable_files_are_named_with_the_reason() {
    let files = Files::new();
    let ca = Ca::new("chibo test CA");
    let (cert, key) = server_files(&files, &ca);
    let (_, other_key, _) = ca.issue(&["127.0.0.1"]);
    let other_key = files.write("other.key", &other_key);
    let empty = files.write("empty.pem", "");
    let truncated = files.write("truncated.pem", &std::fs::read_to_string(&cert).unwrap()[..200]);
    let missing = files.dir.path().join("missing.pem");

    let (error, message) = refusal(&cert, &other_key, None);
    assert!(matches!(error, TlsConfigError::KeyMismatch { .. }), "{error:?}");
    assert!(
        message.contains("other.key") && message.contains("server.pem") && message.contains("does not belong"),
        "{message}"
    );

    let (error, message) = refusal(&missing, &key, None);
    assert!(matches!(error, TlsConfigError::Read { .. }), "{error:?}");
    assert!(message.contains("missing.pem") && message.contains("No such file"), "{message}");

    let (error, message) = refusal(&empty, &key, None);
    assert!(matches!(error, TlsConfigError::NoCertificate { .. }), "{error:?}");
    assert!(message.contains("empty.pem holds no certificate"), "{message}");

    let (error, message) = refusal(&key, &cert, None);
    assert!(matches!(error, TlsConfigError::NoCertificate { .. }), "{error:?}");
    assert!(message.contains("server.key holds no certificate"), "{message}");

    let (error, message) = refusal(&cert, &cert, None);
    assert!(matches!(error, TlsConfigError::NoPrivateKey { holds_certificate: true, .. }), "{error:?}");
    assert!(message.contains("server.pem holds no private key") && message.contains("swapped"), "{message}");

    let (error, message) = refusal(&truncated, &key, None);
    assert!(matches!(error, TlsConfigError::Pem { .. }), "{error:?}");
    assert!(message.contains("truncated.pem is not valid PEM"), "{message}");

    let (error, message) = refusal(&cert, &key, Some(&key));
    assert!(matches!(error, TlsConfigError::NoCertificate { .. }), "{error:?}");
    assert!(message.contains("server.key holds no certificate"), "{message}");

    let garbage_ca = files.write(
        "garbage-ca.pem",
        "-----BEGIN CERTIFICATE-----\nAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n-----END CERTIFICATE-----\n",
    );
    let (error, message) = refusal(&cert, &key, Some(&garbage_ca));
    assert!(matches!(error, TlsConfigError::BadCaCertificate { index: 1, .. }), "{error:?}");
    assert!(message.contains("garbage-ca.pem: certificate 1 cannot be used as a CA"), "{message}");

    // And the files as they should be.
    ServerTls::from_files(&cert, &key, None).unwrap();
}
