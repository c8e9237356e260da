//! Arbitrary text as checkpoints, the way chibo reads them from `$checkpoints`, bundles and an
//! inspector's state file: `checkpoint::parse`, `checkpoint::open` with the fuzz key, and
//! `checkpoint::accept` between what it opens and what was accepted before.
//!
//! The first byte chooses the way in, the rest is the text (invalid UTF-8 replaced):
//!
//! - 0: `Checkpoint::parse`: a body that parses writes back as the same text, and its fields
//!   pass `Checkpoint::check`;
//! - 1: `checkpoint::open` with the fuzz key: what opens is the note's text read as a checkpoint
//!   of the key's origin, the fuzz key signs it back to a note that opens the same, and
//!   `accept` relates it to the seed log's checkpoints as sizes and roots say;
//! - 2: a checkpoint made of the text's pieces (origin, size, root, extensions): it writes a
//!   body that parses back to it exactly when `check` passes, and signs and opens as itself.
#![no_main]

use chibo_integrity::checkpoint::{self, accept, AcceptError, Accepted, Checkpoint};
use chibo_integrity::{bundle, note, Hash};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else { return };
    match mode % 3 {
        0 => parse(&String::from_utf8_lossy(input)),
        1 => open(&String::from_utf8_lossy(input)),
        _ => {
            let _ = made(&mut Unstructured::new(input));
        }
    }
});

fn parse(body: &str) {
    let Ok(cp) = Checkpoint::parse(body) else { return };
    assert_eq!(cp.body(), body, "a checkpoint has one spelling");
    assert_eq!(cp.check(), Ok(()));
}

fn open(note: &str) {
    let key = chibo_fuzz::verifier();
    let opened = checkpoint::open(note, &key);
    // Opening is a note that opens, whose text parses, naming the key's origin.
    let text = note::open(note, std::slice::from_ref(&key)).map(|v| v.text);
    let cp = match opened {
        Err(e) => {
            let _ = e.to_string();
            if let Ok(text) = text {
                let parsed = Checkpoint::parse(&text);
                assert!(parsed.is_err() || parsed.is_ok_and(|cp| cp.origin != key.name()));
            }
            return;
        }
        Ok(cp) => cp,
    };
    let text = text.expect("a checkpoint that opens is a note that opens");
    assert_eq!(cp.body(), text);
    assert_eq!(cp.origin, key.name());
    let signed = checkpoint::sign(&chibo_fuzz::signer(), &cp).expect("an opened checkpoint can be signed");
    assert_eq!(checkpoint::open(&signed, &key).as_ref(), Ok(&cp));

    // Against what an inspector may have accepted: the seed log's checkpoints.
    let log = chibo_fuzz::history::shared();
    for size in [0, 1, 10, log.size()] {
        let accepted = log.checkpoint(size);
        let proof: Option<Vec<Hash>> = (cp.size >= size && cp.size <= log.size()).then(|| {
            let proof = log.consistency(size, cp.size).proof;
            proof.iter().map(|h| bundle::hash(h).expect("the log's proofs are base64 hashes")).collect()
        });
        let verdict = accept(&accepted, &cp, proof.as_deref());
        if let Err(e) = &verdict {
            let _ = e.to_string();
        }
        match cp.size.cmp(&size) {
            std::cmp::Ordering::Less => assert!(matches!(verdict, Err(AcceptError::Rollback { .. }))),
            std::cmp::Ordering::Equal => {
                assert_eq!(verdict.is_ok(), cp.root == accepted.root);
                if cp.root != accepted.root {
                    assert!(matches!(verdict, Err(AcceptError::Fork { .. })));
                }
            }
            std::cmp::Ordering::Greater => {
                let real = cp.size <= log.size() && cp.root == log.root(cp.size);
                if real {
                    assert_eq!(verdict, Ok(Accepted::Extends), "the log's own growth is accepted");
                } else if size > 0 {
                    assert!(verdict.is_err(), "a root the log never had does not extend it");
                }
            }
        }
    }
}

fn made(u: &mut Unstructured<'_>) -> Result<()> {
    let cp = Checkpoint {
        origin: if u.arbitrary()? { chibo_fuzz::ORIGIN.to_owned() } else { u.arbitrary()? },
        size: u.arbitrary()?,
        root: u.arbitrary()?,
        extensions: u.arbitrary()?,
    };
    let checked = cp.check();
    let parsed = Checkpoint::parse(&cp.body());
    match &checked {
        Ok(()) => assert_eq!(parsed.as_ref(), Ok(&cp)),
        Err(_) => assert_ne!(parsed.as_ref(), Ok(&cp)),
    }
    let signed = checkpoint::sign(&chibo_fuzz::signer(), &cp);
    match (&checked, signed) {
        (Err(_), signed) => assert!(signed.is_err()),
        (Ok(()), Err(_)) => assert_ne!(cp.origin, chibo_fuzz::ORIGIN),
        (Ok(()), Ok(note)) => {
            assert_eq!(checkpoint::open(&note, &chibo_fuzz::verifier()), Ok(cp));
        }
    }
    Ok(())
}
