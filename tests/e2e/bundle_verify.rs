//! `chibo audit verify` with no server: bundle files built from scratch (the integrity crate's
//! bundle builder), verified by the real binary, and the inspector's state file kept: written
//! when a newer checkpoint verifies, left byte for byte as it was after any failure.

#[path = "../../crates/integrity/tests/bundle_builder/mod.rs"]
mod bundle_builder;

use std::path::{Path, PathBuf};
use std::process::Output;

use bundle_builder::{flip, json, subject, Log};
use chibo_integrity::bundle::{Bundle, Subject};
use chibo_integrity::NoteSigner;
use chibo_proto::v1 as pb;
use pb::event::Kind;
use serde_json::Value;

use crate::harness::chibo;

const ORIGIN: &str = "chibo.thaibinh.example/log";
const STREAMS: [&str; 2] = ["cell-a", "org-x"];

fn period() -> Subject {
    subject("committee", "x", "2025-01-01", "2025-12-31")
}

/// 20 events: `org-x` registered, then a year of `cell-a`'s study points, one retracted and one
/// corrected in December. With `rewrite`, the points of 2025-09 differ: another history.
fn history_signed_by(signer: NoteSigner, rewrite: bool) -> Log {
    let mut log = Log::with_signer(signer, 1);
    log.register("org-x", "x", "thaibinh", "2024-03-01");
    let mut ids = Vec::new();
    for month in 1..=12 {
        let points = if rewrite && month == 9 { 99 } else { 10 + month };
        ids.push(log.points("cell-a", "a1", points, &format!("2025-{month:02}-10")));
    }
    for _ in 0..5 {
        log.points("cell-z", "z1", 5, "2025-06-01");
    }
    log.append(
        "cell-a",
        Kind::EventRetracted(pb::EventRetracted {
            target_event_id: ids[3].to_string(),
            reason: "entered twice".into(),
        }),
        "2025-12-20",
    );
    let replacement = pb::StudyPointsEarned {
        member_id: "a1".into(),
        points: 8,
        date: "2025-05-10".into(),
        activity: "Nghị quyết Đại hội XIV".into(),
        source_ref: Default::default(),
    };
    log.append(
        "cell-a",
        Kind::EventCorrected(Box::new(pb::EventCorrected {
            target_event_id: ids[4].to_string(),
            reason: "8 points, not 15".into(),
            replacement: Some(Box::new(pb::Event { kind: Some(Kind::StudyPointsEarned(replacement)) })),
        })),
        "2025-12-21",
    );
    assert_eq!(log.size(), 20);
    log
}

fn history() -> Log {
    history_signed_by(NoteSigner::generate(ORIGIN).unwrap(), false)
}

/// A directory with the log's verifier key in `checkpoint.pub`.
struct Inspector {
    dir: tempfile::TempDir,
}

impl Inspector {
    fn new(log: &Log) -> Inspector {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("checkpoint.pub"), format!("{}\n", log.verifier())).unwrap();
        Inspector { dir }
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("checkpoint.pub")
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("accepted.checkpoint")
    }

    /// Writes `bundle` to a file named `name`.
    fn file(&self, name: &str, bundle: &Bundle) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, json(bundle)).unwrap();
        path
    }

    /// `chibo audit verify FILE --key KEYFILE --state STATE [extra]`.
    fn verify(&self, file: &Path, extra: &[&str]) -> Output {
        let (key, state) = (self.key(), self.state());
        let mut args = vec!["audit", "verify", file.to_str().unwrap(), "--key", key.to_str().unwrap()];
        args.extend(["--state", state.to_str().unwrap()]);
        args.extend(extra);
        chibo(&args)
    }

    fn verify_json(&self, file: &Path) -> (Value, i32) {
        let out = self.verify(file, &["--json"]);
        let report = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("audit verify prints JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
        (report, out.status.code().unwrap_or(-1))
    }

    fn state_bytes(&self) -> Vec<u8> {
        std::fs::read(self.state()).unwrap()
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn verified_bundles_move_the_state_forward() {
    let log = history();
    let inspector = Inspector::new(&log);

    // Trust on first use: the state file is created from the first bundle that verifies.
    let first = inspector.file("first.json", &log.export(period(), &STREAMS, 12, &[]));
    let out = inspector.verify(&first, &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).starts_with("VERIFIED\n"), "{}", stdout(&out));
    assert!(stdout(&out).contains("did not exist; now tree size 12 (written)"), "{}", stdout(&out));
    assert_eq!(inspector.state_bytes(), log.checkpoint_note(12).into_bytes());

    // A newer checkpoint, proven to extend it, replaces it.
    let newer = inspector.file("newer.json", &log.export(period(), &STREAMS, 20, &[12]));
    let (report, code) = inspector.verify_json(&newer);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["verified"], true);
    assert_eq!(report["subject"]["org"], "x");
    assert_eq!(report["checkpoint"]["size"], 20);
    assert_eq!(report["problems"], serde_json::json!([]));
    assert_eq!(report["state"]["accepted_before"]["size"], 12);
    assert_eq!(report["state"]["written"], true);
    let cell_a = &report["streams"][0];
    assert_eq!(
        (&cell_a["stream"], &cell_a["first"], &cell_a["last"], &cell_a["events"]),
        (&"cell-a".into(), &0.into(), &13.into(), &14.into())
    );
    assert_eq!(inspector.state_bytes(), log.checkpoint_note(20).into_bytes());

    // The same checkpoint again verifies and leaves the file alone.
    let (report, code) = inspector.verify_json(&newer);
    assert_eq!((code, &report["state"]["written"]), (0, &Value::Bool(false)));
    assert_eq!(inspector.state_bytes(), log.checkpoint_note(20).into_bytes());
}

#[test]
fn corrections_are_listed_beside_their_targets() {
    let log = history();
    let inspector = Inspector::new(&log);
    let file = inspector.file("bundle.json", &log.export(period(), &STREAMS, 20, &[]));
    let out = chibo(&["audit", "verify", file.to_str().unwrap(), "--key", &log.verifier().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    let retracted = text.find("cell-a revision 12 (position 18): EventRetracted \"entered twice\"").expect(&text);
    assert!(text[retracted..].contains("of revision 3 (position 4), StudyPointsEarned, occurred 2025-04-10"), "{text}");
    assert!(text.contains("cell-a revision 13 (position 19): EventCorrected \"8 points, not 15\""), "{text}");
    assert!(text.contains("of revision 4 (position 5), StudyPointsEarned, occurred 2025-05-10"), "{text}");
    assert!(text.contains("replaced by: {\"studyPointsEarned\":{"), "{text}");
    assert!(!inspector.state().exists(), "no --state, no state file");

    let out = chibo(&["audit", "verify", file.to_str().unwrap(), "--key", &log.verifier().to_string(), "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let corrections = report["corrections"].as_array().unwrap();
    assert_eq!(corrections.len(), 2);
    assert_eq!(corrections[0]["event_type"], "EventRetracted");
    assert_eq!(corrections[0]["target"]["revision"], 3);
    assert_eq!(corrections[1]["target"]["event"]["studyPointsEarned"]["points"], 15);
    assert_eq!(corrections[1]["replacement"]["studyPointsEarned"]["points"], 8);
}

#[test]
fn a_tampered_bundle_is_refused_at_its_place_and_the_state_kept() {
    let log = history();
    let inspector = Inspector::new(&log);
    let first = inspector.file("first.json", &log.export(period(), &STREAMS, 12, &[]));
    assert_eq!(inspector.verify(&first, &[]).status.code(), Some(0));
    let before = inspector.state_bytes();

    let mut bundle = log.export(period(), &STREAMS, 20, &[12]);
    let event = &mut bundle.streams[0].events[6]; // cell-a revision 6, position 7
    event.payload = Some(flip(event.payload.as_ref().unwrap(), 2, 1));
    let tampered = inspector.file("tampered.json", &bundle);
    let out = inspector.verify(&tampered, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.starts_with("NOT VERIFIED: 1 problem(s)\n"), "{text}");
    assert!(
        text.contains("  cell-a revision 6 (position 7): the payload does not match the envelope's digest"),
        "{text}"
    );
    assert!(text.contains("left as it was"), "{text}");
    assert_eq!(inspector.state_bytes(), before);

    let (report, code) = inspector.verify_json(&tampered);
    assert_eq!((code, &report["verified"]), (1, &Value::Bool(false)));
    let location = &report["problems"][0]["location"];
    assert_eq!(location, &serde_json::json!({ "kind": "event", "stream": "cell-a", "revision": 6, "position": 7 }));
    assert_eq!(report["state"]["written"], false);
    assert_eq!(inspector.state_bytes(), before);
}

#[test]
fn rollbacks_and_forks_are_refused_and_the_state_kept() {
    let log = history();
    let inspector = Inspector::new(&log);
    let newest = inspector.file("newest.json", &log.export(period(), &STREAMS, 20, &[]));
    assert_eq!(inspector.verify(&newest, &[]).status.code(), Some(0));
    let before = inspector.state_bytes();

    let older = inspector.file("older.json", &log.export(period(), &STREAMS, 12, &[]));
    let (report, code) = inspector.verify_json(&older);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["problems"][0]["location"]["kind"], "state");
    assert!(report["problems"][0]["problem"].as_str().unwrap().starts_with("rollback:"), "{report:#}");
    assert_eq!(inspector.state_bytes(), before);

    // The same key signs a rewritten history: on its own it verifies, against the state it is
    // a fork.
    let key = NoteSigner::from_private_key(&log.signer().private_key()).unwrap();
    let fork = history_signed_by(key, true);
    let forked = inspector.file("forked.json", &fork.export(period(), &STREAMS, 20, &[]));
    let out = inspector.verify(&forked, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("  state: fork: two checkpoints of 20 events with different roots"),
        "{}",
        stdout(&out)
    );
    assert_eq!(inspector.state_bytes(), before);

    // Accepted at 12, the fork grown to 20 with its own proof from 12: the proof fails.
    let inspector = Inspector::new(&log);
    let first = inspector.file("first.json", &log.export(period(), &STREAMS, 12, &[]));
    assert_eq!(inspector.verify(&first, &[]).status.code(), Some(0));
    let before = inspector.state_bytes();
    let grown = inspector.file("grown.json", &fork.export(period(), &STREAMS, 20, &[12]));
    let (report, code) = inspector.verify_json(&grown);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["problems"][0]["location"], serde_json::json!({ "kind": "consistency", "size": 12 }));
    assert!(report["problems"][0]["problem"].as_str().unwrap().starts_with("fork:"), "{report:#}");
    assert_eq!(inspector.state_bytes(), before);

    // And no proof at all.
    let unproven = inspector.file("unproven.json", &log.export(period(), &STREAMS, 20, &[]));
    let (report, code) = inspector.verify_json(&unproven);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["problems"][0]["at"], "consistency proof from size 12");
    assert_eq!(inspector.state_bytes(), before);
}

#[test]
fn inputs_that_cannot_be_read_exit_2() {
    let log = history();
    let inspector = Inspector::new(&log);
    let file = inspector.file("bundle.json", &log.export(period(), &STREAMS, 20, &[]));
    let code = |out: Output| (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned());

    let (status, stderr) = code(inspector.verify(&inspector.dir.path().join("absent.json"), &[]));
    assert_eq!(status, Some(2));
    assert!(stderr.contains("cannot read the bundle"), "{stderr}");

    let (status, stderr) = code(chibo(&["audit", "verify", file.to_str().unwrap(), "--key", "not-a-key"]));
    assert_eq!(status, Some(2));
    assert!(stderr.contains("--key \"not-a-key\" is neither a verifier key nor a readable file"), "{stderr}");

    // A state file signed by another key is not this log's state.
    let stranger = NoteSigner::generate(ORIGIN).unwrap();
    let foreign = chibo_integrity::checkpoint::sign(&stranger, &log.checkpoint(12)).unwrap();
    std::fs::write(inspector.state(), &foreign).unwrap();
    let (status, stderr) = code(inspector.verify(&file, &[]));
    assert_eq!(status, Some(2));
    assert!(stderr.contains("does not hold a checkpoint signed by the key"), "{stderr}");
    assert_eq!(inspector.state_bytes(), foreign.into_bytes());

    // A document that is no bundle is read, and fails verification.
    std::fs::write(&file, b"{\"format\": ").unwrap();
    let out = chibo(&["audit", "verify", file.to_str().unwrap(), "--key", inspector.key().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("  bundle: not a bundle document: "), "{}", stdout(&out));
}
