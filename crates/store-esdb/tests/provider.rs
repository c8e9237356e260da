//! The `eventstore` client installs its own rustls crypto provider process-wide on first use,
//! and its connection dies (a panic in its task, then "connection closed" forever) if another
//! was chosen before. Connecting says so at once instead. Its own test binary: the provider a
//! process chose cannot be unchosen.

use chibo_kurrent_testserver::KurrentTestServer;
use chibo_store_esdb::{ConnectError, EsdbStore};

#[tokio::test]
async fn a_provider_chosen_before_the_client_is_named_on_connecting() {
    let server = KurrentTestServer::start().await;
    rustls::crypto::ring::default_provider().install_default().expect("nothing chose one before");
    match EsdbStore::connect(&server.connection_string()).await {
        Err(ConnectError::Unavailable(why)) => assert!(why.contains("crypto provider"), "{why}"),
        Err(e) => panic!("expected the provider named: {e}"),
        Ok(_) => panic!("expected the provider named, not a store whose client cannot connect"),
    }
}
