//! `chibo serve`: the server on the embedded store or a KurrentDB cluster, until SIGINT or
//! SIGTERM.

use std::{path::Path, process::ExitCode, sync::Arc, time::Duration};

use anyhow::{bail, Context};
use chibo_projections::engine::{self, SnapshotPolicy, Snapshots};
use chibo_projections::validate::Limits;
use chibo_projections::{rules::RuleBook, State};
use chibo_server::{tls::ServerTls, Domain, Listeners, Metrics};
use chibo_store::EventStore;
use chibo_store_sqlite::{Options, SqliteStore};
use tokio::net::TcpListener;

use crate::cli::{CheckpointArgs, LimitArgs, RulesArgs, ServeArgs, ServeTlsArgs};

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let ServeArgs {
        data,
        store: store_url,
        store_log,
        listen,
        tls,
        metrics: metrics_addr,
        web: web_addr,
        shutdown_grace,
        rules,
        checkpoints,
        limits,
    } = args;
    let limits = server_limits(&limits);
    let grpc_tls = server_tls(&tls)?;
    if grpc_tls.is_none() && !chibo_server::is_loopback(&listen) {
        bail!(
            "refusing to serve on {listen} without TLS: anyone on the network could read and forge \
             requests. Add --tls-cert FILE and --tls-key FILE (and --client-ca FILE to accept client \
             certificates), or listen on a loopback address (127.0.0.1, [::1])"
        );
    }
    let metrics_addr: Option<std::net::SocketAddr> = match metrics_addr.as_str() {
        "off" => None,
        addr => {
            let addr = addr.parse().with_context(|| format!("--metrics {addr:?} is neither an address nor `off`"))?;
            if !chibo_server::is_loopback(&addr) {
                bail!("refusing to serve metrics on {addr}: only loopback addresses are allowed");
            }
            Some(addr)
        }
    };
    // The dashboard serves plain HTTP: its session cookies and pages must not cross a network
    // in the clear, so it stays on loopback whatever the gRPC listener does, and is reached from
    // elsewhere through a TLS reverse proxy or a tunnel on this machine.
    let web_addr = loopback_or_off("--web", "the inspection dashboard", &web_addr)?;

    let metrics = Arc::new(Metrics::new());
    let (store, _data_lock) = open_store(store_url.as_deref(), &store_log, &data, metrics.clone()).await?;
    let store_shown = match &store_url {
        None => String::new(),
        Some(_) => format!(" store=kurrentdb log={store_log}"),
    };
    let rules = load_rules(&rules)?;

    // The state the rules check against, kept by the projection engine from the log; the engine
    // stops (and writes its last snapshot) after the server has drained.
    let (engine_stop, engine_stopped) = tokio::sync::oneshot::channel::<()>();
    let started = std::time::Instant::now();
    let (state, engine) = engine::start::<State, _>(
        store.clone(),
        Some(Snapshots::new(data.join("projections"))),
        SnapshotPolicy::default(),
        async move {
            let _ = engine_stopped.await;
        },
    )
    .await;
    let domain = Arc::new(Domain { state, rules: Arc::new(rules.book), limits: rules.limits });
    domain.caught_up(store.as_ref()).await.map_err(|s| anyhow::anyhow!("{}", s.message()))?;
    tracing::info!(events = domain.state.covered(), elapsed = ?started.elapsed(), "state caught up with the log");
    first_admin(store.as_ref(), &domain).await?;

    // The Merkle log over the global order, and the checkpoints signed from it; both stop after
    // the server has drained.
    let (tlog_stop, tlog_stopped) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut stopped = tlog_stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    let merkle_dir = data.join("merkle");
    let log = chibo_tlog::MerkleLog::open(&merkle_dir, store.as_ref())
        .await
        .with_context(|| format!("cannot open the Merkle log in {}", merkle_dir.display()))?;
    let follower = tokio::spawn(log.clone().follow(store.clone(), stopped()));
    let config = checkpoint_config(&checkpoints, &data)?;
    let key_file = config.key_file.clone();
    let (signed, signer) = chibo_tlog::checkpoints::start(config, store.clone(), log.clone(), stopped())
        .await
        .with_context(|| format!("cannot sign checkpoints with {}", key_file.display()))?;
    let audit = chibo_server::AuditService::new(store.clone(), log, signed, domain.clone());
    let grpc = TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let metrics_listener = match metrics_addr {
        Some(addr) => Some(TcpListener::bind(addr).await.with_context(|| format!("cannot serve metrics on {addr}"))?),
        None => None,
    };
    let web_listener =
        match web_addr {
            Some(addr) => Some(TcpListener::bind(addr).await.with_context(|| {
                format!("cannot serve the inspection dashboard on {addr} (--web ADDR, or --web off)")
            })?),
            None => None,
        };
    let grpc_addr = grpc.local_addr()?;
    let web_shown = match &web_listener {
        Some(l) => format!("http://{}/", l.local_addr()?),
        None => "off".to_owned(),
    };
    let metrics_shown = match &metrics_listener {
        Some(l) => format!("http://{}/metrics", l.local_addr()?),
        None => "off".to_owned(),
    };
    let tls_shown = match (&tls.tls_cert, &tls.client_ca) {
        (None, _) => "off".to_owned(),
        (Some(_), None) => "on".to_owned(),
        (Some(_), Some(ca)) => format!("on client-ca={}", ca.display()),
    };
    // Watching for SIGINT and SIGTERM before anyone is told where it serves: one sent as soon as
    // the address line is read stops the server cleanly, not by the signal's default action.
    let shutdown = shutdown_signal()?;
    // One line on stdout for people and scripts (tests read the bound ports from it).
    let announce = format!(
        "chibo serving grpc={grpc_addr} tls={tls_shown} metrics={metrics_shown} web={web_shown} data={}{store_shown}\n",
        data.display()
    );
    if let Err(e) = super::emit(&announce) {
        tracing::warn!(error = %e, "cannot write the address line to stdout; serving anyway");
    }

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(chibo_server::run_with(
        limits,
        Listeners { grpc, grpc_tls, metrics: metrics_listener, web: web_listener },
        store.clone(),
        domain.clone(),
        metrics,
        audit,
        async move {
            let _ = stop_rx.await;
        },
    ));
    let mut server = server;
    tokio::select! {
        result = &mut server => {
            result.context("the server task failed")??;
            return Ok(ExitCode::SUCCESS);
        }
        () = shutdown => {}
    }
    let _ = stop_tx.send(());
    match tokio::time::timeout(Duration::from_secs(shutdown_grace), &mut server).await {
        Ok(result) => result.context("the server task failed")??,
        Err(_) => {
            tracing::warn!(seconds = shutdown_grace, "requests still in flight after the grace period; stopping anyway")
        }
    }
    let _ = engine_stop.send(());
    if engine.await.is_err() {
        tracing::warn!("the projection engine failed while stopping");
    }
    let _ = tlog_stop.send(true);
    if signer.await.is_err() {
        tracing::warn!("the checkpoint signer failed while stopping");
    }
    match follower.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "the Merkle log stopped with an error"),
        Err(_) => tracing::warn!("the Merkle log failed while stopping"),
    }
    // Dropping the last handle to the store lets its writer finish and close the database.
    drop(domain);
    drop(store);
    Ok(ExitCode::SUCCESS)
}

/// The address of a plain-HTTP endpoint's flag: `off`, or an address on loopback.
fn loopback_or_off(flag: &str, what: &str, value: &str) -> anyhow::Result<Option<std::net::SocketAddr>> {
    if value == "off" {
        return Ok(None);
    }
    let addr: std::net::SocketAddr =
        value.parse().with_context(|| format!("{flag} {value:?} is neither an address nor `off`"))?;
    if !chibo_server::is_loopback(&addr) {
        bail!(
            "refusing to serve {what} on {addr}: it speaks plain HTTP, so only loopback addresses are allowed \
             (127.0.0.1, [::1]); reach it from other machines through a TLS reverse proxy or an SSH tunnel, \
             or turn it off with {flag} off"
        );
    }
    Ok(Some(addr))
}

/// The log's store: the embedded one in `data` (which it locks), or the KurrentDB cluster `url`
/// names, with `data` locked here, since it still holds this server's own files (projection
/// snapshots, the Merkle tree, the checkpoint key state), which one server at a time may use.
async fn open_store(
    url: Option<&str>,
    log: &str,
    data: &Path,
    metrics: Arc<Metrics>,
) -> anyhow::Result<(Arc<dyn EventStore>, Option<std::fs::File>)> {
    let Some(url) = url else {
        let store = SqliteStore::open(data, Options { observer: Some(metrics), ..Options::default() })
            .with_context(|| format!("cannot open the data directory {}", data.display()))?;
        return Ok((Arc::new(store), None));
    };
    if !(url.starts_with("esdb://") || url.starts_with("esdb+discover://")) {
        bail!("--store takes a KurrentDB connection string (esdb://… or esdb+discover://…), or is left out for the embedded store in --data");
    }
    let lock = lock_data_dir(data)?;
    let options = chibo_store_esdb::Options { log: log.to_owned(), observer: Some(metrics), ..Default::default() };
    let store = chibo_store_esdb::EsdbStore::connect_with(url, options)
        .await
        .with_context(|| format!("cannot open the log {log:?} on KurrentDB"))?;
    tracing::info!(log, "the log is on KurrentDB");
    Ok((Arc::new(store), Some(lock)))
}

/// Creates `data` (owner-only) and takes its lock, as the embedded store does.
fn lock_data_dir(data: &Path) -> anyhow::Result<std::fs::File> {
    #[cfg(unix)]
    let created = {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(data)
    };
    #[cfg(not(unix))]
    let created = std::fs::create_dir_all(data);
    created.with_context(|| format!("cannot create the data directory {}", data.display()))?;
    let path = data.join(chibo_store_sqlite::LOCK_FILE);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => {
            bail!("{} is in use by another chibo process (it holds {})", data.display(), path.display())
        }
        Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("cannot lock {}", path.display())),
    }
}

/// The environment variable that, on a log's first start, chooses the first admin's token.
const INIT_ADMIN_TOKEN: &str = "CHIBO_INIT_ADMIN_TOKEN";

/// On a log that has never had a credential, records the first admin's and shows its token
/// once, on stderr (stdout's first line is the address line scripts read). With
/// CHIBO_INIT_ADMIN_TOKEN set, that token is the admin's, and is only logged as used.
async fn first_admin(store: &dyn EventStore, domain: &Domain) -> anyhow::Result<()> {
    let chosen = match std::env::var(INIT_ADMIN_TOKEN) {
        Ok(token) => Some(token),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => bail!("{INIT_ADMIN_TOKEN} is not valid UTF-8"),
    };
    let from_env = chosen.is_some();
    let token = chibo_server::first_admin(store, domain, chosen).await.map_err(|e| match e {
        chibo_server::BootstrapError::Token(reason) => anyhow::anyhow!("{INIT_ADMIN_TOKEN}: {reason}"),
        e => anyhow::anyhow!(e),
    })?;
    let Some(token) = token else { return Ok(()) };
    let admin = chibo_server::FIRST_ADMIN;
    if from_env {
        tracing::info!(principal = admin, "recorded the first admin credential, with the token in {INIT_ADMIN_TOKEN}");
        return Ok(());
    }
    eprintln!(
        "chibo: this log had no credentials, so it now has one: {admin:?}, the admin of the whole tree, with \
         this token, shown only now; keep it secret:\n\n    {token}\n\nchibo: call with it as CHIBO_TOKEN=… (or \
         --token), and issue narrower credentials with `chibo keys issue`."
    );
    Ok(())
}

/// Starts watching for SIGINT and SIGTERM (Ctrl-C elsewhere) at once; the future ends at the
/// first one.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = term.recv() => {}
        }
    })
}

/// Starts watching for Ctrl-C at once; the future ends when it comes.
#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    let ctrl_c = tokio::signal::windows::ctrl_c().context("cannot watch Ctrl-C")?;
    Ok(async move {
        let mut ctrl_c = ctrl_c;
        ctrl_c.recv().await;
    })
}

/// The gRPC listener's TLS, resolved from its flags: the files read and checked now, so that a
/// bad one stops the server before it opens anything.
fn server_tls(args: &ServeTlsArgs) -> anyhow::Result<Option<ServerTls>> {
    let ServeTlsArgs { tls_cert, tls_key, client_ca } = args;
    let (Some(cert), Some(key)) = (tls_cert, tls_key) else {
        // clap lets neither or both through.
        return Ok(None);
    };
    let tls = ServerTls::from_files(cert, key, client_ca.as_deref()).context("cannot serve TLS")?;
    Ok(Some(tls))
}

/// The limits, resolved from their flags.
fn server_limits(args: &LimitArgs) -> chibo_server::Limits {
    let LimitArgs { rate_limit, rate_burst, max_streams, idle_timeout } = *args;
    chibo_server::Limits {
        requests_per_second: rate_limit,
        burst: rate_burst,
        streams_per_principal: max_streams,
        idle_timeout: (idle_timeout > 0).then(|| Duration::from_secs(idle_timeout)),
    }
}

/// The checkpoint settings, resolved from their flags.
fn checkpoint_config(args: &CheckpointArgs, data: &std::path::Path) -> anyhow::Result<chibo_tlog::CheckpointConfig> {
    let CheckpointArgs { origin, checkpoint_key, checkpoint_events, checkpoint_seconds, signer_lease_seconds } = args;
    if *checkpoint_events == 0 || *checkpoint_seconds == 0 {
        bail!("--checkpoint-events and --checkpoint-seconds must be at least 1");
    }
    if *signer_lease_seconds == 0 {
        bail!("--signer-lease-seconds must be at least 1");
    }
    Ok(chibo_tlog::CheckpointConfig {
        origin: origin.clone(),
        key_file: checkpoint_key.clone().unwrap_or_else(|| data.join("keys").join("checkpoint.key")),
        every_events: *checkpoint_events,
        every: Duration::from_secs(*checkpoint_seconds),
        lease: Duration::from_secs(*signer_lease_seconds),
    })
}

/// The rule sets and limits, resolved from their flags.
pub struct Rules {
    pub book: RuleBook,
    pub limits: Limits,
}

pub fn load_rules(args: &RulesArgs) -> anyhow::Result<Rules> {
    let RulesArgs { rules, daily_points_cap } = args;
    let book = match rules {
        Some(dir) => RuleBook::load(dir).with_context(|| format!("cannot load the rule sets in {}", dir.display()))?,
        None => RuleBook::defaults(),
    };
    if *daily_points_cap == 0 {
        bail!("--daily-points-cap must be at least 1");
    }
    Ok(Rules { book, limits: Limits { daily_study_points_cap: *daily_points_cap } })
}
