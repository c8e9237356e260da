//! The three domain-separated SHA-256 hashes of the spec.

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
    Sha256::new().chain_update(GENESIS_TAG).chain_update(stream.as_bytes()).finalize().into()
}

/// The digest of a payload under its salt; the envelope carries this instead of the payload, so
/// a payload can later be redacted while every hash still verifies.
pub fn payload_digest(salt: &Salt, payload: &[u8]) -> Hash {
    Sha256::new().chain_update(PAYLOAD_TAG).chain_update(salt).chain_update(payload).finalize().into()
}

/// The hash of an event: over the stored envelope bytes, which already hold `prev_hash`.
pub fn event_hash(envelope_bytes: &[u8]) -> Hash {
    Sha256::new().chain_update(EVENT_TAG).chain_update(envelope_bytes).finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

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
