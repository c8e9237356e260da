//! The store contract suite on the embedded backend, each clause on a fresh data directory.

use std::sync::Arc;

use chibo_store::EventStore;
use chibo_store_sqlite::{Options, SqliteStore};

struct Fresh {
    store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
}

impl chibo_store_contract::Fixture for Fresh {
    fn store(&self) -> Arc<dyn EventStore> {
        self.store.clone()
    }
}

async fn fresh() -> Fresh {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path(), Options::default()).unwrap());
    Fresh { store, _dir: dir }
}

chibo_store_contract::contract_tests!(fresh);
