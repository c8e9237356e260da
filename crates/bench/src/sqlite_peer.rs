//! The ceiling of ingest: raw SQLite, in-process, inserting the rows the embedded store would
//! write for the same workload, one transaction per request, with the store's own schema
//! (indexes and append-only triggers) and settings (WAL, `synchronous=FULL`: every commit
//! fsyncs the WAL). No gRPC, no checks, no sealing: the rows are made before the clock starts.
//! The event ids go into their table as the store's writer puts them there: kept aside, and
//! merged in order once enough are recent (`chibo_store_sqlite::ids`).
//!
//! It copies the WAL back into the database as SQLite does by default, inside the commit that
//! takes it past 1,000 pages; the store does it on a thread of its own (its `backfill` module),
//! which is why the store can ingest faster than this peer.

use std::time::Instant;

use anyhow::Context;
use chibo_domain::EventId;
use chibo_store_sqlite::{ids, schema};
use rusqlite::{params, Connection, TransactionBehavior};

use crate::{cli::SqlitePeerArgs, figure, rows, workload::Workload};

pub fn run(args: SqlitePeerArgs) -> anyhow::Result<()> {
    let SqlitePeerArgs { dir, workload } = args;
    let workload = Workload::build(&workload)?;
    let transactions = rows::transactions(&workload)?;
    let temp = tempfile::Builder::new()
        .prefix("chibo-bench-sqlite-")
        .tempdir_in(&dir)
        .with_context(|| format!("--dir {}: cannot create a directory there", dir.display()))?;
    let path = temp.path().join(schema::DB_FILE);
    let mut conn = Connection::open(&path).with_context(|| format!("cannot create {}", path.display()))?;
    schema::configure(&conn).context("the embedded store's settings")?;
    schema::migrate(&conn).map_err(anyhow::Error::msg).context("the embedded store's schema")?;

    let mut ids = ids::Ids::load(&conn, ids::MERGE_AT_LEAST).map_err(anyhow::Error::msg)?;
    let started = Instant::now();
    let mut log_size = 0;
    for rows in &transactions {
        insert(&mut conn, rows).context("the raw SQLite peer's insert")?;
        log_size += rows.len() as u64;
        ids.committed(rows.iter().map(|row| (EventId::from_bytes(row.event_id), row.position)));
        ids.merge_if_due(&conn, log_size).map_err(anyhow::Error::msg).context("the raw SQLite peer's id merge")?;
    }
    let elapsed = started.elapsed();
    drop(conn);
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);

    let events = workload.events as u64;
    figure::rate("sqlite_peer.events_per_s", events, elapsed, "events/s", "raw SQLite, same rows and transactions");
    figure::rate("sqlite_peer.commits_per_s", transactions.len() as u64, elapsed, "commits/s", "each one WAL fsync");
    figure::print("sqlite_peer.events", events as f64, "events", "inserted");
    figure::print("sqlite_peer.db_bytes_per_event", bytes as f64 / events as f64, "B", "database file after the run");
    Ok(())
}

/// One request's rows, in one transaction, with the statement the store's writer uses.
fn insert(conn: &mut Connection, rows: &[rows::Row]) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO events (position, stream, revision, event_id, envelope, payload, salt, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for row in rows {
            insert.execute(params![
                row.position as i64,
                row.stream,
                row.revision as i64,
                &row.event_id[..],
                row.envelope,
                row.payload,
                &row.salt[..],
                &row.hash[..],
            ])?;
        }
    }
    tx.commit()
}
