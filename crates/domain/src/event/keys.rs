//! Keys and checkpoints: the signing keys principals register and revoke, and the checkpoints
//! of the Merkle log the server signs (DESIGN.md "Integrity: the hash spec").

use crate::error::{InvalidField, Result};
use crate::id::Id;
use crate::text::limit;

use super::required_text;

/// The length of an Ed25519 public key, in bytes.
pub const ED25519_PUBLIC_KEY_LEN: usize = 32;

named_enum! {
    /// The signature algorithm of a key.
    pub enum KeyAlgorithm {
        /// Ed25519 (RFC 8032).
        Ed25519 = "ed25519",
    }
}

/// The fields of a [`SigningKeyRegistered`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRegisteredFields {
    /// The key, named when it is revoked.
    pub key_id: Id,
    /// The principal that signs with it.
    pub principal: String,
    /// Its algorithm.
    pub algorithm: KeyAlgorithm,
    /// The public key, in the algorithm's standard encoding (32 bytes for Ed25519).
    pub public_key: Vec<u8>,
}

checked! {
    /// A signing key is registered for a principal. Recorded in the committee's stream.
    pub struct SigningKeyRegistered(SigningKeyRegisteredFields);
}

impl SigningKeyRegisteredFields {
    fn check(&self) -> Result<()> {
        let Self { key_id: _, principal, algorithm, public_key } = self;
        required_text("principal", principal, limit::LABEL)?;
        let expected = match algorithm {
            KeyAlgorithm::Ed25519 => ED25519_PUBLIC_KEY_LEN,
        };
        if public_key.len() != expected {
            return Err(InvalidField::new(
                "public_key",
                format!("is {} bytes; an {algorithm} public key is {expected} bytes", public_key.len()),
            ));
        }
        Ok(())
    }
}

/// The fields of a [`SigningKeyRevoked`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRevokedFields {
    /// The key.
    pub key_id: Id,
    /// Why it is revoked.
    pub reason: String,
}

checked! {
    /// A signing key is revoked. Recorded in the committee's stream.
    pub struct SigningKeyRevoked(SigningKeyRevokedFields);
}

impl SigningKeyRevokedFields {
    fn check(&self) -> Result<()> {
        let Self { key_id: _, reason } = self;
        required_text("reason", reason, limit::PARAGRAPH)
    }
}

/// The fields of a [`CheckpointSigned`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointSignedFields {
    /// The checkpoint as a C2SP signed note. Its format is the integrity layer's to check.
    pub note: String,
}

checked! {
    /// The server signed a checkpoint of the log. Recorded in `$checkpoints`, by the server
    /// alone.
    pub struct CheckpointSigned(CheckpointSignedFields);
}

impl CheckpointSignedFields {
    fn check(&self) -> Result<()> {
        let Self { note } = self;
        required_text("note", note, limit::PARAGRAPH)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::event::tests::{err, id, pair};

    fn registered() -> SigningKeyRegisteredFields {
        SigningKeyRegisteredFields {
            key_id: id("thaibinh-2026"),
            principal: "committee:thaibinh".into(),
            algorithm: KeyAlgorithm::Ed25519,
            public_key: vec![3; 32],
        }
    }

    pub(crate) fn signing_key_registered() -> SigningKeyRegistered {
        SigningKeyRegistered::new(registered()).unwrap()
    }

    pub(crate) fn signing_key_revoked() -> SigningKeyRevoked {
        SigningKeyRevoked::new(SigningKeyRevokedFields {
            key_id: id("thaibinh-2026"),
            reason: "Thiết bị bị mất".into(),
        })
        .unwrap()
    }

    pub(crate) fn checkpoint_signed() -> CheckpointSigned {
        CheckpointSigned::new(CheckpointSignedFields {
            note: "chibo.thaibinh.example/2026\n42\nqUJ5Rb1+OLnQqPa4ZfLZ0h2Cz+tR5aYlYrVv1wVyq1A=\n\n\
                   \u{2014} chibo.thaibinh.example/2026 AAAAAQ==\n"
                .into(),
        })
        .unwrap()
    }

    #[test]
    fn an_ed25519_key_is_32_bytes() {
        assert_eq!(signing_key_registered().public_key.len(), 32);
        for len in [0, 31, 33] {
            let wrong = SigningKeyRegisteredFields { public_key: vec![1; len], ..registered() };
            assert_eq!(
                err(SigningKeyRegistered::new(wrong)),
                pair("public_key", &format!("is {len} bytes; an ed25519 public key is 32 bytes"))
            );
        }
        let nobody = SigningKeyRegisteredFields { principal: String::new(), ..registered() };
        assert_eq!(err(SigningKeyRegistered::new(nobody)), pair("principal", "is empty"));
    }

    #[test]
    fn revocations_and_checkpoints_have_content() {
        assert_eq!(signing_key_revoked().key_id, id("thaibinh-2026"));
        let unexplained = SigningKeyRevokedFields { key_id: id("k"), reason: String::new() };
        assert_eq!(err(SigningKeyRevoked::new(unexplained)), pair("reason", "is empty"));
        assert!(checkpoint_signed().note.starts_with("chibo.thaibinh.example/2026\n"));
        let blank = CheckpointSignedFields { note: String::new() };
        assert_eq!(err(CheckpointSigned::new(blank)), pair("note", "is empty"));
    }
}
