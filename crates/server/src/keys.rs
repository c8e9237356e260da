//! The `chibo.v1.Keys` service: credentials issued and revoked by an admin, each recorded by the
//! server in `$credentials`. A token's secret is returned once and only its digest recorded.

use std::sync::Arc;

use chibo_domain::event::{CredentialIssued, CredentialKind, CredentialRevoked, Role};
use chibo_domain::{Event, EventId, Id, StreamName};
use chibo_projections::access::{authorize, Action};
use chibo_proto::convert;
use chibo_proto::v1::{self as pb, keys_server::Keys};
use chibo_store::{AppendError, EventStore, ExpectedRevision, NewEvent, Receipt};
use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status};

use crate::auth::{check_token, new_token, token_digest, Caller};
use crate::guard::Domain;
use crate::submission::{invalid, now};

/// Appends lost to another writer of `$credentials` before giving up.
const ATTEMPTS: usize = 8;

/// The Keys service.
pub struct KeysService {
    store: Arc<dyn EventStore>,
    domain: Arc<Domain>,
}

impl KeysService {
    /// The service recording into `store`, checking against `domain`'s state.
    pub fn new(store: Arc<dyn EventStore>, domain: Arc<Domain>) -> Self {
        Self { store, domain }
    }

    async fn record(
        &self,
        actor: &str,
        event: Event,
        check: impl Fn(&chibo_projections::State) -> Result<(), Status>,
    ) -> Result<Receipt, Status> {
        record(self.store.as_ref(), &self.domain, actor, event, check).await
    }
}

/// Records `event` in `$credentials` for `actor` once `check` (run against the state the append
/// follows) accepts it; the state has caught up with it when this returns, so a new credential
/// works, and a revoked one stops working, at once.
async fn record(
    store: &dyn EventStore,
    domain: &Domain,
    actor: &str,
    event: Event,
    check: impl Fn(&chibo_projections::State) -> Result<(), Status>,
) -> Result<Receipt, Status> {
    let stream = StreamName::Credentials;
    for _ in 0..ATTEMPTS {
        domain.caught_up(store).await?;
        let expected = {
            let state = domain.state.read();
            check(&state)?;
            match state.stream(&stream).map_or(0, |book| book.next_revision) {
                0 => ExpectedRevision::NoStream,
                head => ExpectedRevision::Exact(head - 1),
            }
        };
        let mut id = [0u8; 16];
        let mut salt = [0u8; 16];
        getrandom::getrandom(&mut id).map_err(|e| Status::unavailable(format!("no randomness: {e}")))?;
        getrandom::getrandom(&mut salt).map_err(|e| Status::unavailable(format!("no randomness: {e}")))?;
        id[6] = (id[6] & 0x0f) | 0x40;
        id[8] = (id[8] & 0x3f) | 0x80;
        let event_type = event.event_type();
        let new = NewEvent::new(
            EventId::from_bytes(id),
            event_type.name(),
            event_type.schema_version(),
            now(),
            actor,
            convert::encode_payload(&event),
            salt,
        );
        match store.append(&stream, expected, vec![new]).await {
            Ok(mut receipts) => {
                domain.caught_up(store).await?;
                return receipts.pop().ok_or_else(|| Status::internal("the store returned no receipt"));
            }
            Err(AppendError::WrongExpectedRevision { .. }) => continue,
            Err(e) => return Err(Status::unavailable(format!("the store cannot record the credential: {e}"))),
        }
    }
    Err(Status::aborted("$credentials is being written by others too fast; retry"))
}

/// Refuses `caller` a credential acting on `scope` unless that is inside the caller's own scope
/// (checked against the tree as `state` records it).
fn within_scope(
    state: &chibo_projections::State,
    caller: &Caller,
    scope: &chibo_projections::access::Scope,
) -> Result<(), Status> {
    authorize(state, &caller.principal, Action::Credential(scope)).map_err(|denied| Status::permission_denied(denied.0))
}

/// The id, and principal, of the admin credential a new log starts with.
pub const FIRST_ADMIN: &str = "admin";

/// The actor recorded on what the server records on its own (the first admin credential).
pub const SERVER_ACTOR: &str = chibo_tlog::checkpoints::ACTOR;

/// Why the first admin credential was not created.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The token offered for it is not one chibo could have issued.
    #[error("{0}")]
    Token(String),
    /// Recording it failed.
    #[error("cannot record the first admin credential: {}", .0.message())]
    Record(Status),
}

/// On a log that has never had a credential, records the first one: `admin`, with the admin role
/// over the whole tree, and returns its token, to be shown once. `token` is that token if given
/// (it must look like one chibo issues, [`check_token`]), else a fresh one. On a log that has had
/// credentials, revoked or not, records nothing and returns `None`.
pub async fn first_admin(
    store: &dyn EventStore,
    domain: &Domain,
    token: Option<String>,
) -> Result<Option<String>, BootstrapError> {
    let token = match token {
        Some(token) => {
            check_token(&token).map_err(BootstrapError::Token)?;
            token
        }
        None => new_token().map_err(BootstrapError::Record)?,
    };
    let issued = CredentialIssued::try_from(pb::CredentialIssued {
        credential_id: FIRST_ADMIN.to_owned(),
        principal: FIRST_ADMIN.to_owned(),
        role: pb::Role::Admin.into(),
        scope_org_id: String::new(),
        member_id: String::new(),
        kind: pb::CredentialKind::Token.into(),
        digest: token_digest(&token).to_vec(),
    })
    .map_err(|e| BootstrapError::Record(invalid(e)))?;
    let check = |state: &chibo_projections::State| match state.stream(&StreamName::Credentials) {
        Some(_) => Err(Status::already_exists("$credentials: the log has had credentials")),
        None => Ok(()),
    };
    match record(store, domain, SERVER_ACTOR, issued.into(), check).await {
        Ok(_) => Ok(Some(token)),
        Err(status) if status.code() == tonic::Code::AlreadyExists => Ok(None),
        Err(status) => Err(BootstrapError::Record(status)),
    }
}

#[tonic::async_trait]
impl Keys for KeysService {
    async fn issue(&self, request: Request<pb::IssueRequest>) -> Result<Response<pb::IssueResponse>, Status> {
        let caller = Caller::of(&request)?;
        caller.may(&self.domain, Action::Credentials)?;
        let pb::IssueRequest { credential_id, principal, role, scope_org_id, member_id, certificate } =
            request.into_inner();
        let (token, kind, digest) = if certificate.is_empty() {
            let token = new_token()?;
            let digest = token_digest(&token).to_vec();
            (token, CredentialKind::Token, digest)
        } else {
            (String::new(), CredentialKind::Certificate, Sha256::digest(&certificate).to_vec())
        };
        let wire = pb::CredentialIssued {
            credential_id,
            principal,
            role,
            scope_org_id,
            member_id,
            kind: match kind {
                CredentialKind::Token => pb::CredentialKind::Token,
                CredentialKind::Certificate => pb::CredentialKind::Certificate,
            }
            .into(),
            digest,
        };
        let issued = CredentialIssued::try_from(wire).map_err(invalid)?;
        let reach = crate::auth::principal(&issued).scope;
        let check = |state: &chibo_projections::State| {
            within_scope(state, &caller, &reach)?;
            let index = state.index();
            if index.credentials.contains_key(&issued.credential_id) {
                return Err(Status::already_exists(format!(
                    "credential_id: {} is already issued; choose another id",
                    issued.credential_id
                )));
            }
            if index.credential_digests.contains_key(&issued.digest) {
                return Err(Status::already_exists("certificate: this certificate is already a credential"));
            }
            if let Some(org) = &issued.scope_org_id {
                if index.org(org).is_none() {
                    return Err(Status::failed_precondition(format!(
                        "scope_org_id: no organization {org} is registered"
                    )));
                }
            }
            if let Some(member) = issued.member_id.as_ref().filter(|_| issued.role == Role::Member) {
                if !index.member_cells.contains_key(member) {
                    return Err(Status::failed_precondition(format!(
                        "member_id: no member {member} has joined a cell"
                    )));
                }
            }
            Ok(())
        };
        let id = issued.credential_id.to_string();
        let receipt = self.record(caller.actor(), issued.clone().into(), check).await?;
        Ok(Response::new(pb::IssueResponse {
            credential_id: id,
            token,
            receipt: Some(crate::ledger::receipt(&receipt)),
        }))
    }

    async fn list(
        &self,
        request: Request<pb::ListCredentialsRequest>,
    ) -> Result<Response<pb::ListCredentialsResponse>, Status> {
        let caller = Caller::of(&request)?;
        caller.may(&self.domain, Action::Credentials)?;
        self.domain.caught_up(self.store.as_ref()).await?;
        let state = self.domain.state.read();
        let index = state.index();
        let credentials = index
            .credentials
            .values()
            .map(|issued| pb::CredentialState {
                issued: Some(issued.into()),
                revoked: index.revoked.contains_key(&issued.credential_id),
            })
            .collect();
        Ok(Response::new(pb::ListCredentialsResponse { credentials }))
    }

    async fn revoke(&self, request: Request<pb::RevokeRequest>) -> Result<Response<pb::RevokeResponse>, Status> {
        let caller = Caller::of(&request)?;
        caller.may(&self.domain, Action::Credentials)?;
        let pb::RevokeRequest { credential_id, reason } = request.into_inner();
        let revoked = CredentialRevoked::try_from(pb::CredentialRevoked { credential_id, reason }).map_err(invalid)?;
        let id: Id = revoked.credential_id.clone();
        let check = |state: &chibo_projections::State| {
            let index = state.index();
            let Some(issued) = index.credentials.get(&id) else {
                return Err(Status::not_found(format!("credential_id: no credential {id} was issued")));
            };
            within_scope(state, &caller, &crate::auth::principal(issued).scope)?;
            if index.revoked.contains_key(&id) {
                return Err(Status::failed_precondition(format!("credential_id: {id} is already revoked")));
            }
            Ok(())
        };
        let receipt = self.record(caller.actor(), revoked.into(), check).await?;
        Ok(Response::new(pb::RevokeResponse { receipt: Some(crate::ledger::receipt(&receipt)) }))
    }
}
