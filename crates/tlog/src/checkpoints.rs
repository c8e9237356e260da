//! Signed checkpoints: every so many events or seconds, the server signs the Merkle root of
//! the whole log as a C2SP `tlog-checkpoint` in a C2SP `signed-note` (Ed25519) and records it in
//! `$checkpoints` as a `CheckpointSigned` event.
//!
//! It never signs two checkpoints that conflict. Before each signature it checks that the tree
//! still has, at the last signed size, the root it signed, and that the new size is larger.
//! What it signed last is kept in a state file beside the key (`checkpoint.key.last`), written
//! and fsynced *before* the signature is recorded or served: a log restored from an older
//! backup, or a tree that no longer matches, stops the signing with an error that says so,
//! instead of producing a fork.
//!
//! The key is a file of one line (the signed-note private key encoding), created owner-only on
//! first start; the public verifier key is written beside it (`checkpoint.pub`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use chibo_domain::event::{CheckpointSigned, CheckpointSignedFields};
use chibo_domain::{Event, EventId, StreamName, Timestamp};
use chibo_integrity::bundle::Manifest;
use chibo_integrity::checkpoint::{self, Checkpoint};
use chibo_integrity::note::{NoteSigner, NoteVerifier};
use chibo_store::{EventStore, ExpectedRevision, NewEvent};

use crate::fs::{create_private_dir, write_durably};
use crate::log::MerkleLog;

/// The actor recorded on checkpoint events.
pub const ACTOR: &str = "chibo-server";

/// How checkpoints are issued.
#[derive(Debug, Clone)]
pub struct CheckpointConfig {
    /// The log's origin line, also the key's name (e.g. `chibo.thaibinh.example/2026`).
    pub origin: String,
    /// The private key file (created if absent).
    pub key_file: PathBuf,
    /// Sign after this many new events...
    pub every_events: u64,
    /// ...or after this long, if any event other than the last checkpoint's own was recorded.
    pub every: Duration,
}

/// Why checkpoints cannot be signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The key file is not a key for this origin.
    #[error("{path}: {reason}")]
    BadKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The state file is damaged.
    #[error("{path}: {reason}")]
    BadState {
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Signing now would contradict a checkpoint signed before.
    #[error("refusing to sign: {0}")]
    Conflict(String),
    /// The store failed.
    #[error("the store failed: {0}")]
    Store(String),
}

/// A checkpoint as signed and recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The signed note, as served.
    pub note: String,
    /// What it says.
    pub checkpoint: Checkpoint,
    /// Its revision in `$checkpoints`.
    pub revision: u64,
}

/// The checkpoints the server signed, for the services that hand them out.
pub struct Checkpoints {
    verifier: NoteVerifier,
    latest: RwLock<Option<Signed>>,
    stopped: RwLock<Option<String>>,
    requests: mpsc::Sender<Reply>,
    signer: Arc<NoteSigner>,
}

/// Where the signer answers a request for a checkpoint now.
type Reply = oneshot::Sender<Result<Signed, String>>;

impl Checkpoints {
    /// The public key that verifies the checkpoints, in the signed-note verifier encoding.
    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// The latest checkpoint signed and recorded.
    pub fn latest(&self) -> Option<Signed> {
        self.latest.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Why signing stopped, if it did.
    pub fn stopped(&self) -> Option<String> {
        self.stopped.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Signs a bundle manifest with the log's key. Only a manifest: the key signs no other text
    /// on request, so nothing it signs this way can pass for a checkpoint.
    pub fn sign_manifest(&self, manifest: &Manifest) -> Result<String, String> {
        let text = manifest.text();
        Manifest::parse(&text).map_err(|e| format!("the manifest does not read back: {e}"))?;
        self.signer.sign(&text).map_err(|e| e.to_string())
    }

    /// A checkpoint of every event committed before the call, signed now unless the latest
    /// one already covers them all (or all but its own event); an error says why none can be
    /// signed.
    pub async fn sign_now(&self) -> Result<Signed, String> {
        let stopped = || self.stopped().unwrap_or_else(|| "checkpoint signing has stopped".to_owned());
        let (reply, answer) = oneshot::channel();
        self.requests.send(reply).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// Loads the key from `path`, or creates it (owner-only) for `origin`; writes the public key
/// beside it.
pub fn load_or_create_key(path: &Path, origin: &str) -> Result<NoteSigner, CheckpointError> {
    let io = |source| CheckpointError::Io { path: path.to_owned(), source };
    let signer = match std::fs::read_to_string(path) {
        Ok(text) => NoteSigner::from_private_key(text.trim_end())
            .map_err(|e| CheckpointError::BadKey { path: path.to_owned(), reason: e.to_string() })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let signer = NoteSigner::generate(origin)
                .map_err(|e| CheckpointError::BadKey { path: path.to_owned(), reason: e.to_string() })?;
            if let Some(dir) = path.parent() {
                create_private_dir(dir).map_err(io)?;
            }
            write_durably(path, format!("{}\n", signer.private_key()).as_bytes()).map_err(io)?;
            tracing::info!(key = %path.display(), "created the checkpoint signing key");
            signer
        }
        Err(e) => return Err(io(e)),
    };
    if signer.name() != origin {
        return Err(CheckpointError::BadKey {
            path: path.to_owned(),
            reason: format!("the key is named {:?}, but the log's origin is {origin:?}", signer.name()),
        });
    }
    let public = path.with_file_name("checkpoint.pub");
    write_durably(&public, format!("{}\n", signer.verifier()).as_bytes())
        .map_err(|source| CheckpointError::Io { path: public, source })?;
    Ok(signer)
}

fn state_path(key_file: &Path) -> PathBuf {
    let mut name = key_file.file_name().unwrap_or_default().to_owned();
    name.push(".last");
    key_file.with_file_name(name)
}

const STATE_HEADER: &str = "chibo checkpoint state v1";

/// Reads the state file: the revision and note of the last checkpoint signed.
fn read_state(path: &Path) -> Result<Option<(u64, String)>, CheckpointError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(CheckpointError::Io { path: path.to_owned(), source }),
    };
    let bad = |reason: &str| CheckpointError::BadState { path: path.to_owned(), reason: reason.to_owned() };
    let rest = text.strip_prefix(STATE_HEADER).and_then(|r| r.strip_prefix('\n')).ok_or_else(|| bad("no header"))?;
    let (revision, note) = rest.split_once('\n').ok_or_else(|| bad("no revision line"))?;
    let revision = revision
        .strip_prefix("revision ")
        .and_then(|r| r.parse().ok())
        .ok_or_else(|| bad("the revision line is not `revision N`"))?;
    Ok(Some((revision, note.to_owned())))
}

fn write_state(path: &Path, revision: u64, note: &str) -> Result<(), CheckpointError> {
    write_durably(path, format!("{STATE_HEADER}\nrevision {revision}\n{note}").as_bytes())
        .map_err(|source| CheckpointError::Io { path: path.to_owned(), source })
}

fn checkpoints_stream() -> StreamName {
    StreamName::Checkpoints
}

/// Every `CheckpointSigned` note of `$checkpoints` from `from` on, with its revision and position.
async fn recorded_from(store: &dyn EventStore, from: u64) -> Result<Vec<(u64, u64, String)>, CheckpointError> {
    let mut out = Vec::new();
    let mut next = from;
    loop {
        let page = store
            .read_stream(&checkpoints_stream(), next, 1024)
            .await
            .map_err(|e| CheckpointError::Store(e.to_string()))?;
        let Some(last) = page.last() else { return Ok(out) };
        next = last.revision + 1;
        for event in page {
            let note = match chibo_proto::convert::decode_payload("CheckpointSigned", &event.payload) {
                Ok(chibo_proto::v1::Event { kind: Some(chibo_proto::v1::event::Kind::CheckpointSigned(c)) }) => c.note,
                _ => {
                    return Err(CheckpointError::Store(format!(
                        "$checkpoints revision {} is not a readable CheckpointSigned",
                        event.revision
                    )))
                }
            };
            out.push((event.revision, event.position, note));
        }
    }
}

/// How many events `$checkpoints` holds.
async fn checkpoints_length(store: &dyn EventStore) -> Result<u64, CheckpointError> {
    let mut length = 0;
    loop {
        let page = store
            .read_stream(&checkpoints_stream(), length, 1024)
            .await
            .map_err(|e| CheckpointError::Store(e.to_string()))?;
        if page.is_empty() {
            return Ok(length);
        }
        length += page.len() as u64;
    }
}

struct Signer {
    config: CheckpointConfig,
    signer: Arc<NoteSigner>,
    state_file: PathBuf,
    store: Arc<dyn EventStore>,
    log: Arc<MerkleLog>,
    shared: Arc<Checkpoints>,
    /// The position of the last checkpoint's own event.
    last_position: Option<u64>,
    /// Requests for a checkpoint now.
    requested: mpsc::Receiver<Reply>,
}

/// Starts signing checkpoints of `log` into `store`. Loads or creates the key, finds the last
/// checkpoint signed (the state file, and `$checkpoints`), and checks the log still agrees with
/// it before anything is signed. If it does not, nothing is ever signed and
/// [`Checkpoints::stopped`] says why; an unusable key file is an error.
pub async fn start<F>(
    config: CheckpointConfig,
    store: Arc<dyn EventStore>,
    log: Arc<MerkleLog>,
    shutdown: F,
) -> Result<(Arc<Checkpoints>, tokio::task::JoinHandle<()>), CheckpointError>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let signer = Arc::new(load_or_create_key(&config.key_file, &config.origin)?);
    let state_file = state_path(&config.key_file);
    let (requests, requested) = mpsc::channel(64);
    let shared = Arc::new(Checkpoints {
        verifier: signer.verifier(),
        latest: RwLock::new(None),
        stopped: RwLock::new(None),
        requests,
        signer: signer.clone(),
    });
    let mut this =
        Signer { config, signer, state_file, store, log, shared: shared.clone(), last_position: None, requested };
    let stop = |shared: &Checkpoints, e: CheckpointError| {
        tracing::error!(error = %e, "checkpoint signing stopped");
        *shared.stopped.write().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
    };
    match this.recover().await {
        Ok(()) => {}
        // The log disagrees with what the key signed: keep serving the log, sign nothing.
        Err(e @ (CheckpointError::Conflict(_) | CheckpointError::BadState { .. })) => {
            stop(&shared, e);
            return Ok((shared, tokio::spawn(async {})));
        }
        Err(e) => return Err(e),
    }
    let task = tokio::spawn(async move {
        if let Err(e) = this.run(shutdown).await {
            stop(&this.shared, e);
        }
    });
    Ok((shared, task))
}

impl Signer {
    fn open(&self, note: &str) -> Result<Checkpoint, CheckpointError> {
        checkpoint::open(note, &self.signer.verifier()).map_err(|e| CheckpointError::BadState {
            path: self.state_file.clone(),
            reason: format!(
                "a checkpoint recorded in this log does not verify with the key {}: {e}",
                self.config.key_file.display()
            ),
        })
    }

    /// Finds the last checkpoint signed, records one that was signed but not recorded, and
    /// refuses a log that went back behind it.
    async fn recover(&mut self) -> Result<(), CheckpointError> {
        let state = read_state(&self.state_file)?;
        let from = state.as_ref().map_or(0, |(revision, _)| *revision);
        let recorded = recorded_from(self.store.as_ref(), from).await?;
        let last = match (state, recorded.last()) {
            (Some((revision, note)), None) => {
                // Signed, then the server stopped before recording it, or the log went back.
                let holds_previous = match revision.checked_sub(1) {
                    None => true,
                    Some(previous) => {
                        let page = self.store.read_stream(&checkpoints_stream(), previous, 1).await;
                        !page.map_err(|e| CheckpointError::Store(e.to_string()))?.is_empty()
                    }
                };
                if !holds_previous {
                    let length = checkpoints_length(self.store.as_ref()).await?;
                    return Err(CheckpointError::Conflict(format!(
                        "{} records checkpoint revision {revision}, but $checkpoints holds {length} events: the log \
                         is older than what this key signed (restored from a backup?)",
                        self.state_file.display()
                    )));
                }
                let checkpoint = self.open(&note)?;
                // Recorded only if the log still holds what it signed.
                self.check_extends(&checkpoint).await?;
                self.record(Signed { note, checkpoint, revision }).await?
            }
            (state, Some((revision, position, note))) => {
                if let Some((_, signed)) = state.filter(|(r, _)| recorded.first().is_some_and(|(first, ..)| first == r))
                {
                    if recorded[0].2 != signed {
                        return Err(CheckpointError::Conflict(format!(
                            "$checkpoints revision {} holds another checkpoint than the one {} says this key signed \
                             there",
                            recorded[0].0,
                            self.state_file.display()
                        )));
                    }
                }
                self.last_position = Some(*position);
                Signed { checkpoint: self.open(note)?, note: note.clone(), revision: *revision }
            }
            (None, None) => return Ok(()),
        };
        self.check_extends(&last.checkpoint).await?;
        write_state(&self.state_file, last.revision, &last.note)?;
        *self.shared.latest.write().unwrap_or_else(|p| p.into_inner()) = Some(last);
        Ok(())
    }

    /// Checks the tree holds, at `checkpoint`'s size, the root it names: first waits for the
    /// tree to catch up with what the store has committed, then compares.
    async fn check_extends(&self, checkpoint: &Checkpoint) -> Result<(), CheckpointError> {
        let committed = self.store.committed().borrow().map_or(0, |last| last + 1);
        if !self.log.wait_for(committed, Duration::from_secs(600)).await {
            return Err(CheckpointError::Store(format!(
                "the Merkle tree did not catch up with the log's {committed} events within 10 minutes"
            )));
        }
        if committed < checkpoint.size {
            return Err(CheckpointError::Conflict(format!(
                "the log holds {committed} events, fewer than the {} of a checkpoint this key signed: the log is \
                 older than what this key signed (restored from a backup?)",
                checkpoint.size
            )));
        }
        let root = self.log.root(checkpoint.size).map_err(|e| CheckpointError::Conflict(e.to_string()))?;
        if root != checkpoint.root {
            return Err(CheckpointError::Conflict(format!(
                "the log's root at size {} is not the root this key signed at that size: the history was rewritten",
                checkpoint.size
            )));
        }
        Ok(())
    }

    /// Appends `signed` to `$checkpoints` at its revision.
    async fn record(&mut self, signed: Signed) -> Result<Signed, CheckpointError> {
        let event: Event = CheckpointSigned::new(CheckpointSignedFields { note: signed.note.clone() })
            .map_err(|e| CheckpointError::Store(e.to_string()))?
            .into();
        let mut id = [0u8; 16];
        let mut salt = [0u8; 16];
        getrandom::getrandom(&mut id).map_err(|e| CheckpointError::Store(e.to_string()))?;
        getrandom::getrandom(&mut salt).map_err(|e| CheckpointError::Store(e.to_string()))?;
        id[6] = (id[6] & 0x0f) | 0x40;
        id[8] = (id[8] & 0x3f) | 0x80;
        let kind = event.event_type();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let occurred_at = Timestamp::new("occurred_at", now.as_secs() as i64, now.subsec_nanos() as i32)
            .map_err(|e| CheckpointError::Store(e.to_string()))?;
        let new = NewEvent::new(
            EventId::from_bytes(id),
            kind.name(),
            kind.schema_version(),
            occurred_at,
            ACTOR,
            chibo_proto::convert::encode_payload(&event),
            salt,
        );
        let expected = match signed.revision.checked_sub(1) {
            None => ExpectedRevision::NoStream,
            Some(previous) => ExpectedRevision::Exact(previous),
        };
        let receipts = self
            .store
            .append(&checkpoints_stream(), expected, vec![new])
            .await
            .map_err(|e| CheckpointError::Store(e.to_string()))?;
        self.last_position = receipts.first().map(|r| r.position);
        Ok(signed)
    }

    async fn run<F>(&mut self, shutdown: F) -> Result<(), CheckpointError>
    where
        F: std::future::Future<Output = ()> + Send,
    {
        tokio::pin!(shutdown);
        // The first tick one period after start, not at start: a tick at start signed whatever
        // the tree held at that instant, racing the first events (or the tree catching up).
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + self.config.every, self.config.every);
        loop {
            let last = self.shared.latest();
            let last_size = last.as_ref().map_or(0, |l| l.checkpoint.size);
            let due = last_size.saturating_add(self.config.every_events);
            let mut waiting = Vec::new();
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                _ = ticker.tick() => {}
                _ = self.log.wait_for(due, Duration::from_secs(86_400)) => {}
                Some(reply) = self.requested.recv() => {
                    // Everything committed so far, for every request waiting.
                    waiting.push(reply);
                    while let Ok(reply) = self.requested.try_recv() {
                        waiting.push(reply);
                    }
                    let committed = self.store.committed().borrow().map_or(0, |last| last + 1);
                    self.log.wait_for(committed, Duration::from_secs(60)).await;
                }
            }
            let size = self.log.size();
            // Nothing new, or only the last checkpoint's own event.
            let only_own = self.last_position == Some(last_size) && size == last_size + 1;
            let signed = if size <= last_size || only_own { Ok(()) } else { self.sign(last, size).await };
            let answer = match &signed {
                Ok(()) => self.shared.latest().ok_or_else(|| "the log is empty: there is nothing to sign".to_owned()),
                Err(e) => Err(e.to_string()),
            };
            for reply in waiting {
                // A requester that gave up needs no answer.
                drop(reply.send(answer.clone()));
            }
            signed?;
        }
    }

    async fn sign(&mut self, last: Option<Signed>, size: u64) -> Result<(), CheckpointError> {
        if let Some(last) = &last {
            if size <= last.checkpoint.size {
                return Err(CheckpointError::Conflict(format!(
                    "size {size} is not above the last checkpoint's {}",
                    last.checkpoint.size
                )));
            }
            self.check_extends(&last.checkpoint).await?;
        }
        let root = self.log.root(size).map_err(|e| CheckpointError::Conflict(e.to_string()))?;
        let checkpoint = Checkpoint { origin: self.config.origin.clone(), size, root, extensions: Vec::new() };
        let note = checkpoint::sign(&self.signer, &checkpoint)
            .map_err(|e| CheckpointError::BadKey { path: self.config.key_file.clone(), reason: e.to_string() })?;
        let revision = last.map_or(0, |l| l.revision + 1);
        // First the state file, durably: what is signed is never forgotten.
        write_state(&self.state_file, revision, &note)?;
        let signed = self.record(Signed { note, checkpoint, revision }).await?;
        tracing::debug!(size, "checkpoint signed");
        *self.shared.latest.write().unwrap_or_else(|p| p.into_inner()) = Some(signed);
        Ok(())
    }
}
