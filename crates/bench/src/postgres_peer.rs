//! The alternative a user would pick: PostgreSQL, an `events` table whose hash chain is kept
//! by a `BEFORE INSERT` trigger with pgcrypto — each row's revision and previous hash looked up
//! from its stream's last row, its hash `digest(prev_hash || envelope || salt || payload,
//! 'sha256')` — fed the same rows in the same transactions (one per request, all rows of a
//! request in one `INSERT … SELECT FROM unnest(…)`), by as many connections as `load` has
//! clients, each sending one stream at a time, with `synchronous_commit = on` (every commit
//! waits for its WAL flush). After the run, untimed, every stream's chain as stored is checked
//! against the same chain computed here.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{bail, Context};
use chibo_integrity::Hash;
use chibo_proto::v1 as pb;
use futures::future::BoxFuture;
use sha2::{Digest, Sha256};
use tokio_postgres::{Client, NoTls};

use crate::{
    cli::PostgresPeerArgs,
    figure, rows,
    schedule::{self, Sender},
    workload::Workload,
};

const TABLE: &str = "chibo_bench_events";

/// The schema: the embedded store's columns (the position a sequence, revision and hashes the
/// trigger's), its unique indexes, and the chain trigger. `{genesis_tag}` is the hash spec's
/// genesis tag in hex: a stream's first row chains from `SHA-256(tag || stream)`, as in chibo.
fn schema(genesis_tag: &str) -> String {
    format!(
        "
DROP TABLE IF EXISTS {TABLE};
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE TABLE {TABLE} (
    position  bigserial PRIMARY KEY,
    stream    text   NOT NULL,
    revision  bigint NOT NULL,
    event_id  bytea  NOT NULL,
    envelope  bytea  NOT NULL,
    payload   bytea  NOT NULL,
    salt      bytea  NOT NULL,
    prev_hash bytea  NOT NULL,
    hash      bytea  NOT NULL
);
CREATE UNIQUE INDEX {TABLE}_by_stream ON {TABLE} (stream, revision);
CREATE UNIQUE INDEX {TABLE}_by_id ON {TABLE} (event_id);
CREATE OR REPLACE FUNCTION {TABLE}_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_revision bigint;
    last_hash bytea;
BEGIN
    SELECT revision, hash INTO last_revision, last_hash
        FROM {TABLE} WHERE stream = NEW.stream ORDER BY revision DESC LIMIT 1;
    IF last_hash IS NULL THEN
        NEW.revision := 0;
        NEW.prev_hash := digest(decode('{genesis_tag}', 'hex') || convert_to(NEW.stream, 'UTF8'), 'sha256');
    ELSE
        NEW.revision := last_revision + 1;
        NEW.prev_hash := last_hash;
    END IF;
    NEW.hash := digest(NEW.prev_hash || NEW.envelope || NEW.salt || NEW.payload, 'sha256');
    RETURN NEW;
END $$;
CREATE TRIGGER {TABLE}_chain BEFORE INSERT ON {TABLE} FOR EACH ROW EXECUTE FUNCTION {TABLE}_chain();
"
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The chain the trigger must store for a stream's rows, in order: each row's hash.
fn expected_chain<'a>(stream: &str, rows: impl IntoIterator<Item = &'a rows::Row>) -> Vec<Hash> {
    let mut prev = chibo_integrity::genesis(stream);
    rows.into_iter()
        .map(|row| {
            let hash: Hash = Sha256::new()
                .chain_update(prev)
                .chain_update(&row.envelope)
                .chain_update(row.salt)
                .chain_update(&row.payload)
                .finalize()
                .into();
            prev = hash;
            hash
        })
        .collect()
}

/// One connection; its requests' rows, made beforehand, looked up by the first event's id.
struct Connection {
    client: Client,
    rows: Arc<HashMap<String, Vec<rows::Row>>>,
}

impl Connection {
    async fn insert(&mut self, request: &[pb::EventSubmission]) -> anyhow::Result<()> {
        let first = request.first().context("an empty request")?;
        let rows = self.rows.get(&first.event_id).context("a request with no rows made for it")?;
        let streams: Vec<&str> = rows.iter().map(|r| r.stream.as_str()).collect();
        let ids: Vec<&[u8]> = rows.iter().map(|r| &r.event_id[..]).collect();
        let envelopes: Vec<&[u8]> = rows.iter().map(|r| r.envelope.as_slice()).collect();
        let payloads: Vec<&[u8]> = rows.iter().map(|r| r.payload.as_slice()).collect();
        let salts: Vec<&[u8]> = rows.iter().map(|r| &r.salt[..]).collect();
        let tx = self.client.transaction().await?;
        tx.execute(
            &format!(
                "INSERT INTO {TABLE} (stream, event_id, envelope, payload, salt, revision, prev_hash, hash)
                 SELECT s, i, e, p, x, 0, '', '' FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::bytea[], $5::bytea[])
                     AS r(s, i, e, p, x)"
            ),
            &[&streams, &ids, &envelopes, &payloads, &salts],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Sender for Connection {
    fn send<'a>(
        &'a mut self,
        _stream: &'a str,
        request: &'a [pb::EventSubmission],
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move { self.insert(request).await.context("PostgreSQL refused the insert") })
    }
}

async fn connect(pg: &str) -> anyhow::Result<Client> {
    let (client, connection) =
        tokio_postgres::connect(pg, NoTls).await.with_context(|| format!("--pg {pg:?}: cannot connect"))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("chibo-bench: a PostgreSQL connection ended: {e}");
        }
    });
    client.batch_execute("SET synchronous_commit = on").await.context("setting synchronous_commit")?;
    Ok(client)
}

async fn setting(client: &Client, name: &str) -> anyhow::Result<String> {
    let row = client.query_one(&format!("SHOW {name}"), &[]).await.with_context(|| format!("SHOW {name}"))?;
    Ok(row.get(0))
}

pub async fn run(args: PostgresPeerArgs) -> anyhow::Result<()> {
    let PostgresPeerArgs { pg, clients, workload } = args;
    if clients == 0 {
        bail!("--clients: must be at least 1");
    }
    let workload = Arc::new(Workload::build(&workload)?);
    let transactions = rows::transactions(&workload)?;
    let setup = connect(&pg).await?;
    for (name, wanted) in [("fsync", "on"), ("synchronous_commit", "on")] {
        let value = setting(&setup, name).await?;
        if value != wanted {
            bail!("PostgreSQL has {name} = {value}: the peer must be as durable as chibo ({name} = {wanted})");
        }
    }
    setup.batch_execute(&schema(&hex(b"chibo:genesis:v1\0"))).await.context("creating the peer's table and trigger")?;

    let mut by_request = HashMap::with_capacity(transactions.len());
    let mut ids = workload.requests().map(|(_, r)| r.first().map(|e| e.event_id.clone()));
    for rows in &transactions {
        if let Some(Some(id)) = ids.next() {
            by_request.insert(id, rows.clone());
        }
    }
    let by_request = Arc::new(by_request);
    let mut senders = Vec::with_capacity(clients);
    for _ in 0..clients {
        senders.push(Connection { client: connect(&pg).await?, rows: by_request.clone() });
    }
    let (_, elapsed) = schedule::run(workload.clone(), senders).await?;

    // Untimed: the chains as stored are the chains the trigger must compute.
    let mut streams: HashMap<&str, Vec<&rows::Row>> = HashMap::new();
    for row in transactions.iter().flatten() {
        streams.entry(row.stream.as_str()).or_default().push(row);
    }
    let stored = setup
        .query(&format!("SELECT stream, revision, hash FROM {TABLE} ORDER BY stream, revision"), &[])
        .await
        .context("reading the chains back")?;
    let mut got: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
    for row in &stored {
        got.entry(row.get::<_, String>(0)).or_default().push(row.get::<_, Vec<u8>>(2));
    }
    for (stream, rows) in &streams {
        let expected = expected_chain(stream, rows.iter().copied());
        let found = got.get(*stream).map(Vec::as_slice).unwrap_or_default();
        if found.len() != expected.len() || found.iter().zip(&expected).any(|(f, e)| f.as_slice() != e) {
            bail!("the trigger's chain of {stream} is not the expected one: the peer's figures would not count");
        }
    }
    let size: i64 = setup
        .query_one(&format!("SELECT pg_total_relation_size('{TABLE}')"), &[])
        .await
        .context("the table's size")?
        .get(0);

    // Nothing left for PostgreSQL to write back later, behind the benchmarks that follow on the
    // same disk: its checkpointer spreads a checkpoint's writes over minutes.
    setup
        .batch_execute(&format!("DROP TABLE {TABLE}; CHECKPOINT"))
        .await
        .context("dropping the peer's table and checkpointing, so that the next benchmark runs alone")?;

    let events = workload.events as u64;
    let what = format!("{clients} connections, trigger chain with pgcrypto, synchronous_commit=on");
    figure::rate("postgres_peer.events_per_s", events, elapsed, "events/s", &what);
    figure::rate("postgres_peer.commits_per_s", transactions.len() as u64, elapsed, "commits/s", &what);
    figure::print("postgres_peer.bytes_per_event", size as f64 / events as f64, "B", "table and indexes");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(stream: &str, envelope: &[u8]) -> rows::Row {
        rows::Row {
            position: 0,
            stream: stream.to_owned(),
            revision: 0,
            event_id: [1; 16],
            envelope: envelope.to_vec(),
            payload: b"payload".to_vec(),
            salt: [7; 16],
            hash: [0; 32],
        }
    }

    /// The first link chains from chibo's genesis, the next from the first, over the same
    /// bytes in the same order as the trigger (`prev || envelope || salt || payload`).
    #[test]
    fn the_expected_chain_is_the_triggers_formula() {
        let rows = [row("cell-a", b"one"), row("cell-a", b"two")];
        let chain = expected_chain("cell-a", &rows);
        let link = |prev: &[u8], envelope: &[u8]| -> Hash {
            let mut bytes = prev.to_vec();
            bytes.extend_from_slice(envelope);
            bytes.extend_from_slice(&[7; 16]);
            bytes.extend_from_slice(b"payload");
            Sha256::digest(&bytes).into()
        };
        let genesis: Hash = Sha256::digest(b"chibo:genesis:v1\0cell-a").into();
        assert_eq!(chain[0], link(&genesis, b"one"));
        assert_eq!(chain[1], link(&chain[0], b"two"));
    }

    #[test]
    fn the_trigger_names_chibos_genesis_tag() {
        let sql = schema(&hex(b"chibo:genesis:v1\0"));
        assert!(sql.contains("decode('636869626f3a67656e657369733a763100', 'hex')"), "{sql}");
        assert!(sql.contains("BEFORE INSERT"));
    }
}
