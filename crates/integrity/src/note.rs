//! Signed notes as C2SP `signed-note` (c2sp.org/signed-note) fixes them, with Ed25519 keys only.
//!
//! A note is a text ending in a newline, a blank line, then one or more signature lines
//! `— <key name> <base64(key ID || signature)>`. The key ID is the first four bytes of
//! `SHA-256(key name || "\n" || 0x01 || public key)`, read big-endian.
//!
//! Keys are written as one line of text, in the encodings of Go's `golang.org/x/mod/sumdb/note`,
//! so keys move between chibo and the Go tooling unchanged:
//!
//! - a verifier key: `<name>+<hex key ID>+base64(0x01 || 32-byte public key)`;
//! - a signer key: `PRIVATE+KEY+<name>+<hex key ID>+base64(0x01 || 32-byte seed)`.
//!
//! The hex key ID is exactly eight lowercase hex digits, and base64 is the standard alphabet with
//! padding, in its canonical form only: a key has one spelling, so [`NoteVerifier`]'s `Display`
//! gives back the text it was parsed from.
//!
//! [`open`] reads notes from files and the network: it never panics, refuses anything the spec
//! does not allow, ignores signatures by keys it was not given (as the spec requires: that is how
//! keys rotate and witnesses cosign), and refuses the whole note if a signature by a given key
//! does not verify.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The signature type byte the spec assigns to Ed25519.
pub const ALG_ED25519: u8 = 0x01;

/// The most signature lines [`open`] reads; a note with more is refused. The spec asks verifiers
/// to accept at least 16.
pub const MAX_SIGNATURES: usize = 100;

/// What starts every signature line: an em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";
/// What starts a signer key, so it is never mistaken for a verifier key.
const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";
/// Length of an Ed25519 public key or seed.
const KEY_LEN: usize = 32;
/// Length of the key ID that starts every signature.
const KEY_ID_LEN: usize = 4;

/// Why a key, a text or a note was refused.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// A key name that is empty, or holds a Unicode space, a `+` or a control character.
    #[error(
        "invalid key name {name:?}: a key name is non-empty, with no Unicode space, no '+' and no control character"
    )]
    InvalidName {
        /// The name refused.
        name: String,
    },
    /// A verifier key that is not `<name>+<8 lowercase hex digits>+<base64>`, or whose key is not
    /// a usable Ed25519 public key.
    #[error("malformed verifier key: {reason}")]
    MalformedVerifierKey {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A signer key that is not `PRIVATE+KEY+<name>+<8 lowercase hex digits>+<base64>`. The
    /// message never quotes the key.
    #[error("malformed signer key: {reason}")]
    MalformedSignerKey {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A key of a signature type other than Ed25519 (0x01).
    #[error("unsupported signature type 0x{alg:02x}: only Ed25519 (0x01) is supported")]
    UnsupportedAlgorithm {
        /// The signature type byte found.
        alg: u8,
    },
    /// A key whose written key ID is not the one its name and public key give.
    #[error("key ID {stated:08x} of key {name:?} does not match {computed:08x}, the ID its name and public key give")]
    KeyIdMismatch {
        /// The key's name.
        name: String,
        /// The key ID written in the key.
        stated: u32,
        /// The key ID computed from the name and the public key.
        computed: u32,
    },
    /// The system gave no randomness for a new key.
    #[error("no randomness for a new key: {0}")]
    Random(String),
    /// A note text that does not end in a newline.
    #[error("a note text must end in a newline")]
    TextNotNewlineTerminated,
    /// An ASCII control character other than newline, which notes never hold.
    #[error("control character U+{code:04X} at byte {offset}: a note holds no ASCII control character but newline")]
    ForbiddenCharacter {
        /// Byte offset of the character in the text or note.
        offset: usize,
        /// The character's code point.
        code: u32,
    },
    /// A note with no blank line followed by signature lines.
    #[error("no signatures: a note is its text, a blank line, then one or more signature lines")]
    MissingSignatures,
    /// A signature line that is not `— <name> <base64 of a key ID and at least one byte>\n`.
    #[error("malformed signature line {line}: {reason}")]
    MalformedSignatureLine {
        /// 1-based number of the line among the signature lines.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// More signature lines than [`MAX_SIGNATURES`].
    #[error("more than {max} signature lines")]
    TooManySignatures {
        /// The limit.
        max: usize,
    },
    /// Two different keys given to [`open`] share a name and key ID, so a signature by that name
    /// and ID cannot be attributed: the verifier list is misconfigured.
    #[error("ambiguous key {name}+{key_id:08x}: two different keys given share that name and key ID")]
    AmbiguousKey {
        /// The shared name.
        name: String,
        /// The shared key ID.
        key_id: u32,
    },
    /// A signature by a known key (same name and key ID) that does not verify: the whole note is
    /// refused.
    #[error("the signature by key {name}+{key_id:08x} does not verify")]
    BadSignature {
        /// The key's name.
        name: String,
        /// The key's ID.
        key_id: u32,
    },
    /// A well-formed note with no signature by any of the keys given.
    #[error("no signature by a known key ({unknown} signature(s) by other keys ignored)")]
    NotVerified {
        /// How many signature lines were by keys not given.
        unknown: usize,
    },
}

/// Whether `name` may name a key: non-empty, with no Unicode space, no `+` and no control
/// character (notes forbid those anywhere).
fn check_name(name: &str) -> Result<(), NoteError> {
    let bad = |c: char| c.is_whitespace() || c == '+' || c < ' ';
    if name.is_empty() || name.chars().any(bad) {
        return Err(NoteError::InvalidName { name: name.to_owned() });
    }
    Ok(())
}

/// The first ASCII control character other than newline in `s`, as an error.
fn check_controls(s: &str) -> Result<(), NoteError> {
    match s.char_indices().find(|&(_, c)| c < ' ' && c != '\n') {
        Some((offset, c)) => Err(NoteError::ForbiddenCharacter { offset, code: c as u32 }),
        None => Ok(()),
    }
}

/// Checks a text that is to be signed: it ends in a newline and holds no other control character.
fn check_text(text: &str) -> Result<(), NoteError> {
    check_controls(text)?;
    if !text.ends_with('\n') {
        return Err(NoteError::TextNotNewlineTerminated);
    }
    Ok(())
}

/// `SHA-256(name || "\n" || 0x01 || public key)[..4]`, big-endian.
fn compute_key_id(name: &str, public_key: &[u8; KEY_LEN]) -> u32 {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update(b"\n")
        .chain_update([ALG_ED25519])
        .chain_update(public_key)
        .finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// Exactly eight lowercase hex digits, as a `u32`.
fn parse_key_id(hex: &str) -> Option<u32> {
    let lower_hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
    if hex.len() != 8 || !hex.as_bytes().iter().all(lower_hex) {
        return None;
    }
    u32::from_str_radix(hex, 16).ok()
}

/// The three parts of `<name>+<hex key ID>+<base64 key>`: a name holds no `+` and hex holds none,
/// so the first two `+` split it (base64 may hold more).
fn split_key(key: &str) -> Option<(&str, &str, &str)> {
    let mut parts = key.splitn(3, '+');
    Some((parts.next()?, parts.next()?, parts.next()?))
}

/// base64(0x01 || key), for both key encodings.
fn encode_key_material(key: &[u8; KEY_LEN]) -> String {
    let mut material = Zeroizing::new([0u8; 1 + KEY_LEN]);
    material[0] = ALG_ED25519;
    material[1..].copy_from_slice(key);
    BASE64.encode(&material[..])
}

/// A key that signs notes: a key name and an Ed25519 signing key.
///
/// The signing key is wiped from memory when the signer is dropped. `Debug` shows the name and
/// key ID only.
pub struct NoteSigner {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl NoteSigner {
    /// A new key named `name`, from 32 bytes of system randomness.
    pub fn generate(name: &str) -> Result<NoteSigner, NoteError> {
        check_name(name)?;
        let mut seed = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::getrandom(&mut seed[..]).map_err(|e| NoteError::Random(e.to_string()))?;
        Ok(Self::from_seed(name, &seed))
    }

    /// The key whose seed is `seed`; the name is already checked.
    fn from_seed(name: &str, seed: &[u8; KEY_LEN]) -> NoteSigner {
        let key = SigningKey::from_bytes(seed);
        let key_id = compute_key_id(name, key.verifying_key().as_bytes());
        NoteSigner { name: name.to_owned(), key_id, key }
    }

    /// Reads a signer key, `PRIVATE+KEY+<name>+<hex key ID>+base64(0x01 || seed)`, and checks that
    /// the key ID is the one the name and the seed's public key give. Surrounding whitespace
    /// (a key file's final newline) is not accepted: trim it first.
    pub fn from_private_key(text: &str) -> Result<NoteSigner, NoteError> {
        let malformed = |reason| NoteError::MalformedSignerKey { reason };
        let rest = text.strip_prefix(PRIVATE_PREFIX).ok_or(malformed("it does not start with PRIVATE+KEY+"))?;
        let (name, hex, b64) = split_key(rest).ok_or(malformed("it is not PRIVATE+KEY+<name>+<key ID>+<key>"))?;
        check_name(name)?;
        let stated = parse_key_id(hex).ok_or(malformed("the key ID is not eight lowercase hex digits"))?;
        let material =
            Zeroizing::new(BASE64.decode(b64).map_err(|_| malformed("the key is not standard padded base64"))?);
        let (&alg, seed) = material.split_first().ok_or(malformed("the key is empty"))?;
        if alg != ALG_ED25519 {
            return Err(NoteError::UnsupportedAlgorithm { alg });
        }
        let seed: &[u8; KEY_LEN] = seed.try_into().map_err(|_| malformed("an Ed25519 seed is 32 bytes"))?;
        let signer = Self::from_seed(name, seed);
        if signer.key_id != stated {
            return Err(NoteError::KeyIdMismatch { name: name.to_owned(), stated, computed: signer.key_id });
        }
        Ok(signer)
    }

    /// The signer key as one line of text, `PRIVATE+KEY+<name>+<hex key ID>+base64(0x01 || seed)`:
    /// the secret, for a key file. The returned string is not wiped when dropped.
    pub fn private_key(&self) -> String {
        let seed = Zeroizing::new(self.key.to_bytes());
        format!("{PRIVATE_PREFIX}{}+{:08x}+{}", self.name, self.key_id, encode_key_material(&seed))
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID: the first four bytes of `SHA-256(name || "\n" || 0x01 || public key)`.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The verifier of this key's signatures.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier { name: self.name.clone(), key_id: self.key_id, key: self.key.verifying_key() }
    }

    /// Signs `text` and returns the whole note: `text`, a blank line, and the signature line
    /// `— <name> base64(key ID || signature)`. The text must end in a newline and hold no ASCII
    /// control character but newline. Ed25519 is deterministic: the same key and text always give
    /// the same note.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        let signature = self.key.sign(text.as_bytes()).to_bytes();
        let mut blob = Vec::with_capacity(KEY_ID_LEN + signature.len());
        blob.extend_from_slice(&self.key_id.to_be_bytes());
        blob.extend_from_slice(&signature);
        Ok(format!("{text}\n{SIG_PREFIX}{} {}\n", self.name, BASE64.encode(blob)))
    }
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

/// A key that verifies notes: a key name, its key ID and an Ed25519 public key.
///
/// Written as `<name>+<hex key ID>+base64(0x01 || public key)`: [`NoteVerifier::parse`] reads
/// that, and `Display` writes it.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Reads a verifier key, `<name>+<hex key ID>+base64(0x01 || public key)`. Refuses an invalid
    /// name, a key ID that is not eight lowercase hex digits or not the one the name and key give,
    /// a signature type other than Ed25519, and a public key that is not a point of the curve or
    /// is of small order (no signature could be trusted under it).
    pub fn parse(text: &str) -> Result<NoteVerifier, NoteError> {
        let malformed = |reason| NoteError::MalformedVerifierKey { reason };
        let (name, hex, b64) = split_key(text).ok_or(malformed("it is not <name>+<key ID>+<key>"))?;
        check_name(name)?;
        let stated = parse_key_id(hex).ok_or(malformed("the key ID is not eight lowercase hex digits"))?;
        let material = BASE64.decode(b64).map_err(|_| malformed("the key is not standard padded base64"))?;
        let (&alg, public) = material.split_first().ok_or(malformed("the key is empty"))?;
        if alg != ALG_ED25519 {
            return Err(NoteError::UnsupportedAlgorithm { alg });
        }
        let public: &[u8; KEY_LEN] = public.try_into().map_err(|_| malformed("an Ed25519 public key is 32 bytes"))?;
        let computed = compute_key_id(name, public);
        if computed != stated {
            return Err(NoteError::KeyIdMismatch { name: name.to_owned(), stated, computed });
        }
        let key = VerifyingKey::from_bytes(public).map_err(|_| malformed("the public key is not a curve point"))?;
        if key.is_weak() {
            return Err(malformed("the public key is of small order"));
        }
        Ok(NoteVerifier { name: name.to_owned(), key_id: computed, key })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID: the first four bytes of `SHA-256(name || "\n" || 0x01 || public key)`.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; KEY_LEN] {
        self.key.to_bytes()
    }

    /// Whether `signature` (without its key ID) is this key's signature of `text`. Strict
    /// verification: non-canonical and small-order encodings are refused.
    fn verifies(&self, text: &str, signature: &[u8]) -> bool {
        let Ok(bytes) = <[u8; 64]>::try_from(signature) else { return false };
        self.key.verify_strict(text.as_bytes(), &Signature::from_bytes(&bytes)).is_ok()
    }
}

impl fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}+{:08x}+{}", self.name, self.key_id, encode_key_material(self.key.as_bytes()))
    }
}

impl fmt::Debug for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("NoteVerifier").field(&format_args!("{self}")).finish()
    }
}

impl FromStr for NoteVerifier {
    type Err = NoteError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NoteVerifier::parse(s)
    }
}

/// What [`open`] found in a note it accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The note's text, with its final newline, without the blank line and the signatures.
    pub text: String,
    /// The names of the given keys whose signatures verified, in the order of their first
    /// signature line, each once.
    pub names: Vec<String>,
}

/// One signature line, parsed.
struct SignatureLine<'a> {
    name: &'a str,
    key_id: u32,
    signature: Vec<u8>,
}

/// Parses signature line number `number` (1-based), without its newline.
fn parse_signature_line(number: usize, line: &str) -> Result<SignatureLine<'_>, NoteError> {
    let malformed = |reason| NoteError::MalformedSignatureLine { line: number, reason };
    let rest = line.strip_prefix(SIG_PREFIX).ok_or(malformed("it does not start with an em dash and a space"))?;
    let (name, b64) = rest.split_once(' ').ok_or(malformed("no space between the key name and the signature"))?;
    if check_name(name).is_err() {
        return Err(malformed("invalid key name"));
    }
    let blob = BASE64.decode(b64).map_err(|_| malformed("the signature is not standard padded base64"))?;
    if blob.len() <= KEY_ID_LEN {
        return Err(malformed("the signature is not a key ID and at least one byte"));
    }
    let (id, signature) = blob.split_at(KEY_ID_LEN);
    let key_id = u32::from_be_bytes([id[0], id[1], id[2], id[3]]);
    Ok(SignatureLine { name, key_id, signature: signature.to_vec() })
}

/// Opens a signed note: checks its form, then every signature by one of `verifiers` (same name
/// AND key ID), and returns its text and the names whose signatures verified.
///
/// The text is everything up to the last blank line, its final newline included; every line after
/// it must be a well-formed signature line, and there must be at least one and at most
/// [`MAX_SIGNATURES`]. Signatures by keys not in `verifiers` are ignored, as the spec requires
/// (even one sharing a name or a key ID, but not both, with a given key). The note is refused if
/// any signature by a given key does not verify, or if none verifies.
pub fn open(note: &str, verifiers: &[NoteVerifier]) -> Result<Verified, NoteError> {
    check_controls(note)?;
    let split = note.rfind("\n\n").ok_or(NoteError::MissingSignatures)?;
    let (text, signatures) = (&note[..split + 1], &note[split + 2..]);
    if signatures.is_empty() {
        return Err(NoteError::MissingSignatures);
    }

    let mut lines = Vec::new();
    for (index, line) in signatures.split_inclusive('\n').enumerate() {
        let number = index + 1;
        if number > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures { max: MAX_SIGNATURES });
        }
        let line = line
            .strip_suffix('\n')
            .ok_or(NoteError::MalformedSignatureLine { line: number, reason: "it does not end in a newline" })?;
        lines.push(parse_signature_line(number, line)?);
    }

    let mut names: Vec<String> = Vec::new();
    let mut unknown = 0;
    for line in &lines {
        let mut known = verifiers.iter().filter(|v| v.name == line.name && v.key_id == line.key_id);
        let Some(verifier) = known.next() else {
            unknown += 1;
            continue;
        };
        if known.any(|other| other.key != verifier.key) {
            return Err(NoteError::AmbiguousKey { name: line.name.to_owned(), key_id: line.key_id });
        }
        if !verifier.verifies(text, &line.signature) {
            return Err(NoteError::BadSignature { name: line.name.to_owned(), key_id: line.key_id });
        }
        if !names.iter().any(|n| n == line.name) {
            names.push(line.name.to_owned());
        }
    }
    if names.is_empty() {
        return Err(NoteError::NotVerified { unknown });
    }
    Ok(Verified { text: text.to_owned(), names })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Published with Go's golang.org/x/mod/sumdb/note (note.go's package documentation and
    // note_test.go): a key pair, a text, and its signed note.
    const PETER_SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const TEXT: &str =
        "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    // A second key from the same tests, public half only, and its signature of the same text.
    const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    // The example of the C2SP signed-note spec (section "Verifier keys", "Example").
    const C2SP_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    const C2SP_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

    fn peter() -> NoteVerifier {
        NoteVerifier::parse(PETER_VKEY).unwrap()
    }

    fn enoch() -> NoteVerifier {
        NoteVerifier::parse(ENOCH_VKEY).unwrap()
    }

    fn peter_note() -> String {
        format!("{TEXT}\n{PETER_SIG}")
    }

    /// A small deterministic generator, so the garbled-input tests are repeatable.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn go_vector_signer_key_reads_and_writes_back() {
        let signer = NoteSigner::from_private_key(PETER_SKEY).unwrap();
        assert_eq!(signer.name(), "PeterNeumann");
        assert_eq!(signer.key_id(), 0xc74f20a3);
        assert_eq!(signer.private_key(), PETER_SKEY);
        assert_eq!(signer.verifier().to_string(), PETER_VKEY);
        assert_eq!(signer.verifier(), peter());
    }

    #[test]
    fn go_vector_verifier_key_reads_and_writes_back() {
        let v = peter();
        assert_eq!(v.name(), "PeterNeumann");
        assert_eq!(v.key_id(), 0xc74f20a3);
        assert_eq!(v.to_string(), PETER_VKEY);
        assert_eq!(PETER_VKEY.parse::<NoteVerifier>().unwrap(), v);
        assert_eq!(enoch().key_id(), 0xaf0cfe78);
        assert_eq!(enoch().to_string(), ENOCH_VKEY);
    }

    #[test]
    fn go_vector_signs_byte_for_byte() {
        let signer = NoteSigner::from_private_key(PETER_SKEY).unwrap();
        assert_eq!(signer.sign(TEXT).unwrap(), peter_note());
    }

    #[test]
    fn go_vector_opens() {
        let verified = open(&peter_note(), &[peter()]).unwrap();
        assert_eq!(verified, Verified { text: TEXT.to_owned(), names: vec!["PeterNeumann".to_owned()] });
    }

    #[test]
    fn go_vector_two_signatures() {
        let note = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
        assert_eq!(open(&note, &[peter()]).unwrap().names, ["PeterNeumann"]);
        assert_eq!(open(&note, &[enoch()]).unwrap().names, ["EnochRoot"]);
        assert_eq!(open(&note, &[enoch(), peter()]).unwrap().names, ["PeterNeumann", "EnochRoot"]);
        assert_eq!(open(&note, &[]), Err(NoteError::NotVerified { unknown: 2 }));
        // A key given twice is harmless; duplicated signature lines are verified and named once.
        let doubled = format!("{TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}");
        assert_eq!(open(&doubled, &[peter(), peter()]).unwrap().names, ["PeterNeumann"]);
    }

    #[test]
    fn c2sp_spec_example_opens() {
        let v = NoteVerifier::parse(C2SP_VKEY).unwrap();
        assert_eq!(v.key_id(), 0x530d903a);
        assert_eq!(v.to_string(), C2SP_VKEY);
        let verified = open(C2SP_NOTE, &[v]).unwrap();
        assert_eq!(verified.text, "This is an example message.\n");
        assert_eq!(verified.names, ["example.com/foo"]);
        assert_eq!(open(C2SP_NOTE, &[peter()]), Err(NoteError::NotVerified { unknown: 1 }));
    }

    #[test]
    fn generated_keys_round_trip() {
        let signer = NoteSigner::generate("chibo.thaibinh.example/2026").unwrap();
        let again = NoteSigner::from_private_key(&signer.private_key()).unwrap();
        assert_eq!(again.verifier(), signer.verifier());
        let vkey = signer.verifier().to_string();
        assert!(vkey.starts_with(&format!("chibo.thaibinh.example/2026+{:08x}+", signer.key_id())));
        let verifier = NoteVerifier::parse(&vkey).unwrap();
        assert_eq!(verifier, signer.verifier());

        let text = "line one\n\nline three, after an empty line\n";
        let note = signer.sign(text).unwrap();
        assert_eq!(open(&note, &[verifier]).unwrap().text, text);
        // Two generated keys differ.
        assert_ne!(NoteSigner::generate("a").unwrap().verifier().public_key(), signer.verifier().public_key());
    }

    #[test]
    fn texts_that_look_like_signatures_round_trip() {
        let signer = NoteSigner::from_private_key(PETER_SKEY).unwrap();
        for text in ["\n", "\n\n", "a\n\n\n", "\u{2014} PeterNeumann AAAA\n", "x\n\n\u{2014} y AAAAAA==\n"] {
            let note = signer.sign(text).unwrap();
            assert_eq!(open(&note, &[peter()]).unwrap().text, text, "{text:?}");
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let signer = NoteSigner::from_private_key(PETER_SKEY).unwrap();
        assert_eq!(format!("{signer:?}"), r#"NoteSigner { name: "PeterNeumann", key_id: c74f20a3, .. }"#);
        assert_eq!(format!("{:?}", peter()), format!("NoteVerifier({PETER_VKEY})"));
    }

    #[test]
    fn sign_refuses_bad_texts() {
        let signer = NoteSigner::from_private_key(PETER_SKEY).unwrap();
        assert_eq!(signer.sign(""), Err(NoteError::TextNotNewlineTerminated));
        assert_eq!(signer.sign("abc"), Err(NoteError::TextNotNewlineTerminated));
        assert_eq!(signer.sign("a\tb\n"), Err(NoteError::ForbiddenCharacter { offset: 1, code: 9 }));
        assert_eq!(signer.sign("ab\r\n"), Err(NoteError::ForbiddenCharacter { offset: 2, code: 13 }));
        assert_eq!(signer.sign("\u{e9}\0\n"), Err(NoteError::ForbiddenCharacter { offset: 2, code: 0 }));
        // Non-ASCII text and DEL are allowed.
        assert!(signer.sign("ed è subito sera \u{7f}\n").is_ok());
    }

    #[test]
    fn names_are_checked() {
        for name in ["", "a b", "a+b", "a\u{a0}b", "a\u{2003}b", "a\nb", "a\0b", "tab\t"] {
            assert_eq!(
                NoteSigner::generate(name).unwrap_err(),
                NoteError::InvalidName { name: name.to_owned() },
                "{name:?}"
            );
        }
        assert!(NoteSigner::generate("\u{e9}t\u{e9}.example/log-1").is_ok());
    }

    #[test]
    fn verifier_key_refusals() {
        use NoteError::*;
        let cases: &[(&str, NoteError)] = &[
            ("", MalformedVerifierKey { reason: "it is not <name>+<key ID>+<key>" }),
            ("PeterNeumann+c74f20a3", MalformedVerifierKey { reason: "it is not <name>+<key ID>+<key>" }),
            ("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", InvalidName { name: String::new() }),
            (
                "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                MalformedVerifierKey { reason: "the key ID is not eight lowercase hex digits" },
            ),
            (
                "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                MalformedVerifierKey { reason: "the key ID is not eight lowercase hex digits" },
            ),
            ("PeterNeumann+c74f20a3+", MalformedVerifierKey { reason: "the key is empty" }),
            (
                "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n",
                MalformedVerifierKey { reason: "the key is not standard padded base64" },
            ),
            (
                "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                KeyIdMismatch { name: "PeterNeumann".into(), stated: 0xc74f20a4, computed: 0xc74f20a3 },
            ),
            (
                "PeterNeumanN+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                KeyIdMismatch {
                    name: "PeterNeumanN".into(),
                    stated: 0xc74f20a3,
                    computed: compute_key_id("PeterNeumanN", &peter().public_key()),
                },
            ),
            // From Go's tests: a key of the wrong length, and an unknown algorithm, each with the
            // key ID adjusted to match. The first one's base64 has non-zero trailing bits, which
            // Go's decoder tolerates and this one does not.
            (
                "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
                MalformedVerifierKey { reason: "the key is not standard padded base64" },
            ),
            (
                "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10Q=",
                MalformedVerifierKey { reason: "an Ed25519 public key is 32 bytes" },
            ),
            (
                "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWAA==",
                MalformedVerifierKey { reason: "an Ed25519 public key is 32 bytes" },
            ),
            ("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", UnsupportedAlgorithm { alg: 0x65 }),
        ];
        for (key, want) in cases {
            assert_eq!(NoteVerifier::parse(key).as_ref(), Err(want), "{key:?}");
        }
    }

    #[test]
    fn small_order_public_keys_are_refused() {
        // The identity point: a public key under which forged signatures verify in lax verifiers.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let name = "weak.example";
        let vkey = format!("{name}+{:08x}+{}", compute_key_id(name, &identity), encode_key_material(&identity));
        assert_eq!(
            NoteVerifier::parse(&vkey),
            Err(NoteError::MalformedVerifierKey { reason: "the public key is of small order" })
        );
    }

    /// Every proper substring, and every one-character change, of a key is refused (as in Go's
    /// tests), without a panic.
    fn assert_manglings_refused<T: fmt::Debug>(key: &str, parse: impl Fn(&str) -> Result<T, NoteError>) {
        let bytes = key.as_bytes();
        assert!(key.is_ascii());
        for i in 0..=bytes.len() {
            for j in i..=bytes.len() {
                if (i, j) != (0, bytes.len()) {
                    let sub = &key[i..j];
                    assert!(parse(sub).is_err(), "{sub:?} accepted");
                }
            }
        }
        for i in 0..bytes.len() {
            for delta in [1u8, 2, 0x20] {
                let mut changed = bytes.to_vec();
                changed[i] = changed[i].wrapping_add(delta) & 0x7f;
                let changed = String::from_utf8(changed).unwrap();
                assert!(parse(&changed).is_err(), "{changed:?} accepted");
            }
        }
    }

    #[test]
    fn mangled_verifier_keys_are_refused() {
        assert_manglings_refused(PETER_VKEY, NoteVerifier::parse);
    }

    #[test]
    fn mangled_signer_keys_are_refused() {
        assert_manglings_refused(PETER_SKEY, NoteSigner::from_private_key);
    }

    #[test]
    fn signer_key_errors_never_quote_the_key() {
        let secret = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
        for key in [
            format!("PRIVATE+KEY+PeterNeumann+c74f20a4+{secret}"),
            format!("PRIVATE+KEY+PeterNeumann+c74f20a3+{secret}="),
            format!("PRIVATE+KEY+PeterNeumann+c74f20a3+{secret}AAAA"),
            format!("PRIVATE+KEY+PeterNeumann+c74f20a3+B{}", &secret[1..]),
            format!("PRIVATE+KEY+Peter Neumann+c74f20a3+{secret}"),
            format!("PRIVATE+KEY+PeterNeumann+{secret}"),
            format!("PRIVATE+KEY+{secret}"),
            format!("PeterNeumann+c74f20a3+{secret}"),
        ] {
            let err = NoteSigner::from_private_key(&key).unwrap_err();
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains(&secret[4..12]), "{shown}");
        }
        assert_eq!(
            NoteSigner::from_private_key(&format!("PRIVATE+KEY+PeterNeumann+c74f20a4+{secret}")).unwrap_err(),
            NoteError::KeyIdMismatch { name: "PeterNeumann".into(), stated: 0xc74f20a4, computed: 0xc74f20a3 }
        );
    }

    #[test]
    fn the_wrong_key_does_not_open() {
        let other = NoteSigner::generate("PeterNeumann").unwrap().verifier();
        assert_eq!(open(&peter_note(), &[other]), Err(NoteError::NotVerified { unknown: 1 }));
        assert_eq!(open(&peter_note(), &[enoch()]), Err(NoteError::NotVerified { unknown: 1 }));
    }

    #[test]
    fn a_flipped_bit_in_the_text_is_a_bad_signature() {
        let note = peter_note();
        for i in 0..TEXT.len() - 1 {
            let mut bytes = note.clone().into_bytes();
            bytes[i] ^= 0x01;
            let Ok(garbled) = String::from_utf8(bytes) else { continue };
            let got = open(&garbled, &[peter()]);
            assert!(
                matches!(got, Err(NoteError::BadSignature { .. }) | Err(NoteError::ForbiddenCharacter { .. })),
                "byte {i}: {got:?}"
            );
        }
        let changed = note.replacen("answer", "Answer", 1);
        assert_eq!(
            open(&changed, &[peter()]),
            Err(NoteError::BadSignature { name: "PeterNeumann".into(), key_id: 0xc74f20a3 })
        );
    }

    #[test]
    fn a_flipped_bit_in_the_signature_is_a_bad_signature() {
        let blob = BASE64
            .decode("x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=")
            .unwrap();
        for bit in 0..(blob.len() - KEY_ID_LEN) * 8 {
            let mut flipped = blob.clone();
            flipped[KEY_ID_LEN + bit / 8] ^= 1 << (bit % 8);
            let note = format!("{TEXT}\n\u{2014} PeterNeumann {}\n", BASE64.encode(&flipped));
            assert_eq!(
                open(&note, &[peter()]),
                Err(NoteError::BadSignature { name: "PeterNeumann".into(), key_id: 0xc74f20a3 }),
                "bit {bit}"
            );
        }
        // A flipped bit in the key ID makes the line a signature by an unknown key.
        let mut flipped = blob.clone();
        flipped[0] ^= 0x80;
        let note = format!("{TEXT}\n\u{2014} PeterNeumann {}\n", BASE64.encode(&flipped));
        assert_eq!(open(&note, &[peter()]), Err(NoteError::NotVerified { unknown: 1 }));
        // A truncated or lengthened signature by a known key is a bad signature too.
        for len in [KEY_ID_LEN + 1, blob.len() - 1] {
            let note = format!("{TEXT}\n\u{2014} PeterNeumann {}\n", BASE64.encode(&blob[..len]));
            assert!(matches!(open(&note, &[peter()]), Err(NoteError::BadSignature { .. })), "{len}");
        }
        let mut longer = blob.clone();
        longer.push(0);
        let note = format!("{TEXT}\n\u{2014} PeterNeumann {}\n", BASE64.encode(&longer));
        assert!(matches!(open(&note, &[peter()]), Err(NoteError::BadSignature { .. })));
    }

    #[test]
    fn a_bad_signature_by_a_known_key_refuses_the_whole_note() {
        // Go's test: four base64 characters spliced into the signature.
        let bad = format!("{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
        let note = format!("{TEXT}\n{bad}");
        assert_eq!(
            open(&note, &[peter()]),
            Err(NoteError::BadSignature { name: "PeterNeumann".into(), key_id: 0xc74f20a3 })
        );
        // Even after a good one.
        let note = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}{bad}");
        assert!(matches!(open(&note, &[peter()]), Err(NoteError::BadSignature { .. })));
        // But a bad signature by an unknown key is ignored.
        let bad_enoch = format!("{}ABCD{}", &ENOCH_SIG[..60], &ENOCH_SIG[60..]);
        let note = format!("{TEXT}\n{PETER_SIG}{bad_enoch}");
        assert_eq!(open(&note, &[peter()]).unwrap().names, ["PeterNeumann"]);
    }

    #[test]
    fn keys_that_share_a_name_and_id_are_ambiguous() {
        let impostor = NoteSigner::generate("x").unwrap().verifier();
        let twin = NoteVerifier { name: "PeterNeumann".into(), key_id: 0xc74f20a3, key: impostor.key };
        assert_eq!(
            open(&peter_note(), &[peter(), twin]),
            Err(NoteError::AmbiguousKey { name: "PeterNeumann".into(), key_id: 0xc74f20a3 })
        );
    }

    #[test]
    fn malformed_notes_are_refused() {
        use NoteError::*;
        let sig_line = |reason| MalformedSignatureLine { line: 1, reason };
        let cases: Vec<(String, NoteError)> = vec![
            (TEXT.into(), MissingSignatures),
            (format!("{TEXT}\n"), MissingSignatures),
            ("".into(), MissingSignatures),
            ("\n\n".into(), MissingSignatures),
            (PETER_SIG.into(), MissingSignatures),
            // Missing final newline.
            (format!("{TEXT}\n{}", PETER_SIG.trim_end()), sig_line("it does not end in a newline")),
            (format!("\u{1}{TEXT}\n{PETER_SIG}"), ForbiddenCharacter { offset: 0, code: 1 }),
            (
                format!("{TEXT}\n{}\r\n", PETER_SIG.trim_end()),
                ForbiddenCharacter { offset: TEXT.len() + 1 + PETER_SIG.trim_end().len(), code: 13 },
            ),
            (
                format!("{TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"),
                sig_line("the signature is not standard padded base64"),
            ),
            (
                format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
                MalformedSignatureLine { line: 2, reason: "it does not start with an em dash and a space" },
            ),
            (format!("{TEXT}\n- PeterNeumann AAAAAAA=\n"), sig_line("it does not start with an em dash and a space")),
            (format!("{TEXT}\n\u{2014}PeterNeumann AAAAAAA=\n"), sig_line("it does not start with an em dash and a space")),
            (format!("{TEXT}\n\u{2014} PeterNeumann\n"), sig_line("no space between the key name and the signature")),
            (format!("{TEXT}\n\u{2014}  AAAAAAA=\n"), sig_line("invalid key name")),
            (format!("{TEXT}\n\u{2014} a+b AAAAAAA=\n"), sig_line("invalid key name")),
            (format!("{TEXT}\n\u{2014} PeterNeumann \n"), sig_line("the signature is not a key ID and at least one byte")),
            (format!("{TEXT}\n\u{2014} PeterNeumann AAAAAA==\n"), sig_line("the signature is not a key ID and at least one byte")),
            (format!("{TEXT}\n\u{2014} PeterNeumann AAAAAAA\n"), sig_line("the signature is not standard padded base64")),
            (format!("{TEXT}\n\u{2014} PeterNeumann AAAAAAB=\n"), sig_line("the signature is not standard padded base64")),
            (format!("{TEXT}\n\u{2014} PeterNeumann  AAAAAAA=\n"), sig_line("the signature is not standard padded base64")),
            (format!("{TEXT}\n\u{2014} PeterNeumann AAAAAAA= \n"), sig_line("the signature is not standard padded base64")),
            (format!("{TEXT}\n\u{2014} PeterNeumann AAAA-_A=\n"), sig_line("the signature is not standard padded base64")),
        ];
        for (note, want) in cases {
            assert_eq!(open(&note, &[peter()]), Err(want), "{note:?}");
        }
    }

    #[test]
    fn signature_count_is_bounded() {
        let at_limit = format!("{TEXT}\n{}", PETER_SIG.repeat(MAX_SIGNATURES));
        assert!(open(&at_limit, &[peter()]).is_ok());
        let over = format!("{TEXT}\n{}", PETER_SIG.repeat(MAX_SIGNATURES + 1));
        assert_eq!(open(&over, &[peter()]), Err(NoteError::TooManySignatures { max: MAX_SIGNATURES }));
        assert_eq!(open(&over, &[]), Err(NoteError::TooManySignatures { max: MAX_SIGNATURES }));
    }

    #[test]
    fn every_truncation_is_refused() {
        let note = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
        for (end, _) in note.char_indices().skip(1) {
            let cut = &note[..end];
            // Cutting exactly after Peter's line leaves a whole, valid note.
            if cut == format!("{TEXT}\n{PETER_SIG}") {
                assert!(open(cut, &[peter(), enoch()]).is_ok());
                continue;
            }
            assert!(open(cut, &[peter(), enoch()]).is_err(), "{cut:?}");
        }
        for (start, _) in note.char_indices().skip(1) {
            assert!(open(&note[start..], &[peter(), enoch()]).is_err());
        }
    }

    #[test]
    fn every_one_character_change_is_refused_or_harmless() {
        let note = peter_note();
        let replacements = ['\n', ' ', '+', '=', '/', 'A', 'x', '\u{2014}', '\u{e8}', '\0', '\u{a0}'];
        for (at, old) in note.char_indices() {
            for new in replacements {
                let mut changed = String::with_capacity(note.len() + 4);
                changed.push_str(&note[..at]);
                changed.push(new);
                changed.push_str(&note[at + old.len_utf8()..]);
                if let Ok(v) = open(&changed, &[peter()]) {
                    assert_eq!(changed, note, "accepted a changed note: {changed:?} {v:?}");
                }
            }
            let deleted = format!("{}{}", &note[..at], &note[at + old.len_utf8()..]);
            assert!(open(&deleted, &[peter()]).is_err(), "{deleted:?}");
        }
    }

    #[test]
    fn random_garbage_never_panics() {
        let pieces = [
            "\n",
            "\n\n",
            " ",
            "\u{2014}",
            "\u{2014} ",
            "+",
            "=",
            "PeterNeumann",
            "x08go/ZJ",
            "AAAA",
            "\u{e8}",
            "\0",
            "a",
            PETER_SIG,
            TEXT,
            "PRIVATE+KEY+",
            "c74f20a3",
            "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        ];
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..5000 {
            let mut s = String::new();
            for _ in 0..rng.below(12) {
                s.push_str(pieces[rng.below(pieces.len())]);
            }
            let _ = open(&s, &[peter(), enoch()]);
            let _ = NoteVerifier::parse(&s);
            let _ = NoteSigner::from_private_key(&s);
        }
        // And splices of real notes.
        let note = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
        let bounds: Vec<usize> = note.char_indices().map(|(i, _)| i).chain([note.len()]).collect();
        for _ in 0..5000 {
            let (a, b) = (bounds[rng.below(bounds.len())], bounds[rng.below(bounds.len())]);
            let (a, b) = (a.min(b), a.max(b));
            let spliced = format!("{}{}", &note[b..], &note[..a]);
            let _ = open(&spliced, &[peter(), enoch()]);
        }
    }
}
