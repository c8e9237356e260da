//! Builds real audit bundles from scratch, the way the server exports them: envelopes sealed
//! with `seal`, a `MemoryTree` over every event for the proofs, and a `NoteSigner` for the
//! checkpoint and the manifest. Shared by the integrity crate's bundle tests and the e2e tests
//! of `chibo audit verify`, which include this file by path.
#![allow(dead_code)] // each test binary uses its own part

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chibo_domain::{Date, EventId, Timestamp};
use chibo_integrity::bundle::{
    Bundle, BundleEvent, BundleStream, ConsistencyFrom, Manifest, StreamRange, Subject, FORMAT,
};
use chibo_integrity::checkpoint::{self, Checkpoint};
use chibo_integrity::merkle::{self, MemoryTree};
use chibo_integrity::{event_hash, genesis, payload_digest, seal, EnvelopeFields, Hash, NoteSigner, NoteVerifier};
use chibo_proto::convert::encode_kind;
use chibo_proto::v1 as pb;
use pb::event::Kind;

/// One event as a store keeps it.
#[derive(Debug, Clone)]
pub struct Stored {
    pub position: u64,
    pub stream: String,
    pub revision: u64,
    pub event_id: EventId,
    pub occurred_on: Date,
    pub envelope: Vec<u8>,
    pub payload: Vec<u8>,
    pub salt: [u8; 16],
    pub hash: Hash,
}

/// A log: every event in global order, the Merkle tree over them, and the key that signs.
pub struct Log {
    signer: NoteSigner,
    tree: MemoryTree,
    events: Vec<Stored>,
    /// Per stream: the next revision and the last hash.
    heads: HashMap<String, (u64, Hash)>,
    /// Mixed into event ids, so two logs never share one.
    seed: u8,
}

impl Log {
    /// An empty log whose key is named `origin`.
    pub fn new(origin: &str) -> Log {
        Self::with_signer(NoteSigner::generate(origin).unwrap(), 1)
    }

    /// An empty log signed by `signer`; `seed` tells its event ids from another log's.
    pub fn with_signer(signer: NoteSigner, seed: u8) -> Log {
        Log { signer, tree: MemoryTree::new(), events: Vec::new(), heads: HashMap::new(), seed }
    }

    pub fn origin(&self) -> &str {
        self.signer.name()
    }

    pub fn signer(&self) -> &NoteSigner {
        &self.signer
    }

    pub fn verifier(&self) -> NoteVerifier {
        self.signer.verifier()
    }

    pub fn size(&self) -> u64 {
        self.events.len() as u64
    }

    pub fn events(&self) -> &[Stored] {
        &self.events
    }

    /// Appends `kind` to `stream`, dated `occurred_on` (YYYY-MM-DD, 08:00 in Vietnam).
    pub fn append(&mut self, stream: &str, kind: Kind, occurred_on: &str) -> EventId {
        let position = self.size();
        let (revision, prev_hash) = self.heads.get(stream).copied().unwrap_or((0, genesis(stream)));
        let mut id = [0u8; 16];
        id[0] = self.seed;
        id[8..].copy_from_slice(&(position + 1).to_be_bytes());
        let event_id = EventId::from_bytes(id);
        let date = Date::parse("occurred_on", occurred_on).unwrap();
        let seconds = date.days_since_epoch() * 86_400 + 3600;
        let event_type = event_type(&kind);
        let payload = encode_kind(&kind);
        let salt = [position as u8 ^ self.seed; 16];
        let digest = payload_digest(&salt, &payload);
        let sealed = seal(EnvelopeFields {
            event_id: &event_id,
            stream,
            revision,
            event_type,
            schema_version: 1,
            occurred_at: Timestamp::new("occurred_at", seconds, 0).unwrap(),
            recorded_at: Timestamp::new("recorded_at", seconds + 600, 0).unwrap(),
            actor: "recorder:test",
            payload_digest: &digest,
            prev_hash: &prev_hash,
        });
        assert_eq!(sealed.hash, event_hash(&sealed.envelope));
        self.tree.push(&sealed.hash);
        self.heads.insert(stream.to_owned(), (revision.wrapping_add(1), sealed.hash));
        self.events.push(Stored {
            position,
            stream: stream.to_owned(),
            revision,
            event_id,
            occurred_on: date,
            envelope: sealed.envelope,
            payload,
            salt,
            hash: sealed.hash,
        });
        event_id
    }

    /// Makes the next event of `stream` revision `revision` after `prev_hash`, whatever came
    /// before: a server forging a stream's chain.
    pub fn forge_head(&mut self, stream: &str, revision: u64, prev_hash: Hash) {
        self.heads.insert(stream.to_owned(), (revision, prev_hash));
    }

    /// A member's study points.
    pub fn points(&mut self, stream: &str, member: &str, points: u32, on: &str) -> EventId {
        let kind = Kind::StudyPointsEarned(pb::StudyPointsEarned {
            member_id: member.to_owned(),
            points,
            date: on.to_owned(),
            activity: "Nghị quyết Đại hội XIV".into(),
            source_ref: Default::default(),
        });
        self.append(stream, kind, on)
    }

    /// An organization's registration, in its own stream.
    pub fn register(&mut self, stream: &str, org: &str, parent: &str, on: &str) -> EventId {
        let kind = Kind::OrganizationRegistered(pb::OrganizationRegistered {
            org_id: org.to_owned(),
            parent_id: parent.to_owned(),
            level: pb::OrgLevel::Grassroots as i32,
            name: format!("Đảng ủy {org}"),
            cell_type: String::new(),
        });
        self.append(stream, kind, on)
    }

    /// The root of the tree of the first `size` events.
    pub fn root(&self, size: u64) -> Hash {
        merkle::root(&self.tree, size).unwrap()
    }

    /// The checkpoint of the first `size` events.
    pub fn checkpoint(&self, size: u64) -> Checkpoint {
        Checkpoint::new(self.origin(), size, self.root(size))
    }

    /// The signed note of [`Log::checkpoint`].
    pub fn checkpoint_note(&self, size: u64) -> String {
        checkpoint::sign(&self.signer, &self.checkpoint(size)).unwrap()
    }

    /// The consistency proof from `old` events to `new`.
    pub fn consistency(&self, old: u64, new: u64) -> ConsistencyFrom {
        let proof = merkle::consistency_proof(&self.tree, old, new).unwrap();
        ConsistencyFrom { size: old, proof: proof.iter().map(|h| BASE64.encode(h)).collect() }
    }

    /// The bundle of `streams` for a period, at the first `size` events, as docs/AUDIT.md says:
    /// per stream, from the first revision dated on or after `from` (or the head alone) to the
    /// head at that size. `consistency_from`: earlier sizes to prove the tree extends.
    pub fn export(&self, subject: Subject, streams: &[&str], size: u64, consistency_from: &[u64]) -> Bundle {
        let from = Date::parse("from", &subject.from).unwrap();
        let mut names: Vec<&str> = streams.to_vec();
        names.sort();
        let mut ranges = Vec::new();
        let mut bundle_streams = Vec::new();
        for name in names {
            let events: Vec<&Stored> = self.events[..size as usize].iter().filter(|e| e.stream == name).collect();
            let head = events.last().expect("every stream of a bundle has an event");
            let first = events.iter().find(|e| e.occurred_on >= from).map_or(head.revision, |e| e.revision);
            ranges.push(StreamRange { stream: name.to_owned(), first, last: head.revision, last_hash: head.hash });
            let events =
                events.iter().skip_while(|e| e.revision != first).map(|e| self.bundle_event(e, size)).collect();
            bundle_streams.push(BundleStream { stream: name.to_owned(), events });
        }
        let manifest =
            Manifest { origin: self.origin().to_owned(), size, root: self.root(size), subject, streams: ranges };
        Bundle {
            format: FORMAT.to_owned(),
            key: self.verifier().to_string(),
            checkpoint: self.checkpoint_note(size),
            manifest: self.sign_manifest(&manifest),
            consistency: consistency_from.iter().map(|&old| self.consistency(old, size)).collect(),
            streams: bundle_streams,
        }
    }

    /// A manifest signed by this log's key.
    pub fn sign_manifest(&self, manifest: &Manifest) -> String {
        self.signer.sign(&manifest.text()).unwrap()
    }

    /// An event as a bundle at `size` holds it.
    pub fn bundle_event(&self, event: &Stored, size: u64) -> BundleEvent {
        let proof = merkle::inclusion_proof(&self.tree, event.position, size).unwrap();
        BundleEvent {
            position: event.position,
            envelope: BASE64.encode(&event.envelope),
            payload: Some(BASE64.encode(&event.payload)),
            salt: BASE64.encode(event.salt),
            hash: BASE64.encode(event.hash),
            inclusion: proof.iter().map(|h| BASE64.encode(h)).collect(),
        }
    }
}

/// A subject: `kind` (`cell`, `committee`) `org`, from `from` to `to`.
pub fn subject(kind: &str, org: &str, from: &str, to: &str) -> Subject {
    Subject { kind: kind.to_owned(), org: org.to_owned(), from: from.to_owned(), to: to.to_owned() }
}

/// The document of a bundle, as a file holds it.
pub fn json(bundle: &Bundle) -> Vec<u8> {
    serde_json::to_vec_pretty(bundle).unwrap()
}

/// `text` (base64) with bit `bit` of byte `byte` of the bytes it encodes flipped.
pub fn flip(text: &str, byte: usize, bit: u8) -> String {
    let mut bytes = BASE64.decode(text).unwrap();
    bytes[byte] ^= 1 << bit;
    BASE64.encode(bytes)
}

/// The catalogue name of a payload's type.
fn event_type(kind: &Kind) -> &'static str {
    match kind {
        Kind::OrganizationRegistered(_) => "OrganizationRegistered",
        Kind::StudyPointsEarned(_) => "StudyPointsEarned",
        Kind::MeetingHeld(_) => "MeetingHeld",
        Kind::EventCorrected(_) => "EventCorrected",
        Kind::EventRetracted(_) => "EventRetracted",
        other => panic!("the bundle builder does not name {other:?}"),
    }
}
