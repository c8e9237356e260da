//! Latency percentiles from every request's duration: a sorted vector, exact, which at the
//! sizes measured here (at most millions of requests) costs less than any histogram's set-up.

use std::time::Duration;

/// Every request's duration.
#[derive(Debug, Default, Clone)]
pub struct Latencies {
    samples: Vec<Duration>,
    sorted: bool,
}

impl Latencies {
    pub fn record(&mut self, d: Duration) {
        self.samples.push(d);
        self.sorted = false;
    }

    pub fn extend(&mut self, other: Latencies) {
        self.samples.extend(other.samples);
        self.sorted = false;
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// How many requests were in flight on average over `wall`: every request's time added up,
    /// divided by the wall time (Little's law). A load of N clients keeps fewer than N in flight
    /// when clients wait for one another; `None` for no wall time.
    pub fn mean_in_flight(&self, wall: Duration) -> Option<f64> {
        let total: Duration = self.samples.iter().sum();
        (!wall.is_zero()).then(|| total.as_secs_f64() / wall.as_secs_f64())
    }

    /// The `p`th percentile (0 < p ≤ 100) by the nearest-rank method: the smallest sample with
    /// at least p % of the samples at or below it. `None` without samples or for p out of range.
    pub fn percentile(&mut self, p: f64) -> Option<Duration> {
        if self.samples.is_empty() || !(p > 0.0 && p <= 100.0) {
            return None;
        }
        if !self.sorted {
            self.samples.sort_unstable();
            self.sorted = true;
        }
        let n = self.samples.len();
        // Less a hair: 99.9 % of 1,000 is 999.000…1 in floating point, and must rank 999.
        let rank = ((p / 100.0) * n as f64 - 1e-9).ceil() as usize;
        Some(self.samples[rank.clamp(1, n) - 1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(millis: &[u64]) -> Latencies {
        let mut l = Latencies::default();
        for &m in millis {
            l.record(Duration::from_millis(m));
        }
        l
    }

    #[test]
    fn nearest_rank_percentiles() {
        // 1..=1000 ms, shuffled by a stride coprime with 1000.
        let mut l = of(&(0..1000u64).map(|i| (i * 7 % 1000) + 1).collect::<Vec<_>>());
        assert_eq!(l.percentile(50.0), Some(Duration::from_millis(500)));
        assert_eq!(l.percentile(99.0), Some(Duration::from_millis(990)));
        assert_eq!(l.percentile(99.9), Some(Duration::from_millis(999)));
        assert_eq!(l.percentile(100.0), Some(Duration::from_millis(1000)));
    }

    #[test]
    fn few_samples_give_the_largest_for_high_percentiles() {
        let mut l = of(&[30, 10, 20]);
        assert_eq!(l.percentile(50.0), Some(Duration::from_millis(20)));
        assert_eq!(l.percentile(99.9), Some(Duration::from_millis(30)));
        assert_eq!(l.percentile(0.1), Some(Duration::from_millis(10)));
    }

    #[test]
    fn in_flight_is_the_requests_time_over_the_wall_time() {
        // Two clients each busy the whole 100 ms, one request of 100 ms or two of 50 ms.
        assert_eq!(of(&[100, 50, 50]).mean_in_flight(Duration::from_millis(100)), Some(2.0));
        // One request of 30 ms in 120 ms: a quarter of the time, one request in flight.
        assert_eq!(of(&[30]).mean_in_flight(Duration::from_millis(120)), Some(0.25));
        assert_eq!(of(&[]).mean_in_flight(Duration::from_millis(10)), Some(0.0));
        assert_eq!(of(&[5]).mean_in_flight(Duration::ZERO), None);
    }

    #[test]
    fn no_samples_or_a_bad_percentile_give_none() {
        assert_eq!(Latencies::default().percentile(50.0), None);
        let mut l = of(&[1]);
        assert_eq!(l.percentile(0.0), None);
        assert_eq!(l.percentile(100.5), None);
        assert_eq!(l.percentile(f64::NAN), None);
    }

    #[test]
    fn merged_samples_are_sorted_again() {
        let mut l = of(&[5]);
        assert_eq!(l.percentile(100.0), Some(Duration::from_millis(5)));
        l.extend(of(&[9, 1]));
        assert_eq!(l.percentile(100.0), Some(Duration::from_millis(9)));
        assert_eq!(l.len(), 3);
    }
}
