//! The command line, as close to the flags as possible; commands resolve it further.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand};

/// chibo: an immutable, hash-chained record of party cells' work, served over gRPC.
#[derive(Debug, Parser)]
#[command(name = "chibo", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server, on the embedded store or on a KurrentDB cluster (--store).
    Serve(ServeArgs),
    /// Submit one event, or a batch to one stream, from JSON; prints the receipts.
    Submit(SubmitArgs),
    /// Read a stream, or the global order, as JSON lines.
    Read(ReadArgs),
    /// Verify a data directory offline: every hash chain and payload digest, and the Merkle log
    /// against the signed checkpoints recorded in it (and, with --state, against the checkpoint
    /// you accepted before). Exits 1 if anything is broken, 2 if the inputs cannot be read.
    Verify(VerifyArgs),
    /// Standings of a member, a cell or a committee for a year, from a running server; with
    /// --why FIGURE, the events one figure was computed from.
    Standings(StandingsArgs),
    /// Audit trails, bundles for inspectors, and their offline verification.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Evaluate an organization's year through a classification rule set; prints the report's
    /// digest, the rule set and the log size it covers.
    Evaluate(EvaluateArgs),
    /// Build a demo province over gRPC: Thái Bình's committees, cells and members, and a year
    /// of their meetings, study points and model-cell programmes. The same seed writes the same
    /// events, so running it again records nothing new.
    Demo(DemoArgs),
    /// Credentials: issue, list and revoke tokens and client certificates (admin only).
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Issue a credential and record it in the log. A token is printed once, on stdout, and
    /// never stored: only its digest is recorded. With --certificate, the client certificate
    /// itself becomes the credential and nothing secret is printed.
    Issue(KeysIssueArgs),
    /// Every credential ever issued, and whether it is revoked.
    List(KeysListArgs),
    /// Revoke a credential: it stops working at once, open streams included.
    Revoke(KeysRevokeArgs),
    /// Print a fresh random token without contacting a server: for CHIBO_INIT_ADMIN_TOKEN.
    NewToken,
}

#[derive(Debug, Args)]
pub struct KeysIssueArgs {
    #[command(flatten)]
    pub server: ServerArg,
    /// The credential's id, to revoke it by (letters, digits, `-`).
    #[arg(long)]
    pub id: String,
    /// Who holds it: written into the envelope of every event submitted with it.
    #[arg(long)]
    pub principal: String,
    /// What it may do.
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// The organization whose subtree it acts on (a committee's or a cell's id); without it,
    /// the whole tree. Not for --role member.
    #[arg(long, value_name = "ORG")]
    pub scope: Option<String>,
    /// The member a --role member credential belongs to.
    #[arg(long, value_name = "MEMBER")]
    pub member: Option<String>,
    /// Issue this client certificate (a PEM file; its first certificate) instead of a token.
    #[arg(long, value_name = "FILE")]
    pub certificate: Option<PathBuf>,
    /// Print the answer as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct KeysListArgs {
    #[command(flatten)]
    pub server: ServerArg,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct KeysRevokeArgs {
    #[command(flatten)]
    pub server: ServerArg,
    /// The credential's id.
    pub id: String,
    /// Why, recorded with the revocation.
    #[arg(long)]
    pub reason: String,
}

/// A credential's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    /// Records the events of the cells in its scope.
    Recorder,
    /// A committee: scores, inspects and certifies the cells in its scope.
    Committee,
    /// Reads and audits its scope; writes nothing.
    Inspector,
    /// Reads their own record.
    Member,
    /// Everything, including credentials.
    Admin,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Write an audit bundle of a cell or a committee for a period: its events, each with an
    /// inclusion proof in a checkpoint signed for the export, and a signed manifest.
    Export(ExportArgs),
    /// The record of a cell, a committee or a member over a period, each event with its
    /// inclusion proof, corrections beside what they correct.
    Trail(TrailArgs),
    /// Verify an audit bundle offline, with the log's key.
    ///
    /// Checks every event's hash, chain, payload and inclusion proof, the signed checkpoint and
    /// manifest, and (with --state) that the log only grew since the checkpoint you accepted
    /// last. Exits 0 when everything verifies, 1 when something does not, 2 when the inputs
    /// cannot be read.
    Verify(AuditVerifyArgs),
}

/// A period: a year, or two dates.
#[derive(Debug, Args)]
pub struct PeriodArgs {
    /// The calendar year (January 1 to December 31).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub year: Option<u16>,
    /// The first day, YYYY-MM-DD.
    #[arg(long)]
    pub from: Option<String>,
    /// The last day, YYYY-MM-DD.
    #[arg(long)]
    pub to: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub server: ServerArg,
    /// The cell or committee (its whole subtree).
    pub org: String,
    #[command(flatten)]
    pub period: PeriodArgs,
    /// The bundle file to write (standard output if absent).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// An inspector's state file: the bundle then carries the consistency proof from the
    /// checkpoint accepted there.
    #[arg(long)]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TrailArgs {
    #[command(flatten)]
    pub server: ServerArg,
    /// The cell or committee (its whole subtree).
    #[arg(required_unless_present = "member", conflicts_with = "member")]
    pub org: Option<String>,
    /// A member instead: the events that name them, in every cell they belonged to.
    #[arg(long)]
    pub member: Option<String>,
    #[command(flatten)]
    pub period: PeriodArgs,
    /// One JSON document per line (the gRPC messages in the protobuf JSON mapping).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StandingsArgs {
    #[command(flatten)]
    pub server: ServerArg,
    /// What to show.
    #[arg(value_enum)]
    pub of: StandingsOf,
    /// The member, cell or committee id.
    pub id: String,
    /// The year.
    #[arg(long)]
    pub year: u32,
    /// Leaderboard lines, for a committee.
    #[arg(long, default_value_t = 10)]
    pub top: u32,
    /// Explain one figure of a member's or a cell's standing instead: the events it was computed
    /// from. The figure is named as in the JSON document: `points_by_month`, `times_spoke`,
    /// `attendance_permille`, `meetings.score`, `programmes.indicator_by_month`, …
    #[arg(long, value_name = "FIGURE")]
    pub why: Option<String>,
    /// With --why: the month (1 to 12) of a figure by month.
    #[arg(long, requires = "why")]
    pub month: Option<u32>,
    /// With --why: the quarter (1 to 4) of `thematic_by_quarter`.
    #[arg(long, requires = "why")]
    pub quarter: Option<u32>,
    /// With --why: the meeting of a `meetings.*` figure.
    #[arg(long, requires = "why")]
    pub meeting: Option<String>,
    /// With --why: the programme of a `programmes.*` figure (if the cell is in more than one).
    #[arg(long, requires = "why")]
    pub programme: Option<String>,
    /// Print the JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum StandingsOf {
    Member,
    Cell,
    Committee,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub server: ServerArg,
    /// The cell or committee (its whole subtree).
    pub org: String,
    /// The year.
    #[arg(long)]
    pub year: u32,
    /// The classification rule set, `name@version` (e.g. `vn-qd366-2025@1`).
    #[arg(long, default_value = "vn-qd366-2025@1")]
    pub rule_set: String,
    /// Evaluate only the first N events of the log: reproduces a report that names log size N.
    #[arg(long, value_name = "N")]
    pub log_size: Option<u64>,
    /// Write the canonical report bytes to this file (its SHA-256 with the tag is the digest).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the report as JSON (the canonical bytes) instead of a summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The data directory (created if absent).
    #[arg(long, default_value = "./chibo-data", env = "CHIBO_DATA")]
    pub data: PathBuf,
    /// Where the log is kept: omitted, the embedded store in --data; `esdb://…` or
    /// `esdb+discover://…`, a KurrentDB cluster (ops/kurrentdb/RUNBOOK.md), and --data keeps only
    /// what this server rebuilds from it and its checkpoint key state.
    #[arg(long, env = "CHIBO_STORE", hide_env_values = true)]
    pub store: Option<String>,
    /// The log's name on a KurrentDB cluster: its streams are NAME/cell-…, NAME/org-…; logs of
    /// other names on the same cluster are not seen.
    #[arg(long, default_value = chibo_store_esdb::DEFAULT_LOG, env = "CHIBO_STORE_LOG")]
    pub store_log: String,
    /// Where to serve gRPC. An address other machines can reach needs TLS (--tls-cert and
    /// --tls-key); plaintext is served on loopback addresses only.
    #[arg(long, default_value = "127.0.0.1:50051", env = "CHIBO_LISTEN")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub tls: ServeTlsArgs,
    /// Where to serve Prometheus metrics (`/metrics`, plain HTTP, loopback addresses only); `off`
    /// to not serve them.
    #[arg(long, default_value = "127.0.0.1:9464", env = "CHIBO_METRICS")]
    pub metrics: String,
    /// Where to serve the inspection dashboard (read-only web pages, plain HTTP, loopback
    /// addresses only: reach it from elsewhere through a TLS reverse proxy or an SSH tunnel);
    /// `off` to not serve it.
    #[arg(long, default_value = "127.0.0.1:8080", env = "CHIBO_WEB")]
    pub web: String,
    /// Seconds to let in-flight requests finish after SIGINT or SIGTERM.
    #[arg(long, default_value_t = 10)]
    pub shutdown_grace: u64,
    #[command(flatten)]
    pub rules: RulesArgs,
    #[command(flatten)]
    pub checkpoints: CheckpointArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// What one principal, and one connection, may take of the server.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Requests per second one principal may make, on average (0: no limit). Over it, a call is
    /// refused with RESOURCE_EXHAUSTED naming the limit.
    #[arg(long, default_value_t = 1_000, env = "CHIBO_RATE_LIMIT")]
    pub rate_limit: u32,
    /// How many requests one principal may make at once above --rate-limit.
    #[arg(long, default_value_t = 2_000, env = "CHIBO_RATE_BURST")]
    pub rate_burst: u32,
    /// Streams (reads, subscriptions, trails, exports) one principal may have open at once (0: no
    /// limit).
    #[arg(long, default_value_t = 32, env = "CHIBO_MAX_STREAMS")]
    pub max_streams: u32,
    /// Seconds a connection may go without a byte either way before it is closed (0: never).
    /// Clients that wait longer on a quiet subscription send HTTP/2 keepalive pings.
    #[arg(long, default_value_t = 300, env = "CHIBO_IDLE_TIMEOUT")]
    pub idle_timeout: u64,
}

/// TLS for the gRPC listener.
#[derive(Debug, Args)]
pub struct ServeTlsArgs {
    /// Serve gRPC over TLS with this certificate: a PEM file, the server's certificate first,
    /// then any intermediate CA certificates. Needs --tls-key.
    #[arg(long, value_name = "FILE", env = "CHIBO_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert: a PEM file (`PRIVATE KEY`, `RSA PRIVATE KEY` or
    /// `EC PRIVATE KEY`). Keep it readable by the server's user only.
    #[arg(long, value_name = "FILE", env = "CHIBO_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Ask clients for a certificate and accept only certificates issued by a CA in this PEM file
    /// (mutual TLS). A client may still connect without a certificate (to authenticate
    /// otherwise). Needs --tls-cert.
    #[arg(long, value_name = "FILE", env = "CHIBO_CLIENT_CA", requires = "tls_cert")]
    pub client_ca: Option<PathBuf>,
}

/// How the server signs checkpoints of its Merkle log.
#[derive(Debug, Args)]
pub struct CheckpointArgs {
    /// The log's origin: the first line of every checkpoint, and the signing key's name
    /// (e.g. `chibo.thaibinh.example/2026`).
    #[arg(long, default_value = "chibo.localhost/log", env = "CHIBO_ORIGIN")]
    pub origin: String,
    /// The checkpoint signing key (created owner-only on first start). Default:
    /// DATA/keys/checkpoint.key.
    #[arg(long, env = "CHIBO_CHECKPOINT_KEY")]
    pub checkpoint_key: Option<PathBuf>,
    /// Sign a checkpoint after this many new events...
    #[arg(long, default_value_t = 10_000, env = "CHIBO_CHECKPOINT_EVENTS")]
    pub checkpoint_events: u64,
    /// ...or after this many seconds with any new event.
    #[arg(long, default_value_t = 60, env = "CHIBO_CHECKPOINT_SECONDS")]
    pub checkpoint_seconds: u64,
    /// Servers sharing one log (on KurrentDB) take turns signing its checkpoints, all with the
    /// same key: the signer's turn lasts this long unless renewed (it renews every third of
    /// it), so another server signs about this long after the signer stops.
    #[arg(long, default_value_t = 15, env = "CHIBO_SIGNER_LEASE_SECONDS")]
    pub signer_lease_seconds: u64,
}

/// The rule sets and limits the server checks submissions with.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// A directory of rule-set files (`*.json`) that replace or add to the shipped defaults.
    #[arg(long, env = "CHIBO_RULES")]
    pub rules: Option<PathBuf>,
    /// The most study points one member may earn in one day.
    #[arg(long, default_value_t = 200, env = "CHIBO_DAILY_POINTS_CAP")]
    pub daily_points_cap: u32,
}

/// The server a command talks to, and how.
#[derive(Debug, Clone, Args)]
pub struct ServerArg {
    /// The chibo server: `https://HOST:PORT` for TLS, `http://HOST:PORT` for plaintext (which a
    /// server offers on loopback addresses only).
    #[arg(long, default_value = "http://127.0.0.1:50051", env = "CHIBO_SERVER")]
    pub server: String,
    /// Trust the CA certificates in this PEM file, instead of the system's, to verify an https://
    /// server.
    #[arg(long, value_name = "FILE", env = "CHIBO_CA")]
    pub ca: Option<PathBuf>,
    /// Present this client certificate (a PEM file, the certificate first, then any
    /// intermediates) to an https:// server that asks for one (mutual TLS). Needs --key.
    #[arg(long, value_name = "FILE", env = "CHIBO_CERT", requires = "key")]
    pub cert: Option<PathBuf>,
    /// The private key of --cert (a PEM file).
    #[arg(long, value_name = "FILE", env = "CHIBO_KEY", requires = "cert")]
    pub key: Option<PathBuf>,
    /// The bearer token to call with (`chibo_…`, as `chibo keys issue` printed it). Prefer the
    /// environment variable: a flag shows in the process list. Without a token, the client
    /// certificate (--cert) must be issued as a credential.
    #[arg(long, value_name = "TOKEN", env = "CHIBO_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub server: ServerArg,
    /// The stream: `cell-{id}` or `org-{id}`.
    #[arg(long)]
    pub stream: String,
    /// What the stream must look like: `any`, `no-stream`, or the revision of its last event.
    #[arg(long, default_value = "any")]
    pub expected: String,
    /// A JSON file holding one submission (an object) or a batch (an array); `-` for stdin.
    /// Each is an `EventSubmission` in the protobuf JSON mapping, e.g.
    /// {"eventId": "…uuid…", "occurredAt": "2026-01-05T08:00:00Z", "event": {"meetingHeld": {…}}}.
    #[arg(default_value = "-")]
    pub file: String,
}

#[derive(Debug, Args)]
pub struct ReadArgs {
    #[command(flatten)]
    pub server: ServerArg,
    /// Read this stream; without it, read the global order.
    #[arg(long)]
    pub stream: Option<String>,
    /// With --stream: the first revision to read.
    #[arg(long, default_value_t = 0, requires = "stream")]
    pub from: u64,
    /// Without --stream: read after this global position (exclusive).
    #[arg(long, conflicts_with = "stream")]
    pub after: Option<u64>,
    /// Read at most this many events (0: no limit).
    #[arg(long, default_value_t = 0)]
    pub limit: u64,
    /// Without --stream: keep following new events as they commit.
    #[arg(long, conflicts_with_all = ["stream", "limit"])]
    pub follow: bool,
    /// Print the stored bytes (base64) instead of decoded JSON.
    #[arg(long)]
    pub raw: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The data directory to verify.
    #[arg(long, default_value = "./chibo-data", env = "CHIBO_DATA")]
    pub data: PathBuf,
    /// The log's checkpoint verifier key (`name+keyid+base64`), or a file holding it, pinned from
    /// a channel you trust. Default: DATA/keys/checkpoint.pub, which comes from the directory
    /// under check and so shows only that the log agrees with its own checkpoints.
    #[arg(long, value_name = "PUBKEY")]
    pub key: Option<String>,
    /// Your state file: the last checkpoint you accepted for this log. A log or a latest
    /// checkpoint smaller than it is a rollback, another root at its size a fork. Replaced by
    /// the latest checkpoint only when everything verifies and it is newer; created on first use.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AuditVerifyArgs {
    /// The bundle (a `chibo-bundle-v1` JSON file).
    pub bundle: PathBuf,
    /// The log's verifier key (`name+keyid+base64`), or a file holding it. Pin it from a
    /// channel you trust; never take it from the bundle or the server you are checking.
    #[arg(long)]
    pub key: String,
    /// Your state file: the last checkpoint you accepted for this log. A bundle of an older
    /// (rollback) or rewritten (fork) log is refused. When everything verifies, a newer
    /// checkpoint replaces it; a file that does not exist yet is created (trust on first use).
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub server: ServerArg,
    /// The seed: the same seed (with the same --cells and --year) gives the same events.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How many cells (chi bộ) the province has.
    #[arg(long, default_value_t = 150, value_parser = clap::value_parser!(u32).range(1..=2000))]
    pub cells: u32,
    /// The year of cell life to record; it must be over. Default: the last complete year.
    #[arg(long)]
    pub year: Option<i32>,
}
