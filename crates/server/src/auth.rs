//! Who is calling: a bearer token in the `authorization` header, looked up by its digest among
//! the credentials the log records (`$credentials`); a revoked one stops working at the event
//! that revokes it. The caller found goes into the request's extensions for the services.
//!
//! Until every caller must authenticate, a call without a token is the loopback `anonymous`
//! (see docs/ARCHITECTURE.md, "Who may do what").

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chibo_domain::event::{CredentialIssued, Role};
use chibo_projections::access::{authorize, Action, Principal, Scope};
use sha2::{Digest, Sha256};
use tonic::{Request, Status};

use crate::guard::Domain;
use crate::submission::UNAUTHENTICATED_ACTOR;

/// The prefix of every token chibo issues, so that one is recognisable in a leaked file.
pub const TOKEN_PREFIX: &str = "chibo_";

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No credential: the transitional loopback caller.
    Anonymous,
    /// An authenticated principal, and the digest of the credential it presented.
    Principal(Principal, [u8; 32]),
}

impl Caller {
    /// The name written into the envelope of what the caller submits.
    pub fn actor(&self) -> &str {
        match self {
            Caller::Anonymous => UNAUTHENTICATED_ACTOR,
            Caller::Principal(p, _) => &p.name,
        }
    }

    /// The caller a request carries (set by [`authenticate`]); anonymous if none.
    pub fn of<T>(request: &Request<T>) -> Caller {
        request.extensions().get::<Caller>().cloned().unwrap_or(Caller::Anonymous)
    }

    /// Refuses `action` unless the caller may do it in `domain`'s state now. The anonymous
    /// caller may, for now.
    pub fn may(&self, domain: &Domain, action: Action<'_>) -> Result<(), Status> {
        match self {
            Caller::Anonymous => Ok(()),
            Caller::Principal(principal, _) => {
                let state = domain.state.read();
                authorize(&state, principal, action).map_err(|denied| Status::permission_denied(denied.0))
            }
        }
    }
}

impl Caller {
    /// Refuses a caller whose credential has been revoked since the call began: for streams
    /// that stay open, checked before each message.
    pub fn still_valid(&self, domain: &Domain) -> Result<(), Status> {
        match self {
            Caller::Anonymous => Ok(()),
            Caller::Principal(_, digest) => match domain.state.read().index().credential(digest) {
                Some(_) => Ok(()),
                None => Err(Status::unauthenticated("authorization: the credential was revoked")),
            },
        }
    }
}

/// A fresh token: the prefix and 32 random bytes, URL-safe base64.
pub fn new_token() -> Result<String, Status> {
    let mut secret = [0u8; 32];
    getrandom::getrandom(&mut secret).map_err(|e| Status::unavailable(format!("no randomness for a token: {e}")))?;
    Ok(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret)))
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

/// Finds the caller of `request` from its `authorization` header, and records it in the
/// request's extensions. A header that is not a bearer token, or a token the log does not
/// hold (or holds as revoked), is refused.
pub fn authenticate(domain: &Arc<Domain>, mut request: Request<()>) -> Result<Request<()>, Status> {
    let caller = match request.metadata().get("authorization") {
        None => Caller::Anonymous,
        Some(value) => {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| Status::unauthenticated("authorization: expected `Bearer <token>`"))?;
            let digest = token_digest(token);
            let state = domain.state.read();
            let issued = state
                .index()
                .credential(&digest)
                .ok_or_else(|| Status::unauthenticated("authorization: the token is unknown or revoked"))?;
            Caller::Principal(principal(issued), digest)
        }
    };
    request.extensions_mut().insert(caller);
    Ok(request)
}
