//! Credentials: who may call the server (DESIGN.md "Security model"). An admin issues or revokes
//! one; the server records it in `$credentials`. The secret never enters the log: a token is
//! recorded as the SHA-256 of its secret, a client certificate as the SHA-256 of its DER.

use crate::error::{InvalidField, Result};
use crate::id::Id;
use crate::text::limit;

use super::required_text;

/// The length of a credential digest (SHA-256), in bytes.
pub const CREDENTIAL_DIGEST_LEN: usize = 32;

named_enum! {
    /// What a principal is for.
    pub enum Role {
        /// A cell secretary or an app integration: writes the cells' record books.
        Recorder = "recorder",
        /// A party committee: its cells' books and its own decisions.
        Committee = "committee",
        /// An inspection committee: reads everything in scope, writes nothing.
        Inspector = "inspector",
        /// A party member: their own standing and history.
        Member = "member",
        /// An administrator: the organization tree and the credentials.
        Admin = "admin",
    }
}

named_enum! {
    /// How a credential is presented.
    pub enum CredentialKind {
        /// A bearer token, in the `authorization` header.
        Token = "token",
        /// A TLS client certificate.
        Certificate = "certificate",
    }
}

/// The fields of a [`CredentialIssued`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialIssuedFields {
    /// The credential, named when it is revoked.
    pub credential_id: Id,
    /// Who holds it, as written into the envelope of every event they submit.
    pub principal: String,
    /// What for.
    pub role: Role,
    /// The organization whose subtree it acts on; `None`: the whole log. Always `None` for a
    /// member.
    pub scope_org_id: Option<Id>,
    /// The member it belongs to: for the member role, and only for it.
    pub member_id: Option<Id>,
    /// How it is presented.
    pub kind: CredentialKind,
    /// SHA-256 of the token's secret or of the certificate's DER encoding.
    pub digest: Vec<u8>,
}

checked! {
    /// A credential is issued. Recorded in `$credentials`, by the server, on an admin's request.
    pub struct CredentialIssued(CredentialIssuedFields);
}

impl CredentialIssuedFields {
    fn check(&self) -> Result<()> {
        let Self { credential_id: _, principal, role, scope_org_id, member_id, kind: _, digest } = self;
        required_text("principal", principal, limit::LABEL)?;
        if digest.len() != CREDENTIAL_DIGEST_LEN {
            return Err(InvalidField::new(
                "digest",
                format!("is {} bytes; a SHA-256 digest is {CREDENTIAL_DIGEST_LEN}", digest.len()),
            ));
        }
        match (role, member_id, scope_org_id) {
            (Role::Member, None, _) => Err(InvalidField::new("member_id", "is required for the member role")),
            (Role::Member, Some(_), Some(_)) => Err(InvalidField::new(
                "scope_org_id",
                "must be empty for the member role: a member's scope is themself",
            )),
            (Role::Member, Some(_), None) => Ok(()),
            (_, Some(_), _) => Err(InvalidField::new("member_id", format!("is only for the member role, not {role}"))),
            (_, None, _) => Ok(()),
        }
    }
}

/// The fields of a [`CredentialRevoked`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRevokedFields {
    /// The credential.
    pub credential_id: Id,
    /// Why it is revoked.
    pub reason: String,
}

checked! {
    /// A credential is revoked: it stops working at once. Recorded in `$credentials`, by the
    /// server, on an admin's request.
    pub struct CredentialRevoked(CredentialRevokedFields);
}

impl CredentialRevokedFields {
    fn check(&self) -> Result<()> {
        let Self { credential_id: _, reason } = self;
        required_text("reason", reason, limit::PARAGRAPH)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::event::tests::{err, id};

    fn issued(role: Role) -> CredentialIssuedFields {
        CredentialIssuedFields {
            credential_id: id("thu-ky-an-binh"),
            principal: "Nguyễn Thị Hoa (thư ký chi bộ An Bình)".into(),
            role,
            scope_org_id: Some(id("an-binh")),
            member_id: None,
            kind: CredentialKind::Token,
            digest: vec![7; 32],
        }
    }

    pub(crate) fn credential_issued() -> CredentialIssued {
        CredentialIssued::new(issued(Role::Recorder)).unwrap()
    }

    pub(crate) fn credential_revoked() -> CredentialRevoked {
        CredentialRevoked::new(CredentialRevokedFields {
            credential_id: id("thu-ky-an-binh"),
            reason: "Thư ký chuyển công tác".into(),
        })
        .unwrap()
    }

    #[test]
    fn a_credential_names_a_scope_its_role_can_have() {
        assert!(CredentialIssued::new(issued(Role::Recorder)).is_ok());
        assert!(CredentialIssued::new(CredentialIssuedFields { scope_org_id: None, ..issued(Role::Admin) }).is_ok());
        let member = CredentialIssuedFields { scope_org_id: None, member_id: Some(id("hoa")), ..issued(Role::Member) };
        assert!(CredentialIssued::new(member.clone()).is_ok());

        let cases = [
            (CredentialIssuedFields { digest: vec![7; 31], ..issued(Role::Recorder) }, "digest"),
            (CredentialIssuedFields { principal: " ".into(), ..issued(Role::Recorder) }, "principal"),
            (CredentialIssuedFields { member_id: None, ..member.clone() }, "member_id"),
            (CredentialIssuedFields { scope_org_id: Some(id("an-binh")), ..member }, "scope_org_id"),
            (CredentialIssuedFields { member_id: Some(id("hoa")), ..issued(Role::Inspector) }, "member_id"),
        ];
        for (fields, field) in cases {
            assert_eq!(err(CredentialIssued::new(fields)).0, field);
        }
        let revoked = CredentialRevokedFields { credential_id: id("thu-ky-an-binh"), reason: String::new() };
        assert_eq!(err(CredentialRevoked::new(revoked)).0, "reason");
    }
}
