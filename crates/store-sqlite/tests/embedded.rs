//! What the embedded backend promises beyond the store contract: its durability settings, the
//! append-only triggers, the directory lock, and picking up where it left off after a restart.

use chibo_domain::StreamName;
use chibo_integrity::Verifier;
use chibo_store::{EventStore, ExpectedRevision};
use chibo_store_contract::new_event;
use chibo_store_sqlite::{scan, schema::DB_FILE, Access, OpenError, Options, Scanner, SqliteStore};

fn cell(id: &str) -> StreamName {
    StreamName::parse("stream", &format!("cell-{id}")).unwrap()
}

#[tokio::test]
async fn the_database_is_wal_with_full_fsync() {
    let dir = tempfile::tempdir().unwrap();
    let _store = SqliteStore::open(dir.path(), Options::default()).unwrap();
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    // synchronous is per connection: check the store's own setting through its schema module.
    chibo_store_sqlite::schema::configure(&conn).unwrap();
    let sync: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
    assert_eq!(sync, 2, "FULL");
}

#[tokio::test]
async fn updates_and_deletes_are_refused_by_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), Options::default()).unwrap();
    store.append(&cell("a"), ExpectedRevision::Any, vec![new_event("x")]).await.unwrap();
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    for sql in ["UPDATE events SET payload = x'00'", "DELETE FROM events"] {
        let err = conn.execute(sql, []).unwrap_err().to_string();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(store.read_all(None, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_directory_serves_one_store_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), Options::default()).unwrap();
    assert!(matches!(SqliteStore::open(dir.path(), Options::default()), Err(OpenError::Locked(_))));
    drop(store);
    SqliteStore::open(dir.path(), Options::default()).expect("the lock is released on close");
}

#[tokio::test]
async fn a_reopened_store_continues_positions_and_chains() {
    let dir = tempfile::tempdir().unwrap();
    let first = {
        let store = SqliteStore::open(dir.path(), Options::default()).unwrap();
        store.append(&cell("a"), ExpectedRevision::NoStream, vec![new_event("1"), new_event("2")]).await.unwrap();
        store.append(&cell("b"), ExpectedRevision::NoStream, vec![new_event("3")]).await.unwrap()
    };
    let store = SqliteStore::open(dir.path(), Options::default()).unwrap();
    assert_eq!(*store.committed().borrow(), Some(2));
    let r = store.append(&cell("a"), ExpectedRevision::Exact(1), vec![new_event("4")]).await.unwrap();
    assert_eq!((r[0].revision, r[0].position), (2, 3));
    assert!(r[0].recorded_at >= first[0].recorded_at);
    drop(store);

    let mut verifier = Verifier::new();
    scan(dir.path(), |event| {
        verifier.check(event);
    })
    .unwrap();
    let summary = verifier.finish();
    assert!(summary.is_intact(), "{:?}", summary.breaks);
    assert_eq!(summary.events, 4);
}

#[test]
fn scanning_a_directory_without_data_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let err = scan(dir.path(), |_| {}).unwrap_err();
    assert!(err.to_string().contains("no chibo data"), "{err}");
    let Err(err) = Scanner::open(dir.path(), Access::Rows) else { panic!("a scanner opened no data") };
    assert!(err.to_string().contains("no chibo data"), "{err}");
}

#[tokio::test]
async fn scanning_one_stream_reads_its_rows_in_global_order() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open(dir.path(), Options::default()).unwrap();
        store.append(&cell("a"), ExpectedRevision::NoStream, vec![new_event("1")]).await.unwrap();
        store.append(&cell("b"), ExpectedRevision::NoStream, vec![new_event("2"), new_event("3")]).await.unwrap();
        store.append(&cell("a"), ExpectedRevision::Exact(0), vec![new_event("4")]).await.unwrap();
    }
    let scanner = Scanner::open(dir.path(), Access::Rows).unwrap();
    let mut seen = Vec::new();
    scanner.stream("cell-a", |event| seen.push((event.stream.to_owned(), event.revision, event.position))).unwrap();
    assert_eq!(seen, [("cell-a".to_owned(), 0, 0), ("cell-a".to_owned(), 1, 3)]);
    let mut none = 0;
    scanner.stream("$checkpoints", |_| none += 1).unwrap();
    assert_eq!(none, 0);
}

/// Appends committed together in one group: one that carries an id already recorded is refused
/// and takes back its own inserts only, and the others around it all land.
#[tokio::test]
async fn a_refused_append_in_a_group_takes_back_only_its_own_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(SqliteStore::open(dir.path(), Options::default()).unwrap());
    let recorded = new_event("recorded");
    store.append(&cell("x"), ExpectedRevision::NoStream, vec![recorded.clone()]).await.unwrap();

    // Sent all at once, so that the writer finds many of them queued for one transaction.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = store.clone();
        let events = match i % 4 {
            // New events, then the recorded id: refused after two inserts.
            0 => vec![new_event("a"), new_event("b"), recorded.clone()],
            // The recorded id alone, in another stream: refused at its only insert.
            1 => vec![recorded.clone()],
            _ => vec![new_event("c"), new_event("d")],
        };
        tasks.push(tokio::spawn(async move {
            (i, store.append(&cell(&format!("s{i}")), ExpectedRevision::Any, events).await)
        }));
    }
    let mut landed = Vec::new();
    for task in tasks {
        let (i, outcome) = task.await.unwrap();
        match (i % 4, outcome) {
            (0 | 1, Err(e)) => {
                assert!(matches!(e, chibo_store::AppendError::EventIdConflict { revision: 0, .. }), "append {i}: {e:?}")
            }
            (0 | 1, Ok(r)) => panic!("append {i} carried a recorded id, and landed: {r:?}"),
            (_, outcome) => landed.extend(outcome.unwrap_or_else(|e| panic!("append {i}: {e:?}"))),
        }
    }
    drop(store);

    let mut positions: Vec<u64> = landed.iter().map(|r| r.position).collect();
    positions.sort_unstable();
    assert_eq!(positions, (1..=40).collect::<Vec<_>>(), "20 appends of two events, right after the first");
    let mut verifier = Verifier::new();
    let mut rows = 0;
    scan(dir.path(), |event| {
        rows += 1;
        assert!(verifier.check(event), "position {}", event.position);
    })
    .unwrap();
    assert_eq!(rows, 41, "nothing of a refused append is stored");
    assert!(verifier.finish().is_intact());
}

/// Collects what a page read hands over, copied out.
struct Collect(Vec<chibo_store::StoredEvent>);

impl chibo_store::PageSink for Collect {
    fn event(&mut self, event: chibo_integrity::RawEvent<'_>) {
        self.0.push(event.try_into().expect("a well-formed event"));
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send> {
        self
    }
}

/// Every event after `after`, at most `max`, as `read_all_into` hands them over.
async fn read_into(store: &SqliteStore, after: Option<u64>, max: usize) -> Vec<chibo_store::StoredEvent> {
    let sink = store.read_all_into(after, max, Box::new(Collect(Vec::new()))).await.unwrap();
    sink.into_any().downcast::<Collect>().unwrap().0
}

/// The followers read the last commits from memory, where the writer kept them: groups whose
/// appends landed, were refused or were retries hand over exactly the rows SQLite holds, from
/// any position and in pages of any size, before a restart (from memory) and after it (from
/// SQLite).
#[tokio::test]
async fn pages_read_from_the_last_commits_are_the_rows_sqlite_holds() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(SqliteStore::open(dir.path(), Options::default()).unwrap());
    let recorded = vec![new_event("recorded"), new_event("recorded too")];
    store.append(&cell("x"), ExpectedRevision::NoStream, recorded.clone()).await.unwrap();
    for round in 0..3 {
        let mut tasks = Vec::new();
        for i in 0..24 {
            let store = store.clone();
            let (stream, expected, events) = match i % 6 {
                // A retry of what landed: the original receipts, nothing written.
                0 => ("x".to_owned(), ExpectedRevision::Any, recorded.clone()),
                // A recorded id in another stream: refused.
                1 => (format!("r{round}-{i}"), ExpectedRevision::Any, vec![new_event("n"), recorded[1].clone()]),
                // The wrong revision: refused.
                2 => ("x".to_owned(), ExpectedRevision::NoStream, vec![new_event("late")]),
                _ => {
                    (format!("s{}", i % 4), ExpectedRevision::Any, (0..i).map(|j| new_event(&j.to_string())).collect())
                }
            };
            tasks.push(tokio::spawn(async move { store.append(&cell(&stream), expected, events).await.is_ok() }));
        }
        for (i, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.await.unwrap(), !matches!(i % 6, 1 | 2), "append {i} of round {round}");
        }
    }
    let check = |from_sqlite: Vec<chibo_store::StoredEvent>| {
        let store = store.clone();
        async move {
            let size = from_sqlite.len() as u64;
            assert!(size > 100, "{size} events");
            assert_eq!(read_into(&store, None, usize::MAX).await, from_sqlite);
            for after in [None, Some(0), Some(1), Some(size / 2), Some(size - 2), Some(size - 1), Some(size + 5)] {
                for max in [1, 7, 64, 1_000] {
                    let from = after.map_or(0, |a| a as usize + 1).min(from_sqlite.len());
                    let expected = &from_sqlite[from..(from + max).min(from_sqlite.len())];
                    assert_eq!(read_into(&store, after, max).await, expected, "after {after:?}, max {max}");
                }
            }
        }
    };
    let from_sqlite = store.read_all(None, usize::MAX).await.unwrap();
    check(from_sqlite.clone()).await;
    drop(store);

    let store = std::sync::Arc::new(SqliteStore::open(dir.path(), Options::default()).unwrap());
    assert_eq!(read_into(&store, None, usize::MAX).await, from_sqlite, "after a restart, from SQLite");
    // One more commit: a page from before it reads SQLite, then the tail, seamlessly.
    store.append(&cell("y"), ExpectedRevision::Any, vec![new_event("after")]).await.unwrap();
    let all = store.read_all(None, usize::MAX).await.unwrap();
    assert_eq!(all.len(), from_sqlite.len() + 1);
    assert_eq!(read_into(&store, None, usize::MAX).await, all);
    assert_eq!(read_into(&store, Some(from_sqlite.len() as u64 - 1), 10).await, all[from_sqlite.len()..]);
}

fn meta(dir: &std::path::Path, key: &str) -> Option<i64> {
    let conn = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).ok()
}

/// Event ids merged into their table and ids still recent both answer for their events after
/// a restart: a retry gets its original receipt, and a reuse is refused.
#[tokio::test]
async fn event_ids_merged_and_recent_are_both_known_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let events: Vec<_> = (0..7).map(|i| new_event(&i.to_string())).collect();
    let mut receipts = Vec::new();
    {
        let options = Options { merge_ids_at_least: 3, ..Options::default() };
        let store = SqliteStore::open(dir.path(), options).unwrap();
        for event in &events {
            receipts.extend(store.append(&cell("a"), ExpectedRevision::Any, vec![event.clone()]).await.unwrap());
        }
    }
    // Merged after the third and the sixth commit: six ids in the table, one recent.
    assert_eq!(meta(dir.path(), "ids_through"), Some(6));

    let store = SqliteStore::open(dir.path(), Options::default()).unwrap();
    for (event, first) in events.iter().zip(&receipts) {
        let again = store.append(&cell("a"), ExpectedRevision::NoStream, vec![event.clone()]).await.unwrap();
        assert_eq!(again[0], chibo_store::Receipt { duplicate: true, ..first.clone() });
        let reused = store.append(&cell("b"), ExpectedRevision::Any, vec![event.clone()]).await.unwrap_err();
        assert!(
            matches!(reused, chibo_store::AppendError::EventIdConflict { revision, .. } if revision == first.revision),
            "{reused:?}"
        );
    }
    assert_eq!(store.read_all(None, 100).await.unwrap().len(), 7, "retries and reuses wrote nothing");
}

/// The same event sent by many callers at once, so that the writer finds several copies in one
/// group: one lands, and every other gets its receipt as a duplicate.
#[tokio::test]
async fn copies_of_one_event_in_one_group_land_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(SqliteStore::open(dir.path(), Options::default()).unwrap());
    let event = new_event("once");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (store, event) = (store.clone(), event.clone());
            tokio::spawn(async move { store.append(&cell("a"), ExpectedRevision::Any, vec![event]).await })
        })
        .collect();
    let mut receipts = Vec::new();
    for task in tasks {
        receipts.extend(task.await.unwrap().unwrap());
    }
    assert_eq!(receipts.iter().filter(|r| !r.duplicate).count(), 1);
    assert!(receipts.iter().all(|r| (r.position, r.revision, r.hash) == (0, 0, receipts[0].hash)));
    assert_eq!(store.read_all(None, 100).await.unwrap().len(), 1);
}

/// A database of format version 1 kept its event ids in a unique index on `events`. Opened, it
/// is upgraded in place: its ids move into their table, the index goes, and its events are
/// known by their ids as before.
#[tokio::test]
async fn a_version_1_database_is_upgraded_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let events: Vec<_> = (0..5).map(|i| new_event(&i.to_string())).collect();
    let receipts = {
        let store = SqliteStore::open(dir.path(), Options::default()).unwrap();
        store.append(&cell("a"), ExpectedRevision::NoStream, events.clone()).await.unwrap()
    };
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    conn.execute_batch(
        "DROP TABLE event_ids;
         DELETE FROM meta WHERE key = 'ids_through';
         UPDATE meta SET value = 1 WHERE key = 'format_version';
         CREATE UNIQUE INDEX events_by_id ON events (event_id);",
    )
    .unwrap();
    drop(conn);

    let store = SqliteStore::open(dir.path(), Options::default()).unwrap();
    assert_eq!(meta(dir.path(), "format_version"), Some(2));
    assert_eq!(meta(dir.path(), "ids_through"), Some(5));
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    let (ids, index): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM event_ids), (SELECT count(*) FROM sqlite_schema WHERE name = 'events_by_id')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((ids, index), (5, 0));
    let again = store.append(&cell("a"), ExpectedRevision::NoStream, events).await.unwrap();
    assert!(again.iter().zip(&receipts).all(|(a, r)| *a == chibo_store::Receipt { duplicate: true, ..r.clone() }));
}

#[tokio::test]
async fn a_database_of_a_later_format_is_refused_and_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(dir.path(), Options::default()).unwrap());
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    conn.execute("UPDATE meta SET value = 3 WHERE key = 'format_version'", []).unwrap();
    drop(conn);
    let Err(err) = SqliteStore::open(dir.path(), Options::default()) else { panic!("a version 3 database opened") };
    assert!(err.to_string().contains("format version 3"), "{err}");
    assert_eq!(meta(dir.path(), "format_version"), Some(3));
}
