//! The on-disk format: one SQLite database, `chibo.db`, in the data directory.
//!
//! `events` holds one row per event, keyed by its 0-based global position; the sealed bytes
//! (`envelope`, `payload`, `salt`, `hash`) are stored exactly as the hash spec covers them, and
//! `stream`, `revision` and `event_id` are indexes over them that the verifier checks against
//! the envelope. Triggers refuse every UPDATE and DELETE: the log is append-only even to a
//! careless operator with a SQLite shell (a deliberate one can drop them, which is what
//! `chibo verify` and signed checkpoints are for).

use rusqlite::Connection;

/// The file name of the database inside the data directory.
pub const DB_FILE: &str = "chibo.db";

/// The version of this format, kept in `meta`; a store refuses to open any other.
pub const FORMAT_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value ANY NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS events (
    position INTEGER PRIMARY KEY,
    stream   TEXT    NOT NULL,
    revision INTEGER NOT NULL,
    event_id BLOB    NOT NULL,
    envelope BLOB    NOT NULL,
    payload  BLOB    NOT NULL,
    salt     BLOB    NOT NULL,
    hash     BLOB    NOT NULL
) STRICT;

CREATE UNIQUE INDEX IF NOT EXISTS events_by_stream ON events (stream, revision);
CREATE UNIQUE INDEX IF NOT EXISTS events_by_id ON events (event_id);

CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'chibo: events are append-only'); END;

CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'chibo: events are append-only'); END;
";

/// How much of the database the writer keeps in its page cache, in KiB. Every append goes
/// down both indexes (an event id is random, so its index is touched all over); with SQLite's
/// default of 2 MiB, a log past a few hundred thousand events reads most of those pages back
/// from the operating system, a copy of 4 KiB each, at every insert.
pub const WRITER_CACHE_KIB: i64 = 64 * 1024;

/// How long a connection waits for a lock another holds before it reports the database busy.
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Settings for the writing connection: WAL so readers never block the writer,
/// `synchronous=FULL` so a commit returns only after the WAL is fsynced, a page cache of
/// [`WRITER_CACHE_KIB`], and each statement planned once (`plan_once`).
pub fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
    plan_once(conn)
}

/// Makes SQLite plan each statement once, whatever values are bound to it (its query planner
/// stability guarantee). Without it, SQLite reads a bound `LIMIT ?` as a constant when it
/// plans, so that binding another value expires the statement: every page read through a
/// cached statement was parsed and planned again.
pub(crate) fn plan_once(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

/// Creates the schema if it is absent and checks the format version.
pub fn migrate(conn: &Connection) -> Result<(), String> {
    conn.execute_batch(SCHEMA).map_err(|e| format!("creating the schema failed: {e}"))?;
    conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('format_version', ?1)", [FORMAT_VERSION])
        .map_err(|e| format!("recording the format version failed: {e}"))?;
    let version: i64 = conn
        .query_row("SELECT value FROM meta WHERE key = 'format_version'", [], |r| r.get(0))
        .map_err(|e| format!("reading the format version failed: {e}"))?;
    if version != FORMAT_VERSION {
        return Err(format!("the data has format version {version}; this chibo reads version {FORMAT_VERSION}"));
    }
    Ok(())
}
