//! Copying the WAL back into the database, mostly off the writer's thread.
//!
//! This is SQLite's *WAL checkpoint* (not chibo's signed checkpoints): the pages the commits
//! appended to `chibo.db-wal` are written into `chibo.db` and the database file is fsynced, so
//! that the WAL can start over. SQLite's default runs it inside the commit that takes the WAL
//! past 1,000 pages, on the committing thread: every few groups the writer stopped to copy
//! pages and fsync a second file while appends waited behind it.
//!
//! Here the writer's connection never does it inside a commit (`wal_autocheckpoint = 0`). A
//! thread of its own, with its own connection, runs a `PASSIVE` checkpoint each time it is told
//! of a commit and is free (at most one pass every [`PASS_INTERVAL`]): it takes no lock the
//! writer needs, so the writer goes on committing beside it, and a commit is durable without it
//! (the WAL was fsynced). Commits made while it works are copied by its next pass.
//!
//! The WAL starts over only when a transaction begins with everything in it copied and no
//! reader still reading from it. With the copying running beside the commits that moment
//! rarely comes, and the WAL would grow for as long as appends keep coming. So once a pass
//! finds it past [`RESTART_FRAMES`], the thread stops and leaves the rest to the writer:
//! between two groups, the writer runs a `RESTART` checkpoint, which copies what the passes did
//! not (the commits since the last one) and waits, for at most [`RESTART_WAIT`], for readers
//! to move on; its next group writes the WAL from its start, and `journal_size_limit` cuts the
//! file back to [`RESTART_FRAMES`] pages.

use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError},
        Arc,
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use rusqlite::Connection;

/// WAL frames (pages) past which the writer starts the WAL over: 64 MiB of 4 KiB pages.
pub const RESTART_FRAMES: u64 = 16_384;

/// The least time from one pass to the next.
pub const PASS_INTERVAL: Duration = Duration::from_millis(100);

/// How long the writer's `RESTART` checkpoint waits for readers to move on; if they have not,
/// the passes go on and the writer tries again after a later one.
pub const RESTART_WAIT: Duration = Duration::from_millis(50);

/// The writer's handle on the backfill thread: [`Backfill::committed`] after each commit, and
/// [`Backfill::restart_if_long`] between groups; dropping it lets the thread finish its pass
/// and stop, and waits for it.
pub struct Backfill {
    wake: Option<SyncSender<()>>,
    /// Set by the thread when a pass found the WAL past [`RESTART_FRAMES`]; it runs no pass
    /// until the writer has tried to start the WAL over and cleared it.
    long: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Backfill {
    /// Takes the copying over from `writer`'s connection: starts the thread, with a connection
    /// of its own to the same database.
    pub fn start(writer: &Connection) -> Result<Self, String> {
        Self::start_with(writer, RESTART_FRAMES)
    }

    fn start_with(writer: &Connection, restart_frames: u64) -> Result<Self, String> {
        let path = writer.path().map(PathBuf::from).ok_or("the writer's database has no file")?;
        leave_the_wal(writer).map_err(|e| format!("turning off the writer's WAL checkpoints: {e}"))?;
        let conn = open(&path).map_err(|e| format!("the WAL backfill connection: {e}"))?;
        // One wake-up waiting is enough: a pass copies every commit made before it starts.
        let (wake, woken) = mpsc::sync_channel(1);
        let long = Arc::new(AtomicBool::new(false));
        let thread = {
            let long = long.clone();
            std::thread::Builder::new()
                .name("chibo-backfill".into())
                .spawn(move || run(&conn, &woken, &long, restart_frames))
                .map_err(|e| format!("the WAL backfill thread: {e}"))?
        };
        Ok(Self { wake: Some(wake), long, thread: Some(thread) })
    }

    /// Tells the thread of a commit; never waits.
    pub fn committed(&self) {
        if let Some(wake) = &self.wake {
            match wake.try_send(()) {
                Ok(()) | Err(TrySendError::Full(())) => {}
                Err(TrySendError::Disconnected(())) => tracing::warn!("the WAL backfill thread has stopped"),
            }
        }
    }

    /// If the last pass found the WAL past [`RESTART_FRAMES`], copies the rest of it on
    /// `writer`'s connection (outside a transaction) so that its next group starts the WAL over.
    /// Returns whether it did.
    pub fn restart_if_long(&self, writer: &Connection) -> bool {
        if !self.long.load(Ordering::Acquire) {
            return false;
        }
        let restarted = restart(writer);
        // Whatever came of it, the passes go on after the next commit; one of them asks again
        // if the WAL is still long.
        self.long.store(false, Ordering::Release);
        match restarted {
            Ok(done) => done,
            Err(e) => {
                tracing::warn!(error = %e, "starting the WAL over failed");
                false
            }
        }
    }
}

impl Drop for Backfill {
    fn drop(&mut self) {
        drop(self.wake.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Stops `writer`'s connection from copying the WAL back itself, inside its commits, and has
/// the first commit after the WAL starts over cut its file back to [`RESTART_FRAMES`] pages.
fn leave_the_wal(writer: &Connection) -> rusqlite::Result<()> {
    writer.pragma_update(None, "wal_autocheckpoint", 0)?;
    let page: i64 = writer.pragma_query_value(None, "page_size", |row| row.get(0))?;
    writer.pragma_update(None, "journal_size_limit", RESTART_FRAMES as i64 * page)
}

/// The backfill's connection: it writes the database file, and fsyncs it as the writer's
/// settings say.
fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

/// One pass at a time, each when told of a commit, until the writer is gone; none while the
/// WAL is long and the writer has not yet tried to start it over.
fn run(conn: &Connection, woken: &Receiver<()>, long: &AtomicBool, restart_frames: u64) {
    let path = conn.path().map(PathBuf::from).unwrap_or_default();
    let mut told = false;
    loop {
        if !told && woken.recv().is_err() {
            return;
        }
        let started = Instant::now();
        if !long.load(Ordering::Acquire) {
            match pass(conn) {
                Ok(Pass { frames, .. }) => long.store(frames >= restart_frames, Ordering::Release),
                // The WAL stays as it is and is copied by a later pass, or when the store closes.
                Err(e) => {
                    tracing::warn!(database = %path.display(), error = %e, "copying the WAL into the database failed")
                }
            }
        }
        // Commits told of meanwhile wait for the next pass, at least PASS_INTERVAL after this
        // one began: a page that many commits rewrite is copied once, not once per commit.
        told = false;
        while let Some(left) = PASS_INTERVAL.checked_sub(started.elapsed()).filter(|left| !left.is_zero()) {
            match woken.recv_timeout(left) {
                Ok(()) => told = true,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}

/// What a checkpoint found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Whether it could not finish: another connection was copying, or readers still needed
    /// what it would have overwritten.
    pub busy: bool,
    /// Frames in the WAL.
    pub frames: u64,
    /// Of those, the ones in the database file now.
    pub copied: u64,
}

/// A `PASSIVE` checkpoint: copies what no reader still needs, waiting for nothing.
pub fn pass(conn: &Connection) -> rusqlite::Result<Pass> {
    checkpoint(conn, "PASSIVE")
}

/// A `RESTART` checkpoint on `writer`'s connection, waiting at most [`RESTART_WAIT`] for
/// readers: whether the next transaction will start the WAL over.
pub fn restart(writer: &Connection) -> rusqlite::Result<bool> {
    writer.busy_timeout(RESTART_WAIT)?;
    let done = checkpoint(writer, "RESTART");
    writer.busy_timeout(crate::schema::BUSY_TIMEOUT)?;
    Ok(!done?.busy)
}

fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<Pass> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        let count = |i| row.get::<_, i64>(i).map(|n| u64::try_from(n).unwrap_or(0));
        Ok(Pass { busy: count(0)? != 0, frames: count(1)?, copied: count(2)? })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema;

    /// A database as the store opens it, with the WAL left to the backfill.
    fn writer(dir: &Path) -> Connection {
        let conn = Connection::open(dir.join(schema::DB_FILE)).unwrap();
        schema::configure(&conn).unwrap();
        schema::migrate(&conn).unwrap();
        leave_the_wal(&conn).unwrap();
        conn
    }

    /// Appends `rows` rows of a KiB each in one transaction.
    fn append(conn: &Connection, from: i64, rows: i64) {
        let tx = conn.unchecked_transaction().unwrap();
        for position in from..from + rows {
            tx.execute(
                "INSERT INTO events (position, stream, revision, event_id, envelope, payload, salt, hash) \
                 VALUES (?1, 'cell-a', ?1, ?2, zeroblob(1024), x'', zeroblob(16), zeroblob(32))",
                rusqlite::params![position, position.to_be_bytes()],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }

    fn wal_len(dir: &Path) -> u64 {
        std::fs::metadata(dir.join(format!("{}-wal", schema::DB_FILE))).map_or(0, |m| m.len())
    }

    fn frames(db: &Path) -> Pass {
        pass(&open(db).unwrap()).unwrap()
    }

    #[test]
    fn the_writer_leaves_the_wal_to_the_backfill() {
        let dir = tempfile::tempdir().unwrap();
        let conn = writer(dir.path());
        let db = dir.path().join(schema::DB_FILE);
        let empty = std::fs::metadata(&db).unwrap().len();
        append(&conn, 0, 4_000);
        // SQLite's default would have copied the WAL back at 1,000 pages, inside the commit.
        assert_eq!(std::fs::metadata(&db).unwrap().len(), empty, "the writer's commit copied the WAL back itself");
        let copied = frames(&db);
        assert!(copied.frames > 1_000 && copied.copied == copied.frames, "{copied:?}");
        assert!(std::fs::metadata(&db).unwrap().len() > empty, "a pass copied nothing into the database");
    }

    #[test]
    fn a_reader_holds_a_pass_back_and_the_writer_waits_for_it_to_start_the_wal_over() {
        let dir = tempfile::tempdir().unwrap();
        let conn = writer(dir.path());
        let db = dir.path().join(schema::DB_FILE);
        append(&conn, 0, 200);
        let first = frames(&db);
        assert!(!first.busy && first.copied == first.frames && first.frames > 0, "{first:?}");
        let len = wal_len(dir.path());
        // Copied in full, the WAL is written again from its start: it does not grow.
        append(&conn, 200, 100);
        assert_eq!(wal_len(dir.path()), len, "the WAL did not start over after a full copy");

        // A reader holding a snapshot keeps a pass from copying what came after it, and the
        // writer from starting the WAL over.
        let reader = Connection::open(&db).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        let _: i64 = reader.query_row("SELECT count(*) FROM events", [], |r| r.get(0)).unwrap();
        append(&conn, 300, 100);
        let held = frames(&db);
        assert!(held.copied < held.frames, "the reader's snapshot was overwritten: {held:?}");
        assert!(!restart(&conn).unwrap(), "the WAL was to start over under a reader");
        // Once it has moved on, the writer copies the rest and its next commit starts over.
        reader.execute_batch("COMMIT").unwrap();
        assert!(restart(&conn).unwrap(), "the writer did not start the WAL over");
        append(&conn, 400, 10);
        let after = frames(&db);
        assert!(after.frames < held.frames / 4, "the WAL went on from where it was: {after:?} after {held:?}");
    }

    #[test]
    fn a_long_wal_stops_the_passes_until_the_writer_starts_it_over() {
        let dir = tempfile::tempdir().unwrap();
        let conn = writer(dir.path());
        let db = dir.path().join(schema::DB_FILE);
        let backfill = Backfill::start_with(&conn, 100).unwrap();
        assert!(!backfill.restart_if_long(&conn), "a short WAL was started over");
        append(&conn, 0, 300);
        // A reader keeps the pass from copying the second commit, then goes.
        let reader = Connection::open(&db).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        let _: i64 = reader.query_row("SELECT count(*) FROM events", [], |r| r.get(0)).unwrap();
        append(&conn, 300, 300);
        backfill.committed();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !backfill.long.load(Ordering::Acquire) {
            assert!(std::time::Instant::now() < deadline, "no pass found the WAL long");
            std::thread::sleep(Duration::from_millis(10));
        }
        reader.execute_batch("COMMIT").unwrap();
        // No pass runs now, even told of a commit: the database file takes nothing more.
        let len = std::fs::metadata(&db).unwrap().len();
        backfill.committed();
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(std::fs::metadata(&db).unwrap().len(), len, "a pass ran while the WAL was long");
        // Without the writer's copy, the WAL would go on from where it is.
        assert!(backfill.restart_if_long(&conn), "the writer did not start the WAL over");
        append(&conn, 600, 10);
        let after = frames(&db);
        assert!(after.frames < 100, "the WAL went on from where it was: {after:?}");
    }

    #[test]
    fn the_thread_copies_after_commits_and_stops_with_its_handle() {
        let dir = tempfile::tempdir().unwrap();
        let conn = writer(dir.path());
        let db = dir.path().join(schema::DB_FILE);
        let backfill = Backfill::start(&conn).unwrap();
        let empty = std::fs::metadata(&db).unwrap().len();
        append(&conn, 0, 500);
        backfill.committed();
        // The database file grows only when pages are copied into it.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::fs::metadata(&db).unwrap().len() <= empty {
            assert!(std::time::Instant::now() < deadline, "no pass ran after a commit");
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(backfill);
        // Stopped: its connection is closed, so nothing else holds the database.
        drop(conn);
        assert_eq!(wal_len(dir.path()), 0, "the last connection to close copies and removes the WAL");
    }
}
