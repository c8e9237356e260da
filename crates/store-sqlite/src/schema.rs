//! The on-disk format: one SQLite database, `chibo.db`, in the data directory.
//!
//! `events` holds one row per event, keyed by its 0-based global position; the sealed bytes
//! (`envelope`, `payload`, `salt`, `hash`) are stored exactly as the hash spec covers them, and
//! `stream`, `revision` and `event_id` are indexes over them that the verifier checks against
//! the envelope. `event_ids` maps the event ids of the log's events up to `ids_through` (in
//! `meta`) to their positions; the ids of the events after it are kept by the writer in memory
//! ([`crate::ids`] says why). Triggers refuse every UPDATE and DELETE on both tables: the log is
//! append-only even to a careless operator with a SQLite shell (a deliberate one can drop them,
//! which is what `chibo verify` and signed checkpoints are for).

use rusqlite::{Connection, OptionalExtension};

/// The file name of the database inside the data directory.
pub const DB_FILE: &str = "chibo.db";

/// The version of this format, kept in `meta`. A store upgrades a database of version 1 (event
/// ids in a unique index on `events`) when it opens it, and refuses any other.
pub const FORMAT_VERSION: i64 = 2;

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

CREATE TABLE IF NOT EXISTS event_ids (
    event_id BLOB    PRIMARY KEY,
    position INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'chibo: events are append-only'); END;

CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'chibo: events are append-only'); END;

CREATE TRIGGER IF NOT EXISTS event_ids_no_update BEFORE UPDATE ON event_ids
BEGIN SELECT RAISE(ABORT, 'chibo: event ids are append-only'); END;

CREATE TRIGGER IF NOT EXISTS event_ids_no_delete BEFORE DELETE ON event_ids
BEGIN SELECT RAISE(ABORT, 'chibo: event ids are append-only'); END;
";

/// Version 1 kept event ids in a unique index on `events`. Its ids go into `event_ids`, in
/// their order, and the index goes: every id of the log is then in the table.
const FROM_VERSION_1: &str = "
INSERT INTO event_ids (event_id, position) SELECT event_id, position FROM events ORDER BY event_id;
DROP INDEX IF EXISTS events_by_id;
INSERT OR REPLACE INTO meta (key, value) VALUES ('ids_through', (SELECT coalesce(max(position) + 1, 0) FROM events));
";

/// How much of the database the writer keeps in its page cache, in KiB. Each merge of event ids
/// writes all over `event_ids`, and a look-up the ids' filters cannot rule out reads it at a
/// random place (an event id is random); with SQLite's default of 2 MiB, a log past a few
/// hundred thousand events reads most of those pages back from the operating system, a copy of
/// 4 KiB each.
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

/// Creates the schema if it is absent, upgrades a version 1 database, and checks the format
/// version; all in one transaction, so that a failed upgrade leaves the database as it was.
pub fn migrate(conn: &Connection) -> Result<(), String> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| format!("opening the database for its schema failed: {e}"))?;
    match migrate_in(conn)
        .and_then(|()| conn.execute_batch("COMMIT").map_err(|e| format!("committing the schema failed: {e}")))
    {
        Ok(()) => Ok(()),
        Err(reason) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(reason)
        }
    }
}

fn migrate_in(conn: &Connection) -> Result<(), String> {
    conn.execute_batch(SCHEMA).map_err(|e| format!("creating the schema failed: {e}"))?;
    let version: Option<i64> = conn
        .query_row("SELECT value FROM meta WHERE key = 'format_version'", [], |r| r.get(0))
        .optional()
        .map_err(|e| format!("reading the format version failed: {e}"))?;
    let set_version = |conn: &Connection| {
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('format_version', ?1)", [FORMAT_VERSION])
            .map(drop)
            .map_err(|e| format!("recording the format version failed: {e}"))
    };
    match version {
        None => {
            conn.execute("INSERT INTO meta (key, value) VALUES ('ids_through', 0)", [])
                .map_err(|e| format!("recording where the event ids stand failed: {e}"))?;
            set_version(conn)
        }
        Some(1) => {
            conn.execute_batch(FROM_VERSION_1)
                .map_err(|e| format!("upgrading the database from version 1 failed: {e}"))?;
            set_version(conn)
        }
        Some(FORMAT_VERSION) => Ok(()),
        Some(version) => {
            Err(format!("the data has format version {version}; this chibo reads versions 1 and {FORMAT_VERSION}"))
        }
    }
}
