//! The command line: one subcommand per benchmark.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// chibo's benchmarks: ingest over gRPC and its peers, verification, proofs, rebuild,
/// evaluation and bundles. Figures go to stdout, one per line.
#[derive(Debug, Parser)]
#[command(name = "chibo-bench", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Drive a running `chibo serve` (fresh data directory, `--rate-limit 0`) with the demo
    /// province's events: throughput and p50 / p99 / p99.9 latency per request.
    Load(LoadArgs),
    /// The ceiling: raw SQLite inserting the same rows in the same transactions, with the
    /// embedded store's schema and settings (WAL, synchronous=FULL), in-process.
    SqlitePeer(SqlitePeerArgs),
    /// The alternative: PostgreSQL with a hash chain kept by a trigger (pgcrypto), the same
    /// rows in the same transactions, synchronous_commit=on.
    PostgresPeer(PostgresPeerArgs),
    /// The hash bound: single-core SHA-256 over exactly the messages `verify` hashes.
    Hash(DataArgs),
    /// Full verification of a data directory (every chain and payload digest, the Merkle tree
    /// against every checkpoint), as `chibo verify` does it, and its ratio to `hash`.
    Verify(DataArgs),
    /// Merkle proofs at growing tree sizes: inclusion and consistency, generated from the
    /// server's tree files and verified.
    Merkle(MerkleArgs),
    /// Projection rebuild from the embedded store, and the state's memory per member.
    Rebuild(DataArgs),
    /// The annual evaluation of the demo province (or another organization) from a rebuilt state.
    Evaluate(EvaluateArgs),
    /// Offline verification of an audit bundle (`chibo audit export`).
    Bundle(BundleArgs),
}

/// Which events and how many: a prefix of the demo province's plan.
#[derive(Debug, Clone, Args)]
pub struct WorkloadArgs {
    /// How many events (the plan's first N; the province has as many cells as that needs).
    #[arg(long, default_value_t = 100_000)]
    pub events: usize,
    /// The demo's seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Events per request (batched) or per transaction (peers); at most a plan batch (2,000),
    /// as a request never spans two streams.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// One `Submit` per event.
    Unary,
    /// One `SubmitBatch` per `--batch` events of a stream.
    Batched,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The server's gRPC address.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    pub addr: String,
    /// An admin's token: it registers the tree and issues the committee credential the rest is
    /// written with.
    #[arg(long, env = "CHIBO_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Concurrent clients, each on its own connection, each sending one stream at a time.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    #[arg(long, value_enum, default_value_t = Mode::Batched)]
    pub mode: Mode,
    #[command(flatten)]
    pub workload: WorkloadArgs,
}

#[derive(Debug, Args)]
pub struct SqlitePeerArgs {
    /// Where to create the peer's throwaway database (the same file system as the server's
    /// data, for the same fsync).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub workload: WorkloadArgs,
}

#[derive(Debug, Args)]
pub struct PostgresPeerArgs {
    /// A libpq-style connection string.
    #[arg(long, default_value = "host=127.0.0.1 port=5432 user=postgres dbname=postgres")]
    pub pg: String,
    /// Concurrent connections, each sending one stream at a time (as `load`'s clients).
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    #[command(flatten)]
    pub workload: WorkloadArgs,
}

#[derive(Debug, Args)]
pub struct DataArgs {
    /// A chibo data directory (for `rebuild`: with no server running on it).
    #[arg(long)]
    pub data: PathBuf,
}

#[derive(Debug, Args)]
pub struct MerkleArgs {
    /// A chibo data directory with no server running on it (its `merkle/` tree is read).
    #[arg(long)]
    pub data: PathBuf,
    /// Proofs generated and verified at each size.
    #[arg(long, default_value_t = 2_000)]
    pub proofs: usize,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// A chibo data directory with no server running on it.
    #[arg(long)]
    pub data: PathBuf,
    /// The organization evaluated; default: the demo's province.
    #[arg(long)]
    pub org: Option<String>,
    /// The year; default: the last complete year, as the demo builds.
    #[arg(long)]
    pub year: Option<u16>,
    /// The classification rule set, `name@version`.
    #[arg(long, default_value = "vn-qd366-2025@1")]
    pub rule_set: String,
    /// Evaluations timed.
    #[arg(long, default_value_t = 5)]
    pub iterations: usize,
}

#[derive(Debug, Args)]
pub struct BundleArgs {
    /// A bundle written by `chibo audit export`.
    #[arg(long)]
    pub file: PathBuf,
    /// The log's public key file (`DATA/keys/checkpoint.pub`).
    #[arg(long)]
    pub key: PathBuf,
    /// Verifications timed.
    #[arg(long, default_value_t = 3)]
    pub iterations: usize,
}
