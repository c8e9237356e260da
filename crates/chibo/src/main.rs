//! The `chibo` command: parse the command line, then hand over to the command.

mod accepted;
mod cli;
mod command;
mod endpoint;
mod json;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // tonic's TLS client takes rustls's process-wide crypto provider, which rustls picks by
    // itself only while a single one is compiled in: name it (the one the server's TLS names,
    // `chibo_server::tls::provider`). Except for a server on KurrentDB: the `eventstore` client
    // installs its own (aws-lc-rs) as the process-wide one, and panics if one is there already;
    // the server itself names its provider and makes no TLS client of its own.
    let on_kurrentdb = matches!(&cli.command, cli::Command::Serve(args) if args.store.is_some());
    if !on_kurrentdb {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CHIBO_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("chibo: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(command::run(cli)) {
        Ok(code) => code,
        Err(e) if command::is_closed_stdout(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chibo: {e:#}");
            ExitCode::from(2)
        }
    }
}
