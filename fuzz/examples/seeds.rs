//! Writes the seed corpora of the fuzz targets into `fuzz/seeds/TARGET/`: valid inputs that reach
//! deep into each parser, for the fuzzer to mutate from. Deterministic: running it again writes
//! the same files.
//!
//! ```sh
//! cargo run --manifest-path fuzz/Cargo.toml --example seeds
//! ```
//!
//! Every seed is checked to be what it claims (a submission the server accepts in shape, a batch
//! the rules accept against `chibo_fuzz::recorded`, a bundle that verifies, a note that opens),
//! so a seed that rots fails here instead of silently starting the fuzzer from nothing.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use chibo_domain::event::{EventType, Submission};
use chibo_domain::{Event, StreamName};
use chibo_fuzz::samples::{self, CELL};
use chibo_fuzz::{history, recorded};
use chibo_integrity::bundle::{self, Manifest};
use chibo_integrity::{checkpoint, note};
use chibo_projections::rules::RuleBook;
use chibo_projections::validate::{check_submission, Candidate, Context, Limits};
use chibo_projections::{Recorded, State};
use chibo_proto::convert::encode_kind;
use chibo_proto::v1 as pb;
use chibo_server::{check_request, AppendRequest};
use prost::Message;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("seeds");
    submission(&root.join("submission"));
    let log = history::log();
    envelope(&root.join("envelope"), &log);
    notes(&root.join("note"), &log);
    checkpoints(&root.join("checkpoint"), &log);
    merkle(&root.join("merkle"));
    bundles(&root.join("bundle"), &log);
    rules(&root.join("rules"));
    snapshot(&root.join("snapshot"));
}

/// Replaces `dir` with the files given, each `name` holding `mode` then `bytes`.
fn write(dir: &Path, files: Vec<(String, u8, Vec<u8>)>) {
    write_raw(dir, files.into_iter().map(|(name, mode, bytes)| (name, [vec![mode], bytes].concat())).collect());
}

/// Replaces `dir` with the files given.
fn write_raw(dir: &Path, files: Vec<(String, Vec<u8>)>) {
    if dir.exists() {
        fs::remove_dir_all(dir).expect("the old seeds can be removed");
    }
    fs::create_dir_all(dir).expect("the seed directory can be created");
    let count = files.len();
    for (name, bytes) in files {
        fs::write(dir.join(name), bytes).expect("a seed can be written");
    }
    println!("{}: {count} seeds", dir.display());
}

fn submission(dir: &Path) {
    let mut files = Vec::new();
    for (n, ((stream, kind), event_type)) in samples::one_of_each().into_iter().zip(EventType::ALL).enumerate() {
        let name = event_type.name();
        let event =
            Event::try_from(pb::Event { kind: Some(kind.clone()) }).expect("every sample passes the shape rules");
        assert_eq!(event.event_type(), event_type, "the samples are in catalogue order");
        files.push((format!("payload-{name}"), 2, [vec![n as u8], encode_kind(&kind)].concat()));
        if stream == "$checkpoints" {
            continue;
        }
        let event = samples::submission(n as u16, kind);
        let request =
            pb::SubmitRequest { stream: stream.to_owned(), expected_revision: None, event: Some(event.clone()) };
        check_request(AppendRequest::Submit(request.clone()), chibo_fuzz::now())
            .unwrap_or_else(|e| panic!("the {name} sample is refused: {e}"));
        files.push((format!("submit-{name}"), 0, request.encode_to_vec()));
    }
    let expected = Some(pb::ExpectedRevision { kind: Some(pb::expected_revision::Kind::Exact(3)) });
    let events = samples::cell_batch();
    let batch = pb::SubmitBatchRequest { stream: CELL.to_owned(), expected_revision: expected, events };
    let checked =
        check_request(AppendRequest::SubmitBatch(batch.clone()), chibo_fuzz::now()).expect("the batch is in shape");
    let (rules, limits) = (RuleBook::defaults(), Limits::default());
    let cx = Context { rules: &rules, limits: &limits, today: chibo_fuzz::now().date_in_vietnam() };
    let candidates: Vec<Candidate<'_>> = checked
        .submissions
        .iter()
        .map(|s| Candidate { event_id: s.event_id, occurred_at: s.occurred_at, event: &s.event })
        .collect();
    if let Err((i, refusal)) = check_submission(&mut recorded::state(), &cx, &checked.stream, &candidates) {
        panic!("the rules refuse event {i} of the batch: {}", refusal.error);
    }
    files.push(("batch-cell".into(), 1, batch.encode_to_vec()));
    // What `chibo submit` reads: one submission, and a batch, in the protobuf JSON mapping.
    let json = serde_json::to_vec(&batch.events[..3]).expect("submissions write as JSON");
    files.push(("json-batch".into(), 3, [vec![0], json].concat()));
    let one = serde_json::to_vec(&batch.events[0]).expect("a submission writes as JSON");
    files.push(("json-one".into(), 3, [vec![0], one].concat()));
    write(dir, files);
}

fn envelope(dir: &Path, log: &chibo_fuzz::bundle_builder::Log) {
    let mut files: Vec<(String, u8, Vec<u8>)> = log
        .events()
        .iter()
        .filter(|e| e.revision <= 1)
        .map(|e| (format!("envelope-{}-{}", e.stream, e.revision), 0, e.envelope.clone()))
        .collect();
    // Byte strings the log builder reads as a log of a few events with checkpoints, one of
    // them with a bit to flip.
    files.push(("built-log".into(), 2, (0u8..48).map(|b| b.wrapping_mul(37)).collect()));
    files.push(("built-log-flipped".into(), 2, (0u8..160).map(|b| b.wrapping_mul(91) ^ 0x5c).collect()));
    files.push(("raw-log".into(), 1, (0u8..200).map(|b| b.wrapping_mul(13)).collect()));
    write(dir, files);
}

fn notes(dir: &Path, log: &chibo_fuzz::bundle_builder::Log) {
    let key = chibo_fuzz::verifier();
    let checkpoint_note = log.checkpoint_note(log.size());
    let manifest = log.export(history::period(), &history::COMMITTEE_STREAMS, log.size(), &[]).manifest;
    // The same checkpoint with a second signature, by a key the verifier does not know.
    let body = log.checkpoint(log.size()).body();
    let cosignature = chibo_fuzz::other_signer().sign(&body).expect("a body signs")[body.len() + 1..].to_owned();
    let cosigned = format!("{checkpoint_note}{cosignature}");
    for signed in [&checkpoint_note, &manifest, &cosigned] {
        note::open(signed, std::slice::from_ref(&key)).expect("a seed note opens");
    }
    let files = vec![
        ("open-checkpoint".into(), 0, checkpoint_note.into_bytes()),
        ("open-manifest".into(), 0, manifest.into_bytes()),
        ("open-cosigned".into(), 0, cosigned.into_bytes()),
        ("verifier-key".into(), 1, key.to_string().into_bytes()),
        ("signer-key".into(), 2, chibo_fuzz::other_signer().private_key().into_bytes()),
        ("sign-text".into(), 3, "chibo.fuzz.example/log\n23\n\u{2014} not a signature\n\n".as_bytes().to_vec()),
    ];
    write(dir, files);
}

fn checkpoints(dir: &Path, log: &chibo_fuzz::bundle_builder::Log) {
    let mut files = Vec::new();
    for size in [0, 1, 16, log.size()] {
        let signed = log.checkpoint_note(size);
        assert_eq!(checkpoint::open(&signed, &chibo_fuzz::verifier()), Ok(log.checkpoint(size)));
        files.push((format!("open-{size}"), 1, signed.into_bytes()));
    }
    files.push(("parse".into(), 0, log.checkpoint(10).body().into_bytes()));
    let extended =
        "chibo.fuzz.example/log\n18446744073709551615\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nextension line\n";
    files.push(("parse-extended".into(), 0, extended.as_bytes().to_vec()));
    files.push(("made".into(), 2, (0u8..120).map(|b| b.wrapping_mul(29) | 0x20).collect()));
    write(dir, files);
}

fn merkle(dir: &Path) {
    let files = vec![("small".into(), 7, (0u8..64).collect()), ("larger".into(), 200, (0u8..=255).rev().collect())];
    write(dir, files);
}

fn bundles(dir: &Path, log: &chibo_fuzz::bundle_builder::Log) {
    let key = chibo_fuzz::verifier();
    let accepted = history::accepted(log);
    let mut files = Vec::new();
    for (n, bundle) in history::bundles(log).into_iter().enumerate() {
        let document = serde_json::to_vec(&bundle).expect("a bundle writes as JSON");
        let text = note::open(&bundle.manifest, std::slice::from_ref(&key)).expect("the manifest opens").text;
        Manifest::parse(&text).expect("the manifest reads");
        // Each against an accepted checkpoint it extends or equals.
        let choice = [3u8, 2, 4][n];
        let report = bundle::verify(&document, &key, accepted[usize::from(choice)].as_ref());
        assert!(report.is_verified(), "seed bundle {n} against choice {choice}: {:?}", report.problems);
        files.push((format!("bundle-{n}"), choice, document));
    }
    write(dir, files);
}

/// Two rule-set files, split by a NUL byte: a rubric of a new name, and a programme naming it as
/// its companion. (The shipped rule sets are seeds of their own, read from projections/rules.)
fn rules(dir: &Path) {
    let rubric = include_str!("../../projections/rules/phutho-meeting-score.v1.json");
    let programme = include_str!("../../projections/rules/camau-4tot.v1.json");
    let mut rubric: serde_json::Value = serde_json::from_str(rubric).expect("a shipped rule set is JSON");
    let mut programme: serde_json::Value = serde_json::from_str(programme).expect("a shipped rule set is JSON");
    rubric["name"] = "fuzz-score".into();
    rubric["version"] = 2.into();
    programme["name"] = "fuzz-programme".into();
    programme["companions"]["meeting_score"] = serde_json::json!({ "name": "fuzz-score", "version": 2 });
    let first = serde_json::to_vec(&rubric).expect("JSON writes");
    let second = serde_json::to_vec(&programme).expect("JSON writes");
    let (first_text, second_text) = (String::from_utf8_lossy(&first), String::from_utf8_lossy(&second));
    let book = RuleBook::with_files([("score.json", &*first_text), ("programme.json", &*second_text)])
        .expect("the pair loads");
    assert!(book.programme("fuzz-programme", 1).is_some());
    write_raw(dir, vec![("companions".into(), [first, vec![0], second].concat())]);
}

/// The empty state, and the state of one event of every kind, each at its sample's stream.
fn snapshot(dir: &Path) {
    let mut state = State::new();
    let empty = state.encode();
    let mut revisions: HashMap<&str, u64> = HashMap::new();
    for (n, (stream, kind)) in samples::one_of_each().into_iter().enumerate() {
        let revision = revisions.entry(stream).or_default();
        let submission = samples::submission(n as u16, kind);
        let submission = Submission::try_from(submission).expect("every sample passes the shape rules");
        // Recorded for good: there is nothing to take back.
        let _ = state.apply(&Recorded {
            position: n as u64,
            stream: StreamName::parse("stream", stream).expect("a sample's stream"),
            revision: *revision,
            event_id: submission.event_id,
            occurred_at: submission.occurred_at,
            recorded_at: submission.occurred_at,
            hash: [n as u8; 32],
            event: Some(submission.event),
        });
        *revision += 1;
    }
    let full = state.encode();
    assert_eq!(State::decode(&full).expect("the state decodes").encode(), full);
    write_raw(dir, vec![("empty".into(), empty), ("one-of-each".into(), full)]);
}
