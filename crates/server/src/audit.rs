//! The `chibo.v1.Audit` service: the latest signed checkpoint; inclusion and consistency proofs
//! from the Merkle log, for any tree size the log holds; the audit trail of a cell, a committee
//! or a member with proofs; a stream's chain checked as stored; and audit bundles
//! ([`crate::export`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::pin::Pin;
use std::sync::Arc;

use chibo_domain::{Date, Id, StreamName};
use chibo_integrity::merkle::ProofError;
use chibo_integrity::{Envelope, Verifier};
use chibo_projections::access::Action;
use chibo_proto::convert::{decode_payload, timestamp_to_wire};
use chibo_proto::v1::{self as pb, audit_server::Audit, event::Kind};
use chibo_store::{EventStore, StoredEvent};
use chibo_tlog::{Checkpoints, MerkleLog, Signed};
use futures::Stream;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status};

use crate::auth::Caller;
use crate::guard::Domain;
use crate::reports::id;

/// The Audit service over the Merkle log and the checkpoints signed from it.
#[derive(Clone)]
pub struct AuditService {
    pub(crate) store: Arc<dyn EventStore>,
    pub(crate) log: Arc<MerkleLog>,
    pub(crate) checkpoints: Arc<Checkpoints>,
    pub(crate) domain: Arc<Domain>,
}

/// A stream of answers to a server-streaming call.
pub(crate) type Answers<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// Events read per page.
const PAGE: usize = 1024;

impl AuditService {
    /// The service answering from `log` and `checkpoints`, finding organizations and members
    /// in `domain`.
    pub fn new(
        store: Arc<dyn EventStore>,
        log: Arc<MerkleLog>,
        checkpoints: Arc<Checkpoints>,
        domain: Arc<Domain>,
    ) -> Self {
        Self { store, log, checkpoints, domain }
    }

    /// `requested`, or the latest checkpoint's size for 0.
    fn size_or_latest(&self, field: &str, requested: u64) -> Result<u64, Status> {
        if requested != 0 {
            return Ok(requested);
        }
        match self.checkpoints.latest() {
            Some(signed) => Ok(signed.checkpoint.size),
            None => Err(Status::failed_precondition(format!(
                "{field}: 0 asks for the latest checkpoint, and none is signed yet"
            ))),
        }
    }

    /// Checks the tree holds `size` leaves (waiting briefly for commits it has not caught up
    /// with).
    async fn holds(&self, field: &str, size: u64) -> Result<(), Status> {
        if self.log.wait_for(size, std::time::Duration::from_secs(5)).await {
            Ok(())
        } else {
            Err(Status::out_of_range(format!("{field}: {size} is beyond the log's {} events", self.log.size())))
        }
    }
}

/// The gRPC form of a signed checkpoint.
pub(crate) fn checkpoint_message(signed: Signed, checkpoints: &Checkpoints) -> pb::Checkpoint {
    pb::Checkpoint {
        note: signed.note,
        origin: signed.checkpoint.origin,
        size: signed.checkpoint.size,
        root: signed.checkpoint.root.to_vec(),
        verifier_key: checkpoints.verifier().to_string(),
    }
}

/// The whole of `stream`, in revision order.
pub(crate) async fn read_stream(store: &dyn EventStore, stream: &StreamName) -> Result<Vec<StoredEvent>, Status> {
    let mut events = Vec::new();
    loop {
        let page = store
            .read_stream(stream, events.len() as u64, PAGE)
            .await
            .map_err(|e| Status::unavailable(format!("the store cannot be read: {e}")))?;
        let full = page.len() == PAGE;
        events.extend(page);
        if !full {
            return Ok(events);
        }
    }
}

/// The streams of an organization: a cell's own, or a committee's and those of every
/// organization below it, by name; and whether it is a cell.
pub(crate) fn org_streams(domain: &Domain, field: &str, org: &Id) -> Result<(Vec<StreamName>, bool), Status> {
    let state = domain.state.read();
    let index = state.index();
    let node =
        index.org(org).ok_or_else(|| Status::not_found(format!("{field}: no organization {org} is registered")))?;
    let is_cell = node.level == chibo_domain::event::OrgLevel::Cell;
    let mut streams: Vec<StreamName> =
        index.subtree(org).iter().filter_map(|id| index.org(id)).map(|node| node.stream.clone()).collect();
    streams.sort_by_key(|s| s.to_string());
    streams.dedup();
    Ok((streams, is_cell))
}

/// A period by `occurred_at`: `[from, to + 1 day)` in seconds since the epoch, UTC; an empty
/// bound is open.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Period {
    pub(crate) from: Option<i64>,
    pub(crate) until: Option<i64>,
}

impl Period {
    pub(crate) fn parse(from: &str, to: &str) -> Result<Period, Status> {
        let invalid = |e: chibo_domain::InvalidField| Status::invalid_argument(e.to_string());
        let from = Date::parse_optional("from", from).map_err(invalid)?;
        let to = Date::parse_optional("to", to).map_err(invalid)?;
        if let (Some(from), Some(to)) = (from, to) {
            if to < from {
                return Err(Status::invalid_argument(format!("to: {to} is before from {from}")));
            }
        }
        Ok(Period {
            from: from.map(|d| d.days_since_epoch() * 86_400),
            until: to.map(|d| (d.days_since_epoch() + 1) * 86_400),
        })
    }

    pub(crate) fn contains(&self, seconds: i64) -> bool {
        self.from.is_none_or(|from| seconds >= from) && self.until.is_none_or(|until| seconds < until)
    }
}

/// Whether an event names `member`.
fn names_member(kind: &Kind, member: &str) -> bool {
    match kind {
        Kind::MemberJoined(e) => e.member_id == member,
        Kind::MemberLeft(e) => e.member_id == member,
        Kind::MemberRoleAssigned(e) => e.member_id == member,
        Kind::MeetingHeld(e) => e.attendance.iter().any(|a| a.member_id == member),
        Kind::MemberSpoke(e) => e.member_id == member,
        Kind::MemberCommended(e) => e.member_id == member,
        Kind::MemberReminded(e) => e.member_id == member,
        Kind::TaskAssigned(e) => e.member_id == member,
        Kind::TaskCompleted(e) => e.member_id == member,
        Kind::StudyPointsEarned(e) => e.member_id == member,
        Kind::MemberClassified(e) => e.member_id == member,
        Kind::EventCorrected(e) => {
            e.replacement.as_ref().and_then(|r| r.kind.as_ref()).is_some_and(|k| names_member(k, member))
        }
        _ => false,
    }
}

/// One event of a trail, read from its stored form.
struct Entry {
    event: pb::TrailEvent,
    occurred: i64,
    kind: Option<Kind>,
}

fn entry(stored: StoredEvent) -> Result<Entry, Status> {
    let position = stored.position;
    let envelope = Envelope::decode(&stored.envelope)
        .map_err(|e| Status::data_loss(format!("the envelope at position {position} does not decode: {e}")))?;
    let decoded = decode_payload(&envelope.event_type, &stored.payload).ok();
    let corrects = match decoded.as_ref().and_then(|e| e.kind.as_ref()) {
        Some(Kind::EventCorrected(c)) => c.target_event_id.clone(),
        Some(Kind::EventRetracted(r)) => r.target_event_id.clone(),
        _ => String::new(),
    };
    let StoredEvent { position, stream: _, revision: _, envelope: bytes, payload, salt, hash } = stored;
    Ok(Entry {
        occurred: envelope.occurred_at.seconds(),
        kind: decoded.as_ref().and_then(|e| e.kind.clone()),
        event: pb::TrailEvent {
            recorded: Some(pb::RecordedEvent {
                position,
                envelope: bytes,
                payload,
                salt: salt.to_vec(),
                hash: hash.to_vec(),
            }),
            event_id: envelope.event_id.to_string(),
            stream: envelope.stream.to_string(),
            revision: envelope.revision,
            event_type: envelope.event_type.clone(),
            occurred_at: Some(timestamp_to_wire(envelope.occurred_at)),
            recorded_at: Some(timestamp_to_wire(envelope.recorded_at)),
            actor: envelope.actor.clone(),
            event: decoded,
            inclusion: Vec::new(),
            proven: false,
            corrects,
            corrected_by: Vec::new(),
        },
    })
}

/// A stream's trail in order: the events `wanted` picks, each followed by the corrections and
/// retractions of it (wherever they fall), and corrections of events not picked in their own
/// place if `wanted` picks them.
fn arrange(entries: Vec<Entry>, wanted: impl Fn(&Entry) -> bool) -> Vec<pb::TrailEvent> {
    let mut corrections: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        if !e.event.corrects.is_empty() {
            corrections.entry(e.event.corrects.clone()).or_default().push(i);
        }
    }
    let picked: Vec<bool> = entries.iter().map(&wanted).collect();
    let ids: BTreeSet<&str> =
        entries.iter().zip(&picked).filter(|(_, p)| **p).map(|(e, _)| e.event.event_id.as_str()).collect();
    // A correction goes beside its target when the target is in the trail.
    let beside: Vec<bool> = entries.iter().map(|e| ids.contains(e.event.corrects.as_str())).collect();
    let event_ids: Vec<String> = entries.iter().map(|e| e.event.event_id.clone()).collect();
    let mut out = Vec::new();
    let mut events: Vec<Option<pb::TrailEvent>> = entries.into_iter().map(|e| Some(e.event)).collect();
    // Puts event `i` out (once), naming what corrects it; answers those corrections.
    let emit = |i: usize, out: &mut Vec<pb::TrailEvent>, events: &mut Vec<Option<pb::TrailEvent>>| {
        let Some(mut event) = events[i].take() else { return Vec::new() };
        let by = corrections.get(&event.event_id).cloned().unwrap_or_default();
        event.corrected_by = by.iter().map(|j| event_ids[*j].clone()).collect();
        out.push(event);
        by
    };
    for i in 0..events.len() {
        if !picked[i] || beside[i] {
            continue;
        }
        let mut pending = emit(i, &mut out, &mut events);
        // Corrections of corrections follow too.
        while let Some(j) = (!pending.is_empty()).then(|| pending.remove(0)) {
            pending.extend(emit(j, &mut out, &mut events));
        }
    }
    out
}

pub(crate) fn proof_status<E: std::fmt::Display>(field: &str, e: ProofError<E>) -> Status {
    match e {
        ProofError::Source(e) => Status::internal(format!("the Merkle tree cannot be read: {e}")),
        other => Status::invalid_argument(format!("{field}: {other}")),
    }
}

#[tonic::async_trait]
impl Audit for AuditService {
    async fn get_checkpoint(&self, _: Request<pb::GetCheckpointRequest>) -> Result<Response<pb::Checkpoint>, Status> {
        let Some(signed) = self.checkpoints.latest() else {
            let why = self.checkpoints.stopped().unwrap_or_else(|| "none is signed yet".to_owned());
            return Err(Status::unavailable(format!("no checkpoint: {why}")));
        };
        Ok(Response::new(checkpoint_message(signed, &self.checkpoints)))
    }

    async fn inclusion_proof(
        &self,
        request: Request<pb::InclusionProofRequest>,
    ) -> Result<Response<pb::InclusionProofResponse>, Status> {
        let pb::InclusionProofRequest { position, tree_size } = request.into_inner();
        let tree_size = self.size_or_latest("tree_size", tree_size)?;
        if position >= tree_size {
            return Err(Status::invalid_argument(format!(
                "position: {position} is not inside the tree of {tree_size} events"
            )));
        }
        self.holds("tree_size", tree_size).await?;
        let hashes = self.log.inclusion_proof(position, tree_size).map_err(|e| proof_status("position", e))?;
        let root = self.log.root(tree_size).map_err(|e| proof_status("tree_size", e))?;
        let stored =
            self.store.read_all(position.checked_sub(1), 1).await.map_err(|e| Status::unavailable(e.to_string()))?;
        let event_hash = stored.first().filter(|e| e.position == position).map(|e| e.hash).ok_or_else(|| {
            Status::internal(format!("the store holds no event at position {position} below the tree size"))
        })?;
        Ok(Response::new(pb::InclusionProofResponse {
            position,
            tree_size,
            event_hash: event_hash.to_vec(),
            hashes: hashes.iter().map(|h| h.to_vec()).collect(),
            root: root.to_vec(),
        }))
    }

    async fn consistency_proof(
        &self,
        request: Request<pb::ConsistencyProofRequest>,
    ) -> Result<Response<pb::ConsistencyProofResponse>, Status> {
        let pb::ConsistencyProofRequest { old_size, new_size } = request.into_inner();
        let new_size = self.size_or_latest("new_size", new_size)?;
        if old_size > new_size {
            return Err(Status::invalid_argument(format!("old_size: {old_size} is above new_size {new_size}")));
        }
        self.holds("new_size", new_size).await?;
        let hashes = self.log.consistency_proof(old_size, new_size).map_err(|e| proof_status("old_size", e))?;
        let old_root = self.log.root(old_size).map_err(|e| proof_status("old_size", e))?;
        let new_root = self.log.root(new_size).map_err(|e| proof_status("new_size", e))?;
        Ok(Response::new(pb::ConsistencyProofResponse {
            old_size,
            new_size,
            hashes: hashes.iter().map(|h| h.to_vec()).collect(),
            old_root: old_root.to_vec(),
            new_root: new_root.to_vec(),
        }))
    }

    type AuditTrailStream = Answers<pb::TrailItem>;

    async fn audit_trail(
        &self,
        request: Request<pb::AuditTrailRequest>,
    ) -> Result<Response<Self::AuditTrailStream>, Status> {
        let caller = Caller::of(&request)?;
        let permit = crate::limits::open_stream(&request)?;
        let pb::AuditTrailRequest { org_id, member_id, from, to } = request.into_inner();
        let period = Period::parse(&from, &to)?;
        self.domain.caught_up(self.store.as_ref()).await?;
        let (streams, member) = match (org_id.is_empty(), member_id.is_empty()) {
            (false, true) => {
                let org = id("org_id", &org_id)?;
                caller.may(&self.domain, Action::ReadOrg(&org))?;
                (org_streams(&self.domain, "org_id", &org)?.0, None)
            }
            (true, false) => {
                let member = id("member_id", &member_id)?;
                caller.may(&self.domain, Action::ReadMember(&member))?;
                (self.member_streams(&member)?, Some(member.to_string()))
            }
            (false, false) => {
                return Err(Status::invalid_argument("member_id: give an org_id or a member_id, not both"))
            }
            (true, true) => return Err(Status::invalid_argument("org_id: give an org_id or a member_id")),
        };
        let (tx, rx) = mpsc::channel(64);
        let (store, log, latest) = (self.store.clone(), self.log.clone(), self.checkpoints.latest());
        let checkpoints = self.checkpoints.clone();
        tokio::spawn(async move {
            let size = latest.as_ref().map(|l| l.checkpoint.size);
            if let Some(signed) = latest {
                let item = pb::trail_item::Item::Checkpoint(checkpoint_message(signed, &checkpoints));
                if tx.send(Ok(pb::TrailItem { item: Some(item) })).await.is_err() {
                    return;
                }
            }
            for stream in streams {
                let trail = async {
                    let entries = read_stream(store.as_ref(), &stream).await?.into_iter().map(entry).collect::<Result<
                        Vec<_>,
                        _,
                    >>(
                    )?;
                    let wanted = |e: &Entry| {
                        period.contains(e.occurred)
                            && member.as_deref().is_none_or(|m| e.kind.as_ref().is_some_and(|k| names_member(k, m)))
                    };
                    let mut trail = arrange(entries, wanted);
                    for event in &mut trail {
                        let position = event.recorded.as_ref().map_or(u64::MAX, |r| r.position);
                        if let Some(size) = size.filter(|size| position < *size) {
                            let proof = log.inclusion_proof(position, size).map_err(|e| proof_status("position", e))?;
                            event.inclusion = proof.iter().map(|h| h.to_vec()).collect();
                            event.proven = true;
                        }
                    }
                    Ok::<_, Status>(trail)
                };
                let items = match trail.await {
                    Ok(trail) => trail
                        .into_iter()
                        .map(|e| Ok(pb::TrailItem { item: Some(pb::trail_item::Item::Event(e)) }))
                        .collect(),
                    Err(status) => vec![Err(status)],
                };
                for item in items {
                    let failed = item.is_err();
                    if tx.send(item).await.is_err() || failed {
                        return;
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(permit.hold(tokio_stream::wrappers::ReceiverStream::new(rx)))))
    }

    async fn verify_stream(
        &self,
        request: Request<pb::VerifyStreamRequest>,
    ) -> Result<Response<pb::VerifyStreamResponse>, Status> {
        let caller = Caller::of(&request)?;
        let pb::VerifyStreamRequest { stream } = request.into_inner();
        let name = StreamName::parse("stream", &stream).map_err(|e| Status::invalid_argument(e.to_string()))?;
        caller.may(&self.domain, Action::ReadStream(&name))?;
        let events = read_stream(self.store.as_ref(), &name).await?;
        let Some(head) = events.last() else {
            return Err(Status::not_found(format!("stream: {stream} holds no events")));
        };
        let mut verifier = Verifier::new();
        for event in &events {
            verifier.check(event.as_raw());
        }
        // One stream's positions are not consecutive: only its chain's breaks count here.
        let problems: Vec<String> = verifier.finish().breaks.iter().map(ToString::to_string).collect();
        let latest = self.checkpoints.latest().filter(|l| head.position < l.checkpoint.size);
        let head_proven = match &latest {
            Some(signed) => {
                let size = signed.checkpoint.size;
                let proof = self.log.inclusion_proof(head.position, size).map_err(|e| proof_status("stream", e))?;
                let leaf = chibo_integrity::merkle::leaf_hash(&head.hash);
                chibo_integrity::merkle::verify_inclusion(&leaf, head.position, size, &proof, &signed.checkpoint.root)
                    .is_ok()
            }
            None => false,
        };
        Ok(Response::new(pb::VerifyStreamResponse {
            stream,
            events: events.len() as u64,
            head_hash: head.hash.to_vec(),
            intact: problems.is_empty(),
            problems,
            checkpoint: latest.map(|signed| checkpoint_message(signed, &self.checkpoints)),
            head_proven,
        }))
    }

    type ExportBundleStream = Answers<pb::BundleChunk>;

    async fn export_bundle(
        &self,
        request: Request<pb::ExportBundleRequest>,
    ) -> Result<Response<Self::ExportBundleStream>, Status> {
        let caller = Caller::of(&request)?;
        let permit = crate::limits::open_stream(&request)?;
        let chunks = crate::export::export(self, &caller, request.into_inner()).await?;
        Ok(Response::new(Box::pin(permit.hold(chunks))))
    }
}

impl AuditService {
    /// The streams of every cell `member` ever belonged to.
    fn member_streams(&self, member: &Id) -> Result<Vec<StreamName>, Status> {
        let state = self.domain.state.read();
        let cells: BTreeMap<String, StreamName> = state
            .index()
            .member_cells
            .get(member)
            .into_iter()
            .flatten()
            .map(|(cell, _)| (format!("cell-{cell}"), StreamName::Cell(cell.clone())))
            .collect();
        if cells.is_empty() {
            return Err(Status::not_found(format!("member_id: no member {member} has joined a cell")));
        }
        Ok(cells.into_values().collect())
    }
}
