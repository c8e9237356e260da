//! `chibo-bench`: chibo's benchmark suite (docs/BENCHMARKS.md). Each subcommand measures one
//! thing with wall-clock time over enough work to be steady and prints its figures, one per
//! line, as `figure<TAB>key<TAB>value<TAB>unit<TAB>what`, with the ratio to its peer where
//! there is one; `bench/run.sh` runs them all and makes the table.
//!
//! Nothing here changes the product: the load generator drives a running `chibo serve` over
//! gRPC with the demo province's events, and the offline benchmarks read a data directory the
//! way `chibo verify` and the server do.

mod bundle;
mod cli;
mod evaluate;
mod figure;
mod hash;
mod latency;
mod load;
mod memory;
mod merkle;
mod postgres_peer;
mod rebuild;
mod rows;
mod schedule;
mod sqlite_peer;
mod verify;
mod workload;

use std::process::ExitCode;

use clap::Parser;

/// Counts live heap bytes, for the state's memory per member.
#[global_allocator]
static ALLOCATOR: memory::Counting = memory::Counting;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("chibo-bench: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            cli::Command::Load(args) => load::run(args).await,
            cli::Command::SqlitePeer(args) => sqlite_peer::run(args),
            cli::Command::PostgresPeer(args) => postgres_peer::run(args).await,
            cli::Command::Hash(args) => hash::run(args),
            cli::Command::Verify(args) => verify::run(args),
            cli::Command::Merkle(args) => merkle::run(args),
            cli::Command::Rebuild(args) => rebuild::run(args).await,
            cli::Command::Evaluate(args) => evaluate::run(args).await,
            cli::Command::Bundle(args) => bundle::run(args),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chibo-bench: {e:#}");
            ExitCode::from(2)
        }
    }
}
