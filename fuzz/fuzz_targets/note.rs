//! Arbitrary text as what chibo reads as signed notes and keys: `note::open` (with the fuzz key,
//! and with it among others), `NoteVerifier::parse`, `NoteSigner::from_private_key`, and texts
//! signed with the fuzz key.
//!
//! The first byte chooses the way in, the rest is the text (invalid UTF-8 replaced):
//!
//! - 0: `note::open`. A note that opens with the fuzz key carries, for its text, the signature
//!   line the fuzz key makes (Ed25519 with strict verification admits no other), its text is
//!   what the note starts with, and signing that text again gives a note that opens the same;
//! - 1: `NoteVerifier::parse`: a key that parses writes back as the text it was read from;
//! - 2: `NoteSigner::from_private_key`: the same, and its notes open with its verifier;
//! - 3: the text signed with the fuzz key: refused exactly when it is not a note text (no final
//!   newline, a control character), and otherwise opens as itself.
#![no_main]

use chibo_integrity::note::{self, NoteError, Verified};
use chibo_integrity::{NoteSigner, NoteVerifier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(input);
    match mode % 4 {
        0 => open(&text),
        1 => verifier_key(&text),
        2 => signer_key(&text),
        _ => sign(&text),
    }
});

fn open(note: &str) {
    let key = chibo_fuzz::verifier();
    let other = chibo_fuzz::other_signer().verifier();
    let alone = note::open(note, std::slice::from_ref(&key));
    let among = note::open(note, &[other.clone(), key.clone()]);
    let Ok(Verified { text, names }) = &alone else {
        // With another key given too, only that key's signature can make the note open.
        if let Ok(verified) = &among {
            assert_eq!(verified.names, [other.name()]);
        }
        if let Err(e) = &alone {
            let _ = e.to_string();
        }
        return;
    };
    assert_eq!(names, &[key.name()]);
    assert!(note.starts_with(text.as_str()), "the text is the start of the note");
    assert!(text.ends_with('\n'));
    assert!(!text.chars().any(|c| c < ' ' && c != '\n'));
    assert!(note[text.len()..].starts_with("\n\u{2014} "), "a blank line, then the signatures");
    let signed = chibo_fuzz::signer().sign(text).expect("a text that opened can be signed");
    let line = &signed[text.len() + 1..];
    assert!(note[text.len() + 1..].split_inclusive('\n').any(|l| l == line), "the fuzz key's own signature line");
    assert_eq!(note::open(&signed, std::slice::from_ref(&key)).as_ref(), alone.as_ref());
    // Another key given as well changes nothing unless it signed too.
    if let Ok(verified) = &among {
        assert_eq!(&verified.text, text);
        assert!(verified.names.iter().any(|n| n == key.name()));
    }
}

fn verifier_key(text: &str) {
    let Ok(key) = NoteVerifier::parse(text) else { return };
    assert_eq!(key.to_string(), text, "a verifier key has one spelling");
    assert_eq!(NoteVerifier::parse(&key.to_string()).as_ref(), Ok(&key));
}

fn signer_key(text: &str) {
    let Ok(signer) = NoteSigner::from_private_key(text) else { return };
    assert_eq!(signer.private_key(), text, "a signer key has one spelling");
    let verifier = signer.verifier();
    assert_eq!((verifier.name(), verifier.key_id()), (signer.name(), signer.key_id()));
    assert_eq!(NoteVerifier::parse(&verifier.to_string()).as_ref(), Ok(&verifier));
    let note =
        signer.sign("chibo.fuzz.example/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n").expect("a note text");
    let opened = note::open(&note, &[verifier]).expect("a signer's note opens with its verifier");
    assert_eq!(opened.names, [signer.name()]);
}

fn sign(text: &str) {
    let signer = chibo_fuzz::signer();
    let is_note_text = text.ends_with('\n') && !text.chars().any(|c| c < ' ' && c != '\n');
    match signer.sign(text) {
        Err(e) => {
            assert!(!is_note_text, "{text:?} refused: {e}");
            assert!(matches!(e, NoteError::TextNotNewlineTerminated | NoteError::ForbiddenCharacter { .. }));
        }
        Ok(note) => {
            assert!(is_note_text);
            let opened = note::open(&note, &[signer.verifier()]).expect("a note the key signed opens with it");
            assert_eq!(opened, Verified { text: text.to_owned(), names: vec![signer.name().to_owned()] });
            // Another key's signature added after it is ignored, not refused.
            let other = chibo_fuzz::other_signer().sign(text).expect("the same text");
            let both = format!("{note}{}", &other[text.len() + 1..]);
            assert_eq!(note::open(&both, &[signer.verifier()]), Ok(opened));
        }
    }
}
