//! The store contract suite on the KurrentDB backend: on the in-memory KurrentDB test server
//! always, each clause on a server of its own; and on a real KurrentDB when
//! `CHIBO_TEST_KURRENTDB` holds a connection string, each clause on a log of its own so that one
//! server serves them all (and any earlier run).

use std::sync::Arc;

use chibo_store::EventStore;
use chibo_store_esdb::{EsdbStore, Options};

/// A fresh store, and what keeps it alive.
struct Fresh<T> {
    store: Arc<EsdbStore>,
    _keep: T,
}

impl<T: Send + 'static> chibo_store_contract::Fixture for Fresh<T> {
    fn store(&self) -> Arc<dyn EventStore> {
        self.store.clone()
    }
}

/// On the in-memory test server, which speaks KurrentDB's protocol to the real client.
mod test_server {
    use chibo_kurrent_testserver::KurrentTestServer;

    use super::*;

    async fn fresh() -> Fresh<KurrentTestServer> {
        let server = KurrentTestServer::start().await;
        let store = EsdbStore::connect(&server.connection_string()).await.expect("the store connects");
        Fresh { store: Arc::new(store), _keep: server }
    }

    chibo_store_contract::contract_tests!(fresh);
}

/// On a real KurrentDB, if `CHIBO_TEST_KURRENTDB` names one.
mod kurrentdb {
    use super::*;

    const VARIABLE: &str = "CHIBO_TEST_KURRENTDB";

    async fn fresh() -> Option<Fresh<()>> {
        let Ok(connection_string) = std::env::var(VARIABLE) else {
            eprintln!(
                "{VARIABLE} is not set: this clause runs on the in-memory test server only; set it to a \
                 KurrentDB connection string (esdb://localhost:2113?tls=false) to run it on a real one too"
            );
            return None;
        };
        let log = format!("contract-{}", chibo_store_contract::event_id());
        let options = Options { log, ..Options::default() };
        let store = EsdbStore::connect_with(&connection_string, options).await.expect("the store connects");
        Some(Fresh { store: Arc::new(store), _keep: () })
    }

    /// One test per clause, like `contract_tests!`, but skipped when no server is named (the
    /// macro has no way to skip).
    macro_rules! clauses {
        ($($clause:ident),* $(,)?) => {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $clause() {
                    if let Some(fixture) = fresh().await {
                        let store = chibo_store_contract::Fixture::store(&fixture);
                        chibo_store_contract::clauses::$clause(store).await;
                    }
                }
            )*
        };
    }

    chibo_store_contract::with_clauses!(clauses;);
}
