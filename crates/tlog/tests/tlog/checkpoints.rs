//! The checkpoint signer over the embedded store: its key files, a checkpoint every N events
//! (or on the clock) recorded in `$checkpoints`, the state file written before each is
//! recorded, and no signature at all over a log that went back behind what the key signed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chibo_domain::StreamName;
use chibo_integrity::checkpoint::{self, Checkpoint};
use chibo_integrity::note::{NoteSigner, NoteVerifier};
use chibo_store::{AppendError, EventStore, ExpectedRevision, Lease, NewEvent, ReadError, Receipt, StoredEvent};
use chibo_tlog::checkpoints::{self, load_or_create_key};
use chibo_tlog::{CheckpointConfig, CheckpointError, Checkpoints, MerkleLog};
use tokio::sync::watch;

use crate::{append, hashes, memory_tree, open_store, WAIT};

const ORIGIN: &str = "chibo.test.example/log";

/// A data directory's layout as `chibo serve` has it.
struct Dirs {
    data: PathBuf,
    merkle: PathBuf,
    key: PathBuf,
}

impl Dirs {
    fn in_(root: &Path) -> Dirs {
        Dirs { data: root.join("data"), merkle: root.join("merkle"), key: root.join("keys").join("checkpoint.key") }
    }

    fn state(&self) -> PathBuf {
        self.key.with_file_name("checkpoint.key.last")
    }

    fn public(&self) -> PathBuf {
        self.key.with_file_name("checkpoint.pub")
    }
}

fn config(key: &Path, every_events: u64, every: Duration) -> CheckpointConfig {
    CheckpointConfig {
        origin: ORIGIN.into(),
        key_file: key.to_owned(),
        every_events,
        every,
        lease: Duration::from_secs(15),
    }
}

/// The Merkle log and the signer, running over a store.
struct Running {
    store: Arc<dyn EventStore>,
    checkpoints: Arc<Checkpoints>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

async fn run(dirs: &Dirs, store: Arc<dyn EventStore>, config: CheckpointConfig) -> Running {
    try_run(dirs, store, config).await.expect("the signer starts")
}

async fn try_run(
    dirs: &Dirs,
    store: Arc<dyn EventStore>,
    config: CheckpointConfig,
) -> Result<Running, CheckpointError> {
    let (stop, stopped) = watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    let log = MerkleLog::open(&dirs.merkle, store.as_ref()).await.unwrap();
    let follower = tokio::spawn(log.clone().follow(store.clone(), until_stopped()));
    let started = checkpoints::start(config, store.clone(), log, until_stopped()).await;
    let (checkpoints, signer) = match started {
        Ok(started) => started,
        Err(e) => {
            let _ = stop.send(true);
            follower.await.unwrap().unwrap();
            return Err(e);
        }
    };
    let follower = tokio::spawn(async move { follower.await.unwrap().unwrap() });
    Ok(Running { store, checkpoints, stop, tasks: vec![follower, signer] })
}

impl Running {
    /// Stops the signer and the log; returns the store.
    async fn stop(self) -> Arc<dyn EventStore> {
        let _ = self.stop.send(true);
        for task in self.tasks {
            task.await.unwrap();
        }
        self.store
    }

    /// Waits for a checkpoint of at least `size` events.
    async fn checkpoint_of(&self, size: u64) -> checkpoints::Signed {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(signed) = self.checkpoints.latest().filter(|s| s.checkpoint.size >= size) {
                return signed;
            }
            assert!(self.checkpoints.stopped().is_none(), "signing stopped: {:?}", self.checkpoints.stopped());
            assert!(Instant::now() < deadline, "no checkpoint of {size} events within {WAIT:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Every note recorded in `$checkpoints`, in order.
async fn recorded(store: &dyn EventStore) -> Vec<String> {
    let events = store.read_stream(&StreamName::Checkpoints, 0, 10_000).await.unwrap();
    events
        .iter()
        .enumerate()
        .map(|(revision, event)| {
            assert_eq!(event.revision, revision as u64);
            match chibo_proto::convert::decode_payload("CheckpointSigned", &event.payload) {
                Ok(chibo_proto::v1::Event { kind: Some(chibo_proto::v1::event::Kind::CheckpointSigned(c)) }) => c.note,
                other => panic!("$checkpoints revision {revision} is not a CheckpointSigned: {other:?}"),
            }
        })
        .collect()
}

/// The public key the signer wrote beside its private key.
fn public_key(dirs: &Dirs) -> NoteVerifier {
    NoteVerifier::parse(std::fs::read_to_string(dirs.public()).unwrap().trim_end()).unwrap()
}

/// `note` verifies with the key beside the signing key, and its root is the root of the store's
/// first `size` events.
async fn assert_signed_over(dirs: &Dirs, store: &dyn EventStore, note: &str) -> Checkpoint {
    let opened = checkpoint::open(note, &public_key(dirs)).expect("the checkpoint verifies with checkpoint.pub");
    let leaves = hashes(store).await;
    assert!(opened.size as usize <= leaves.len());
    assert_eq!(opened.root, memory_tree(&leaves[..opened.size as usize]).root(), "the root at {}", opened.size);
    assert_eq!(opened.origin, ORIGIN);
    opened
}

/// The state file: its revision line and its note.
fn state(dirs: &Dirs) -> (u64, String) {
    let text = std::fs::read_to_string(dirs.state()).expect("the state file exists");
    let rest = text.strip_prefix("chibo checkpoint state v1\nrevision ").expect("the state file's header");
    let (revision, note) = rest.split_once('\n').unwrap();
    (revision.parse().unwrap(), note.to_owned())
}

/// Copies a closed store's directory.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// The key

#[cfg(unix)]
#[test]
fn the_key_is_created_owner_only_with_its_public_key_beside_it() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let root = tempfile::tempdir().unwrap();
    let dirs = Dirs::in_(root.path());
    let signer = load_or_create_key(&dirs.key, ORIGIN).unwrap();
    assert_eq!(mode(&dirs.key), 0o600, "the private key");
    assert_eq!(mode(dirs.key.parent().unwrap()), 0o700, "the key directory");
    assert_eq!(signer.name(), ORIGIN);
    assert_eq!(std::fs::read_to_string(&dirs.key).unwrap(), format!("{}\n", signer.private_key()));
    assert_eq!(std::fs::read_to_string(dirs.public()).unwrap(), format!("{}\n", signer.verifier()));
    assert_eq!(public_key(&dirs), signer.verifier());
    // The next start loads the same key, and writes the public key again if it went missing.
    std::fs::remove_file(dirs.public()).unwrap();
    let again = load_or_create_key(&dirs.key, ORIGIN).unwrap();
    assert_eq!(again.private_key(), signer.private_key());
    assert_eq!(public_key(&dirs), signer.verifier());
}

#[test]
fn a_key_for_another_origin_or_no_key_at_all_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let dirs = Dirs::in_(root.path());
    let other = load_or_create_key(&dirs.key, "chibo.elsewhere.example/log").unwrap();
    match load_or_create_key(&dirs.key, ORIGIN) {
        Err(e @ CheckpointError::BadKey { .. }) => {
            let text = e.to_string();
            assert!(text.contains(dirs.key.to_str().unwrap()), "names the file: {text}");
            assert!(text.contains("chibo.elsewhere.example/log") && text.contains(ORIGIN), "names both: {text}");
        }
        other => panic!("a key named for another origin is refused: {:?}", other.map(|s| s.name().to_owned())),
    }
    assert_eq!(std::fs::read_to_string(&dirs.key).unwrap(), format!("{}\n", other.private_key()), "left as it was");

    for garbage in ["", "not a key\n", "PRIVATE+KEY+x+00000000+AAAA\n"] {
        std::fs::write(&dirs.key, garbage).unwrap();
        match load_or_create_key(&dirs.key, ORIGIN) {
            Err(e @ CheckpointError::BadKey { .. }) => assert!(e.to_string().contains(dirs.key.to_str().unwrap())),
            other => panic!("{garbage:?} is refused: {:?}", other.map(|s| s.name().to_owned())),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signer_does_not_start_with_a_key_for_another_origin() {
    let root = tempfile::tempdir().unwrap();
    let dirs = Dirs::in_(root.path());
    load_or_create_key(&dirs.key, "chibo.elsewhere.example/log").unwrap();
    let store = open_store(&dirs.data);
    let started = try_run(&dirs, store.clone(), config(&dirs.key, 1, Duration::from_secs(3600))).await;
    assert!(matches!(started, Err(CheckpointError::BadKey { .. })), "{:?}", started.err());
}

// ---------------------------------------------------------------------------------------------
// Signing

/// A store that passes everything to the embedded store, except that it can refuse appends to
/// `$checkpoints` (a crash between signing and recording), read back another hash at one
/// position (a history rewritten underneath), and give every holder a lease (as if every signer
/// had been paused past its lease and did not know), and that it notes, for every append to
/// `$checkpoints`, whether the state file already held the note being recorded.
struct Watched {
    inner: Arc<dyn EventStore>,
    state_file: PathBuf,
    refuse: bool,
    rewritten: Option<u64>,
    everyone_holds: bool,
    /// For each append to `$checkpoints`: the note, and whether the state file held it then.
    appends: Mutex<Vec<(String, bool)>>,
}

impl Watched {
    fn new(inner: Arc<dyn EventStore>, dirs: &Dirs, refuse: bool) -> Arc<Watched> {
        let appends = Mutex::new(Vec::new());
        Arc::new(Watched { inner, state_file: dirs.state(), refuse, rewritten: None, everyone_holds: false, appends })
    }

    fn everyone_holds(inner: Arc<dyn EventStore>, dirs: &Dirs) -> Arc<Watched> {
        let appends = Mutex::new(Vec::new());
        let state_file = dirs.state();
        Arc::new(Watched { inner, state_file, refuse: false, rewritten: None, everyone_holds: true, appends })
    }

    fn rewriting(inner: Arc<dyn EventStore>, dirs: &Dirs, position: u64) -> Arc<Watched> {
        let appends = Mutex::new(Vec::new());
        let state_file = dirs.state();
        Arc::new(Watched {
            inner,
            state_file,
            refuse: false,
            rewritten: Some(position),
            everyone_holds: false,
            appends,
        })
    }

    fn rewrite(&self, mut events: Vec<StoredEvent>) -> Vec<StoredEvent> {
        for event in &mut events {
            if Some(event.position) == self.rewritten {
                event.hash[0] ^= 1;
            }
        }
        events
    }
}

#[async_trait]
impl EventStore for Watched {
    async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<Vec<Receipt>, AppendError> {
        if *stream == StreamName::Checkpoints {
            let state = std::fs::read_to_string(&self.state_file).unwrap_or_default();
            for event in &events {
                let note = match chibo_proto::convert::decode_payload("CheckpointSigned", &event.payload) {
                    Ok(chibo_proto::v1::Event { kind: Some(chibo_proto::v1::event::Kind::CheckpointSigned(c)) }) => {
                        c.note
                    }
                    other => panic!("the signer appends CheckpointSigned events only: {other:?}"),
                };
                let held = state.ends_with(&note);
                self.appends.lock().unwrap().push((note, held));
            }
            if self.refuse {
                return Err(AppendError::Unavailable("refused by the test".into()));
            }
        }
        self.inner.append(stream, expected, events).await
    }

    async fn read_stream(&self, stream: &StreamName, from: u64, max: usize) -> Result<Vec<StoredEvent>, ReadError> {
        self.inner.read_stream(stream, from, max).await.map(|events| self.rewrite(events))
    }

    async fn read_all(&self, after: Option<u64>, max_count: usize) -> Result<Vec<StoredEvent>, ReadError> {
        self.inner.read_all(after, max_count).await.map(|events| self.rewrite(events))
    }

    fn committed(&self) -> watch::Receiver<Option<u64>> {
        self.inner.committed()
    }

    async fn lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<Lease, ReadError> {
        if self.everyone_holds {
            return Ok(Lease::Held { until: Instant::now() + ttl });
        }
        self.inner.lease(name, holder, ttl).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_is_signed_every_n_events_recorded_and_kept_in_the_state_file_first() {
    let root = tempfile::tempdir().unwrap();
    let dirs = Dirs::in_(root.path());
    let store = open_store(&dirs.data);
    let watched = Watched::new(store.clone(), &dirs, false);
    let running = run(&dirs, watched.clone(), config(&dirs.key, 5, Duration::from_secs(3600))).await;

    append(store.as_ref(), "cell-a", 5).await;
    let first = running.checkpoint_of(5).await;
    assert_eq!((first.checkpoint.size, first.revision), (5, 0), "signed at exactly 5 events");
    assert_eq!(assert_signed_over(&dirs, store.as_ref(), &first.note).await, first.checkpoint);
    assert_eq!(recorded(store.as_ref()).await, std::slice::from_ref(&first.note));
    assert_eq!(state(&dirs), (0, first.note.clone()));

    // The checkpoint's own event and three more: fewer than 5 new events, nothing is signed.
    append(store.as_ref(), "cell-b", 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(running.checkpoints.latest().unwrap().checkpoint.size, 5);
    append(store.as_ref(), "cell-b", 1).await;
    let second = running.checkpoint_of(10).await;
    assert_eq!((second.checkpoint.size, second.revision), (10, 1));
    assert_signed_over(&dirs, store.as_ref(), &second.note).await;
    assert_eq!(recorded(store.as_ref()).await, [first.note.clone(), second.note.clone()]);
    assert_eq!(state(&dirs), (1, second.note.clone()));
    // The second checkpoint's tree holds the first checkpoint's event, at position 5.
    let events = store.read_all(Some(4), 1).await.unwrap();
    assert_eq!(events[0].stream, "$checkpoints");
    assert!(running.checkpoints.stopped().is_none());
    running.stop().await;

    let appends = watched.appends.lock().unwrap().clone();
    assert_eq!(
        appends,
        [(first.note, true), (second.note, true)],
        "each note was in the state file before it was recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_log_is_signed_on_the_clock_but_not_for_its_own_checkpoint() {
    let root = tempfile::tempdir().unwrap();
    let dirs = Dirs::in_(root.path());
    let store = open_store(&dirs.data);
    let running = run(&dirs, store.clone(), config(&dirs.key, 1_000, Duration::from_millis(100))).await;
    append(store.as_ref(), "cell-a", 3).await;
    let first = running.checkpoint_of(3).await;
    assert_eq!(first.checkpoint.size, 3);
    // Ticks go by with nothing new but the checkpoint's own event.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(running.checkpoints.latest().unwrap().revision, 0);
    append(store.as_ref(), "cell-a", 1).await;
    let second = running.checkpoint_of(5).await;
    assert_eq!((second.checkpoint.size, second.revision), (5, 1));
    assert_signed_over(&dirs, store.as_ref(), &second.note).await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_signed_but_not_recorded_is_tried_again_and_recorded_on_restart() {
    let root = tempfile::tempdir().unwrap();
    let dirs = Dirs::in_(root.path());
    let store = open_store(&dirs.data);
    append(store.as_ref(), "cell-a", 4).await;
    let refusing = Watched::new(store.clone(), &dirs, true);
    let running = run(&dirs, refusing.clone(), config(&dirs.key, 4, Duration::from_secs(3600))).await;
    let deadline = Instant::now() + WAIT;
    while refusing.appends.lock().unwrap().len() < 3 {
        assert!(Instant::now() < deadline, "the signer tries again to record what it signed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(running.checkpoints.stopped(), None, "a failing store does not stop the signer");
    assert!(running.checkpoints.latest().is_none(), "nothing recorded is served");
    running.stop().await;
    let (revision, signed) = state(&dirs);
    assert_eq!(revision, 0);
    let tries = refusing.appends.lock().unwrap().clone();
    assert!(
        tries.iter().all(|t| *t == (signed.clone(), true)),
        "every try records the one checkpoint signed, its state written before: {tries:?}"
    );
    assert!(recorded(store.as_ref()).await.is_empty());

    // The restart records exactly what was signed, then goes on signing.
    let running = run(&dirs, store.clone(), config(&dirs.key, 4, Duration::from_secs(3600))).await;
    let latest = running.checkpoint_of(4).await;
    assert_eq!((latest.revision, latest.note.as_str()), (0, signed.as_str()));
    assert_eq!(recorded(store.as_ref()).await, std::slice::from_ref(&signed));
    assert_signed_over(&dirs, store.as_ref(), &signed).await;
    append(store.as_ref(), "cell-a", 3).await;
    let next = running.checkpoint_of(8).await;
    assert_eq!((next.checkpoint.size, next.revision), (8, 1));
    running.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Several servers on one log

/// Every checkpoint recorded verifies with `dirs`' key, is over the store's events, and is of
/// more events than the one before; returns their sizes.
async fn assert_recorded_in_order(dirs: &Dirs, store: &dyn EventStore) -> Vec<u64> {
    let mut sizes = Vec::new();
    for note in recorded(store).await {
        let size = assert_signed_over(dirs, store, &note).await.size;
        assert!(sizes.last().is_none_or(|&last| size > last), "checkpoint sizes only grow: {sizes:?} then {size}");
        sizes.push(size);
    }
    sizes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_signers_on_one_log_take_turns_and_never_record_out_of_order() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (Dirs::in_(&root.path().join("a")), Dirs::in_(&root.path().join("b")));
    let store = open_store(&a.data);
    let lease = Duration::from_millis(300);
    let config = |dirs: &Dirs| CheckpointConfig { lease, ..config(&dirs.key, 5, Duration::from_secs(3600)) };
    append(store.as_ref(), "cell-a", 5).await;
    let first = run(&a, store.clone(), config(&a)).await;
    first.checkpoint_of(5).await;
    // The second server signs with a copy of the same key; it starts from what the first recorded.
    std::fs::create_dir_all(b.key.parent().unwrap()).unwrap();
    std::fs::copy(&a.key, &b.key).unwrap();
    let second = run(&b, store.clone(), config(&b)).await;
    assert_eq!(second.checkpoints.latest(), first.checkpoints.latest());

    // Both run while the log grows from two writers.
    let writers: Vec<_> = ["cell-a", "cell-b"]
        .into_iter()
        .map(|stream| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..8 {
                    append(store.as_ref(), stream, 3).await;
                    tokio::time::sleep(Duration::from_millis(15)).await;
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    // Both serve the last checkpoint recorded, whichever signed it.
    let deadline = Instant::now() + WAIT;
    let latest = loop {
        let last = recorded(store.as_ref()).await.pop();
        let served = [first.checkpoints.latest(), second.checkpoints.latest()];
        if let [Some(one), Some(two)] = &served {
            if one == two && Some(&one.note) == last.as_ref() {
                break one.clone();
            }
        }
        assert!(Instant::now() < deadline, "both servers serve the last checkpoint recorded: {served:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let sizes = assert_recorded_in_order(&a, store.as_ref()).await;
    assert!(sizes.len() >= 3, "checkpoints were signed while the log grew: {sizes:?}");
    assert_eq!(state(&b), (latest.revision, latest.note.clone()), "the second server keeps what it read");

    // The first stops: the second takes over once its lease has run out, and signs.
    first.stop().await;
    append(store.as_ref(), "cell-c", 5).await;
    let grown = hashes(store.as_ref()).await.len() as u64;
    let taken_over = second.checkpoints.sign_now().await.expect("the second server signs once the lease is its");
    assert!(taken_over.checkpoint.size >= grown);
    assert_eq!(taken_over.revision, latest.revision + 1);
    assert_eq!(state(&b), (taken_over.revision, taken_over.note.clone()), "signed by the second, state first");
    assert_eq!(assert_recorded_in_order(&a, store.as_ref()).await.last(), Some(&taken_over.checkpoint.size));
    assert_eq!(second.checkpoints.stopped(), None);
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_signers_that_both_think_they_hold_the_lease_still_record_in_order() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (Dirs::in_(&root.path().join("a")), Dirs::in_(&root.path().join("b")));
    let store: Arc<dyn EventStore> = Watched::everyone_holds(open_store(&a.data), &a);
    load_or_create_key(&a.key, ORIGIN).unwrap();
    std::fs::create_dir_all(b.key.parent().unwrap()).unwrap();
    std::fs::copy(&a.key, &b.key).unwrap();
    let config = |dirs: &Dirs| config(&dirs.key, 2, Duration::from_millis(30));
    let signers = [run(&a, store.clone(), config(&a)).await, run(&b, store.clone(), config(&b)).await];
    for round in 0..20 {
        append(store.as_ref(), "cell-a", 1 + round % 3).await;
        // Both asked at once, both sign what they see, and race to record it.
        let (one, two) = tokio::join!(signers[0].checkpoints.sign_now(), signers[1].checkpoints.sign_now());
        for signed in [one, two] {
            let signed = signed.expect("each signer answers with the latest checkpoint recorded");
            assert_signed_over(&a, store.as_ref(), &signed.note).await;
        }
    }
    let sizes = assert_recorded_in_order(&a, store.as_ref()).await;
    assert!(sizes.len() >= 20, "{sizes:?}");
    for (dirs, signer) in [&a, &b].into_iter().zip(&signers) {
        assert_eq!(signer.checkpoints.stopped(), None, "losing a race stops nobody");
        // What a signer last signed is a checkpoint of this log, recorded or not.
        assert_signed_over(&a, store.as_ref(), &state(dirs).1).await;
    }
    for signer in signers {
        signer.stop().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Never a conflicting checkpoint

/// Runs the signer over `store` until `why` says it stopped; then checks it records nothing,
/// however much more is appended.
async fn assert_refuses_to_sign(dirs: &Dirs, store: Arc<dyn EventStore>, says: &str) -> String {
    let before = recorded(store.as_ref()).await;
    let running = run(dirs, store.clone(), config(&dirs.key, 2, Duration::from_millis(50))).await;
    let why = running.checkpoints.stopped().expect("signing stopped before it began");
    assert!(why.contains(says), "{why:?} should say {says:?}");
    assert!(running.checkpoints.latest().is_none());
    append(store.as_ref(), "cell-z", 6).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(recorded(store.as_ref()).await, before, "nothing more is signed");
    running.stop().await;
    why
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_restored_from_an_older_copy_gets_no_signature() {
    let root = tempfile::tempdir().unwrap();
    let dirs = Dirs::in_(root.path());
    let every = |n| config(&dirs.key, n, Duration::from_secs(3600));
    let store = open_store(&dirs.data);
    append(store.as_ref(), "cell-a", 2).await;
    drop(store);
    let before_any = root.path().join("before-any");
    copy_dir(&dirs.data, &before_any);

    // Four checkpoints, a copy taken after the first.
    let running = run(&dirs, open_store(&dirs.data), every(4)).await;
    append(running.store.as_ref(), "cell-a", 2).await;
    running.checkpoint_of(4).await;
    drop(running.stop().await);
    let after_first = root.path().join("after-first");
    copy_dir(&dirs.data, &after_first);
    let running = run(&dirs, open_store(&dirs.data), every(4)).await;
    for size in [8, 12, 16] {
        append(running.store.as_ref(), "cell-b", 3).await;
        running.checkpoint_of(size).await;
    }
    assert_eq!(state(&dirs).0, 3);
    drop(running.stop().await);

    // A copy holding one checkpoint of the four, and fewer events than the last one signed.
    let copy = Dirs { data: after_first, merkle: root.path().join("merkle-1"), ..Dirs::in_(root.path()) };
    let why = assert_refuses_to_sign(&copy, open_store(&copy.data), "restored from a backup").await;
    assert!(why.contains("holds 1 events"), "says how many checkpoints the log holds: {why}");
    // A copy from before the first checkpoint.
    let copy = Dirs { data: before_any, merkle: root.path().join("merkle-0"), ..Dirs::in_(root.path()) };
    let why = assert_refuses_to_sign(&copy, open_store(&copy.data), "restored from a backup").await;
    assert!(why.contains("holds 0 events"), "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_cut_back_behind_the_last_checkpoint_gets_no_signature() {
    let root = tempfile::tempdir().unwrap();
    let dirs = Dirs::in_(root.path());
    let running = run(&dirs, open_store(&dirs.data), config(&dirs.key, 3, Duration::from_secs(3600))).await;
    append(running.store.as_ref(), "cell-a", 3).await;
    running.checkpoint_of(3).await;
    drop(running.stop().await);
    let copy = root.path().join("copy");
    copy_dir(&dirs.data, &copy);
    // The copy keeps its checkpoint event, but the state file says a later one was signed, at
    // a size this copy does not reach: signed, not recorded, then the log was restored.
    let running = run(&dirs, open_store(&dirs.data), config(&dirs.key, 3, Duration::from_secs(3600))).await;
    append(running.store.as_ref(), "cell-a", 2).await;
    running.checkpoint_of(6).await;
    drop(running.stop().await);
    let copy = Dirs { data: copy, merkle: root.path().join("merkle-copy"), ..Dirs::in_(root.path()) };
    assert_refuses_to_sign(&copy, open_store(&copy.data), "fewer than the 6 of a checkpoint this key signed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_history_of_the_same_size_gets_no_signature() {
    let root = tempfile::tempdir().unwrap();
    let dirs = Dirs::in_(root.path());
    let store = open_store(&dirs.data);
    let running = run(&dirs, store.clone(), config(&dirs.key, 6, Duration::from_secs(3600))).await;
    append(store.as_ref(), "cell-a", 6).await;
    running.checkpoint_of(6).await;
    drop(running.stop().await);

    // Another history of as many events, under the same key and state.
    let rewritten =
        Dirs { data: root.path().join("rewritten"), merkle: root.path().join("m2"), ..Dirs::in_(root.path()) };
    let store = open_store(&rewritten.data);
    append(store.as_ref(), "cell-a", 6).await;
    assert_refuses_to_sign(&rewritten, store, "the history was rewritten").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_rewritten_under_its_recorded_checkpoints_gets_no_signature() {
    let root = tempfile::tempdir().unwrap();
    let dirs = Dirs::in_(root.path());
    let store = open_store(&dirs.data);
    let running = run(&dirs, store.clone(), config(&dirs.key, 6, Duration::from_secs(3600))).await;
    append(store.as_ref(), "cell-a", 6).await;
    running.checkpoint_of(6).await;
    drop(running.stop().await);
    // $checkpoints still holds the note the state file names, but an event it covers reads
    // back with another hash; the tree is rebuilt from what the store now says.
    std::fs::remove_dir_all(&dirs.merkle).unwrap();
    let rewritten = Watched::rewriting(store, &dirs, 2);
    assert_refuses_to_sign(&dirs, rewritten, "the history was rewritten").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_checkpoint_recorded_where_the_key_signed_one_gets_no_signature() {
    let root = tempfile::tempdir().unwrap();
    let dirs = Dirs::in_(root.path());
    let store = open_store(&dirs.data);
    append(store.as_ref(), "cell-a", 6).await;
    let running = run(&dirs, store.clone(), config(&dirs.key, 6, Duration::from_secs(3600))).await;
    running.checkpoint_of(6).await;
    drop(running.stop().await);
    let ours = std::fs::read(dirs.state()).unwrap();

    // Another log signed by the same key with no state file: its own checkpoint at revision 0.
    let other = Dirs { data: root.path().join("other"), merkle: root.path().join("m2"), ..Dirs::in_(root.path()) };
    std::fs::remove_file(dirs.state()).unwrap();
    let store = open_store(&other.data);
    append(store.as_ref(), "cell-a", 6).await;
    let running = run(&other, store.clone(), config(&other.key, 6, Duration::from_secs(3600))).await;
    running.checkpoint_of(6).await;
    let store = running.stop().await;
    // The state file says the key signed something else at revision 0.
    std::fs::write(dirs.state(), ours).unwrap();
    let why = assert_refuses_to_sign(&other, store, "holds another checkpoint").await;
    assert!(!why.contains("  "), "one sentence, no run of spaces: {why:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_by_another_key_or_a_damaged_state_file_stop_signing() {
    let root = tempfile::tempdir().unwrap();
    let dirs = Dirs::in_(root.path());
    let store = open_store(&dirs.data);
    let running = run(&dirs, store.clone(), config(&dirs.key, 2, Duration::from_secs(3600))).await;
    append(store.as_ref(), "cell-a", 2).await;
    running.checkpoint_of(2).await;
    let store = running.stop().await;

    std::fs::write(dirs.state(), "chibo checkpoint state v1\nrevision two\n").unwrap();
    let why = assert_refuses_to_sign(&dirs, store.clone(), "the revision line is not `revision N`").await;
    assert!(why.contains(dirs.state().to_str().unwrap()), "names the file: {why}");

    // A new key (the old one lost) over a log whose checkpoints the old key signed.
    std::fs::remove_file(dirs.state()).unwrap();
    std::fs::remove_file(&dirs.key).unwrap();
    let why = assert_refuses_to_sign(&dirs, store.clone(), "does not verify with the key").await;
    assert!(NoteSigner::from_private_key(std::fs::read_to_string(&dirs.key).unwrap().trim_end()).is_ok());
    assert!(why.contains("$checkpoints") || why.contains("recorded"), "{why}");
}
