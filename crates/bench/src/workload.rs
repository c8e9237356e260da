//! The events every ingest benchmark sends: a prefix of the demo province's plan, cut into the
//! requests (or transactions) of `--batch` events, grouped into waves of streams that do not
//! depend on each other.

use anyhow::{bail, Context};
use chibo::demo::{self, calendar::Day, Batch, Settings};
use chibo_proto::v1 as pb;

use crate::cli::WorkloadArgs;

/// A province year holds about this many events per cell (177,877 for 150 cells).
const EVENTS_PER_CELL: usize = 1_100;

/// One stream's consecutive requests within a wave: sent in order, by one client.
#[derive(Debug, Clone)]
pub struct Job {
    pub stream: String,
    pub requests: Vec<Vec<pb::EventSubmission>>,
}

/// The workload: its waves, in order; the jobs of a wave may run at once.
#[derive(Debug)]
pub struct Workload {
    pub waves: Vec<Vec<Job>>,
    pub events: usize,
    pub requests: usize,
}

impl Workload {
    /// The plan's first `args.events` events, built for as many cells as they need.
    pub fn build(args: &WorkloadArgs) -> anyhow::Result<Workload> {
        let WorkloadArgs { events, seed, batch } = *args;
        if events == 0 {
            bail!("--events: must be at least 1");
        }
        if !(1..=demo::MAX_BATCH).contains(&batch) {
            bail!("--batch {batch}: must be from 1 to {} (a plan batch: one stream's events)", demo::MAX_BATCH);
        }
        let year = Day::today_in_vietnam().year() - 1;
        let cells = events.div_ceil(EVENTS_PER_CELL) + 1;
        let plan = demo::build(&Settings { seed, cells, year }).context("cannot build the demo province")?;
        if plan.events() < events {
            bail!("--events {events}: the demo province of {cells} cells has only {} events", plan.events());
        }
        let mut left = events;
        let mut taken = Vec::new();
        for Batch { stream, mut events, wave } in plan.batches {
            if left == 0 {
                break;
            }
            events.truncate(left);
            left -= events.len();
            taken.push(Batch { stream, events, wave });
        }
        let waves = waves(taken, batch);
        let requests = waves.iter().flatten().map(|job| job.requests.len()).sum();
        Ok(Workload { waves, events, requests })
    }

    /// Every request, in the plan's order (each wave's jobs one after another).
    pub fn requests(&self) -> impl Iterator<Item = (&str, &[pb::EventSubmission])> {
        self.waves.iter().flatten().flat_map(|job| job.requests.iter().map(|r| (job.stream.as_str(), r.as_slice())))
    }
}

/// Groups the batches into waves, and each wave's batches into one job per stream (in the
/// plan's order), each batch cut into requests of at most `per_request` events.
fn waves(batches: Vec<Batch>, per_request: usize) -> Vec<Vec<Job>> {
    let mut waves: Vec<(u32, Vec<Job>)> = Vec::new();
    for Batch { stream, events, wave } in batches {
        if waves.last().is_none_or(|(w, _)| *w != wave) {
            waves.push((wave, Vec::new()));
        }
        let Some((_, jobs)) = waves.last_mut() else { continue };
        let requests = events.chunks(per_request).map(<[_]>::to_vec);
        match jobs.iter_mut().find(|job| job.stream == stream) {
            Some(job) => job.requests.extend(requests),
            None => jobs.push(Job { stream, requests: requests.collect() }),
        }
    }
    waves.into_iter().map(|(_, jobs)| jobs).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(stream: &str, n: usize, wave: u32) -> Batch {
        let events = (0..n).map(|i| pb::EventSubmission { event_id: format!("{stream}-{i}"), ..Default::default() });
        Batch { stream: stream.to_owned(), events: events.collect(), wave }
    }

    #[test]
    fn waves_keep_each_streams_order_and_cut_requests() {
        let waves = waves(vec![batch("a", 5, 0), batch("b", 2, 1), batch("a", 3, 1), batch("b", 1, 1)], 2);
        assert_eq!(waves.len(), 2);
        assert_eq!(waves[0].len(), 1);
        assert_eq!(waves[0][0].requests.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
        let streams: Vec<&str> = waves[1].iter().map(|j| j.stream.as_str()).collect();
        assert_eq!(streams, ["b", "a"]);
        let b: Vec<&str> = waves[1][0].requests.iter().flatten().map(|e| e.event_id.as_str()).collect();
        assert_eq!(b, ["b-0", "b-1", "b-0"], "b's two batches, in order");
    }

    #[test]
    fn a_prefix_of_the_demo_has_exactly_the_events_asked() {
        let workload = Workload::build(&WorkloadArgs { events: 1_234, seed: 3, batch: 100 }).unwrap();
        assert_eq!(workload.events, 1_234);
        assert_eq!(workload.requests().map(|(_, r)| r.len()).sum::<usize>(), 1_234);
        assert!(workload.requests().all(|(_, r)| (1..=100).contains(&r.len())));
    }

    #[test]
    fn bad_sizes_are_refused_by_name() {
        let err = Workload::build(&WorkloadArgs { events: 10, seed: 1, batch: 0 }).unwrap_err();
        assert!(err.to_string().starts_with("--batch 0"), "{err}");
        let err = Workload::build(&WorkloadArgs { events: 0, seed: 1, batch: 10 }).unwrap_err();
        assert!(err.to_string().starts_with("--events"), "{err}");
    }
}
