//! Who is calling: a bearer token in the `authorization` header, or else the client certificate
//! of a mutual-TLS connection, looked up by its digest among the credentials the log records
//! (`$credentials`); a revoked one stops working at the event
//! that revokes it. The caller found goes into the request's extensions for the services.
//!
//! A call must present one or the other: nobody anonymous may do anything (health checks and
//! server reflection aside, which answer no question about the log).

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chibo_domain::event::{CredentialIssued, Role};
use chibo_projections::access::{authorize, Action, Principal, Scope};
use sha2::{Digest, Sha256};
use tonic::{Request, Status};

use crate::guard::Domain;

/// The prefix of every token chibo issues, so that one is recognisable in a leaked file.
pub const TOKEN_PREFIX: &str = "chibo_";

/// Who is calling: an authenticated principal, and the digest of the credential it presented
/// (a token's, or a client certificate's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Whom the credential stands for.
    pub principal: Principal,
    /// The credential's digest, as `$credentials` records it.
    pub digest: [u8; 32],
}

impl Caller {
    /// The name written into the envelope of what the caller submits.
    pub fn actor(&self) -> &str {
        &self.principal.name
    }

    /// The caller a request carries (set by [`authenticate`], which every chibo service runs
    /// first). A request without one was never authenticated, and is refused.
    pub fn of<T>(request: &Request<T>) -> Result<Caller, Status> {
        request.extensions().get::<Caller>().cloned().ok_or_else(|| Status::unauthenticated(NO_CREDENTIAL))
    }

    /// Refuses `action` unless the caller may do it in `domain`'s state now.
    pub fn may(&self, domain: &Domain, action: Action<'_>) -> Result<(), Status> {
        let state = domain.state.read();
        authorize(&state, &self.principal, action).map_err(|denied| Status::permission_denied(denied.0))
    }

    /// Refuses a caller whose credential has been revoked since the call began: for streams
    /// that stay open, checked before each message.
    pub fn still_valid(&self, domain: &Domain) -> Result<(), Status> {
        match domain.state.read().index().credential(&self.digest) {
            Some(_) => Ok(()),
            None => Err(Status::unauthenticated("authorization: the credential was revoked")),
        }
    }
}

/// The refusal of a call that presents no credential at all.
const NO_CREDENTIAL: &str =
    "authorization: no credential; send `authorization: Bearer <token>` or connect with a client certificate \
     issued as a credential (`chibo keys issue`)";

/// A fresh token: the prefix and 32 random bytes, URL-safe base64.
pub fn new_token() -> Result<String, Status> {
    let mut secret = [0u8; 32];
    getrandom::getrandom(&mut secret).map_err(|e| Status::unavailable(format!("no randomness for a token: {e}")))?;
    Ok(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret)))
}

/// Refuses a token chibo could not have issued: the prefix, then 32 bytes in URL-safe base64
/// without padding. For a token chosen outside chibo (the first admin's, from the environment),
/// so that a short or guessable one is never recorded.
pub fn check_token(token: &str) -> Result<(), String> {
    let secret = token.strip_prefix(TOKEN_PREFIX).ok_or_else(|| {
        format!("the token does not start with `{TOKEN_PREFIX}`; make one with `chibo keys new-token`")
    })?;
    match URL_SAFE_NO_PAD.decode(secret) {
        Ok(bytes) if bytes.len() == 32 => Ok(()),
        _ => Err(format!(
            "the token is not `{TOKEN_PREFIX}` followed by 32 random bytes in URL-safe base64 (43 characters); \
             make one with `chibo keys new-token`"
        )),
    }
}

/// What the log records of a token: `SHA-256("chibo:token:v1\0" || token)`.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::new().chain_update(b"chibo:token:v1\0").chain_update(token.as_bytes()).finalize().into()
}

/// The principal a credential stands for.
pub fn principal(issued: &CredentialIssued) -> Principal {
    let scope = match (&issued.member_id, &issued.scope_org_id) {
        (Some(member), _) if issued.role == Role::Member => Scope::Member(member.clone()),
        (_, Some(org)) => Scope::Tree(org.clone()),
        _ => Scope::All,
    };
    Principal { name: issued.principal.clone(), role: issued.role, scope }
}

/// Finds the caller of `request` and records it in the request's extensions: from its
/// `authorization` header (a bearer token) if it has one, else from the client certificate of its
/// TLS connection. A call with neither, a header that is not a bearer token, and a credential the
/// log does not hold (or holds as revoked) are refused with `UNAUTHENTICATED`.
pub fn authenticate(domain: &Arc<Domain>, mut request: Request<()>) -> Result<Request<()>, Status> {
    let digest = match request.metadata().get("authorization") {
        Some(value) => {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| Status::unauthenticated("authorization: expected `Bearer <token>`"))?;
            token_digest(token)
        }
        None => match crate::tls::client_certificate(&request) {
            Some(digest) => digest,
            None => return Err(Status::unauthenticated(NO_CREDENTIAL)),
        },
    };
    let caller = caller_of(domain, digest).ok_or_else(|| {
        Status::unauthenticated(match request.metadata().contains_key("authorization") {
            true => "authorization: the token is unknown or revoked",
            false => "authorization: the client certificate is not a credential, or was revoked",
        })
    })?;
    request.extensions_mut().insert(caller);
    Ok(request)
}

/// The caller presenting the credential whose digest is `digest`, if the log holds it and has
/// not revoked it: the one check of a credential, for gRPC calls and for the web dashboard's
/// sign-in alike.
pub fn caller_of(domain: &Domain, digest: [u8; 32]) -> Option<Caller> {
    let state = domain.state.read();
    let issued = state.index().credential(&digest)?;
    Some(Caller { principal: principal(issued), digest })
}
