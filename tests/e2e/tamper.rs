//! Tamper detection: a real data directory, altered underneath chibo the way an operator with
//! a SQLite shell could (dropping the append-only triggers first), and `chibo verify` must name
//! the stream and revision of each alteration and exit non-zero.

use std::path::Path;

use rusqlite::{params, Connection};

use crate::harness::{chibo, points, verify, Server};

const CELLS: [&str; 3] = ["cell-a", "cell-b", "cell-c"];
const PER_CELL: usize = 4;

/// A data directory with four events in each of three cells, interleaved; the server stopped.
async fn recorded_log(dir: &Path) {
    let server = Server::start(dir);
    let mut client = server.client().await;
    for i in 0..PER_CELL {
        for cell in CELLS {
            let request = chibo_proto::v1::SubmitRequest {
                stream: cell.into(),
                expected_revision: None,
                event: Some(points(&format!("m{i}"), 10 + i as u32)),
            };
            client.submit(request).await.unwrap();
        }
    }
    server.stop().await;
}

/// Opens the database as an attacker would: with the append-only triggers gone.
fn tamper(dir: &Path) -> Connection {
    let conn = Connection::open(dir.join("chibo.db")).unwrap();
    conn.execute_batch("DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;").unwrap();
    conn
}

fn position_of(conn: &Connection, stream: &str, revision: i64) -> i64 {
    conn.query_row("SELECT position FROM events WHERE stream = ?1 AND revision = ?2", params![stream, revision], |r| {
        r.get(0)
    })
    .unwrap()
}

fn flip_byte(conn: &Connection, column: &str, stream: &str, revision: i64) {
    let position = position_of(conn, stream, revision);
    let mut blob: Vec<u8> =
        conn.query_row(&format!("SELECT {column} FROM events WHERE position = ?1"), [position], |r| r.get(0)).unwrap();
    let middle = blob.len() / 2;
    blob[middle] ^= 0x01;
    conn.execute(&format!("UPDATE events SET {column} = ?1 WHERE position = ?2"), params![blob, position]).unwrap();
}

/// Asserts `chibo verify` fails and its first chain break is at `stream`/`revision`.
fn assert_broken_at(dir: &Path, stream: &str, revision: u64, problem: &str) {
    let (report, code) = verify(dir);
    assert_eq!(code, 1, "verify exits 1 on a break: {report}");
    assert_eq!(report["intact"], false);
    let breaks = report["breaks"].as_array().unwrap();
    let hit = breaks
        .iter()
        .find(|b| b["stream"] == stream && b["revision"] == revision)
        .unwrap_or_else(|| panic!("no break reported at {stream} revision {revision}: {report}"));
    let text = hit["problem"].as_str().unwrap();
    assert!(text.contains(problem), "{text:?} should say {problem:?}");
    // Only the tampered stream is broken; the others still verify.
    assert!(breaks.iter().all(|b| b["stream"] == stream), "{report}");
}

#[tokio::test]
async fn an_untouched_log_verifies_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    recorded_log(dir.path()).await;
    let (report, code) = verify(dir.path());
    assert_eq!((code, report["intact"].as_bool()), (0, Some(true)), "{report}");
    assert_eq!(report["events"], (CELLS.len() * PER_CELL) as u64);
    let text = chibo(&["verify", "--data", dir.path().to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&text.stdout).starts_with("ok: 12 events in 3 streams"));
}

#[tokio::test]
async fn a_flipped_envelope_byte_is_found() {
    let dir = tempfile::tempdir().unwrap();
    recorded_log(dir.path()).await;
    flip_byte(&tamper(dir.path()), "envelope", "cell-b", 2);
    assert_broken_at(dir.path(), "cell-b", 2, "not the hash of the stored envelope");
}

#[tokio::test]
async fn a_flipped_payload_byte_is_found() {
    let dir = tempfile::tempdir().unwrap();
    recorded_log(dir.path()).await;
    flip_byte(&tamper(dir.path()), "payload", "cell-a", 1);
    assert_broken_at(dir.path(), "cell-a", 1, "payload does not match");
}

#[tokio::test]
async fn a_deleted_event_is_found() {
    let dir = tempfile::tempdir().unwrap();
    recorded_log(dir.path()).await;
    let conn = tamper(dir.path());
    let position = position_of(&conn, "cell-c", 1);
    conn.execute("DELETE FROM events WHERE position = ?1", [position]).unwrap();
    assert_broken_at(dir.path(), "cell-c", 1, "revision 1 is missing");
    let (report, _) = verify(dir.path());
    assert_eq!(report["gaps"][0]["expected"], position, "{report}");
}

#[tokio::test]
async fn two_swapped_events_are_found() {
    let dir = tempfile::tempdir().unwrap();
    recorded_log(dir.path()).await;
    let conn = tamper(dir.path());
    // Swap the places of cell-a revisions 1 and 2 in the global order: each row keeps its
    // content but takes the other's position.
    let (p1, p2) = (position_of(&conn, "cell-a", 1), position_of(&conn, "cell-a", 2));
    conn.execute_batch(&format!(
        "UPDATE events SET position = -1 WHERE position = {p1};
         UPDATE events SET position = {p1} WHERE position = {p2};
         UPDATE events SET position = {p2} WHERE position = -1;"
    ))
    .unwrap();
    assert_broken_at(dir.path(), "cell-a", 1, "revision 1 is missing or out of place");
}

#[tokio::test]
async fn a_consistent_forgery_is_found_at_the_next_link() {
    let dir = tempfile::tempdir().unwrap();
    recorded_log(dir.path()).await;
    let conn = tamper(dir.path());
    // A careful forger rewrites a payload and everything derived from it: the payload digest
    // in the envelope, the envelope, the stored hash. The event itself now checks out, but the
    // next event of the stream still names the original's hash as its prev_hash.
    let position = position_of(&conn, "cell-b", 1);
    let (envelope, salt): (Vec<u8>, Vec<u8>) = conn
        .query_row("SELECT envelope, salt FROM events WHERE position = ?1", [position], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    let forged_payload = prost::Message::encode_to_vec(&chibo_proto::v1::StudyPointsEarned {
        member_id: "m1".into(),
        points: 5000,
        date: "2026-01-05".into(),
        activity: "Nghị quyết 21-NQ/TW".into(),
        source_ref: String::new(),
    });
    let mut forged: chibo_proto::v1::EventEnvelope = prost::Message::decode(envelope.as_slice()).unwrap();
    forged.payload_digest = chibo_integrity::payload_digest(&salt.try_into().unwrap(), &forged_payload).to_vec();
    let forged = prost::Message::encode_to_vec(&forged);
    let hash = chibo_integrity::event_hash(&forged);
    conn.execute(
        "UPDATE events SET payload = ?1, envelope = ?2, hash = ?3 WHERE position = ?4",
        params![forged_payload, forged, hash.to_vec(), position],
    )
    .unwrap();
    assert_broken_at(dir.path(), "cell-b", 2, "prev_hash");
}
