//! The three domain-separated SHA-256 hashes of the spec, and the one function that computes
//! them and the Merkle tree's.

use sha2::digest::generic_array::{typenum::U64, GenericArray};
use sha2::{Digest, Sha256};

/// Length of every hash in the spec, in bytes.
pub const HASH_LEN: usize = 32;
/// Length of a payload salt, in bytes.
pub const SALT_LEN: usize = 16;

/// A SHA-256 output.
pub type Hash = [u8; HASH_LEN];
/// The random salt mixed into a payload digest.
pub type Salt = [u8; SALT_LEN];

const GENESIS_TAG: &[u8] = b"chibo:genesis:v1\0";
const PAYLOAD_TAG: &[u8] = b"chibo:payload:v1\0";
const EVENT_TAG: &[u8] = b"chibo:event:v1\0";

/// The `prev_hash` of revision 0 of `stream`.
pub fn genesis(stream: &str) -> Hash {
    sha256_of(&[GENESIS_TAG, stream.as_bytes()])
}

/// The digest of a payload under its salt; the envelope carries this instead of the payload, so
/// a payload can later be redacted while every hash still verifies.
pub fn payload_digest(salt: &Salt, payload: &[u8]) -> Hash {
    sha256_of(&[PAYLOAD_TAG, salt, payload])
}

/// The hash of an event: over the stored envelope bytes, which already hold `prev_hash`.
pub fn event_hash(envelope_bytes: &[u8]) -> Hash {
    sha256_of(&[EVENT_TAG, envelope_bytes])
}

/// SHA-256's initial state (FIPS 180-4, §5.3.3).
const SHA256_IV: [u32; 8] =
    [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/// The longest message that pads to two SHA-256 blocks: 128 bytes less the `0x80` and the
/// 8-byte length.
const SHORT_MAX: usize = 2 * 64 - 9;

/// SHA-256 of the concatenation of `parts`: every hash of the spec and of the Merkle tree.
///
/// The Merkle tree's leaves and nodes (33 and 65 bytes), a stream's genesis and a short payload's
/// digest are hashed once per event or more; a message of at most [`SHORT_MAX`] bytes is padded
/// here and compressed in one call, without the buffering of an incremental hasher. A longer one
/// is hashed by [`Sha256`].
pub(crate) fn sha256_of(parts: &[&[u8]]) -> Hash {
    let len: usize = parts.iter().map(|part| part.len()).sum();
    if len > SHORT_MAX {
        let mut hasher = Sha256::new();
        parts.iter().for_each(|part| hasher.update(part));
        return hasher.finalize().into();
    }
    // The message, then 0x80, zeros, and its length in bits, big-endian, to a block's end
    // (FIPS 180-4, §5.1.1).
    let mut padded = [0u8; 2 * 64];
    let mut at = 0;
    for part in parts {
        padded[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    padded[len] = 0x80;
    let end = if len < 64 - 8 { 64 } else { 2 * 64 };
    padded[end - 8..end].copy_from_slice(&(len as u64 * 8).to_be_bytes());
    let mut state = SHA256_IV;
    for block in padded[..end].chunks_exact(64) {
        sha2::compress256(&mut state, std::slice::from_ref(GenericArray::<u8, U64>::from_slice(block)));
    }
    let mut out = [0u8; HASH_LEN];
    out.chunks_exact_mut(4).zip(state).for_each(|(bytes, word)| bytes.copy_from_slice(&word.to_be_bytes()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every length a short message can have, and the first few past it, split into parts at
    /// every place: the same digest as the incremental hasher's.
    #[test]
    fn short_messages_hash_as_sha256_does() {
        assert_eq!(sha256_of(&[]), <Hash>::from(Sha256::digest([])));
        let message: Vec<u8> = (0..SHORT_MAX as u32 + 4).map(|i| (i * 131 + 7) as u8).collect();
        for len in 0..message.len() {
            let whole = &message[..len];
            let expected: Hash = Sha256::digest(whole).into();
            assert_eq!(sha256_of(&[whole]), expected, "{len} bytes");
            for cut in [0, len / 3, len / 2, len] {
                let (a, b) = whole.split_at(cut);
                assert_eq!(sha256_of(&[a, &[], b]), expected, "{len} bytes cut at {cut}");
            }
        }
    }

    fn hex(h: &[u8]) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Values computed independently (`printf 'chibo:genesis:v1\0cell-a' | sha256sum`), so a
    /// change to a tag or to the order of the inputs fails here.
    #[test]
    fn hashes_match_independently_computed_values() {
        assert_eq!(hex(&genesis("cell-a")), "a494b6e46629e1ef6580b34944e3e72ac6b529af75e9bc3cdd71cedd2e40ded1");
        assert_eq!(
            hex(&payload_digest(&[7; 16], b"payload")),
            "326e2996e7ff84f29a6ec9a5bae17995a6ec990cf2ce4b113a76f2ea00090cb2"
        );
        assert_eq!(hex(&event_hash(b"envelope")), "43ff1604e77411804e481d6db05aca14e9930a8b2526019feb247d3c54a0d864");
    }
}
