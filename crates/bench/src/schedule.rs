//! Sending a workload with several clients at once: each wave's jobs (one stream each) are
//! shared out among the clients, longest first, each client sending its job's requests in
//! order, and no client starts the next wave before every job of this one is done, so no
//! request is sent before what it depends on is recorded.
//!
//! A wave lasts as long as its busiest client. Taken in the plan's order, a long job that
//! comes late runs on after the other clients have run out of jobs, and they wait for it at the
//! wave's end: a load of 64 clients kept only about 50 requests in flight. Longest first, the
//! short jobs fill in beside the long ones.

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

use crate::workload::{Job, Workload};

/// One client: sends one request (a run of one stream's events) and returns when it is
/// acknowledged.
pub trait Sender: Send + 'static {
    fn send<'a>(&'a mut self, stream: &'a str, request: &'a [pb::EventSubmission])
        -> BoxFuture<'a, anyhow::Result<()>>;
}

struct Shared {
    workload: Arc<Workload>,
    /// Each wave's jobs, by index, in the order they are taken.
    order: Vec<Vec<usize>>,
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
        order: workload.waves.iter().map(|jobs| longest_first(jobs)).collect(),
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
                        let Some(job) = shared.order[w].get(j).map(|&k| &jobs[k]) else { break };
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

/// The indexes of `jobs`, the one with the most events first; jobs of as many events keep
/// their order. Each job's events are counted once, not at every comparison.
fn longest_first(jobs: &[Job]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_cached_key(|&k| std::cmp::Reverse(jobs[k].requests.iter().map(Vec::len).sum::<usize>()));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records every event id it is given, in the order the clients sent them.
    struct Recorder(Arc<Mutex<Vec<String>>>);

    impl Sender for Recorder {
        fn send<'a>(&'a mut self, _: &'a str, request: &'a [pb::EventSubmission]) -> BoxFuture<'a, anyhow::Result<()>> {
            Box::pin(async move {
                self.0.lock().unwrap().extend(request.iter().map(|e| e.event_id.clone()));
                // Lets the other clients run between two requests.
                tokio::task::yield_now().await;
                Ok(())
            })
        }
    }

    /// A job of `n` one-event requests, its events named `{stream}-{i}`.
    fn job(stream: &str, n: usize) -> Job {
        let request = |i| vec![pb::EventSubmission { event_id: format!("{stream}-{i}"), ..Default::default() }];
        Job { stream: stream.to_owned(), requests: (0..n).map(request).collect() }
    }

    async fn sent(waves: Vec<Vec<Job>>, clients: usize) -> Vec<String> {
        let events = waves.iter().flatten().map(|j| j.requests.len()).sum();
        let workload = Arc::new(Workload { waves, events, requests: events });
        let seen = Arc::new(Mutex::new(Vec::new()));
        let senders = (0..clients).map(|_| Recorder(seen.clone())).collect();
        run(workload, senders).await.unwrap();
        Arc::try_unwrap(seen).unwrap().into_inner().unwrap()
    }

    fn waves() -> Vec<Vec<Job>> {
        vec![vec![job("a", 1), job("b", 3), job("c", 2), job("x", 2)], vec![job("d", 1), job("e", 2)]]
    }

    #[tokio::test]
    async fn one_client_takes_each_waves_longest_job_first() {
        let sent = sent(waves(), 1).await;
        let expected = ["b-0", "b-1", "b-2", "c-0", "c-1", "x-0", "x-1", "a-0", "e-0", "e-1", "d-0"];
        assert_eq!(sent, expected, "the longest first; c before x, as in the plan");
    }

    #[tokio::test]
    async fn several_clients_send_every_event_once_in_its_streams_order_and_wave() {
        let sent = sent(waves(), 3).await;
        let at = |id: &str| sent.iter().position(|s| s == id).unwrap();
        let mut expected: Vec<String> =
            waves().iter().flatten().flat_map(|j| j.requests.concat()).map(|e| e.event_id).collect();
        let mut all = sent.clone();
        all.sort();
        expected.sort();
        assert_eq!(all, expected, "each event once");
        assert!(at("b-0") < at("b-1") && at("b-1") < at("b-2") && at("e-0") < at("e-1"), "{sent:?}");
        let first_wave = ["a-0", "b-2", "c-1", "x-1"].map(at);
        assert!(first_wave.iter().all(|&i| i < at("d-0") && i < at("e-0")), "{sent:?}");
    }
}
