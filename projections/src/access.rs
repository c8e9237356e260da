//! Who may do what: the roles of DESIGN.md's security model, each with a scope, checked against
//! the organization tree **as the log records it at that moment** (a cell moved to another
//! committee moves out of the old committee's scope and into the new one's).
//!
//! | role | may |
//! |---|---|
//! | recorder | write the events of the cells in scope (but not a committee's score of a cell); read them |
//! | committee | recorder rights, and the committee decisions (programmes, selections, certifications, inspections, classifications, its scores of a cell's indicators) of the committees in scope; evaluations |
//! | inspector | read everything in scope: streams, standings, evaluations, trails, proofs, exports; write nothing |
//! | member | read their own standing and history |
//! | admin | register organizations and issue and revoke credentials in scope; read everything in scope |
//!
//! A scope is an organization and its whole subtree, or the whole log; a member's is themself.
//! This module decides; it holds no credentials and knows no transport.

use std::fmt;

pub use chibo_domain::event::Role;
use chibo_domain::event::{Event, EventType, ScoredBy, StreamHome};
use chibo_domain::{Id, StreamName};

use crate::state::{Role as EntryRole, State};

/// Where a principal's rights apply.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Every organization, present and future.
    All,
    /// An organization and every organization below it, as the log records the tree.
    Tree(Id),
    /// One member (the member role's only scope).
    Member(Id),
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::All => f.write_str("the whole log"),
            Scope::Tree(org) => write!(f, "{org} and below"),
            Scope::Member(member) => write!(f, "member {member}"),
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Who: the credential's principal name, written into the envelope of what they record.
    pub name: String,
    /// What for.
    pub role: Role,
    /// Where.
    pub scope: Scope,
}

/// What a principal asks to do.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    /// Append `event` to `stream` (Submit, SubmitBatch).
    Append {
        /// The stream.
        stream: &'a StreamName,
        /// The event.
        event: &'a Event,
    },
    /// Read one stream (ReadStream, VerifyStream).
    ReadStream(&'a StreamName),
    /// Read the whole log in order (ReadAll, Subscribe).
    ReadLog,
    /// Checkpoints, inclusion and consistency proofs: hashes and signatures only.
    Proofs,
    /// A member's standing, provenance or trail.
    ReadMember(&'a Id),
    /// An organization's standing, provenance, trail, evaluation or bundle (its subtree).
    ReadOrg(&'a Id),
    /// Issue, list or revoke credentials.
    Credentials,
    /// Issue or revoke one credential, which acts on this scope.
    Credential(&'a Scope),
}

/// Why an action is refused: a sentence naming the principal, the action and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

/// Decides whether `principal` may do `action`, against the tree recorded in `state`.
pub fn authorize(state: &State, principal: &Principal, action: Action<'_>) -> Result<(), Denied> {
    let Principal { name, role, scope } = principal;
    // What was asked is spelled only for a refusal: most requests are allowed.
    let deny = |what: String, why: &str| Err(Denied(format!("{role} {name:?} may not {what}: {why}")));
    let in_scope = |org: &Id| covers(state, scope, org);
    match action {
        Action::Append { stream, event } => {
            let what = || format!("write {} to {stream}", event.event_type());
            let Some(writer) = writer_of(state, stream, event) else {
                return deny(what(), "only the server writes there");
            };
            let may = match writer {
                Writer::Cell => matches!(role, Role::Recorder | Role::Committee),
                Writer::Committee => *role == Role::Committee,
                Writer::Admin => *role == Role::Admin,
            };
            if !may {
                return deny(what(), &format!("that is for {}", writer.roles()));
            }
            // A new organization is in scope if its parent is; anything else, if its stream is.
            let place = match event {
                Event::OrganizationRegistered(e) if state.index().org(&e.org_id).is_none() => e.parent_id.clone(),
                _ => stream.id().cloned(),
            };
            match place {
                Some(org) if in_scope(&org) => Ok(()),
                Some(org) => deny(what(), &format!("{org} is outside its scope ({scope})")),
                None if *scope == Scope::All => Ok(()),
                None => deny(what(), &format!("a new root organization is outside its scope ({scope})")),
            }
        }
        Action::ReadStream(stream) => {
            let what = || format!("read {stream}");
            match (stream.id(), role) {
                (_, Role::Member) => deny(what(), "a member reads only their own standing and history"),
                (None, Role::Admin) => Ok(()),
                (None, _) if *stream == StreamName::Credentials => deny(what(), "the credentials are for an admin"),
                (Some(org), _) if in_scope(org) => Ok(()),
                (Some(org), _) => deny(what(), &format!("{org} is outside its scope ({scope})")),
                // Checkpoints are public: signed hashes.
                (None, _) => Ok(()),
            }
        }
        Action::ReadLog => match (role, scope) {
            (Role::Inspector | Role::Admin, Scope::All) => Ok(()),
            _ => deny("read the whole log".into(), "that is for an inspector or an admin whose scope is the whole log"),
        },
        Action::Proofs => Ok(()),
        Action::ReadMember(member) => {
            let what = || format!("read member {member}");
            match scope {
                Scope::Member(me) if me == member => Ok(()),
                Scope::Member(_) => deny(what(), "a member reads only their own standing and history"),
                // Every member is inside the whole log, one it has never recorded too: that one
                // is the service's to call not found.
                Scope::All => Ok(()),
                Scope::Tree(_) => {
                    let cells = state.index().member_cells.get(member);
                    if cells.into_iter().flatten().any(|(cell, _)| in_scope(cell)) {
                        Ok(())
                    } else {
                        deny(what(), &format!("no cell of theirs is inside its scope ({scope})"))
                    }
                }
            }
        }
        Action::ReadOrg(org) => {
            let what = || format!("read {org}");
            match role {
                Role::Member => deny(what(), "a member reads only their own standing and history"),
                _ if in_scope(org) => Ok(()),
                _ => deny(what(), &format!("it is outside its scope ({scope})")),
            }
        }
        Action::Credentials => match role {
            Role::Admin => Ok(()),
            _ => deny("manage credentials".into(), "that is for an admin"),
        },
        Action::Credential(of) => {
            let what = || format!("issue or revoke a credential for {of}");
            if *role != Role::Admin {
                return deny(what(), "that is for an admin");
            }
            // Never a credential reaching further than the admin's own: that would hand out
            // rights it does not have.
            let inside = match (scope, of) {
                (Scope::All, _) => true,
                (_, Scope::All) => false,
                (_, Scope::Tree(org)) => in_scope(org),
                (_, Scope::Member(member)) => {
                    state.index().member_cells.get(member).into_iter().flatten().any(|(cell, _)| in_scope(cell))
                }
            };
            match inside {
                true => Ok(()),
                false => deny(what(), &format!("that is outside its scope ({scope})")),
            }
        }
    }
}

/// Whether `scope` covers the organization `org` as the log records the tree now.
fn covers(state: &State, scope: &Scope, org: &Id) -> bool {
    match scope {
        Scope::All => true,
        Scope::Tree(root) => root == org || state.index().is_above(root, org),
        Scope::Member(_) => false,
    }
}

/// Who writes an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writer {
    /// A cell's record book: recorders and committees.
    Cell,
    /// A committee's decisions.
    Committee,
    /// The tree and the credentials.
    Admin,
}

impl Writer {
    /// The one of two writers whose rights include the other's (a committee's include a
    /// cell's); for writers of different kinds of event, which the rules refuse to mix, the first.
    fn stricter(self, other: Writer) -> Writer {
        match (self, other) {
            (Writer::Cell, other) => other,
            (this, _) => this,
        }
    }

    fn roles(self) -> &'static str {
        match self {
            Writer::Cell => "a recorder or a committee",
            Writer::Committee => "a committee",
            Writer::Admin => "an admin",
        }
    }
}

/// Who may write `event` into `stream`; `None` for the server's own streams. A correction or
/// a retraction is written by whoever writes what it corrects, as it stands; a correction also
/// by whoever writes its replacement.
fn writer_of(state: &State, stream: &StreamName, event: &Event) -> Option<Writer> {
    let target = match event {
        Event::EventCorrected(e) => e.target_event_id,
        Event::EventRetracted(e) => e.target_event_id,
        _ => return writer_of_event(event),
    };
    // A correction or a retraction named as the target is refused by the rules, which name the
    // original instead; here, as for the original, the original's writer decides.
    let target = match state.stream(stream).and_then(|book| book.id(&target)).map(|entry| entry.role) {
        Some(EntryRole::Correction { target: original } | EntryRole::Retraction { target: original }) => original,
        _ => target,
    };
    let corrected = match state.fact(stream, &target) {
        Some(fact) => writer_of_event(&fact.event)?,
        None => match state.stream(stream).and_then(|book| book.id(&target)).and_then(|e| e.event_type) {
            Some(recorded) => writer_of_type(recorded)?,
            // A target the stream does not hold is refused by the rules, which say so better;
            // here, the stream's usual writer decides.
            None => match stream {
                StreamName::Cell(_) => Writer::Cell,
                StreamName::Org(_) => Writer::Committee,
                StreamName::Checkpoints | StreamName::Credentials => return None,
            },
        },
    };
    match event {
        // A correction cannot turn what its writer may write into what it may not (a cell's own
        // score into the committee's).
        Event::EventCorrected(e) => Some(corrected.stricter(writer_of_event(&e.replacement)?)),
        _ => Some(corrected),
    }
}

/// Who writes `event`, an original.
fn writer_of_event(event: &Event) -> Option<Writer> {
    match event {
        // The committee's score of a cell's indicators is the committee's decision, though the
        // cell's stream holds it (and it counts over the cell's own score of the month).
        Event::IndicatorsScored(e) if e.scored_by == ScoredBy::Committee => Some(Writer::Committee),
        _ => writer_of_type(event.event_type()),
    }
}

/// Who writes events of `event_type`, whatever they say.
fn writer_of_type(event_type: EventType) -> Option<Writer> {
    match event_type.home() {
        StreamHome::Checkpoints | StreamHome::Credentials => None,
        StreamHome::OwnStream | StreamHome::TargetStream => Some(Writer::Admin),
        StreamHome::Cell => Some(Writer::Cell),
        StreamHome::Org => match event_type {
            EventType::SigningKeyRegistered | EventType::SigningKeyRevoked => Some(Writer::Admin),
            _ => Some(Writer::Committee),
        },
    }
}
