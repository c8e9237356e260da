//! Audit bundles built from scratch (sealed envelopes, a Merkle tree over the whole log, signed
//! checkpoint and manifest), verified untouched, then tampered with one way at a time: each
//! tamper must be reported as the problem it is, at the place it is.

mod bundle_builder;

use bundle_builder::{flip, json, subject, Log};
use chibo_integrity::bundle::{
    verify, Bundle, BundleEvent, BundleStream, Location, Manifest, Problem, ProblemKind, Report, Subject,
};
use chibo_integrity::checkpoint::{self, AcceptError, Accepted, CheckpointError};
use chibo_integrity::merkle::VerifyError;
use chibo_integrity::{NoteError, NoteSigner};

const ORIGIN: &str = "chibo.thaibinh.example/log";

/// The streams of the committee `x`: its own and two cells'. `cell-z` is in the log, not in
/// the subject.
const STREAMS: [&str; 3] = ["cell-a", "cell-b", "org-x"];

fn period() -> Subject {
    subject("committee", "x", "2025-01-01", "2025-12-31")
}

/// A log of 23 events signed by `signer`: `org-x` registered in 2024 and silent since; `cell-a`
/// with two events in 2024, six in 2025 and one in 2026; `cell-b` from 2025; `cell-z` all along.
/// With `rewrite`, cell-b's 2025-03 event records other points: the same shape, another history.
fn history_signed_by(signer: NoteSigner, rewrite: bool) -> Log {
    let mut log = Log::with_signer(signer, 1);
    log.register("org-x", "x", "thaibinh", "2024-03-01");
    log.points("cell-a", "a1", 5, "2024-11-02");
    log.points("cell-z", "z1", 5, "2024-11-03");
    log.points("cell-a", "a2", 5, "2024-12-20");
    for month in 1..=6 {
        let day = format!("2025-{month:02}-10");
        log.points("cell-a", "a1", 10 + month, &day);
        log.points("cell-z", "z1", 10, &day);
        log.points("cell-b", "b1", if rewrite && month == 3 { 99 } else { 20 + month }, &day);
    }
    log.points("cell-a", "a1", 7, "2026-01-03");
    assert_eq!(log.size(), 23);
    log
}

fn history() -> Log {
    history_signed_by(NoteSigner::generate(ORIGIN).unwrap(), false)
}

/// The committee's bundle at the log's size.
fn bundle(log: &Log) -> Bundle {
    log.export(period(), &STREAMS, log.size(), &[])
}

fn check(log: &Log, bundle: &Bundle) -> Report {
    verify(&json(bundle), &log.verifier(), None)
}

fn only_problem(report: &Report) -> Problem {
    assert_eq!(report.problems.len(), 1, "{:#?}", report.problems);
    report.problems[0].clone()
}

fn stream<'a>(bundle: &'a mut Bundle, name: &str) -> &'a mut BundleStream {
    bundle.streams.iter_mut().find(|s| s.stream == name).unwrap()
}

/// The position of `stream`'s `revision` in the log.
fn position(log: &Log, name: &str, revision: u64) -> u64 {
    log.events().iter().find(|e| e.stream == name && e.revision == revision).unwrap().position
}

/// The manifest a bundle holds, read back (its text is the note's, before the signature).
fn manifest_of(bundle: &Bundle) -> Manifest {
    let text = bundle.manifest.split_once("\n\n").unwrap().0;
    Manifest::parse(&format!("{text}\n")).unwrap()
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The place of `stream`'s `revision` in a bundle, holding the event at `position`.
fn at(name: &str, revision: u64, position: Option<u64>) -> Location {
    Location::Event { stream: name.to_owned(), revision: Some(revision), position }
}

// ---------------------------------------------------------------------------------------------
// Untouched bundles

#[test]
fn an_untouched_bundle_verifies_and_says_what_it_holds() {
    let log = history();
    let bundle = bundle(&log);
    let report = check(&log, &bundle);
    assert!(report.is_verified(), "{:#?}", report.problems);
    assert_eq!(report.subject, Some(period()));
    let signed = report.checkpoint.as_ref().unwrap();
    assert_eq!((&signed.checkpoint, &signed.note), (&log.checkpoint(23), &bundle.checkpoint));
    let streams: Vec<_> = report
        .streams
        .iter()
        .map(|s| (s.stream.as_str(), s.first, s.last, s.events, s.in_period, s.redacted))
        .collect();
    assert_eq!(
        streams,
        [
            // From the first event of 2025 to the head, the 2026 one included.
            ("cell-a", Some(2), Some(8), 7, 6, 0),
            ("cell-b", Some(0), Some(5), 6, 6, 0),
            // Nothing dated in the period: the head alone.
            ("org-x", Some(0), Some(0), 1, 0, 0),
        ]
    );
    let cell_a = &report.streams[0].read;
    assert_eq!(cell_a.len(), 7);
    assert_eq!((cell_a[0].position, cell_a[0].envelope.revision), (position(&log, "cell-a", 2), 2));
    assert_eq!(cell_a[0].payload.as_deref(), Some(&log.events()[cell_a[0].position as usize].payload[..]));
    assert_eq!(report.accepted, None);
}

#[test]
fn an_untouched_bundle_verifies_against_the_state() {
    let log = history();
    let same = verify(&json(&bundle(&log)), &log.verifier(), Some(&log.checkpoint(23)));
    assert!(same.is_verified(), "{:#?}", same.problems);
    assert_eq!(same.accepted, Some(Accepted::Same));

    let grown = log.export(period(), &STREAMS, 23, &[4, 15]);
    let extends = verify(&json(&grown), &log.verifier(), Some(&log.checkpoint(15)));
    assert!(extends.is_verified(), "{:#?}", extends.problems);
    assert_eq!(extends.accepted, Some(Accepted::Extends));
}

#[test]
fn a_redacted_payload_is_reported_not_failed() {
    let log = history();
    let mut bundle = bundle(&log);
    stream(&mut bundle, "cell-b").events[2].payload = None;
    let report = check(&log, &bundle);
    assert!(report.is_verified(), "{:#?}", report.problems);
    let cell_b = &report.streams[1];
    assert_eq!((cell_b.stream.as_str(), cell_b.events, cell_b.redacted), ("cell-b", 6, 1));
    assert_eq!(cell_b.read[2].payload, None);
}

// ---------------------------------------------------------------------------------------------
// Tampered events

#[test]
fn a_flipped_envelope_byte_is_a_hash_mismatch_at_that_event() {
    let log = history();
    let mut bundle = bundle(&log);
    let event = &mut stream(&mut bundle, "cell-a").events[2]; // revision 4
    event.envelope = flip(&event.envelope, 30, 3);
    let problem = only_problem(&check(&log, &bundle));
    assert_eq!(problem.location, at("cell-a", 4, Some(position(&log, "cell-a", 4))));
    assert!(matches!(problem.kind, ProblemKind::HashMismatch { .. }), "{problem}");
}

#[test]
fn a_rewritten_event_with_its_hash_recomputed_fails_its_inclusion_proof() {
    let log = history();
    let mut bundle = bundle(&log);
    let stored = &log.events()[position(&log, "cell-b", 3) as usize];
    let mut envelope = stored.envelope.clone();
    let actor = envelope.windows(4).position(|w| w == b"test").unwrap();
    envelope[actor] = b'b'; // recorder:best
    let event = &mut stream(&mut bundle, "cell-b").events[3];
    event.envelope = base64(&envelope);
    event.hash = base64(&chibo_integrity::event_hash(&envelope));
    let problem = only_problem(&check(&log, &bundle));
    assert_eq!(problem.location, at("cell-b", 3, Some(stored.position)));
    assert!(matches!(problem.kind, ProblemKind::Inclusion(VerifyError::RootMismatch { .. })), "{problem}");
}

#[test]
fn a_flipped_payload_byte_is_a_digest_mismatch() {
    let log = history();
    let mut bundle = bundle(&log);
    let event = &mut stream(&mut bundle, "cell-b").events[4];
    event.payload = Some(flip(event.payload.as_ref().unwrap(), 3, 0));
    let problem = only_problem(&check(&log, &bundle));
    assert_eq!(problem.location, at("cell-b", 4, Some(position(&log, "cell-b", 4))));
    assert!(matches!(problem.kind, ProblemKind::PayloadDigest { .. }), "{problem}");
}

#[test]
fn a_flipped_salt_byte_is_a_digest_mismatch() {
    let log = history();
    let mut bundle = bundle(&log);
    let event = &mut stream(&mut bundle, "cell-b").events[0];
    event.salt = flip(&event.salt, 15, 7);
    let problem = only_problem(&check(&log, &bundle));
    assert_eq!(problem.location, at("cell-b", 0, Some(position(&log, "cell-b", 0))));
    assert!(matches!(problem.kind, ProblemKind::PayloadDigest { .. }), "{problem}");
}

#[test]
fn a_deleted_event_is_named_by_the_missing_revision() {
    let log = history();
    let mut bundle = bundle(&log);
    stream(&mut bundle, "cell-a").events.remove(3); // revision 5
    let problem = only_problem(&check(&log, &bundle));
    assert_eq!(problem.location, at("cell-a", 5, Some(position(&log, "cell-a", 6))));
    assert_eq!(problem.kind, ProblemKind::WrongRevision { found: 6 });
}

#[test]
fn a_truncated_tail_is_named_by_the_first_missing_revision() {
    let log = history();
    let mut bundle = bundle(&log);
    stream(&mut bundle, "cell-a").events.truncate(5); // revisions 2..=6 left
    let problem = only_problem(&check(&log, &bundle));
    assert_eq!(problem.location, at("cell-a", 7, None));
    assert_eq!(problem.kind, ProblemKind::Missing { last: 8 });
}

#[test]
fn a_stream_emptied_is_missing_from_its_first_revision() {
    let log = history();
    let mut bundle = bundle(&log);
    stream(&mut bundle, "cell-a").events.clear();
    let problem = only_problem(&check(&log, &bundle));
    assert_eq!(problem.location, at("cell-a", 2, None));
    assert_eq!(problem.kind, ProblemKind::Missing { last: 8 });
}

#[test]
fn two_swapped_events_are_named() {
    let log = history();
    let mut bundle = bundle(&log);
    stream(&mut bundle, "cell-a").events.swap(1, 2); // revisions 3 and 4
    let problem = only_problem(&check(&log, &bundle));
    assert_eq!(problem.location, at("cell-a", 3, Some(position(&log, "cell-a", 4))));
    assert_eq!(problem.kind, ProblemKind::WrongRevision { found: 4 });
}

#[test]
fn an_event_from_a_rewritten_history_breaks_the_chain() {
    let (original, fork) = original_and_fork();
    let mut bundle = bundle(&original);
    let forked = &fork.events()[position(&fork, "cell-b", 3) as usize];
    stream(&mut bundle, "cell-b").events[3] = fork.bundle_event(forked, 23);
    let problem = only_problem(&check(&original, &bundle));
    assert_eq!(problem.location, at("cell-b", 3, Some(forked.position)));
    let revision_2 = original.events()[position(&original, "cell-b", 2) as usize].hash;
    assert!(
        matches!(problem.kind, ProblemKind::PrevHash { expected, genesis: false, .. } if expected == revision_2),
        "{problem}"
    );
}

#[test]
fn a_first_revision_not_after_the_genesis_breaks_the_chain() {
    let mut log = Log::new(ORIGIN);
    log.forge_head("org-x", 0, chibo_integrity::genesis("org-y"));
    log.register("org-x", "x", "thaibinh", "2025-03-01");
    let bundle = log.export(period(), &["org-x"], 1, &[]);
    let problem = only_problem(&check(&log, &bundle));
    assert_eq!(problem.location, at("org-x", 0, Some(0)));
    assert!(
        matches!(problem.kind, ProblemKind::PrevHash { expected, genesis: true, .. } if expected == chibo_integrity::genesis("org-x")),
        "{problem}"
    );
}

#[test]
fn a_stream_at_the_end_of_the_revision_space_verifies() {
    let mut log = Log::new(ORIGIN);
    log.forge_head("org-x", u64::MAX, [9; 32]);
    log.register("org-x", "x", "thaibinh", "2025-03-01");
    let bundle = log.export(period(), &["org-x"], 1, &[]);
    let report = check(&log, &bundle);
    assert!(report.is_verified(), "{:#?}", report.problems);
    assert_eq!((report.streams[0].first, report.streams[0].last), (Some(u64::MAX), Some(u64::MAX)));
}

#[test]
fn an_event_past_the_manifests_range_is_named() {
    let log = history();
    let mut bundle = bundle(&log);
    let extra = stream(&mut bundle, "cell-a").events[6].clone();
    stream(&mut bundle, "cell-a").events.push(extra);
    let problem = only_problem(&check(&log, &bundle));
    assert_eq!(problem.location, at("cell-a", 9, Some(position(&log, "cell-a", 8))));
    assert_eq!(problem.kind, ProblemKind::PastLast { last: 8 });
}

#[test]
fn an_event_of_another_stream_is_named() {
    let log = history();
    let mut bundle = bundle(&log);
    let z = log.events().iter().find(|e| e.stream == "cell-z" && e.revision == 3).unwrap();
    stream(&mut bundle, "cell-b").events[1] = log.bundle_event(z, 23);
    let problem = only_problem(&check(&log, &bundle));
    assert_eq!(problem.location, at("cell-b", 1, Some(z.position)));
    assert_eq!(problem.kind, ProblemKind::WrongStream { envelope: "cell-z".into() });
}

// ---------------------------------------------------------------------------------------------
// Streams against the manifest

#[test]
fn a_dropped_stream_is_named_with_its_manifest_line() {
    let log = history();
    let mut bundle = bundle(&log);
    bundle.streams.retain(|s| s.stream != "cell-b");
    let problem = only_problem(&check(&log, &bundle));
    assert_eq!(problem.location, Location::Stream { stream: "cell-b".into() });
    assert_eq!(problem.kind, ProblemKind::StreamMissing { line: 6 });
}

#[test]
fn a_stream_added_repeated_or_out_of_order_is_named() {
    let log = history();
    let other = log.export(period(), &["cell-z"], 23, &[]);

    let mut added = bundle(&log);
    added.streams.push(other.streams[0].clone());
    let problem = only_problem(&check(&log, &added));
    assert_eq!(
        (&problem.location, &problem.kind),
        (&Location::Stream { stream: "cell-z".into() }, &ProblemKind::StreamUnlisted)
    );

    let mut repeated = bundle(&log);
    repeated.streams.push(repeated.streams[1].clone());
    let problem = only_problem(&check(&log, &repeated));
    assert_eq!(
        (&problem.location, &problem.kind),
        (&Location::Stream { stream: "cell-b".into() }, &ProblemKind::StreamRepeated)
    );

    let mut reordered = bundle(&log);
    reordered.streams.swap(0, 2);
    let problem = only_problem(&check(&log, &reordered));
    assert_eq!(problem.location, Location::Stream { stream: "org-x".into() });
    assert_eq!(problem.kind, ProblemKind::StreamOrder { expected: "cell-a".into() });
}

#[test]
fn an_altered_manifest_is_refused() {
    let log = history();
    let mut bundle = bundle(&log);
    // Hide cell-a's 2025-01 event: the server's signature no longer covers the text.
    assert!(bundle.manifest.contains("\nstream cell-a 2 8 "));
    bundle.manifest = bundle.manifest.replacen("\nstream cell-a 2 8 ", "\nstream cell-a 3 8 ", 1);
    bundle.streams[0].events.remove(0);
    let report = check(&log, &bundle);
    let problem = only_problem(&report);
    assert_eq!(problem.location, Location::Manifest { line: None });
    assert!(matches!(problem.kind, ProblemKind::ManifestSignature(NoteError::BadSignature { .. })), "{problem}");
    assert_eq!(report.subject, None, "an unverified manifest says nothing");
}

#[test]
fn a_manifest_signed_by_another_key_is_refused() {
    let log = history();
    let mut bundle = bundle(&log);
    let stranger = NoteSigner::generate(ORIGIN).unwrap();
    bundle.manifest = stranger.sign(&manifest_of(&bundle).text()).unwrap();
    let problem = only_problem(&check(&log, &bundle));
    assert_eq!(problem.location, Location::Manifest { line: None });
    assert_eq!(problem.kind, ProblemKind::ManifestSignature(NoteError::NotVerified { unknown: 1 }));
}

#[test]
fn a_manifest_of_another_tree_is_named_by_its_line() {
    let log = history();
    let mut bundle = bundle(&log);
    let mut manifest = manifest_of(&bundle);
    manifest.root = log.root(22);
    bundle.manifest = log.sign_manifest(&manifest);
    let problem = only_problem(&check(&log, &bundle));
    assert_eq!(problem.location, Location::Manifest { line: Some(3) });
    assert!(matches!(&problem.kind, ProblemKind::ManifestMismatch { what: "root", .. }), "{problem}");
}

#[test]
fn a_last_hash_not_the_manifests_is_named() {
    let log = history();
    let mut bundle = bundle(&log);
    let mut manifest = manifest_of(&bundle);
    manifest.streams[0].last_hash[0] ^= 1;
    bundle.manifest = log.sign_manifest(&manifest);
    let problem = only_problem(&check(&log, &bundle));
    assert_eq!(problem.location, at("cell-a", 8, Some(position(&log, "cell-a", 8))));
    assert!(matches!(problem.kind, ProblemKind::LastHash { line: 5, .. }), "{problem}");
}

// ---------------------------------------------------------------------------------------------
// Proofs

#[test]
fn a_flipped_bit_in_an_inclusion_proof_is_named() {
    let log = history();
    let mut bundle = bundle(&log);
    let event = &mut stream(&mut bundle, "cell-b").events[3];
    event.inclusion[1] = flip(&event.inclusion[1], 0, 0);
    let problem = only_problem(&check(&log, &bundle));
    assert_eq!(problem.location, at("cell-b", 3, Some(position(&log, "cell-b", 3))));
    assert!(matches!(problem.kind, ProblemKind::Inclusion(VerifyError::RootMismatch { .. })), "{problem}");
}

#[test]
fn an_inclusion_proof_of_the_wrong_length_is_named() {
    let log = history();
    let mut bundle = bundle(&log);
    stream(&mut bundle, "cell-b").events[3].inclusion.pop();
    let problem = only_problem(&check(&log, &bundle));
    assert_eq!(problem.location, at("cell-b", 3, Some(position(&log, "cell-b", 3))));
    assert!(matches!(problem.kind, ProblemKind::Inclusion(VerifyError::WrongProofLength { .. })), "{problem}");
}

#[test]
fn an_event_at_the_wrong_position_fails_its_inclusion_proof() {
    let log = history();
    let mut bundle = bundle(&log);
    let real = position(&log, "cell-b", 3);
    assert!(real + 1 < position(&log, "cell-b", 4));
    stream(&mut bundle, "cell-b").events[3].position = real + 1;
    let problem = only_problem(&check(&log, &bundle));
    assert_eq!(problem.location, at("cell-b", 3, Some(real + 1)));
    assert!(matches!(problem.kind, ProblemKind::Inclusion(_)), "{problem}");
}

#[test]
fn positions_must_rise_and_stay_inside_the_tree() {
    let log = history();
    let mut falling = bundle(&log);
    let before = position(&log, "cell-b", 1);
    stream(&mut falling, "cell-b").events[2].position = before;
    let problem = only_problem(&check(&log, &falling));
    assert_eq!(problem.location, at("cell-b", 2, Some(before)));
    assert_eq!(problem.kind, ProblemKind::PositionNotRising { previous: before });

    for beyond in [23, u64::MAX] {
        let mut outside = bundle(&log);
        stream(&mut outside, "cell-a").events[6].position = beyond;
        let problem = only_problem(&check(&log, &outside));
        assert_eq!(problem.location, at("cell-a", 8, Some(beyond)));
        assert_eq!(problem.kind, ProblemKind::PositionBeyondSize { size: 23 });
    }
}

// ---------------------------------------------------------------------------------------------
// The checkpoint and the state

#[test]
fn the_wrong_key_stops_at_the_checkpoint() {
    let log = history();
    let bundle = bundle(&log);
    let stranger = NoteSigner::generate(ORIGIN).unwrap().verifier();
    let report = verify(&json(&bundle), &stranger, None);
    let problem = only_problem(&report);
    assert_eq!(problem.location, Location::Checkpoint);
    assert_eq!(
        problem.kind,
        ProblemKind::Checkpoint {
            error: CheckpointError::Note(NoteError::NotVerified { unknown: 1 }),
            bundle_key: Some(log.verifier().to_string()),
        }
    );
    assert!(problem.to_string().contains(&log.verifier().to_string()), "{problem}");
    assert_eq!((report.checkpoint, report.subject, report.streams.len()), (None, None, 0));
}

#[test]
fn a_forged_checkpoint_is_refused() {
    let log = history();
    let mut bundle = bundle(&log);
    bundle.checkpoint = bundle.checkpoint.replacen("\n23\n", "\n24\n", 1);
    let problem = only_problem(&check(&log, &bundle));
    assert_eq!(problem.location, Location::Checkpoint);
    assert!(
        matches!(
            &problem.kind,
            ProblemKind::Checkpoint { error: CheckpointError::Note(NoteError::BadSignature { .. }), bundle_key: None }
        ),
        "{problem}"
    );
}

/// The original log, and a history rewritten at position 12 (cell-b revision 2) and signed
/// again by the same key.
fn original_and_fork() -> (Log, Log) {
    let original = history();
    let key = NoteSigner::from_private_key(&original.signer().private_key()).unwrap();
    let fork = history_signed_by(key, true);
    assert_eq!(position(&original, "cell-b", 2), 12);
    assert_eq!(original.root(12), fork.root(12));
    assert_ne!(original.root(13), fork.root(13));
    (original, fork)
}

#[test]
fn a_checkpoint_over_a_rewritten_history_is_a_fork() {
    let (original, fork) = original_and_fork();
    let accepted = original.checkpoint(15);

    // On its own, the rewritten log's bundle verifies: only the state can tell.
    let grown = fork.export(period(), &STREAMS, 23, &[15]);
    assert!(check(&fork, &grown).is_verified());
    let report = verify(&json(&grown), &original.verifier(), Some(&accepted));
    let problem = only_problem(&report);
    assert_eq!(problem.location, Location::Consistency { size: 15 });
    assert!(matches!(problem.kind, ProblemKind::Refused(AcceptError::Fork { .. })), "{problem}");
    assert_eq!(report.accepted, None);

    // The same size with another root.
    let same_size = fork.export(period(), &STREAMS, 15, &[]);
    let problem = only_problem(&verify(&json(&same_size), &original.verifier(), Some(&accepted)));
    assert_eq!(problem.location, Location::State);
    assert!(matches!(problem.kind, ProblemKind::Refused(AcceptError::Fork { .. })), "{problem}");
}

#[test]
fn an_older_checkpoint_is_a_rollback() {
    let log = history();
    let older = log.export(period(), &STREAMS, 15, &[]);
    let report = verify(&json(&older), &log.verifier(), Some(&log.checkpoint(23)));
    let problem = only_problem(&report);
    assert_eq!(problem.location, Location::State);
    assert_eq!(problem.kind, ProblemKind::Refused(AcceptError::Rollback { accepted_size: 23, new_size: 15 }));
}

#[test]
fn growth_without_a_consistency_proof_is_refused() {
    let log = history();
    for from in [&[][..], &[10][..]] {
        let grown = log.export(period(), &STREAMS, 23, from);
        let problem = only_problem(&verify(&json(&grown), &log.verifier(), Some(&log.checkpoint(15))));
        assert_eq!(problem.location, Location::Consistency { size: 15 });
        assert_eq!(problem.kind, ProblemKind::Refused(AcceptError::NoProof { accepted_size: 15, new_size: 23 }));
    }
}

#[test]
fn a_bent_or_malformed_consistency_proof_is_named() {
    let log = history();
    let mut bent = log.export(period(), &STREAMS, 23, &[15]);
    bent.consistency[0].proof[0] = flip(&bent.consistency[0].proof[0], 31, 0);
    let problem = only_problem(&verify(&json(&bent), &log.verifier(), Some(&log.checkpoint(15))));
    assert_eq!(problem.location, Location::Consistency { size: 15 });
    assert!(matches!(problem.kind, ProblemKind::Refused(AcceptError::Fork { .. })), "{problem}");

    let mut malformed = log.export(period(), &STREAMS, 23, &[15]);
    malformed.consistency[0].proof[1] = "AAAA".into();
    let problem = only_problem(&verify(&json(&malformed), &log.verifier(), Some(&log.checkpoint(15))));
    assert_eq!(problem.location, Location::Consistency { size: 15 });
    assert_eq!(problem.kind, ProblemKind::ConsistencyMalformed { index: 1, reason: "3 bytes; expected 32".into() });
}

// ---------------------------------------------------------------------------------------------
// Malformed documents

#[test]
fn malformed_values_name_the_field_and_the_event() {
    let log = history();
    type Damage = fn(&mut BundleEvent);
    let cases: [(&str, Damage); 5] = [
        ("envelope", |e| e.envelope = "not base64".into()),
        ("payload", |e| e.payload = Some("AAA".into())),
        ("salt", |e| e.salt = base64(&[0; 15])),
        ("hash", |e| e.hash = base64(&[0; 33])),
        ("inclusion[2]", |e| e.inclusion[2] = "====".into()),
    ];
    for (field, damage) in cases {
        let mut bundle = bundle(&log);
        damage(&mut stream(&mut bundle, "cell-b").events[2]);
        let report = check(&log, &bundle);
        let problem = only_problem(&report);
        assert_eq!(problem.location, at("cell-b", 2, Some(position(&log, "cell-b", 2))), "{field}");
        assert!(matches!(&problem.kind, ProblemKind::Malformed { field: f, .. } if f == field), "{problem}");
        // The event is still read when its envelope and payload are.
        let readable = !matches!(field, "envelope" | "payload");
        assert_eq!(report.streams[1].read.len(), if readable { 6 } else { 5 }, "{field}");
        assert_eq!(report.streams[1].events, 6);
    }

    // Bytes that are no envelope, with their hash: the envelope is what is wrong.
    let mut bundle = bundle(&log);
    let event = &mut stream(&mut bundle, "cell-b").events[2];
    event.envelope = base64(b"\xff\xff\xff");
    event.hash = base64(&chibo_integrity::event_hash(b"\xff\xff\xff"));
    let problem = only_problem(&check(&log, &bundle));
    assert_eq!(problem.location, at("cell-b", 2, Some(position(&log, "cell-b", 2))));
    assert!(matches!(problem.kind, ProblemKind::Envelope(_)), "{problem}");
}

#[test]
fn documents_that_are_not_bundles_are_named() {
    let log = history();
    let good = String::from_utf8(json(&bundle(&log))).unwrap();
    let unreadable = [
        "".to_owned(),
        "null".to_owned(),
        "{}".to_owned(),
        good.replacen("\"format\"", "\"format\": 1, \"extra\"", 1),
        good.replacen("\"position\": ", "\"position\": 1844674407370955161500", 1),
        good.replacen("\"position\": ", "\"position\": -", 1),
        good[..good.len() / 2].to_owned(),
    ];
    for document in unreadable {
        let problem = only_problem(&verify(document.as_bytes(), &log.verifier(), None));
        assert_eq!(problem.location, Location::Document);
        assert!(matches!(problem.kind, ProblemKind::Unreadable { .. }), "{problem}");
    }
    let other_format = good.replacen("chibo-bundle-v1", "chibo-bundle-v2", 1);
    let problem = only_problem(&verify(other_format.as_bytes(), &log.verifier(), None));
    assert_eq!(
        (problem.location, problem.kind),
        (Location::Document, ProblemKind::Format { found: "chibo-bundle-v2".into() })
    );
}

#[test]
fn extreme_values_never_panic() {
    let log = history();
    let key = log.verifier();

    // Ranges at the end of the revision space.
    for (first, last) in [(u64::MAX, u64::MAX), (u64::MAX - 1, u64::MAX), (0, u64::MAX), (2, u64::MAX)] {
        let mut bundle = bundle(&log);
        let mut manifest = manifest_of(&bundle);
        manifest.streams[0].first = first;
        manifest.streams[0].last = last;
        bundle.manifest = log.sign_manifest(&manifest);
        let report = verify(&json(&bundle), &key, None);
        assert!(!report.is_verified());
        assert!(report
            .problems
            .iter()
            .all(|p| matches!(&p.location, Location::Event { stream, .. } if stream == "cell-a")));
    }

    // Proofs far too long, sizes at the end of the tree space.
    let mut bundle = log.export(period(), &STREAMS, 23, &[15]);
    stream(&mut bundle, "cell-a").events[0].inclusion = vec![base64(&[7; 32]); 10_000];
    bundle.consistency.push(chibo_integrity::bundle::ConsistencyFrom { size: u64::MAX, proof: vec![] });
    bundle.consistency[0].proof.extend(vec![base64(&[1; 32]); 100]);
    let huge = chibo_integrity::Checkpoint::new(ORIGIN, u64::MAX, [0; 32]);
    for accepted in [None, Some(&huge), Some(&log.checkpoint(15)), Some(&log.checkpoint(0))] {
        let report = verify(&json(&bundle), &key, accepted);
        assert!(!report.is_verified());
    }

    // Every byte of a document, changed.
    let document = json(&log.export(period(), &["org-x", "cell-b"], 23, &[4]));
    for i in (0..document.len()).step_by(3) {
        for new in [b'"', b'0', b'A', b'}', b'\n', 0xff] {
            let mut changed = document.clone();
            changed[i] = new;
            let _ = verify(&changed, &key, Some(&log.checkpoint(4)));
        }
        let _ = verify(&document[..i], &key, None);
    }
}

#[test]
fn a_checkpoint_from_the_state_file_opens_with_the_same_key() {
    // The CLI keeps the note exactly as the bundle held it; it opens to the same checkpoint.
    let log = history();
    let report = check(&log, &bundle(&log));
    let signed = report.checkpoint.unwrap();
    assert_eq!(checkpoint::open(&signed.note, &log.verifier()), Ok(log.checkpoint(23)));
}
