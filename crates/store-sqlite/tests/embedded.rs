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
