//! Credentials end to end: a token the admin issues over the Keys service works at once, within
//! its scope only; the actor it names is written into the hashed envelope; a revoked token stops
//! working at the next call; a refusal appends nothing.

use chibo_integrity::Envelope;
use chibo_proto::v1::{self as pb, keys_client::KeysClient, ledger_client::LedgerClient};
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request};

use crate::harness::{cell, points, read_all, Conn, Fixture, Server};

fn issue(id: &str, role: pb::Role, scope: &str) -> pb::IssueRequest {
    pb::IssueRequest {
        credential_id: id.into(),
        principal: format!("Người giữ {id}"),
        role: role.into(),
        scope_org_id: scope.into(),
        member_id: String::new(),
        certificate: Vec::new(),
    }
}

/// `message` with `token` as its bearer credential.
fn with_token<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    let value: MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
    request.metadata_mut().insert("authorization", value);
    request
}

fn submit(stream: &str, member: &str) -> pb::SubmitRequest {
    pb::SubmitRequest { stream: stream.into(), expected_revision: None, event: Some(points(member, 5)) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_works_at_once_in_its_scope_only_until_it_is_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    Fixture::record(&server, &[cell("a", ["an"]), cell("b", ["binh"])]).await;
    // The admin reads the log and issues credentials; the calls with the issued tokens go over a
    // connection that adds none of its own.
    let mut ledger: LedgerClient<Conn> = server.client().await;
    let mut calls: LedgerClient<Channel> = LedgerClient::new(server.raw_channel().await);
    let mut keys = KeysClient::new(server.channel().await);

    let issued = keys.issue(issue("thu-ky-a", pb::Role::Recorder, "a")).await.unwrap().into_inner();
    assert!(issued.token.starts_with("chibo_") && issued.token.len() > 40, "{}", issued.token);
    let token = issued.token;

    // In scope: recorded, by the principal the credential names.
    let receipt = calls.submit(with_token(&token, submit("cell-a", "an"))).await.unwrap().into_inner().receipt.unwrap();
    let log = read_all(&mut ledger).await;
    let envelope = Envelope::decode(&log[receipt.position as usize].envelope).unwrap();
    assert_eq!(envelope.actor, "Người giữ thu-ky-a", "the actor is inside the hashed envelope");

    // Out of scope, or out of role: refused, and nothing appended.
    let inspector = keys.issue(issue("ubkt", pb::Role::Inspector, "")).await.unwrap().into_inner().token;
    let before = read_all(&mut ledger).await.len();
    let status = calls.submit(with_token(&token, submit("cell-b", "binh"))).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(status.message().contains("b is outside its scope (a and below)"), "{status:?}");
    let status = calls.read_all(with_token(&token, pb::ReadAllRequest { after_position: None, max_count: 0 })).await;
    assert_eq!(status.unwrap_err().code(), Code::PermissionDenied);
    let status = calls.submit(with_token(&inspector, submit("cell-a", "an"))).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert_eq!(read_all(&mut ledger).await.len(), before, "a refusal appends nothing");

    // Not a token the log holds, or not a bearer token at all.
    let status = calls.submit(with_token("chibo_forged", submit("cell-a", "an"))).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let mut request = Request::new(submit("cell-a", "an"));
    request.metadata_mut().insert("authorization", "Basic abc".parse().unwrap());
    let status = calls.submit(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(status.message().starts_with("authorization:"), "{status:?}");

    // Bad requests name the field; a second credential under one id is refused.
    let status = keys.issue(issue("thu-ky-a", pb::Role::Recorder, "a")).await.unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    let status = keys.issue(issue("x", pb::Role::Recorder, "nowhere")).await.unwrap_err();
    assert!(status.message().starts_with("scope_org_id:"), "{status:?}");
    let status = keys.issue(issue("y", pb::Role::Unspecified, "a")).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("role"), "{status:?}");

    // Revoked: it stops working at once, and the list says so.
    let revoke = pb::RevokeRequest { credential_id: "thu-ky-a".into(), reason: "Chuyển công tác".into() };
    keys.revoke(revoke.clone()).await.unwrap();
    let status = calls.submit(with_token(&token, submit("cell-a", "an"))).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert_eq!(keys.revoke(revoke).await.unwrap_err().code(), Code::FailedPrecondition);
    let listed = keys.list(pb::ListCredentialsRequest {}).await.unwrap().into_inner().credentials;
    let states: Vec<(String, bool)> =
        listed.iter().map(|c| (c.issued.as_ref().unwrap().credential_id.clone(), c.revoked)).collect();
    let expected = [("admin", false), ("test-writer", false), ("thu-ky-a", true), ("ubkt", false)];
    assert_eq!(states, expected.map(|(id, revoked)| (id.to_owned(), revoked)));
    // The credentials are events of the log, and the secret is not among them.
    let log = read_all(&mut ledger).await;
    assert!(log.iter().all(|e| !String::from_utf8_lossy(&e.payload).contains(&token)));
    server.stop().await;

    // chibo verify says who recorded what, from the hashed envelopes.
    let (report, code) = crate::harness::verify(&dir.path().join("data"));
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["actors"]["Người giữ thu-ky-a"], 1, "{report}");
    let total: u64 = report["actors"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(total, report["events"].as_u64().unwrap(), "every event has its actor: {report}");
    let out = crate::harness::chibo(&["verify", "--data", dir.path().join("data").to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("recorded by: ") && text.contains("Người giữ thu-ky-a 1"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_ends_when_its_credential_is_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    Fixture::record(&server, &[cell("a", ["an"])]).await;
    let mut ledger: LedgerClient<Conn> = server.client().await;
    let mut keys = KeysClient::new(server.channel().await);
    let token = keys.issue(issue("ubkt", pb::Role::Inspector, "")).await.unwrap().into_inner().token;

    let mut calls: LedgerClient<Channel> = LedgerClient::new(server.raw_channel().await);
    let mut subscription =
        calls.subscribe(with_token(&token, pb::SubscribeRequest { after_position: None })).await.unwrap().into_inner();
    let live = read_all(&mut ledger).await.len();
    for _ in 0..live {
        subscription.message().await.expect("the log so far streams").expect("an event");
    }
    let revoke = pb::RevokeRequest { credential_id: "ubkt".into(), reason: "Hết nhiệm kỳ".into() };
    keys.revoke(revoke).await.unwrap();
    let ended = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            match subscription.message().await {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("the subscription ended without saying why"),
                Err(status) => break status,
            }
        }
    })
    .await
    .expect("the subscription ends once the revocation is recorded");
    assert_eq!(ended.code(), Code::Unauthenticated, "{ended:?}");
    assert!(ended.message().contains("revoked"), "{ended:?}");
    server.stop().await;
}
