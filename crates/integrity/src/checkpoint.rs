//! Checkpoints as C2SP `tlog-checkpoint` (c2sp.org/tlog-checkpoint) fixes them: the signed head
//! of the Merkle log, carried as a signed note (see [`crate::note`]).
//!
//! The note text is, each line ending in a newline:
//!
//! 1. the origin, the log's identity (e.g. `chibo.thaibinh.example/2026`);
//! 2. the tree size, in ASCII decimal with no leading zero (`0` for the empty tree);
//! 3. the root hash, standard padded base64 of its 32 bytes;
//! 4. optional extension lines, opaque and non-empty.
//!
//! The spec only recommends that the signing key be named after the origin; chibo always names
//! its key after its origin, and [`sign`] and [`open`] require the two to be equal, so a note
//! signed by the right key can never vouch for another log's tree.
//!
//! Refusing a rollback or a fork against the last accepted checkpoint is the caller's part: this
//! module only says what a checkpoint states and who signed it.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use crate::hash::{Hash, HASH_LEN};
use crate::note::{self, NoteError, NoteSigner, NoteVerifier};

/// A log's signed tree head: who, how many leaves, which root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, the first line; chibo's signing key bears the same name.
    pub origin: String,
    /// The number of leaves in the tree.
    pub size: u64,
    /// The RFC 9162 Merkle tree root at that size.
    pub root: Hash,
    /// Opaque extension lines after the root, each non-empty, without their newline. chibo
    /// writes none; the spec does not recommend them, as log monitors cannot audit them.
    pub extensions: Vec<String>,
}

/// Why a checkpoint was refused.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The signed note was refused: form or signature.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// A checkpoint body that does not end in a newline.
    #[error("a checkpoint body must end in a newline")]
    NotNewlineTerminated,
    /// An ASCII control character in a line, which notes never hold (a newline inside a field
    /// included).
    #[error("control character U+{code:04X} in line {line}: checkpoint lines hold no ASCII control character")]
    ForbiddenCharacter {
        /// 1-based line number: 1 is the origin, 4 and up the extensions.
        line: usize,
        /// The character's code point.
        code: u32,
    },
    /// A body of fewer than three lines.
    #[error("a checkpoint has at least three lines (origin, tree size, root hash), not {lines}")]
    TooFewLines {
        /// How many lines the body has.
        lines: usize,
    },
    /// An empty line: the origin and every extension line are non-empty.
    #[error("line {line} is empty: no checkpoint line may be")]
    EmptyLine {
        /// 1-based line number.
        line: usize,
    },
    /// A tree size that is not ASCII decimal without a leading zero, or is beyond `u64`.
    #[error("invalid tree size: {reason}")]
    InvalidSize {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A root hash that is not standard padded base64.
    #[error("invalid root hash: not standard padded base64")]
    RootNotBase64,
    /// A root hash of another length than 32 bytes.
    #[error("invalid root hash: {len} bytes, not {HASH_LEN}")]
    RootLength {
        /// The decoded length.
        len: usize,
    },
    /// The origin is not the name of the signing key.
    #[error(
        "checkpoint origin {origin:?} is not the signing key's name {key:?}; chibo names its key after its origin"
    )]
    OriginMismatch {
        /// The checkpoint's origin.
        origin: String,
        /// The key's name.
        key: String,
    },
}

impl Checkpoint {
    /// A checkpoint without extension lines, chibo's kind.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Checkpoint {
        Checkpoint { origin: origin.into(), size, root, extensions: Vec::new() }
    }

    /// The note text: the origin, the decimal size, the base64 root and any extension lines, each
    /// ending in a newline. Only a checkpoint that [`Checkpoint::check`] accepts gives a body that
    /// [`Checkpoint::parse`] reads back as the same checkpoint.
    pub fn body(&self) -> String {
        let mut body = format!("{}\n{}\n{}\n", self.origin, self.size, BASE64.encode(self.root));
        for line in &self.extensions {
            body.push_str(line);
            body.push('\n');
        }
        body
    }

    /// Checks that the fields can be written as a body: the origin and every extension line are
    /// non-empty and hold no ASCII control character (so no newline).
    pub fn check(&self) -> Result<(), CheckpointError> {
        check_line(1, &self.origin)?;
        for (i, line) in self.extensions.iter().enumerate() {
            check_line(4 + i, line)?;
        }
        Ok(())
    }

    /// Reads a note text as a checkpoint, strictly: a body ending in a newline, at least three
    /// lines, none empty and none with a control character; a tree size in ASCII decimal with no
    /// leading zero (unless it is `0`) that fits a `u64`; a root of exactly 32 bytes in canonical
    /// standard padded base64. The origin is taken as it is: the spec forbids assuming more of it.
    pub fn parse(body: &str) -> Result<Checkpoint, CheckpointError> {
        let lines: Vec<&str> =
            body.strip_suffix('\n').ok_or(CheckpointError::NotNewlineTerminated)?.split('\n').collect();
        for (i, line) in lines.iter().enumerate() {
            check_line(i + 1, line)?;
        }
        let [origin, size, root, extensions @ ..] = lines.as_slice() else {
            return Err(CheckpointError::TooFewLines { lines: lines.len() });
        };
        Ok(Checkpoint {
            origin: (*origin).to_owned(),
            size: parse_size(size)?,
            root: parse_root(root)?,
            extensions: extensions.iter().map(|l| (*l).to_owned()).collect(),
        })
    }
}

/// Line `line` (1-based) is non-empty and holds no control character.
fn check_line(line: usize, text: &str) -> Result<(), CheckpointError> {
    if text.is_empty() {
        return Err(CheckpointError::EmptyLine { line });
    }
    match text.chars().find(|&c| c < ' ') {
        Some(c) => Err(CheckpointError::ForbiddenCharacter { line, code: c as u32 }),
        None => Ok(()),
    }
}

/// ASCII decimal, no sign, no leading zero but in `0` itself, at most `u64::MAX`.
fn parse_size(text: &str) -> Result<u64, CheckpointError> {
    let invalid = |reason| CheckpointError::InvalidSize { reason };
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("not ASCII decimal digits"));
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err(invalid("a leading zero"));
    }
    text.parse().map_err(|_| invalid("beyond 2^64 - 1"))
}

/// Exactly 32 bytes in canonical standard padded base64.
fn parse_root(text: &str) -> Result<Hash, CheckpointError> {
    let bytes = BASE64.decode(text).map_err(|_| CheckpointError::RootNotBase64)?;
    let len = bytes.len();
    bytes.try_into().map_err(|_| CheckpointError::RootLength { len })
}

/// Signs a checkpoint: the whole signed note. The checkpoint's origin must be the signer's name
/// (chibo names its key after its origin), and its fields must pass [`Checkpoint::check`].
pub fn sign(signer: &NoteSigner, checkpoint: &Checkpoint) -> Result<String, CheckpointError> {
    checkpoint.check()?;
    if checkpoint.origin != signer.name() {
        return Err(CheckpointError::OriginMismatch {
            origin: checkpoint.origin.clone(),
            key: signer.name().to_owned(),
        });
    }
    Ok(signer.sign(&checkpoint.body())?)
}

/// Opens a signed checkpoint: the note must carry a signature by `verifier` that verifies (other
/// signatures, such as witness cosignatures, are ignored unless malformed), its text must parse
/// as a checkpoint, and the origin must be the verifier's name.
pub fn open(signed: &str, verifier: &NoteVerifier) -> Result<Checkpoint, CheckpointError> {
    let verified = note::open(signed, std::slice::from_ref(verifier))?;
    let checkpoint = Checkpoint::parse(&verified.text)?;
    if checkpoint.origin != verifier.name() {
        return Err(CheckpointError::OriginMismatch { origin: checkpoint.origin, key: verifier.name().to_owned() });
    }
    Ok(checkpoint)
}

/// How a checkpoint relates to the last one a verifier accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// The same tree: same size, same root.
    Same,
    /// A larger tree, proven to extend the accepted one.
    Extends,
}

/// Why a checkpoint cannot follow the one a verifier accepted before.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcceptError {
    /// Another log.
    #[error("the checkpoint is of the log {new:?}, but the accepted one is of {accepted:?}")]
    OtherLog {
        /// The accepted checkpoint's origin.
        accepted: String,
        /// The new checkpoint's origin.
        new: String,
    },
    /// A smaller tree than the one accepted: the log was rolled back.
    #[error("rollback: the checkpoint is of {new_size} events, fewer than the {accepted_size} of the checkpoint accepted before")]
    Rollback {
        /// The accepted size.
        accepted_size: u64,
        /// The new size.
        new_size: u64,
    },
    /// The same size with another root, or a consistency proof that fails: the history was
    /// rewritten.
    #[error("fork: {reason}")]
    Fork {
        /// What did not match.
        reason: String,
    },
    /// A larger tree with no consistency proof from the accepted size.
    #[error("no consistency proof from the accepted size {accepted_size} to {new_size}")]
    NoProof {
        /// The accepted size.
        accepted_size: u64,
        /// The new size.
        new_size: u64,
    },
}

/// Decides whether `new` may follow `accepted`, the last checkpoint a verifier accepted for the
/// log: the same tree, or a larger one that `consistency` (the RFC 9162 consistency proof from
/// the accepted size to the new one, if the caller has it) proves extends it. Both checkpoints'
/// signatures are the caller's to have checked.
pub fn accept(accepted: &Checkpoint, new: &Checkpoint, consistency: Option<&[Hash]>) -> Result<Accepted, AcceptError> {
    if accepted.origin != new.origin {
        return Err(AcceptError::OtherLog { accepted: accepted.origin.clone(), new: new.origin.clone() });
    }
    if new.size < accepted.size {
        return Err(AcceptError::Rollback { accepted_size: accepted.size, new_size: new.size });
    }
    if new.size == accepted.size {
        return if new.root == accepted.root {
            Ok(Accepted::Same)
        } else {
            Err(AcceptError::Fork { reason: format!("two checkpoints of {} events with different roots", new.size) })
        };
    }
    let proof = consistency.ok_or(AcceptError::NoProof { accepted_size: accepted.size, new_size: new.size })?;
    crate::merkle::verify_consistency(accepted.size, new.size, &accepted.root, &new.root, proof)
        .map(|()| Accepted::Extends)
        .map_err(|e| AcceptError::Fork {
            reason: format!(
                "the tree of {} events does not extend the accepted tree of {}: {e}",
                new.size, accepted.size
            ),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the C2SP tlog-checkpoint spec; its key is not published.
    const SPEC_BODY: &str = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    const SPEC_SIGNATURE: &str = "\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";

    const ORIGIN: &str = "chibo.thaibinh.example/2026";

    fn spec_root() -> Hash {
        BASE64.decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=").unwrap().try_into().unwrap()
    }

    fn with_line(line: usize, text: &str) -> String {
        let mut lines: Vec<&str> = SPEC_BODY.lines().collect();
        lines[line - 1] = text;
        lines.iter().map(|l| format!("{l}\n")).collect()
    }

    #[test]
    fn the_spec_example_parses_and_writes_back() {
        let cp = Checkpoint::parse(SPEC_BODY).unwrap();
        assert_eq!(cp, Checkpoint::new("example.com/behind-the-sofa", 20852163, spec_root()));
        assert_eq!(cp.root[..4], [0x0a, 0xc5, 0x18, 0x6a]);
        assert_eq!(cp.body(), SPEC_BODY);
        // Its signature line is well-formed; its key is not known here.
        let signed = format!("{SPEC_BODY}\n{SPEC_SIGNATURE}");
        let some_key = NoteSigner::generate("example.com/behind-the-sofa").unwrap().verifier();
        assert_eq!(open(&signed, &some_key), Err(CheckpointError::Note(NoteError::NotVerified { unknown: 1 })));
    }

    #[test]
    fn signed_checkpoints_open() {
        let signer = NoteSigner::generate(ORIGIN).unwrap();
        let mut cp = Checkpoint::new(ORIGIN, 0, [0; 32]);
        for size in [0, 1, 7, u64::MAX] {
            cp.size = size;
            cp.root[0] = size as u8;
            let signed = sign(&signer, &cp).unwrap();
            assert!(signed.starts_with(&cp.body()));
            assert_eq!(open(&signed, &signer.verifier()).unwrap(), cp);
        }
        let with_ext = Checkpoint {
            extensions: vec!["ext one".into(), "\u{2014} two".into()],
            ..Checkpoint::new(ORIGIN, 5, [9; 32])
        };
        let signed = sign(&signer, &with_ext).unwrap();
        assert_eq!(open(&signed, &signer.verifier()).unwrap(), with_ext);
    }

    #[test]
    fn the_signed_note_is_a_c2sp_checkpoint() {
        let signer = NoteSigner::from_private_key(
            "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        )
        .unwrap();
        let cp = Checkpoint::new("PeterNeumann", 20852163, spec_root());
        let signed = sign(&signer, &cp).unwrap();
        let (body, signature) = signed.split_once("\n\n").unwrap();
        assert_eq!(format!("{body}\n"), "PeterNeumann\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
        assert!(signature.starts_with("\u{2014} PeterNeumann x08go"), "{signature}");
        // Deterministic: signing again gives the same note.
        assert_eq!(sign(&signer, &cp).unwrap(), signed);
    }

    #[test]
    fn cosignatures_by_other_keys_are_ignored() {
        let log = NoteSigner::generate(ORIGIN).unwrap();
        let witness = NoteSigner::generate("witness.example/w1").unwrap();
        let cp = Checkpoint::new(ORIGIN, 42, [1; 32]);
        let signed = sign(&log, &cp).unwrap();
        let cosigned = witness.sign(&cp.body()).unwrap();
        let both = format!("{signed}{}", cosigned.split_once("\n\n").unwrap().1);
        assert_eq!(open(&both, &log.verifier()).unwrap(), cp);
        // Only the witness's signature is not enough.
        assert_eq!(open(&cosigned, &log.verifier()), Err(CheckpointError::Note(NoteError::NotVerified { unknown: 1 })));
    }

    #[test]
    fn the_wrong_key_is_refused() {
        let log = NoteSigner::generate(ORIGIN).unwrap();
        let other = NoteSigner::generate(ORIGIN).unwrap();
        let signed = sign(&log, &Checkpoint::new(ORIGIN, 3, [2; 32])).unwrap();
        assert_eq!(open(&signed, &other.verifier()), Err(CheckpointError::Note(NoteError::NotVerified { unknown: 1 })));
    }

    #[test]
    fn a_changed_checkpoint_is_refused() {
        let log = NoteSigner::generate(ORIGIN).unwrap();
        let signed = sign(&log, &Checkpoint::new(ORIGIN, 1234, [3; 32])).unwrap();
        let bad = Err(CheckpointError::Note(NoteError::BadSignature { name: ORIGIN.into(), key_id: log.key_id() }));
        assert_eq!(open(&signed.replacen("1234", "1235", 1), &log.verifier()), bad);
        assert_eq!(open(&signed.replacen("AwMD", "AwME", 1), &log.verifier()), bad);
        // A flipped bit anywhere.
        for i in 0..signed.len() {
            let mut bytes = signed.clone().into_bytes();
            bytes[i] ^= 0x02;
            let Ok(garbled) = String::from_utf8(bytes) else { continue };
            assert!(open(&garbled, &log.verifier()).is_err(), "byte {i}: {garbled:?}");
        }
    }

    #[test]
    fn the_origin_must_be_the_key_name() {
        let log = NoteSigner::generate(ORIGIN).unwrap();
        let elsewhere = Checkpoint::new("chibo.other.example/2026", 1, [0; 32]);
        let mismatch =
            CheckpointError::OriginMismatch { origin: "chibo.other.example/2026".into(), key: ORIGIN.into() };
        assert_eq!(sign(&log, &elsewhere), Err(mismatch.clone()));
        // A note signed over another log's checkpoint, by the right key, is still refused.
        let signed = log.sign(&elsewhere.body()).unwrap();
        assert_eq!(open(&signed, &log.verifier()), Err(mismatch));
    }

    #[test]
    fn a_signed_text_that_is_no_checkpoint_is_refused() {
        let log = NoteSigner::generate(ORIGIN).unwrap();
        let signed = log.sign(&format!("{ORIGIN}\n12\n")).unwrap();
        assert_eq!(open(&signed, &log.verifier()), Err(CheckpointError::TooFewLines { lines: 2 }));
        let signed = log.sign(&format!("{ORIGIN}\n012\n{}\n", BASE64.encode([0; 32]))).unwrap();
        assert_eq!(open(&signed, &log.verifier()), Err(CheckpointError::InvalidSize { reason: "a leading zero" }));
    }

    #[test]
    fn sign_refuses_fields_that_cannot_be_written() {
        let log = NoteSigner::generate(ORIGIN).unwrap();
        let mut cp = Checkpoint::new(ORIGIN, 1, [0; 32]);
        cp.extensions = vec![String::new()];
        assert_eq!(sign(&log, &cp), Err(CheckpointError::EmptyLine { line: 4 }));
        cp.extensions = vec!["ok".into(), "two\nlines".into()];
        assert_eq!(sign(&log, &cp), Err(CheckpointError::ForbiddenCharacter { line: 5, code: 10 }));
        let cp = Checkpoint::new("", 1, [0; 32]);
        assert_eq!(sign(&log, &cp), Err(CheckpointError::EmptyLine { line: 1 }));
        let cp = Checkpoint::new(format!("{ORIGIN}\n"), 1, [0; 32]);
        assert_eq!(sign(&log, &cp), Err(CheckpointError::ForbiddenCharacter { line: 1, code: 10 }));
    }

    #[test]
    fn sizes_are_strict() {
        let size = |text: &str| Checkpoint::parse(&with_line(2, text)).map(|cp| cp.size);
        let invalid = |reason| Err(CheckpointError::InvalidSize { reason });
        assert_eq!(size("0"), Ok(0));
        assert_eq!(size("10"), Ok(10));
        assert_eq!(size("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(size("18446744073709551616"), invalid("beyond 2^64 - 1"));
        assert_eq!(size("99999999999999999999999999"), invalid("beyond 2^64 - 1"));
        assert_eq!(size("020852163"), invalid("a leading zero"));
        assert_eq!(size("00"), invalid("a leading zero"));
        for text in ["+5", "-1", " 5", "5 ", "1_000", "0x10", "1e3", "\u{661}", "５"] {
            assert_eq!(size(text), invalid("not ASCII decimal digits"), "{text:?}");
        }
        assert_eq!(size(""), Err(CheckpointError::EmptyLine { line: 2 }));
    }

    #[test]
    fn roots_are_strict() {
        let root = |text: &str| Checkpoint::parse(&with_line(3, text)).map(|cp| cp.root);
        assert_eq!(root("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="), Ok(spec_root()));
        for text in [
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I",   // padding missing
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=",  // non-zero trailing bits
            "CsUYapGGPo4dkMgIAUqom_Xajj7h2fB2MPA3j2jxq2I=",  // URL-safe alphabet
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I= ", // trailing space
            " CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I==",
            "not base64!",
        ] {
            assert_eq!(root(text), Err(CheckpointError::RootNotBase64), "{text:?}");
        }
        assert_eq!(root(&BASE64.encode([7; 31])), Err(CheckpointError::RootLength { len: 31 }));
        assert_eq!(root(&BASE64.encode([7; 33])), Err(CheckpointError::RootLength { len: 33 }));
        assert_eq!(root(&BASE64.encode([7; 64])), Err(CheckpointError::RootLength { len: 64 }));
        assert_eq!(root(""), Err(CheckpointError::EmptyLine { line: 3 }));
    }

    #[test]
    fn bodies_are_strict() {
        use CheckpointError::*;
        let cases: &[(&str, CheckpointError)] = &[
            ("", NotNewlineTerminated),
            ("example.com/log\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=", NotNewlineTerminated),
            ("\n", EmptyLine { line: 1 }),
            ("example.com/log\n1\n", TooFewLines { lines: 2 }),
            ("example.com/log\n", TooFewLines { lines: 1 }),
            ("\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", EmptyLine { line: 1 }),
            ("example.com/log\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n", EmptyLine { line: 4 }),
            ("example.com/log\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\next\n\n", EmptyLine { line: 5 }),
            (
                "example\tlog\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
                ForbiddenCharacter { line: 1, code: 9 },
            ),
            (
                "example.com/log\r\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
                ForbiddenCharacter { line: 1, code: 13 },
            ),
            (
                "example.com/log\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\ne\0\n",
                ForbiddenCharacter { line: 4, code: 0 },
            ),
        ];
        for (body, want) in cases {
            assert_eq!(Checkpoint::parse(body).as_ref(), Err(want), "{body:?}");
        }
        // The origin is opaque: spaces and non-ASCII are read as they are.
        let cp = Checkpoint::parse("log of h\u{e0} n\u{1ed9}i\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\nx y\n")
            .unwrap();
        assert_eq!(
            (cp.origin.as_str(), cp.extensions.as_slice()),
            ("log of h\u{e0} n\u{1ed9}i", &["x y".to_owned()][..])
        );
    }

    #[test]
    fn garbled_bodies_never_panic() {
        let signed = format!("{SPEC_BODY}\n{SPEC_SIGNATURE}");
        let verifier = NoteSigner::generate("example.com/behind-the-sofa").unwrap().verifier();
        for (at, _) in signed.char_indices() {
            let _ = Checkpoint::parse(&signed[..at]);
            let _ = Checkpoint::parse(&signed[at..]);
            assert!(open(&signed[..at], &verifier).is_err());
            for new in ["\n", "0", "=", "\u{2014}", ""] {
                let mut garbled = signed.clone();
                garbled.replace_range(at..at + signed[at..].chars().next().unwrap().len_utf8(), new);
                let _ = Checkpoint::parse(&garbled);
                assert!(open(&garbled, &verifier).is_err());
            }
        }
    }

    #[test]
    fn acceptance_refuses_rollbacks_forks_and_unproven_growth() {
        use crate::merkle::{consistency_proof, MemoryTree};
        let mut tree = MemoryTree::new();
        let mut roots = vec![tree.root()];
        for i in 0..9u8 {
            tree.push(&[i]);
            roots.push(tree.root());
        }
        let at = |size: u64| Checkpoint::new("example.org/log", size, roots[size as usize]);
        let proof = |old, new| consistency_proof(&tree, old, new).unwrap();
        assert_eq!(accept(&at(5), &at(5), None), Ok(Accepted::Same));
        assert_eq!(accept(&at(5), &at(9), Some(&proof(5, 9))), Ok(Accepted::Extends));
        assert!(matches!(accept(&at(9), &at(5), None), Err(AcceptError::Rollback { accepted_size: 9, new_size: 5 })));
        assert!(matches!(accept(&at(5), &at(9), None), Err(AcceptError::NoProof { .. })));
        let forked = Checkpoint::new("example.org/log", 5, roots[4]);
        assert!(matches!(accept(&at(5), &forked, None), Err(AcceptError::Fork { .. })));
        let forked = Checkpoint::new("example.org/log", 9, roots[8]);
        assert!(matches!(accept(&at(5), &forked, Some(&proof(5, 9))), Err(AcceptError::Fork { .. })));
        let mut bent = proof(5, 9);
        bent[0][0] ^= 1;
        assert!(matches!(accept(&at(5), &at(9), Some(&bent)), Err(AcceptError::Fork { .. })));
        let other = Checkpoint::new("other.org/log", 9, roots[9]);
        assert!(matches!(accept(&at(5), &other, Some(&proof(5, 9))), Err(AcceptError::OtherLog { .. })));
    }
}
