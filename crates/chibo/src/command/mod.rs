//! One file per command, dispatched here.

mod audit;
mod demo;
mod export;
mod keys;
mod read;
mod reports;
mod serve;
mod submit;
mod trail;
mod verify;

use std::process::ExitCode;

use chibo_proto::v1::{self as pb, ledger_client::LedgerClient};
use tonic::service::interceptor::InterceptedService;

use crate::cli::{AuditCommand, Cli, Command, KeysCommand, PeriodArgs, ServerArg};
use crate::endpoint::{Bearer, Connection};

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Submit(args) => submit::run(args).await,
        Command::Read(args) => read::run(args).await,
        Command::Verify(args) => verify::run(args),
        Command::Standings(args) => reports::standings(args).await,
        Command::Audit(AuditCommand::Export(args)) => export::run(args).await,
        Command::Audit(AuditCommand::Trail(args)) => trail::run(args).await,
        Command::Audit(AuditCommand::Verify(args)) => audit::verify(args),
        Command::Evaluate(args) => reports::evaluate(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Keys(KeysCommand::Issue(args)) => keys::issue(args).await,
        Command::Keys(KeysCommand::List(args)) => keys::list(args).await,
        Command::Keys(KeysCommand::Revoke(args)) => keys::revoke(args).await,
        Command::Keys(KeysCommand::NewToken) => keys::new_token(),
    }
}

impl PeriodArgs {
    /// `(from, to)` as the Audit service takes them: a year's first and last days, or the dates
    /// given (empty when absent).
    fn bounds(&self) -> (String, String) {
        match self.year {
            Some(year) => (format!("{year:04}-01-01"), format!("{year:04}-12-31")),
            None => (self.from.clone().unwrap_or_default(), self.to.clone().unwrap_or_default()),
        }
    }
}

/// A Ledger client for `--server`.
async fn connect(server: &ServerArg) -> anyhow::Result<LedgerClient<Connection>> {
    Ok(LedgerClient::new(channel(server).await?))
}

/// A connection to `--server`, over TLS for an https:// URL, calling with `--token`.
async fn channel(server: &ServerArg) -> anyhow::Result<Connection> {
    let bearer = Bearer::new(server.token.as_deref())?;
    let endpoint = crate::endpoint::resolve(server)?;
    let connected = endpoint.connect().await;
    let channel = connected
        .map_err(|e| anyhow::anyhow!("cannot reach the chibo server at {}: {}", server.server, reasons(&e)))?;
    Ok(InterceptedService::new(channel, bearer))
}

/// Appends `events` to `stream` in one `SubmitBatch`, all or nothing; the receipts in order.
async fn submit_batch(
    client: &mut LedgerClient<Connection>,
    stream: String,
    expected_revision: Option<pb::ExpectedRevision>,
    events: Vec<pb::EventSubmission>,
) -> anyhow::Result<Vec<pb::Receipt>> {
    let request = pb::SubmitBatchRequest { stream, expected_revision, events };
    Ok(client.submit_batch(request).await.map_err(refused)?.into_inner().receipts)
}

/// Writes `text` to stdout. A closed stdout (`chibo … | head`) is an error to return, which
/// `main` turns into a quiet exit, never a panic.
fn emit(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// Whether `error` is stdout closed by its reader: the reader has what it wanted.
pub fn is_closed_stdout(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
}

/// Turns a refusal by the server into an error that says what the server said. A status with a
/// source was made on this side, from a connection that failed (a TLS alert from the server, a
/// reset): the error says so, with the reasons down the chain.
fn refused(status: tonic::Status) -> anyhow::Error {
    use std::error::Error;
    match status.source() {
        None if status.code() == tonic::Code::Unauthenticated => anyhow::anyhow!(
            "the server refused: {:?}: {}\n(call with a credential: CHIBO_TOKEN=… or --token, as `chibo serve` printed \
             it on first start or `chibo keys issue` did; or a client certificate issued as one)",
            status.code(),
            status.message()
        ),
        None => anyhow::anyhow!("the server refused: {:?}: {}", status.code(), status.message()),
        Some(source) => {
            anyhow::anyhow!("the connection to the server failed: {}: {}", status.message(), reasons(source))
        }
    }
}

/// An error and its sources on one line, each reason once: tonic and rustls errors repeat their
/// source's text in their own.
fn reasons(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let reason = e.to_string();
        if !line.contains(&reason) {
            line = format!("{line}: {reason}");
        }
        source = e.source();
    }
    line
}
