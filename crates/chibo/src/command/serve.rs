//! `chibo serve`: the server on the embedded store, until SIGINT or SIGTERM.

use std::{process::ExitCode, sync::Arc, time::Duration};

use anyhow::{bail, Context};
use chibo_server::{Listeners, Metrics};
use chibo_store_sqlite::{Options, SqliteStore};
use tokio::net::TcpListener;

use crate::cli::ServeArgs;

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let ServeArgs { data, listen, metrics: metrics_addr, shutdown_grace } = args;
    if !chibo_server::is_loopback(&listen) {
        bail!(
            "refusing to serve on {listen}: this version of chibo has no TLS or credentials yet, \
             so it serves only on loopback addresses (127.0.0.1, ::1)"
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

    let metrics = Arc::new(Metrics::new());
    let store = SqliteStore::open(&data, Options { observer: Some(metrics.clone()) })
        .with_context(|| format!("cannot open the data directory {}", data.display()))?;
    let store = Arc::new(store);
    let grpc = TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let metrics_listener = match metrics_addr {
        Some(addr) => Some(TcpListener::bind(addr).await.with_context(|| format!("cannot serve metrics on {addr}"))?),
        None => None,
    };
    let grpc_addr = grpc.local_addr()?;
    let metrics_shown = match &metrics_listener {
        Some(l) => format!("http://{}/metrics", l.local_addr()?),
        None => "off".to_owned(),
    };
    // One line on stdout for people and scripts (tests read the bound ports from it).
    println!("chibo serving grpc={grpc_addr} metrics={metrics_shown} data={}", data.display());

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(chibo_server::run(
        Listeners { grpc, metrics: metrics_listener },
        store.clone(),
        metrics,
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
        signal = shutdown_signal() => signal?,
    }
    let _ = stop_tx.send(());
    match tokio::time::timeout(Duration::from_secs(shutdown_grace), &mut server).await {
        Ok(result) => result.context("the server task failed")??,
        Err(_) => {
            tracing::warn!(seconds = shutdown_grace, "requests still in flight after the grace period; stopping anyway")
        }
    }
    // Dropping the last handle to the store lets its writer finish and close the database.
    drop(store);
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("cannot watch SIGINT")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await.context("cannot watch Ctrl-C")?;
    Ok(())
}
