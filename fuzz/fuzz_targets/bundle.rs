//! Arbitrary bytes as an audit bundle, verified as `chibo audit verify` does:
//! `bundle::verify(document, key, accepted)` with the fuzz key, against one of the checkpoints
//! an inspector may have accepted before (the first byte chooses which, or none).
//!
//! `verify` never panics; what it reports must agree with the document: a bundle it calls
//! verified holds a checkpoint and a manifest the key signed, exactly the manifest's streams and
//! revisions, each event hashing to its hash, decoding as its place in its stream, matching its
//! payload digest and proven in the checkpoint's tree; and it neither rolls back nor forks the
//! accepted checkpoint. Every problem can be written out. The manifest's text, when the note
//! opens, is also read with `Manifest::parse`, which must give back what it read.
#![no_main]

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chibo_integrity::bundle::{self, verify, Bundle, Manifest, Report};
use chibo_integrity::checkpoint::{self, Checkpoint};
use chibo_integrity::merkle::{leaf_hash, verify_inclusion};
use chibo_integrity::{event_hash, genesis, note, payload_digest, Envelope, Hash};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, document)) = data.split_first() else { return };
    let choices = chibo_fuzz::history::accepted(chibo_fuzz::history::shared());
    let accepted = &choices[usize::from(which) % choices.len()];
    let key = chibo_fuzz::verifier();
    let report = verify(document, &key, accepted.as_ref());
    for problem in &report.problems {
        let _ = problem.to_string();
    }
    let Ok(bundle) = serde_json::from_slice::<Bundle>(document) else {
        assert!(!report.is_verified(), "a document that is not a bundle is not verified");
        return;
    };
    if let Ok(opened) = note::open(&bundle.manifest, std::slice::from_ref(&key)) {
        manifest_reads_back(&opened.text);
    }
    // The checkpoint the report names is the bundle's, opened with the key.
    let opened = checkpoint::open(&bundle.checkpoint, &key).ok();
    assert_eq!(report.checkpoint.as_ref().map(|c| &c.checkpoint), opened.as_ref());
    if report.is_verified() {
        verified(&bundle, &report, accepted.as_ref());
    }
});

fn manifest_reads_back(text: &str) {
    let Ok(manifest) = Manifest::parse(text) else { return };
    assert_eq!(manifest.text(), text, "a manifest has one spelling");
}

/// What a verified report promises about `bundle`, checked without the verifier's code.
fn verified(bundle: &Bundle, report: &Report, accepted: Option<&Checkpoint>) {
    assert_eq!(bundle.format, bundle::FORMAT);
    let key = chibo_fuzz::verifier();
    let cp = checkpoint::open(&bundle.checkpoint, &key).expect("a verified bundle's checkpoint opens");
    let text = note::open(&bundle.manifest, std::slice::from_ref(&key)).expect("its manifest opens").text;
    let manifest = Manifest::parse(&text).expect("its manifest reads");
    assert_eq!((manifest.origin.as_str(), manifest.size, manifest.root), (cp.origin.as_str(), cp.size, cp.root));
    assert_eq!(report.subject.as_ref(), Some(&manifest.subject));

    let names: Vec<&str> = bundle.streams.iter().map(|s| s.stream.as_str()).collect();
    let listed: Vec<&str> = manifest.streams.iter().map(|r| r.stream.as_str()).collect();
    assert_eq!(names, listed, "exactly the manifest's streams, in its order");
    for (stream, range) in bundle.streams.iter().zip(&manifest.streams) {
        assert_eq!(stream.events.len() as u64, range.last - range.first + 1, "{}: exactly its range", range.stream);
        let mut previous: Option<(Hash, u64)> = None;
        for (i, event) in stream.events.iter().enumerate() {
            let bytes = |text: &str| BASE64.decode(text).expect("a verified event's values are base64");
            let envelope_bytes = bytes(&event.envelope);
            let hash: Hash = bytes(&event.hash).try_into().expect("32 bytes");
            assert_eq!(event_hash(&envelope_bytes), hash);
            let envelope = Envelope::decode(&envelope_bytes).expect("a verified envelope decodes");
            assert_eq!(envelope.stream.to_string(), range.stream);
            assert_eq!(envelope.revision, range.first + i as u64);
            match previous {
                Some((prev_hash, prev_position)) => {
                    assert_eq!(envelope.prev_hash, prev_hash);
                    assert!(event.position > prev_position);
                }
                None if envelope.revision == 0 => assert_eq!(envelope.prev_hash, genesis(&range.stream)),
                None => {}
            }
            if let Some(payload) = &event.payload {
                let salt: [u8; 16] = bytes(&event.salt).try_into().expect("16 bytes");
                assert_eq!(payload_digest(&salt, &bytes(payload)), envelope.payload_digest);
            }
            let proof: Vec<Hash> =
                event.inclusion.iter().map(|h| bytes(h).try_into().expect("32-byte proof hashes")).collect();
            assert_eq!(verify_inclusion(&leaf_hash(&hash), event.position, cp.size, &proof, &cp.root), Ok(()));
            previous = Some((hash, event.position));
        }
        assert_eq!(previous.map(|(hash, _)| hash), Some(range.last_hash), "{}: the manifest's last hash", range.stream);
    }

    if let Some(accepted) = accepted {
        assert!(report.accepted.is_some());
        assert_eq!(accepted.origin, cp.origin);
        assert!(accepted.size <= cp.size, "no rollback");
        if accepted.size == cp.size {
            assert_eq!(accepted.root, cp.root, "no fork");
        }
    }
}
