//! The server a command connects to, resolved from `--server`, `--ca`, `--cert` and `--key`:
//! TLS for an `https://` URL, plaintext for `http://`; and the credential it calls with,
//! `--token` (or the client certificate).

use anyhow::{bail, Context};
use chibo_server::tls::{certified_key, root_store, PemFile};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// A connection that calls with the command's token, if it has one.
pub type Connection = InterceptedService<Channel, Bearer>;

pub use chibo::Bearer;

use crate::cli::ServerArg;

/// The endpoint `--server` names, with TLS configured for `https://`.
pub fn resolve(args: &ServerArg) -> anyhow::Result<Endpoint> {
    let ServerArg { server, ca, cert, key, token: _ } = args;
    let endpoint =
        Endpoint::from_shared(server.clone()).with_context(|| format!("--server {server:?} is not a URL"))?;
    match endpoint.uri().scheme_str() {
        Some("https") => {}
        Some("http") => {
            // tonic would quietly ignore them over plaintext.
            if ca.is_some() || cert.is_some() {
                bail!(
                    "--server {server} is plaintext (http://): --ca, --cert and --key apply to TLS; \
                     use an https:// URL"
                );
            }
            return Ok(endpoint);
        }
        _ => bail!("--server {server:?}: the URL must start with https:// (TLS) or http:// (plaintext)"),
    }
    let mut tls = ClientTlsConfig::new();
    // tonic checks the certificate against the URL's host as written, which for an IPv6 address
    // is in brackets (`[::1]`) and matches nothing.
    if let Some(ip) = endpoint.uri().host().and_then(|h| h.strip_prefix('[')?.strip_suffix(']')) {
        tls = tls.domain_name(ip);
    }
    tls = match ca {
        Some(ca) => {
            let ca = PemFile::read(ca).context("--ca")?;
            root_store(&ca).context("--ca")?;
            tls.ca_certificate(Certificate::from_pem(ca.bytes()))
        }
        None => tls.with_native_roots(),
    };
    if let (Some(cert), Some(key)) = (cert, key) {
        let cert = PemFile::read(cert).context("--cert")?;
        let key = PemFile::read(key).context("--key")?;
        certified_key(&cert, &key).context("--cert and --key")?;
        tls = tls.identity(Identity::from_pem(cert.bytes(), key.bytes()));
    }
    endpoint.tls_config(tls).with_context(|| format!("cannot set up TLS for {server}"))
}
