//! `chibo keys`: issue, list and revoke credentials through the Keys service (an admin's), and
//! make a token for the first start.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{bail, Context};
use chibo_proto::v1::{self as pb, keys_client::KeysClient};
use chibo_server::tls::PemFile;
use serde_json::json;

use super::{channel, emit, refused};
use crate::cli::{KeysIssueArgs, KeysListArgs, KeysRevokeArgs, RoleArg};

pub async fn issue(args: KeysIssueArgs) -> anyhow::Result<ExitCode> {
    let KeysIssueArgs { server, id, principal, role, scope, member, certificate, json } = args;
    let certificate = match certificate {
        None => Vec::new(),
        Some(path) => {
            let pem = PemFile::read(&path).context("--certificate")?;
            let chain = pem.certificates().context("--certificate")?;
            let leaf = chain
                .into_iter()
                .next()
                .with_context(|| format!("--certificate {}: no certificate", path.display()))?;
            leaf.to_vec()
        }
    };
    if role == RoleArg::Member && member.is_none() {
        bail!("--role member needs --member MEMBER: the member whose record the credential reads");
    }
    let mut client = KeysClient::new(channel(&server).await?);
    let request = pb::IssueRequest {
        credential_id: id,
        principal,
        role: pb::Role::from(role).into(),
        scope_org_id: scope.unwrap_or_default(),
        member_id: member.unwrap_or_default(),
        certificate,
    };
    let issued = client.issue(request).await.map_err(refused)?.into_inner();
    let position = issued.receipt.as_ref().map(|r| r.position);
    if json {
        let token = (!issued.token.is_empty()).then_some(&issued.token);
        emit(&format!("{}\n", json!({ "credential_id": issued.credential_id, "token": token, "position": position })))?;
    } else if issued.token.is_empty() {
        emit(&format!("issued {}: the client certificate is the credential\n", issued.credential_id))?;
    } else {
        // The token alone on stdout, so that `TOKEN=$(chibo keys issue …)` works; the rest on stderr.
        eprintln!("issued {}; its token is shown only now, keep it secret:", issued.credential_id);
        emit(&format!("{}\n", issued.token))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn list(args: KeysListArgs) -> anyhow::Result<ExitCode> {
    let KeysListArgs { server, json } = args;
    let mut client = KeysClient::new(channel(&server).await?);
    let listed = client.list(pb::ListCredentialsRequest {}).await.map_err(refused)?.into_inner();
    let mut out = String::new();
    if !json {
        writeln!(out, "{:<24} {:<10} {:<11} {:<24} {:<8} principal", "id", "role", "kind", "scope", "state")?;
    }
    for credential in listed.credentials {
        let issued = credential.issued.unwrap_or_default();
        let role = pb::Role::try_from(issued.role).map_or("?", |r| role_name(r));
        let kind = match pb::CredentialKind::try_from(issued.kind) {
            Ok(pb::CredentialKind::Certificate) => "certificate",
            Ok(pb::CredentialKind::Token) => "token",
            _ => "?",
        };
        let scope = match (&issued.member_id, &issued.scope_org_id) {
            (m, _) if !m.is_empty() => format!("member {m}"),
            (_, o) if !o.is_empty() => o.clone(),
            _ => "everything".to_owned(),
        };
        let state = if credential.revoked { "revoked" } else { "active" };
        if json {
            let line = json!({
                "credential_id": issued.credential_id,
                "principal": issued.principal,
                "role": role,
                "kind": kind,
                "scope_org_id": (!issued.scope_org_id.is_empty()).then_some(&issued.scope_org_id),
                "member_id": (!issued.member_id.is_empty()).then_some(&issued.member_id),
                "revoked": credential.revoked,
            });
            writeln!(out, "{line}")?;
        } else {
            writeln!(
                out,
                "{:<24} {role:<10} {kind:<11} {scope:<24} {state:<8} {}",
                issued.credential_id, issued.principal
            )?;
        }
    }
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}

pub async fn revoke(args: KeysRevokeArgs) -> anyhow::Result<ExitCode> {
    let KeysRevokeArgs { server, id, reason } = args;
    let mut client = KeysClient::new(channel(&server).await?);
    let request = pb::RevokeRequest { credential_id: id.clone(), reason };
    client.revoke(request).await.map_err(refused)?;
    emit(&format!("revoked {id}\n"))?;
    Ok(ExitCode::SUCCESS)
}

pub fn new_token() -> anyhow::Result<ExitCode> {
    let token = chibo_server::auth::new_token().map_err(|s| anyhow::anyhow!("{}", s.message()))?;
    emit(&format!("{token}\n"))?;
    Ok(ExitCode::SUCCESS)
}

fn role_name(role: pb::Role) -> &'static str {
    match role {
        pb::Role::Recorder => "recorder",
        pb::Role::Committee => "committee",
        pb::Role::Inspector => "inspector",
        pb::Role::Member => "member",
        pb::Role::Admin => "admin",
        _ => "?",
    }
}

impl From<RoleArg> for pb::Role {
    fn from(role: RoleArg) -> pb::Role {
        match role {
            RoleArg::Recorder => pb::Role::Recorder,
            RoleArg::Committee => pb::Role::Committee,
            RoleArg::Inspector => pb::Role::Inspector,
            RoleArg::Member => pb::Role::Member,
            RoleArg::Admin => pb::Role::Admin,
        }
    }
}
