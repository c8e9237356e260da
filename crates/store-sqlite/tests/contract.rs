//! The store contract suite on the embedded backend, each clause on a fresh data directory:
//! once with the store's defaults, and once with its event ids merged into their table after
//! every commit, so that every clause also runs against ids found in the table.

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

fn open(options: Options) -> Fresh {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path(), options).unwrap());
    Fresh { store, _dir: dir }
}

async fn fresh() -> Fresh {
    open(Options::default())
}

chibo_store_contract::contract_tests!(fresh);

mod ids_merged_at_every_commit {
    use super::*;

    async fn fresh() -> Fresh {
        open(Options { merge_ids_at_least: 1, ..Options::default() })
    }

    chibo_store_contract::contract_tests!(fresh);
}
