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
//! **Several servers on one log** (a KurrentDB cluster) sign with one key, each holding a copy,
//! and take turns: only the holder of the store's `checkpoint-signer` lease signs
//! ([`chibo_store::Lease`]; it renews it every third of [`CheckpointConfig::lease`], and another
//! server takes over once it has not for a whole lease). Every server reads the checkpoints
//! recorded in `$checkpoints`, checks each against its own tree (the same tree: every server
//! numbers the log the same way) and serves the latest. A signature is recorded at the exact
//! revision after the last one the signer read, so even a holder paused past its lease cannot
//! record a checkpoint out of order: the other's append wins, and the paused one's note, still
//! a checkpoint of the same tree, is never recorded or served. Errors of the store are retried,
//! with a signature made but not yet recorded kept and recorded first.
//!
//! The key is a file of one line (the signed-note private key encoding), created owner-only on
//! first start; the public verifier key is written beside it (`checkpoint.pub`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use chibo_domain::event::{CheckpointSigned, CheckpointSignedFields};
use chibo_domain::{Event, EventId, StreamName, Timestamp};
use chibo_integrity::bundle::Manifest;
use chibo_integrity::checkpoint::{self, Checkpoint};
use chibo_integrity::note::{NoteSigner, NoteVerifier};
use chibo_store::{AppendError, EventStore, ExpectedRevision, Lease, NewEvent, StoredEvent};

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
    /// How long this server's turn as the log's only signer lasts unless it renews it (every
    /// third of it): after a signer stops, another server sharing the store signs from about
    /// this long later on.
    pub lease: Duration,
}

/// The lease the signing server holds.
pub const SIGNER_LEASE: &str = "checkpoint-signer";

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
    /// A recorded checkpoint event cannot be read.
    #[error("the log's $checkpoints stream is damaged: {0}")]
    Corrupt(String),
    /// The store failed (tried again, by a running signer).
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
        for event in &page {
            out.push((event.revision, event.position, recorded_note(event)?));
        }
    }
}

/// The note a `$checkpoints` event records.
fn recorded_note(event: &StoredEvent) -> Result<String, CheckpointError> {
    match chibo_proto::convert::decode_payload("CheckpointSigned", &event.payload) {
        Ok(chibo_proto::v1::Event { kind: Some(chibo_proto::v1::event::Kind::CheckpointSigned(c)) }) => Ok(c.note),
        _ => Err(CheckpointError::Corrupt(format!("revision {} is not a readable CheckpointSigned", event.revision))),
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

/// A checkpoint signed, with its state written, and not yet recorded: the event that records it
/// keeps its id across tries, so a try whose outcome was unknown is recognized, not doubled.
struct Pending {
    signed: Signed,
    event: NewEvent,
}

/// A request for a checkpoint now, and the log size it must cover.
struct Waiting {
    reply: Reply,
    size: u64,
    until: Instant,
}

/// Why the signer woke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wake {
    /// A checkpoint is due (the clock, the event count, a request).
    Due,
    /// Time to renew the lease, retry, or look for others' checkpoints.
    Look,
}

struct Signer {
    config: CheckpointConfig,
    signer: Arc<NoteSigner>,
    state_file: PathBuf,
    store: Arc<dyn EventStore>,
    log: Arc<MerkleLog>,
    shared: Arc<Checkpoints>,
    /// Who this server is, to the lease.
    holder: String,
    /// The signer's lease as last taken, renewed or seen held by another.
    lease: Option<Lease>,
    /// The next revision of `$checkpoints` to read.
    next_revision: u64,
    /// The position of the last checkpoint's own event.
    last_position: Option<u64>,
    /// Signed and not yet recorded.
    pending: Option<Pending>,
    /// A checkpoint is due and not yet signed.
    wanted: bool,
    /// Requests for a checkpoint now, not yet answered.
    waiting: Vec<Waiting>,
    /// Requests for a checkpoint now.
    requested: mpsc::Receiver<Reply>,
}

/// Starts signing checkpoints of `log` into `store`. Loads or creates the key, finds the last
/// checkpoint signed (the state file, and `$checkpoints`), and checks the log still agrees with
/// it before anything is signed. If it does not, nothing is ever signed and
/// [`Checkpoints::stopped`] says why; an unusable key file, or a store that cannot be read, is
/// an error.
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
    let mut this = Signer {
        config,
        signer,
        state_file,
        store,
        log,
        shared: shared.clone(),
        holder: holder_name(),
        lease: None,
        next_revision: 0,
        last_position: None,
        pending: None,
        wanted: false,
        waiting: Vec::new(),
        requested,
    };
    let stop = |shared: &Checkpoints, e: CheckpointError| {
        tracing::error!(error = %e, "checkpoint signing stopped");
        *shared.stopped.write().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
    };
    match this.recover().await {
        Ok(()) => {}
        // The log disagrees with what the key signed: keep serving the log, sign nothing.
        Err(e @ (CheckpointError::Conflict(_) | CheckpointError::Corrupt(_) | CheckpointError::BadState { .. })) => {
            stop(&shared, e);
            return Ok((shared, tokio::spawn(async {})));
        }
        Err(e) => return Err(e),
    }
    let task = tokio::spawn(async move {
        if let Err(e) = this.run(shutdown).await {
            let why = e.to_string();
            for waiting in this.waiting.drain(..) {
                drop(waiting.reply.send(Err(why.clone())));
            }
            stop(&this.shared, e);
        }
    });
    Ok((shared, task))
}

/// This process's name to the lease: the host, the process id and a random part (a restarted
/// server is a new holder, and waits for its old lease to run out).
fn holder_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    let mut random = [0u8; 4];
    // Without randomness the pid still tells processes on one host apart.
    let _ = getrandom::getrandom(&mut random);
    let random: String = random.iter().map(|b| format!("{b:02x}")).collect();
    format!("{host}/{}/{random}", std::process::id())
}

/// How long a failing store is left alone before the next try, at most.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

impl Signer {
    fn open(&self, note: &str) -> Result<Checkpoint, CheckpointError> {
        checkpoint::open(note, self.shared.verifier()).map_err(|e| CheckpointError::BadState {
            path: self.state_file.clone(),
            reason: format!(
                "a checkpoint recorded in this log does not verify with the key {}: {e}",
                self.config.key_file.display()
            ),
        })
    }

    fn store_error(e: impl std::fmt::Display) -> CheckpointError {
        CheckpointError::Store(e.to_string())
    }

    /// Finds the last checkpoint recorded and the last one this key signed (the state file),
    /// keeps one signed but not recorded to record it first, and refuses a log that went back
    /// behind what the key signed, or that no longer holds it.
    async fn recover(&mut self) -> Result<(), CheckpointError> {
        let Some((revision, note)) = read_state(&self.state_file)? else {
            // A key that never signed here: the log's checkpoints, if any, must verify with it.
            return self.catch_up().await;
        };
        let ours = self.open(&note)?;
        if let Some(previous) = revision.checked_sub(1) {
            let page = self.store.read_stream(&checkpoints_stream(), previous, 1).await.map_err(Self::store_error)?;
            if page.is_empty() {
                let length = checkpoints_length(self.store.as_ref()).await?;
                return Err(CheckpointError::Conflict(format!(
                    "{} records checkpoint revision {revision}, but $checkpoints holds {length} events: the log is \
                     older than what this key signed (restored from a backup?)",
                    self.state_file.display()
                )));
            }
            self.next_revision = previous;
        }
        let at_revision =
            self.store.read_stream(&checkpoints_stream(), revision, 1).await.map_err(Self::store_error)?;
        match at_revision.first() {
            // Signed, then the server stopped before recording it: record it first, if the log
            // still holds what it signed.
            None => {
                self.check_extends(&ours).await?;
                let event = checkpoint_event(&note)?;
                self.pending = Some(Pending { signed: Signed { note, checkpoint: ours, revision }, event });
            }
            Some(recorded) if recorded_note(recorded)? == note => {}
            // Another server recorded that revision first, which is no conflict as long as the
            // log holds what this key signed.
            Some(_) => {
                self.check_extends(&ours).await.map_err(|e| {
                    CheckpointError::Conflict(format!(
                        "$checkpoints revision {revision} holds another checkpoint than the one {} says this key \
                         signed there, and {}",
                        self.state_file.display(),
                        e.to_string().trim_start_matches("refusing to sign: ")
                    ))
                })?;
                tracing::info!(
                    revision,
                    "a checkpoint signed here was not recorded: another server recorded that revision first"
                );
            }
        }
        // Only now, the log found to hold what the key signed, are its checkpoints served.
        self.catch_up().await
    }

    /// Reads the checkpoints recorded since the last one read, checks each against the tree
    /// and the one before, and serves the latest.
    async fn catch_up(&mut self) -> Result<(), CheckpointError> {
        let recorded = recorded_from(self.store.as_ref(), self.next_revision).await?;
        if recorded.is_empty() {
            return Ok(());
        }
        let mut latest = self.shared.latest();
        for (revision, position, note) in recorded {
            let checkpoint = checkpoint::open(&note, self.shared.verifier()).map_err(|e| CheckpointError::BadState {
                path: self.state_file.clone(),
                reason: format!(
                    "$checkpoints revision {revision} does not verify with the key {} ({e}): every server on one log \
                     signs with the same key (--checkpoint-key), and the log's checkpoints were signed by another",
                    self.config.key_file.display()
                ),
            })?;
            if let Some(before) = latest.as_ref().filter(|l| checkpoint.size <= l.checkpoint.size) {
                return Err(CheckpointError::Conflict(format!(
                    "$checkpoints revision {revision} is a checkpoint of {} events, not more than the {} of revision {}",
                    checkpoint.size, before.checkpoint.size, before.revision
                )));
            }
            self.check_extends(&checkpoint).await?;
            self.next_revision = revision + 1;
            self.last_position = Some(position);
            latest = Some(Signed { note, checkpoint, revision });
        }
        if let Some(latest) = latest {
            if self.pending.as_ref().is_some_and(|p| p.signed.revision <= latest.revision) {
                // Recorded, by this server (an unknown outcome that landed) or by another.
                self.pending = None;
            }
            // The state file keeps a signature not yet recorded until it is.
            if self.pending.is_none() {
                write_state(&self.state_file, latest.revision, &latest.note)?;
            }
            *self.shared.latest.write().unwrap_or_else(|p| p.into_inner()) = Some(latest);
        }
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

    /// Takes or renews the signer's lease; a store that cannot say keeps what was known (a
    /// lease runs out on its own).
    async fn renew_lease(&mut self) {
        let lease = match self.store.lease(SIGNER_LEASE, &self.holder, self.config.lease).await {
            Ok(lease) => lease,
            Err(e) => return tracing::warn!(error = %e, "cannot renew the checkpoint signer's lease"),
        };
        match (&lease, &self.lease) {
            (Lease::Held { .. }, Some(Lease::Held { .. })) => {}
            (Lease::Held { .. }, _) => tracing::info!(holder = %self.holder, "this server signs the log's checkpoints"),
            (Lease::HeldBy { holder }, Some(Lease::HeldBy { holder: seen })) if holder == seen => {}
            (Lease::HeldBy { holder }, _) => tracing::info!(%holder, "another server signs the log's checkpoints"),
        }
        self.lease = Some(lease);
    }

    /// Whether this server holds the lease long enough to sign and record a checkpoint.
    fn holds_lease(&self) -> bool {
        self.lease.as_ref().is_some_and(|lease| lease.is_held_for(self.config.lease / 4))
    }

    async fn run<F>(&mut self, shutdown: F) -> Result<(), CheckpointError>
    where
        F: std::future::Future<Output = ()> + Send,
    {
        tokio::pin!(shutdown);
        // The first tick one period after start, not at start: a tick at start signed whatever
        // the tree held at that instant, racing the first events (or the tree catching up).
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + self.config.every, self.config.every);
        let look_every = (self.config.lease / 3).max(Duration::from_millis(10));
        let mut look = tokio::time::interval(look_every);
        look.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut backoff: Option<Duration> = None;
        loop {
            let due = self.shared.latest().map_or(0, |l| l.checkpoint.size).saturating_add(self.config.every_events);
            let signing = self.holds_lease() && backoff.is_none();
            let wake = tokio::select! {
                () = &mut shutdown => return Ok(()),
                _ = ticker.tick() => Wake::Due,
                _ = look.tick() => {
                    self.renew_lease().await;
                    Wake::Look
                }
                _ = self.log.wait_for(due, Duration::from_secs(86_400)), if signing => Wake::Due,
                () = tokio::time::sleep(backoff.unwrap_or_default()), if backoff.is_some() => Wake::Look,
                // Requests wait for another server's checkpoint, or for this one's to be recorded.
                () = tokio::time::sleep(Duration::from_millis(50)), if !self.waiting.is_empty() => Wake::Look,
                Some(reply) = self.requested.recv() => {
                    // Everything committed so far, for every request waiting.
                    let mut replies = vec![reply];
                    while let Ok(reply) = self.requested.try_recv() {
                        replies.push(reply);
                    }
                    let committed = self.store.committed().borrow().map_or(0, |last| last + 1);
                    self.log.wait_for(committed, Duration::from_secs(60)).await;
                    let until = Instant::now() + self.config.every + self.config.lease * 2 + Duration::from_secs(10);
                    self.waiting.extend(replies.into_iter().map(|reply| Waiting { reply, size: committed, until }));
                    Wake::Due
                }
            };
            if wake == Wake::Due {
                self.wanted = true;
            }
            match self.step().await {
                Ok(()) => backoff = None,
                Err(CheckpointError::Store(why)) => {
                    let next = backoff.map_or(Duration::from_millis(100), |b| (b * 2).min(MAX_BACKOFF));
                    tracing::warn!(error = %why, retry_in = ?next, "checkpoint signing failed; trying again");
                    backoff = Some(next);
                    if self.holds_lease() {
                        // Whoever asked this server for a checkpoint hears why now, not at its deadline.
                        let why = CheckpointError::Store(why).to_string();
                        for waiting in self.waiting.drain(..) {
                            drop(waiting.reply.send(Err(why.clone())));
                        }
                    }
                }
                Err(e) => return Err(e),
            }
            self.answer();
        }
    }

    /// Reads what others recorded; then, holding the lease, records what was signed and not
    /// recorded, and signs what is due.
    async fn step(&mut self) -> Result<(), CheckpointError> {
        self.catch_up().await?;
        if !self.holds_lease() {
            return Ok(());
        }
        if self.pending.is_some() {
            self.record_pending().await?;
        }
        if !self.wanted {
            return Ok(());
        }
        let latest = self.shared.latest();
        let last_size = latest.as_ref().map_or(0, |l| l.checkpoint.size);
        let size = self.log.size();
        // Nothing new, or only the last checkpoint's own event.
        let only_own = self.last_position == Some(last_size) && size == last_size + 1;
        if size > last_size && !only_own {
            self.sign(latest, size).await?;
        }
        self.wanted = false;
        Ok(())
    }

    /// Answers the requests the latest checkpoint covers (on the signing server: all of them,
    /// once nothing is pending), and those that waited too long.
    fn answer(&mut self) {
        let latest = self.shared.latest();
        let now = Instant::now();
        let signing = self.holds_lease() && self.pending.is_none() && !self.wanted;
        let covered = |size: u64| {
            latest.as_ref().is_some_and(|l| {
                let own_only = self.last_position == Some(l.checkpoint.size) && size == l.checkpoint.size + 1;
                l.checkpoint.size >= size || own_only
            })
        };
        let mut still = Vec::new();
        for waiting in self.waiting.drain(..) {
            let answer = if covered(waiting.size) || (signing && latest.is_some()) {
                latest.clone().ok_or_else(String::new)
            } else if signing && latest.is_none() {
                Err("the log is empty: there is nothing to sign".to_owned())
            } else if now >= waiting.until {
                let who = match &self.lease {
                    Some(Lease::HeldBy { holder }) => format!("the server signing this log's checkpoints ({holder})"),
                    _ => "this server".to_owned(),
                };
                Err(format!("no checkpoint of the log's {} events was recorded in time by {who}", waiting.size))
            } else {
                still.push(waiting);
                continue;
            };
            // A requester that gave up needs no answer.
            drop(waiting.reply.send(answer));
        }
        self.waiting = still;
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
        let revision = self.next_revision;
        let event = checkpoint_event(&note)?;
        // First the state file, durably: what is signed is never forgotten.
        write_state(&self.state_file, revision, &note)?;
        self.pending = Some(Pending { signed: Signed { note, checkpoint, revision }, event });
        self.record_pending().await?;
        tracing::debug!(size, revision, "checkpoint signed");
        Ok(())
    }

    /// Appends the pending checkpoint to `$checkpoints` at its revision. When another server
    /// recorded that revision first, it is dropped (the next read of `$checkpoints` serves
    /// theirs); when the store fails, it is kept for the next try.
    async fn record_pending(&mut self) -> Result<(), CheckpointError> {
        let Some(pending) = &self.pending else { return Ok(()) };
        let revision = pending.signed.revision;
        let expected = match revision.checked_sub(1) {
            None => ExpectedRevision::NoStream,
            Some(previous) => ExpectedRevision::Exact(previous),
        };
        match self.store.append(&checkpoints_stream(), expected, vec![pending.event.clone()]).await {
            Ok(receipts) => {
                let Some(Pending { signed, .. }) = self.pending.take() else { return Ok(()) };
                self.last_position = receipts.first().map(|r| r.position);
                self.next_revision = revision + 1;
                *self.shared.latest.write().unwrap_or_else(|p| p.into_inner()) = Some(signed);
                Ok(())
            }
            Err(AppendError::WrongExpectedRevision { .. }) => {
                tracing::info!(revision, "another server recorded a checkpoint at this revision first; dropping ours");
                self.pending = None;
                self.catch_up().await
            }
            Err(e) => Err(Self::store_error(e)),
        }
    }
}

/// The event that records `note` in `$checkpoints`, with a new id and salt.
fn checkpoint_event(note: &str) -> Result<NewEvent, CheckpointError> {
    let event: Event = CheckpointSigned::new(CheckpointSignedFields { note: note.to_owned() })
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
    Ok(NewEvent::new(
        EventId::from_bytes(id),
        kind.name(),
        kind.schema_version(),
        occurred_at,
        ACTOR,
        chibo_proto::convert::encode_payload(&event),
        salt,
    ))
}
