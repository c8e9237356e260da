//! Tamper detection: a real data directory, altered underneath chibo the way an operator with
//! a SQLite shell could (dropping the append-only triggers first), and `chibo verify` must name
//! the stream and revision of each alteration and exit non-zero.

use std::path::Path;

use rusqlite::{params, Connection};

use crate::harness::{cell, chibo, points, verify, Fixture, Server};

const CELLS: [&str; 3] = ["a", "b", "c"];
const PER_CELL: usize = 4;

/// The `n`th member of `cell` (a member belongs to one cell at a time); the `n`th study-points
/// event of each cell is theirs.
fn member(cell: &str, n: usize) -> String {
    format!("{cell}-m{n}")
}

/// The revision of the `n`th study-points event of a cell: after the fixture's registration
/// of the cell and its members.
fn points_revision(n: usize) -> u64 {
    (1 + PER_CELL + n) as u64
}

/// A data directory with the fixture (the province; each cell and its members), then four
/// study-points events in each of three cells, interleaved; the server stopped. Returns how
/// many events the fixture recorded.
async fn recorded_log(dir: &Path) -> usize {
    let server = Server::start(dir);
    let mut client = server.client().await;
    let cells: Vec<_> = CELLS.iter().map(|id| cell(*id, (0..PER_CELL).map(|n| member(id, n)))).collect();
    let fixture = Fixture::record(&mut client, &cells).await;
    for i in 0..PER_CELL {
        for id in CELLS {
            let request = chibo_proto::v1::SubmitRequest {
                stream: format!("cell-{id}"),
                expected_revision: None,
                event: Some(points(&member(id, i), 10 + i as u32)),
            };
            let receipt = client.submit(request).await.unwrap().into_inner().receipt.unwrap();
            assert_eq!(receipt.revision, points_revision(i));
        }
    }
    server.stop().await;
    fixture.len()
}

/// Opens the database as an attacker would: with the append-only triggers gone.
fn tamper(dir: &Path) -> Connection {
    let conn = Connection::open(dir.join("chibo.db")).unwrap();
    conn.execute_batch("DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;").unwrap();
    conn
}

fn position_of(conn: &Connection, stream: &str, revision: u64) -> i64 {
    let revision = revision as i64;
    conn.query_row("SELECT position FROM events WHERE stream = ?1 AND revision = ?2", params![stream, revision], |r| {
        r.get(0)
    })
    .unwrap()
}

fn flip_byte(conn: &Connection, column: &str, stream: &str, revision: u64) {
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
    let fixture = recorded_log(dir.path()).await;
    let (report, code) = verify(dir.path());
    assert_eq!((code, report["intact"].as_bool()), (0, Some(true)), "{report}");
    let events = fixture + CELLS.len() * PER_CELL;
    assert_eq!(report["events"], events as u64);
    let text = chibo(&["verify", "--data", dir.path().to_str().unwrap()]);
    // The cells' streams and the province's.
    let streams = CELLS.len() + 1;
    let expected = format!("ok: {events} events in {streams} streams");
    assert!(String::from_utf8_lossy(&text.stdout).starts_with(&expected), "{text:?}");
}

#[tokio::test]
async fn a_flipped_envelope_byte_is_found() {
    let dir = tempfile::tempdir().unwrap();
    recorded_log(dir.path()).await;
    flip_byte(&tamper(dir.path()), "envelope", "cell-b", points_revision(2));
    assert_broken_at(dir.path(), "cell-b", points_revision(2), "not the hash of the stored envelope");
}

#[tokio::test]
async fn a_flipped_payload_byte_is_found() {
    let dir = tempfile::tempdir().unwrap();
    recorded_log(dir.path()).await;
    flip_byte(&tamper(dir.path()), "payload", "cell-a", points_revision(1));
    assert_broken_at(dir.path(), "cell-a", points_revision(1), "payload does not match");
}

#[tokio::test]
async fn a_deleted_event_is_found() {
    let dir = tempfile::tempdir().unwrap();
    recorded_log(dir.path()).await;
    let conn = tamper(dir.path());
    let revision = points_revision(1);
    let position = position_of(&conn, "cell-c", revision);
    conn.execute("DELETE FROM events WHERE position = ?1", [position]).unwrap();
    assert_broken_at(dir.path(), "cell-c", revision, &format!("revision {revision} is missing"));
    let (report, _) = verify(dir.path());
    assert_eq!(report["gaps"][0]["expected"], position, "{report}");
}

#[tokio::test]
async fn two_swapped_events_are_found() {
    let dir = tempfile::tempdir().unwrap();
    recorded_log(dir.path()).await;
    let conn = tamper(dir.path());
    // Swap the places of two study-points events of cell-a in the global order: each row keeps
    // its content but takes the other's position.
    let (r1, r2) = (points_revision(1), points_revision(2));
    let (p1, p2) = (position_of(&conn, "cell-a", r1), position_of(&conn, "cell-a", r2));
    conn.execute_batch(&format!(
        "UPDATE events SET position = -1 WHERE position = {p1};
         UPDATE events SET position = {p1} WHERE position = {p2};
         UPDATE events SET position = {p2} WHERE position = -1;"
    ))
    .unwrap();
    assert_broken_at(dir.path(), "cell-a", r1, &format!("revision {r1} is missing or out of place"));
}

#[tokio::test]
async fn a_consistent_forgery_is_found_at_the_next_link() {
    let dir = tempfile::tempdir().unwrap();
    recorded_log(dir.path()).await;
    let conn = tamper(dir.path());
    // A careful forger rewrites a payload and everything derived from it: the payload digest
    // in the envelope, the envelope, the stored hash. The event itself now checks out, but the
    // next event of the stream still names the original's hash as its prev_hash.
    let position = position_of(&conn, "cell-b", points_revision(1));
    let (envelope, salt): (Vec<u8>, Vec<u8>) = conn
        .query_row("SELECT envelope, salt FROM events WHERE position = ?1", [position], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    let forged_payload = prost::Message::encode_to_vec(&chibo_proto::v1::StudyPointsEarned {
        member_id: member("b", 1),
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
    assert_broken_at(dir.path(), "cell-b", points_revision(2), "prev_hash");
}
