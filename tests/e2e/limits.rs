//! The limits `chibo serve` enforces, through the real binary: a principal over its request
//! rate or its open streams is refused with RESOURCE_EXHAUSTED naming the limit, and writes
//! nothing; an idle connection is closed. (That activity keeps a connection open is a unit test
//! of `chibo_server::limits::Idle`, where time can be controlled.)

use std::time::Duration;

use chibo_proto::v1 as pb;
use tokio::io::AsyncReadExt;
use tonic::Code;

use crate::harness::{cell, day, points_on, Fixture, Server};

#[tokio::test]
async fn a_principal_over_its_rate_is_refused_and_its_refused_event_is_not_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--rate-limit", "1", "--rate-burst", "10"]);
    Fixture::record(&server, &[cell("a", ["an"])]).await;
    let mut writer = server.writer().await;

    // At one request a second, a burst of ten runs out long before a hundred requests do,
    // however slow the machine.
    let mut accepted = Vec::new();
    let mut refusal = None;
    for n in 0..100 {
        let event = points_on("an", 1, &day(n));
        let request =
            pb::SubmitRequest { stream: "cell-a".into(), expected_revision: None, event: Some(event.clone()) };
        match writer.submit(request).await {
            Ok(_) => accepted.push(event.event_id),
            Err(status) => {
                refusal = Some((status, event.event_id));
                break;
            }
        }
    }
    let (status, refused_id) = refusal.expect("a hundred requests at once exceed a rate of one a second");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().starts_with("rate limit: committee \"test writer\" made more than 1 requests per second"),
        "the refusal names the limit and the principal: {}",
        status.message()
    );

    // Another principal has its own allowance: the admin reads what was recorded.
    let mut admin = server.client().await;
    let request = pb::ReadStreamRequest { stream: "cell-a".into(), from_revision: 0, max_count: 0 };
    let mut events =
        admin.read_stream(request).await.expect("the admin is not limited by the writer's rate").into_inner();
    let mut ids = Vec::new();
    while let Some(event) = events.message().await.unwrap() {
        ids.push(chibo_integrity::Envelope::decode(&event.envelope).unwrap().event_id.to_string());
    }
    for id in &accepted {
        assert!(ids.contains(id), "accepted event {id} is recorded");
    }
    assert!(!ids.contains(&refused_id), "the refused event is not recorded");
}

#[tokio::test]
async fn a_principal_may_hold_only_so_many_streams_open() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--max-streams", "2"]);
    let mut admin = server.client().await;
    let subscribe = || pb::SubscribeRequest { after_position: None };
    let first = admin.subscribe(subscribe()).await.expect("the first stream opens").into_inner();
    let _second = admin.subscribe(subscribe()).await.expect("the second stream opens").into_inner();
    let status = admin.subscribe(subscribe()).await.expect_err("a third stream is over the limit");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().starts_with("stream limit: admin \"admin\" already has 2 streams open"),
        "the refusal names the limit: {}",
        status.message()
    );
    // A unary call is not a stream.
    let mut keys = pb::keys_client::KeysClient::new(server.channel().await);
    keys.list(pb::ListCredentialsRequest {}).await.expect("unary calls go on");

    // Closing a stream frees its place once the server has seen it go.
    drop(first);
    let mut reopened = None;
    for _ in 0..100 {
        match admin.subscribe(subscribe()).await {
            Ok(stream) => {
                reopened = Some(stream);
                break;
            }
            Err(status) if status.code() == Code::ResourceExhausted => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(status) => panic!("unexpected refusal: {status:?}"),
        }
    }
    assert!(reopened.is_some(), "a closed stream's place is given back");
}

#[tokio::test]
async fn an_idle_connection_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--idle-timeout", "1"]);
    let address = server.url.trim_start_matches("http://").to_owned();

    // A connection that never says anything is closed by the server: the read ends.
    let mut silent = tokio::net::TcpStream::connect(&address).await.unwrap();
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match silent.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                // The server's HTTP/2 preface and settings, then nothing.
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server closed a connection idle for a second (waited up to a minute)");
}
