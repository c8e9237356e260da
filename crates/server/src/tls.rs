//! TLS for the gRPC listener: the server's certificate, key and client CA read from PEM files
//! into a rustls configuration, the handshakes, and the client certificate a request came with.
//!
//! The handshakes happen here, not inside tonic (`ServerTlsConfig`), for three reasons:
//! tonic 0.12 stops accepting connections altogether when a handshake fails with an I/O error
//! outside the few it expects (a peer that stops answering mid-handshake ends in `TimedOut`);
//! it gives a handshake no time limit; and it takes rustls's process-wide crypto provider,
//! which is ambiguous once a second one is compiled in. Here a handshake that fails or takes
//! longer than [`HANDSHAKE_TIMEOUT`] costs its own connection and nothing else, and the
//! provider is named ([`provider`]).
//!
//! The same PEM loading serves the command line's client side ([`PemFile`], [`certified_key`],
//! [`root_store`]), so both ends say the same thing about the same bad file.

use std::{
    convert::Infallible,
    io::Read,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use futures::Stream;
use rustls::{
    pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer},
    server::WebPkiClientVerifier,
    sign::{CertifiedKey, SingleCertAndKey},
    RootCertStore, ServerConfig,
};
use sha2::{Digest, Sha256};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::mpsc,
    task::JoinSet,
};
use tokio_rustls::{server::TlsStream, TlsAcceptor};
use tokio_stream::wrappers::ReceiverStream;

/// How long a client has to complete its TLS handshake before the server closes the
/// connection: a connection that never speaks cannot hold a socket and a task forever.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest PEM file read: certificates and keys are a few KiB; anything this large is the
/// wrong file.
const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// Why a TLS certificate, key or CA file cannot be used. Each names the file and the reason.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// The file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is larger than any certificate or key.
    #[error("{} is larger than 1 MiB: not a PEM certificate or key", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The file is not well-formed PEM.
    #[error("{} is not valid PEM: {reason}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The file holds no certificate.
    #[error("{} holds no certificate (no PEM section `-----BEGIN CERTIFICATE-----`)", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The file holds no private key.
    #[error(
        "{} holds no private key (no PEM section `-----BEGIN PRIVATE KEY-----`, `RSA PRIVATE KEY` or \
         `EC PRIVATE KEY`){}",
        path.display(),
        if *holds_certificate { "; it holds a certificate: are the certificate and key files swapped?" } else { "" }
    )]
    NoPrivateKey {
        /// The file.
        path: PathBuf,
        /// Whether the file holds a certificate instead.
        holds_certificate: bool,
    },
    /// The private key is not of a kind the server can sign with.
    #[error("{}: the private key cannot be used: {reason}", path.display())]
    UnusableKey {
        /// The key file.
        path: PathBuf,
        /// Why.
        reason: rustls::Error,
    },
    /// A certificate does not parse.
    #[error("{}: the certificate cannot be used: {reason}", path.display())]
    BadCertificate {
        /// The certificate file.
        path: PathBuf,
        /// Why.
        reason: rustls::Error,
    },
    /// The private key is not the key of the certificate.
    #[error("the private key in {} does not belong to the certificate in {}", key.display(), certificate.display())]
    KeyMismatch {
        /// The certificate file.
        certificate: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// A CA certificate cannot be a trust anchor.
    #[error("{}: certificate {index} cannot be used as a CA: {reason}", path.display())]
    BadCaCertificate {
        /// The CA file.
        path: PathBuf,
        /// Which certificate in the file, counting from 1.
        index: usize,
        /// Why.
        reason: rustls::Error,
    },
    /// rustls refused the configuration for another reason.
    #[error("the TLS configuration is refused: {0}")]
    Config(String),
}

/// The crypto provider every TLS configuration of chibo uses: rustls on *ring*.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A PEM file read into memory, remembered with its path for the errors about it.
#[derive(Clone)]
pub struct PemFile {
    path: PathBuf,
    bytes: Vec<u8>,
}

impl PemFile {
    /// Reads `path` (at most 1 MiB).
    pub fn read(path: &Path) -> Result<PemFile, TlsConfigError> {
        let read_error = |source| TlsConfigError::Read { path: path.to_owned(), source };
        let file = std::fs::File::open(path).map_err(read_error)?;
        let mut bytes = Vec::new();
        file.take(MAX_PEM_BYTES + 1).read_to_end(&mut bytes).map_err(read_error)?;
        if bytes.len() as u64 > MAX_PEM_BYTES {
            return Err(TlsConfigError::TooLarge { path: path.to_owned() });
        }
        Ok(PemFile { path: path.to_owned(), bytes })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's bytes, as read.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Every certificate in the file, in order; at least one.
    pub fn certificates(&self) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
        let certificates = CertificateDer::pem_slice_iter(&self.bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.pem_error(e))?;
        if certificates.is_empty() {
            return Err(TlsConfigError::NoCertificate { path: self.path.clone() });
        }
        Ok(certificates)
    }

    /// The file's private key (PKCS#8, PKCS#1 or SEC1); the first if there are several.
    pub fn private_key(&self) -> Result<PrivateKeyDer<'static>, TlsConfigError> {
        match PrivateKeyDer::from_pem_slice(&self.bytes) {
            Ok(key) => Ok(key),
            Err(rustls::pki_types::pem::Error::NoItemsFound) => Err(TlsConfigError::NoPrivateKey {
                path: self.path.clone(),
                holds_certificate: CertificateDer::pem_slice_iter(&self.bytes).any(|c| c.is_ok()),
            }),
            Err(e) => Err(self.pem_error(e)),
        }
    }

    fn pem_error(&self, error: rustls::pki_types::pem::Error) -> TlsConfigError {
        use rustls::pki_types::pem::Error;
        let reason = match error {
            Error::MissingSectionEnd { end_marker } => {
                format!("a section has no end line `{}`", String::from_utf8_lossy(&end_marker))
            }
            Error::IllegalSectionStart { line } => {
                format!("a malformed `-----BEGIN` line `{}`", String::from_utf8_lossy(&line).trim_end())
            }
            Error::Base64Decode(e) => format!("a section's base64 does not decode: {e}"),
            other => other.to_string(),
        };
        TlsConfigError::Pem { path: self.path.clone(), reason }
    }
}

/// The certificate chain in `certificate` (leaf first) with the private key in `key`, checked
/// to belong together.
pub fn certified_key(certificate: &PemFile, key: &PemFile) -> Result<CertifiedKey, TlsConfigError> {
    let chain = certificate.certificates()?;
    let private_key = key.private_key()?;
    let signing_key = provider()
        .key_provider
        .load_private_key(private_key)
        .map_err(|reason| TlsConfigError::UnusableKey { path: key.path.clone(), reason })?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        // A key that cannot name its public half cannot be compared; the handshake will tell.
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => Ok(certified),
        Err(rustls::Error::InconsistentKeys(_)) => {
            Err(TlsConfigError::KeyMismatch { certificate: certificate.path.clone(), key: key.path.clone() })
        }
        Err(reason) => Err(TlsConfigError::BadCertificate { path: certificate.path.clone(), reason }),
    }
}

/// The certificates in `ca` as trust anchors.
pub fn root_store(ca: &PemFile) -> Result<RootCertStore, TlsConfigError> {
    let mut roots = RootCertStore::empty();
    for (i, certificate) in ca.certificates()?.into_iter().enumerate() {
        roots.add(certificate).map_err(|reason| TlsConfigError::BadCaCertificate {
            path: ca.path.clone(),
            index: i + 1,
            reason,
        })?;
    }
    Ok(roots)
}

/// The server's TLS: its certificate and key, and the CA client certificates are checked
/// against, if any.
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<ServerConfig>,
    handshake_timeout: Duration,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls").field("handshake_timeout", &self.handshake_timeout).finish_non_exhaustive()
    }
}

impl ServerTls {
    /// Serves `certificate` (a PEM chain, leaf first) with `key`. With a `client_ca`, clients
    /// are asked for a certificate and one they present must chain to it, else the handshake
    /// fails; a client may present none (it may authenticate otherwise). Without one, no client
    /// certificate is asked for.
    pub fn new(certificate: &PemFile, key: &PemFile, client_ca: Option<&PemFile>) -> Result<ServerTls, TlsConfigError> {
        let certified = certified_key(certificate, key)?;
        let builder = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsConfigError::Config(e.to_string()))?;
        let builder = match client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(root_store(ca)?), provider())
                    .allow_unauthenticated()
                    .build()
                    .map_err(|e| TlsConfigError::Config(format!("{}: {e}", ca.path.display())))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder.with_cert_resolver(Arc::new(SingleCertAndKey::from(certified)));
        // gRPC is HTTP/2 only.
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(ServerTls { config: Arc::new(config), handshake_timeout: HANDSHAKE_TIMEOUT })
    }

    /// [`ServerTls::new`] from the files' paths.
    pub fn from_files(certificate: &Path, key: &Path, client_ca: Option<&Path>) -> Result<ServerTls, TlsConfigError> {
        let client_ca = client_ca.map(PemFile::read).transpose()?;
        ServerTls::new(&PemFile::read(certificate)?, &PemFile::read(key)?, client_ca.as_ref())
    }

    /// Replaces [`HANDSHAKE_TIMEOUT`].
    pub fn with_handshake_timeout(self, timeout: Duration) -> ServerTls {
        ServerTls { handshake_timeout: timeout, ..self }
    }
}

/// The connections accepted on `listener` whose TLS handshake completed, for tonic's
/// `serve_with_incoming`. Each handshake runs in its own task within the handshake timeout; one
/// that fails closes its connection and is logged (debug), and the stream goes on. Ends, and
/// abandons the handshakes in progress, when dropped.
pub fn incoming(
    listener: TcpListener,
    tls: ServerTls,
) -> impl Stream<Item = Result<TlsStream<TcpStream>, Infallible>> + Send + 'static {
    let (ready, connections) = mpsc::channel(64);
    tokio::spawn(async move {
        let acceptor = TlsAcceptor::from(tls.config);
        let mut handshakes = JoinSet::new();
        loop {
            tokio::select! {
                () = ready.closed() => break,
                tcp = crate::accept(&listener) => {
                    handshakes.spawn(handshake(acceptor.clone(), tcp, tls.handshake_timeout));
                }
                Some(done) = handshakes.join_next() => {
                    let Ok(Some(stream)) = done else { continue };
                    if ready.send(Ok(stream)).await.is_err() {
                        break;
                    }
                }
            }
        }
    });
    ReceiverStream::new(connections)
}

/// The TLS session on `tcp`, or None (logged) if the handshake fails or times out.
async fn handshake(acceptor: TlsAcceptor, tcp: TcpStream, timeout: Duration) -> Option<TlsStream<TcpStream>> {
    let peer = tcp.peer_addr().ok();
    match tokio::time::timeout(timeout, acceptor.accept(tcp).into_fallible()).await {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err((e, tcp))) => {
            tracing::debug!(?peer, "TLS handshake failed: {e}");
            close_after_alert(tcp).await;
            None
        }
        Err(_) => {
            tracing::debug!(?peer, ?timeout, "no TLS handshake within the time allowed; closing");
            None
        }
    }
}

/// Closes a connection whose handshake failed so that the client gets to read the alert that
/// says why (`UnknownCA`, …). What the client sent meanwhile is read and dropped for up to a
/// second: a socket closed with unread data is reset, and the reset can destroy the alert on
/// its way to the client, leaving it only "connection closed".
async fn close_after_alert(mut tcp: TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = tcp.shutdown().await;
    let mut sink = [0u8; 4096];
    let drain = async { while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {} };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
}

/// The SHA-256 of a certificate's DER encoding: how chibo names a client certificate.
pub fn certificate_sha256(certificate: &[u8]) -> [u8; 32] {
    Sha256::digest(certificate).into()
}

/// The SHA-256 of the DER encoding of the certificate the client of `request` presented in its
/// TLS handshake (the leaf, [`certificate_sha256`]). `None` over plaintext, when the server has
/// no client CA, or when the client presented no certificate.
///
/// A certificate named here has been verified: it chains to the client CA and is within its
/// validity period, and the client proved it holds its private key. Whose certificate it is
/// remains for authorization to decide.
pub fn client_certificate<T>(request: &tonic::Request<T>) -> Option<[u8; 32]> {
    let certificates = request.peer_certs()?;
    certificates.first().map(|leaf| certificate_sha256(leaf))
}
