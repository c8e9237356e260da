//! Sending a workload with several clients at once: each wave's jobs (one stream each) are
//! shared out among the clients, each client sending its job's requests in order, and no
//! client starts the next wave before every job of this one is done, so no request is sent
//! before what it depends on is recorded.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use chibo_proto::v1 as pb;
use futures::future::BoxFuture;
use tokio::sync::Barrier;

use crate::workload::Workload;

/// One client: sends one request (a run of one stream's events) and returns when it is
/// acknowledged.
pub trait Sender: Send + 'static {
    fn send<'a>(&'a mut self, stream: &'a str, request: &'a [pb::EventSubmission])
        -> BoxFuture<'a, anyhow::Result<()>>;
}

struct Shared {
    workload: Arc<Workload>,
    next: Vec<AtomicUsize>,
    barrier: Barrier,
    failed: AtomicBool,
    failure: Mutex<Option<anyhow::Error>>,
}

impl Shared {
    fn fail(&self, e: anyhow::Error) {
        self.failed.store(true, Ordering::SeqCst);
        let mut failure = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        failure.get_or_insert(e);
    }
}

/// Sends the whole workload with `senders`, one task each; returns them (with whatever they
/// kept) and the wall time from the first request to the last acknowledgement. The first
/// failure stops the run.
pub async fn run<S: Sender>(workload: Arc<Workload>, senders: Vec<S>) -> anyhow::Result<(Vec<S>, Duration)> {
    let shared = Arc::new(Shared {
        next: workload.waves.iter().map(|_| AtomicUsize::new(0)).collect(),
        barrier: Barrier::new(senders.len()),
        failed: AtomicBool::new(false),
        failure: Mutex::new(None),
        workload,
    });
    let started = Instant::now();
    let tasks: Vec<_> = senders
        .into_iter()
        .map(|mut sender| {
            let shared = shared.clone();
            tokio::spawn(async move {
                for (w, jobs) in shared.workload.waves.iter().enumerate() {
                    loop {
                        let j = shared.next[w].fetch_add(1, Ordering::SeqCst);
                        let Some(job) = jobs.get(j) else { break };
                        for request in &job.requests {
                            if shared.failed.load(Ordering::SeqCst) {
                                break;
                            }
                            if let Err(e) = sender.send(&job.stream, request).await {
                                shared.fail(e.context(format!("sending {} events to {}", request.len(), job.stream)));
                            }
                        }
                    }
                    shared.barrier.wait().await;
                }
                sender
            })
        })
        .collect();
    let mut senders = Vec::with_capacity(tasks.len());
    for task in tasks {
        senders.push(task.await.context("a client's task failed")?);
    }
    let elapsed = started.elapsed();
    if let Some(e) = shared.failure.lock().unwrap_or_else(|p| p.into_inner()).take() {
        return Err(e);
    }
    Ok((senders, elapsed))
}
