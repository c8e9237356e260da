//! Reading: a small pool of read-only connections (WAL lets them read while the writer commits,
//! each seeing whole commits only), and the mapping from rows to stored events.

use std::{
    path::{Path, PathBuf},
    sync::Mutex,
};

use chibo_integrity::{RawEvent, HASH_LEN, SALT_LEN};
use chibo_store::{ReadError, StoredEvent};
use rusqlite::{types::ValueRef, Connection, OpenFlags, Row};

use crate::{
    cursor::{Cursor, Param},
    schema,
};

/// Idle connections kept for reuse.
const MAX_IDLE: usize = 8;

/// The columns of a stored event, in the order [`stored_event`] reads them, as a literal for
/// the queries below.
macro_rules! event_columns {
    () => {
        "position, stream, revision, envelope, payload, salt, hash"
    };
}

/// The columns of a stored event, in the order [`stored_event`] reads them.
pub const EVENT_COLUMNS: &str = event_columns!();

/// A page of the log: the events after position `?1`, at most `?2`.
pub const PAGE_AFTER: &str =
    concat!("SELECT ", event_columns!(), " FROM events WHERE position > ?1 ORDER BY position LIMIT ?2");

/// A page of a stream: the events of stream `?1` from revision `?2` on, at most `?3`.
pub const PAGE_OF_STREAM: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM events WHERE stream = ?1 AND revision >= ?2 ORDER BY revision LIMIT ?3"
);

pub struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

/// Opens an existing database for reading only.
pub fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(schema::BUSY_TIMEOUT)?;
    conn.pragma_update(None, "query_only", "ON")?;
    schema::plan_once(&conn)?;
    Ok(conn)
}

impl ReadPool {
    pub fn new(path: PathBuf) -> Self {
        Self { path, idle: Mutex::new(Vec::new()) }
    }

    /// Runs `f` on a pooled connection (blocking: call from a blocking thread).
    pub fn with<R>(&self, f: impl FnOnce(&Connection) -> Result<R, ReadError>) -> Result<R, ReadError> {
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => open_reader(&self.path).map_err(unavailable)?,
        };
        let result = f(&conn);
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
        result
    }
}

pub fn unavailable(e: rusqlite::Error) -> ReadError {
    ReadError::Unavailable(format!("reading the embedded store failed: {e}"))
}

/// SQLite counts in i64; `usize::MAX` means "no limit".
pub fn sql_limit(max_count: usize) -> i64 {
    i64::try_from(max_count).unwrap_or(i64::MAX)
}

/// The position a page of the global order starts after, as SQLite counts: `None` (from the
/// first event) is -1.
pub fn sql_after(after: Option<u64>) -> i64 {
    after.map_or(-1, |p| i64::try_from(p).unwrap_or(i64::MAX))
}

/// A BLOB column, borrowed from the row; any other type is refused as `row.get` refuses it.
fn blob<'r>(row: &'r Row<'_>, column: usize) -> rusqlite::Result<&'r [u8]> {
    match row.get_ref(column)? {
        ValueRef::Blob(bytes) => Ok(bytes),
        other => Err(rusqlite::Error::InvalidColumnType(
            column,
            row.as_ref().column_name(column)?.to_owned(),
            other.data_type(),
        )),
    }
}

/// Why a row of the log is not one the store's writer makes, if it is not: a negative position
/// or revision, or a salt or hash of the wrong length. Both reads of a page refuse such a row.
fn malformed(position: i64, revision: i64, salt: &[u8], hash: &[u8]) -> Option<ReadError> {
    let reason = if position < 0 || revision < 0 {
        format!("negative position {position} or revision {revision}")
    } else if salt.len() != SALT_LEN {
        format!("salt is {} bytes; expected {SALT_LEN}", salt.len())
    } else if hash.len() != HASH_LEN {
        format!("hash is {} bytes; expected {HASH_LEN}", hash.len())
    } else {
        return None;
    };
    Some(ReadError::Corrupt { position: position as u64, reason })
}

/// Maps a row of [`EVENT_COLUMNS`] to a stored event, refusing malformed columns.
pub fn stored_event(row: &Row<'_>) -> rusqlite::Result<Result<StoredEvent, ReadError>> {
    let position: i64 = row.get(0)?;
    let revision: i64 = row.get(2)?;
    // Borrowed from the row: only the envelope, the payload and the stream are copied out.
    let salt = blob(row, 5)?;
    let hash = blob(row, 6)?;
    if let Some(e) = malformed(position, revision, salt, hash) {
        return Ok(Err(e));
    }
    let (Ok(salt), Ok(hash)) = (salt.try_into(), hash.try_into()) else {
        unreachable!("`malformed` checks both lengths")
    };
    let position_u = position as u64;
    Ok(Ok(StoredEvent {
        position: position_u,
        stream: row.get(1)?,
        revision: revision as u64,
        envelope: row.get(3)?,
        payload: row.get(4)?,
        salt,
        hash,
    }))
}

/// Events a page's vector is made room for before its rows are read: a replay's page, so that
/// a whole one is read without the vector growing (and copying itself) along the way.
const PAGE_ROOM: usize = 4096;

/// Runs a query over [`EVENT_COLUMNS`] and collects the events, of which there will be at most
/// `max_count`.
pub fn query_events(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    max_count: usize,
) -> Result<Vec<StoredEvent>, ReadError> {
    let mut stmt = conn.prepare_cached(sql).map_err(unavailable)?;
    let rows = stmt.query_map(params, stored_event).map_err(unavailable)?;
    let mut events = Vec::with_capacity(max_count.min(PAGE_ROOM));
    for row in rows {
        events.push(row.map_err(unavailable)??);
    }
    Ok(events)
}

/// Reads a page of the log, the events after position `after` (`-1`: from the first), at most
/// `max_count`, and hands each to `visit` borrowed from SQLite's row (through a [`Cursor`]),
/// with the checks [`stored_event`] makes.
pub fn read_page_into(
    conn: &Connection,
    after: i64,
    max_count: usize,
    visit: &mut dyn FnMut(RawEvent<'_>),
) -> Result<(), ReadError> {
    let params = [Param::Int(after), Param::Int(sql_limit(max_count))];
    let mut rows = Cursor::new(conn, PAGE_AFTER, &params).map_err(unavailable)?;
    while rows.step().map_err(unavailable)? {
        let event = raw_event(&rows).map_err(unavailable)?;
        // `raw_event` reads position and revision as SQLite's integers, cast: cast back, they
        // are the stored values.
        if let Some(e) = malformed(event.position as i64, event.revision as i64, event.salt, event.hash) {
            return Err(e);
        }
        visit(event);
    }
    Ok(())
}

/// How much of the database file an offline scan maps into memory (SQLite's `mmap_size`): a
/// read-only mapping, so pages are read in place rather than copied; beyond it, SQLite reads.
const SCAN_MMAP_BYTES: i64 = 1 << 30;

/// Why an offline scan could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// There is no database in the directory.
    #[error("no chibo data in {0} (expected {db})", db = schema::DB_FILE)]
    NoData(PathBuf),
    /// SQLite failed.
    #[error("reading {path} failed: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
}

/// Walks every stored row in global order, as raw bytes, without opening a store (no lock, no
/// writer): for `chibo verify` on a data directory, even one a server is using.
pub fn scan(dir: &Path, visit: impl FnMut(RawEvent<'_>)) -> Result<(), ScanError> {
    Scanner::open(dir, Access::Whole)?.rows(Rows::All, visit)
}

/// How much of the file a [`Scanner`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Much of it, a page after another (the log or a long part of it): the file is mapped into
    /// memory, so that each page is read in place rather than copied. Mapping costs the kernel
    /// work for each page of the map touched, and again to unmap it.
    Whole,
    /// Rows here and there (a stream's, through its index): each page is read as needed.
    Rows,
}

/// A read-only connection to a data directory's database, for scans like [`scan`], without
/// opening a store: one thread's, for as many scans as it makes. Each scan is a read of its own,
/// and sees the commits made before it began.
pub struct Scanner {
    path: PathBuf,
    conn: Connection,
}

/// Which rows a scan reads.
enum Rows<'a> {
    All,
    Stream(&'a str),
    Positions(Option<i64>, Option<i64>),
}

impl Scanner {
    /// Opens the database in `dir`, to read it as `access` says; [`ScanError::NoData`] if
    /// there is none.
    pub fn open(dir: &Path, access: Access) -> Result<Self, ScanError> {
        let path = dir.join(schema::DB_FILE);
        if !path.is_file() {
            return Err(ScanError::NoData(dir.to_owned()));
        }
        let conn = open_reader(&path).and_then(|conn| {
            if access == Access::Whole {
                conn.pragma_update(None, "mmap_size", SCAN_MMAP_BYTES)?;
            }
            Ok(conn)
        });
        match conn {
            Ok(conn) => Ok(Self { path, conn }),
            Err(source) => Err(ScanError::Sqlite { path, source }),
        }
    }

    /// The highest position stored; `None` when there is no event.
    pub fn last_position(&self) -> Result<Option<i64>, ScanError> {
        self.conn.query_row("SELECT max(position) FROM events", [], |row| row.get(0)).map_err(|e| self.failed(e))
    }

    /// Walks the stored rows the store files under `stream`, in global order, as raw bytes, like
    /// [`scan`]: for reading `$checkpoints` before the whole log. Which stream a row is filed
    /// under is the store's index column; whether the envelope agrees is the verifier's to check.
    pub fn stream(&self, stream: &str, visit: impl FnMut(RawEvent<'_>)) -> Result<(), ScanError> {
        self.rows(Rows::Stream(stream), visit)
    }

    /// Walks the stored rows at positions `from..to` (each end open when `None`), in global
    /// order, like [`scan`]: for walking a log in parts at once. The rows of a damaged store may
    /// have positions below 0; the part with no lower end has them.
    pub fn positions(
        &self,
        from: Option<u64>,
        to: Option<u64>,
        visit: impl FnMut(RawEvent<'_>),
    ) -> Result<(), ScanError> {
        let bound = |end: Option<u64>| end.map(|p| i64::try_from(p).unwrap_or(i64::MAX));
        self.rows(Rows::Positions(bound(from), bound(to)), visit)
    }

    fn failed(&self, source: rusqlite::Error) -> ScanError {
        ScanError::Sqlite { path: self.path.clone(), source }
    }

    fn rows(&self, which: Rows<'_>, mut visit: impl FnMut(RawEvent<'_>)) -> Result<(), ScanError> {
        // Bounds on the position (the rowid) as plain comparisons, so that SQLite seeks to the
        // first row and stops after the last.
        let (filter, params): (String, Vec<Param<'_>>) = match which {
            Rows::All => (String::new(), vec![]),
            Rows::Stream(stream) => ("WHERE stream = ?1".into(), vec![Param::Text(stream)]),
            Rows::Positions(from, to) => {
                let bounds = [(from, ">="), (to, "<")].into_iter().filter_map(|(end, op)| Some((end?, op)));
                let (clauses, params): (Vec<_>, Vec<_>) = bounds
                    .enumerate()
                    .map(|(i, (end, op))| (format!("position {op} ?{}", i + 1), Param::Int(end)))
                    .unzip();
                let filter =
                    if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
                (filter, params)
            }
        };
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events {filter} ORDER BY position");
        let mut rows = Cursor::new(&self.conn, &sql, &params).map_err(|e| self.failed(e))?;
        while rows.step().map_err(|e| self.failed(e))? {
            visit(raw_event(&rows).map_err(|e| self.failed(e))?);
        }
        Ok(())
    }
}

/// The row of [`EVENT_COLUMNS`] the cursor is on, borrowed from it.
fn raw_event<'r>(row: &'r Cursor<'_>) -> rusqlite::Result<RawEvent<'r>> {
    Ok(RawEvent {
        position: row.int(0)? as u64,
        stream: row.text(1)?,
        revision: row.int(2)? as u64,
        envelope: row.blob(3)?,
        payload: row.blob(4)?,
        salt: row.blob(5)?,
        hash: row.blob(6)?,
    })
}

#[cfg(test)]
mod tests {
    use rusqlite::{params, StatementStatus};

    use super::*;

    /// A store's database holding `events` rows of two streams, by the writer's settings.
    fn database(events: i64) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(schema::DB_FILE);
        let writer = Connection::open(&path).unwrap();
        schema::configure(&writer).unwrap();
        schema::migrate(&writer).unwrap();
        for position in 0..events {
            writer
                .execute(
                    "INSERT INTO events (position, stream, revision, event_id, envelope, payload, salt, hash) \
                     VALUES (?1, ?2, ?3, ?4, x'01', x'02', zeroblob(16), zeroblob(32))",
                    params![
                        position,
                        ["cell-a", "cell-b"][position as usize % 2],
                        position / 2,
                        position.to_be_bytes()
                    ],
                )
                .unwrap();
        }
        (dir, path)
    }

    #[test]
    fn pages_read_again_with_other_limits_are_not_planned_again() {
        let (_dir, path) = database(20);
        let reader = open_reader(&path).unwrap();
        for limit in 1..=4 {
            let page = query_events(&reader, PAGE_AFTER, params![limit, limit], limit).unwrap();
            let positions: Vec<u64> = page.iter().map(|e| e.position).collect();
            assert_eq!(positions, (limit as u64 + 1..=2 * limit as u64).collect::<Vec<_>>());
            let page = query_events(&reader, PAGE_OF_STREAM, params!["cell-b", 1, limit], limit).unwrap();
            let revisions: Vec<u64> = page.iter().map(|e| e.revision).collect();
            assert_eq!(revisions, (1..=limit as u64).collect::<Vec<_>>());
        }
        for sql in [PAGE_AFTER, PAGE_OF_STREAM] {
            let cached = reader.prepare_cached(sql).unwrap();
            assert_eq!(cached.get_status(StatementStatus::RePrepare), 0, "{sql}");
        }
    }

    /// Both ways of reading a page: copied out, and handed over in place (then copied here).
    fn both_reads(reader: &Connection, after: i64, limit: usize) -> [Result<Vec<StoredEvent>, String>; 2] {
        let copied = query_events(reader, PAGE_AFTER, params![after, sql_limit(limit)], limit);
        let mut in_place = Vec::new();
        let handed = read_page_into(reader, after, limit, &mut |e| in_place.push(StoredEvent::try_from(e).unwrap()));
        [copied, handed.map(|()| in_place)].map(|read| read.map_err(|e| e.to_string()))
    }

    #[test]
    fn a_page_read_in_place_is_the_page_read_out_and_refuses_the_same_rows() {
        let (_dir, path) = database(10);
        let reader = open_reader(&path).unwrap();
        for (after, limit) in [(-1, 100), (-1, 3), (4, 2), (8, 5), (9, 5), (2, 0)] {
            let [copied, in_place] = both_reads(&reader, after, limit);
            assert_eq!(in_place, copied, "after {after}, {limit}");
            assert_eq!(copied.unwrap().len(), limit.min((9 - after) as usize));
        }

        // Rows no writer of this store makes: each read refuses them with the same reason.
        let writer = Connection::open(&path).unwrap();
        let insert = "INSERT INTO events (position, stream, revision, event_id, envelope, payload, salt, hash) \
                      VALUES (?1, 'cell-c', ?2, ?5, x'01', x'02', ?3, ?4)";
        for (position, revision, salt, hash) in [(10i64, 0, 15, 32), (11, 1, 16, 31), (12, -1, 16, 32)] {
            let row = params![position, revision, vec![0u8; salt], vec![0u8; hash], position.to_be_bytes()];
            writer.execute(insert, row).unwrap();
        }
        for (after, reason) in [
            (9, "position 10: salt is 15 bytes; expected 16"),
            (10, "position 11: hash is 31 bytes; expected 32"),
            (11, "position 12: negative position 12 or revision -1"),
        ] {
            let [copied, in_place] = both_reads(&reader, after, 5);
            assert_eq!(copied, in_place, "after {after}");
            let message = in_place.unwrap_err();
            assert!(message.contains(reason), "after {after}: {message}");
        }
    }

    #[test]
    fn a_scanner_maps_the_file_only_to_read_it_whole() {
        let (dir, _) = database(6);
        let mapped = |access| {
            let scanner = Scanner::open(dir.path(), access).unwrap();
            scanner.conn.pragma_query_value(None, "mmap_size", |row| row.get::<_, i64>(0)).unwrap()
        };
        assert_eq!(mapped(Access::Whole), SCAN_MMAP_BYTES);
        assert_eq!(mapped(Access::Rows), 0);

        // One scanner, many scans: each reads what it asks for.
        let scanner = Scanner::open(dir.path(), Access::Whole).unwrap();
        let positions = |from, to| {
            let mut seen = vec![];
            scanner.positions(from, to, |event| seen.push(event.position)).unwrap();
            seen
        };
        assert_eq!(positions(Some(2), Some(4)), [2, 3]);
        assert_eq!(positions(None, Some(2)), [0, 1]);
        assert_eq!(positions(Some(4), None), [4, 5]);
        let mut revisions = vec![];
        scanner.stream("cell-b", |event| revisions.push(event.revision)).unwrap();
        assert_eq!(revisions, [0, 1, 2]);
        assert_eq!(scanner.last_position().unwrap(), Some(5));
    }
}
