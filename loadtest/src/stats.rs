//! Figures over recorded samples: exact latency percentiles (every sample is kept and
//! sorted; a run has at most a few million), rates, and counts by kind.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// Count and spread of a set of latencies, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LatencySummary {
    pub count: usize,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl LatencySummary {
    /// `None` for no samples: a percentile of nothing is not zero.
    pub fn of(mut samples: Vec<Duration>) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        let total: Duration = samples.iter().sum();
        Some(Self {
            count: samples.len(),
            mean_ms: millis(total) / samples.len() as f64,
            p50_ms: millis(percentile(&samples, 50.0)),
            p95_ms: millis(percentile(&samples, 95.0)),
            p99_ms: millis(percentile(&samples, 99.0)),
            max_ms: millis(samples[samples.len() - 1]),
        })
    }
}

/// Nearest-rank percentile of sorted, non-empty samples: the smallest sample with at
/// least `p` % of the samples at or below it.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Events per second over `elapsed`; zero over no time.
pub fn per_second(count: usize, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}

/// Occurrences by kind, printed and serialised in a stable order.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(transparent)]
pub struct Counts(BTreeMap<String, usize>);

impl Counts {
    pub fn bump(&mut self, kind: impl Into<String>) {
        *self.0.entry(kind.into()).or_default() += 1;
    }

    pub fn total(&self) -> usize {
        self.0.values().sum()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, usize)> {
        self.0.iter().map(|(kind, n)| (kind.as_str(), *n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let summary = LatencySummary::of(samples).expect("samples");
        assert_eq!(summary.count, 100);
        assert_eq!(
            (
                summary.p50_ms,
                summary.p95_ms,
                summary.p99_ms,
                summary.max_ms
            ),
            (50.0, 95.0, 99.0, 100.0)
        );
        assert!((summary.mean_ms - 50.5).abs() < 1e-9);
        let one = LatencySummary::of(vec![Duration::from_millis(7)]).expect("one");
        assert_eq!((one.p50_ms, one.p99_ms), (7.0, 7.0));
        assert!(LatencySummary::of(Vec::new()).is_none());
    }

    #[test]
    fn rates_and_counts() {
        assert_eq!(per_second(500, Duration::from_millis(250)), 2000.0);
        assert_eq!(per_second(5, Duration::ZERO), 0.0);
        let mut counts = Counts::default();
        counts.bump("timeout");
        counts.bump("http 409");
        counts.bump("timeout");
        assert_eq!(counts.total(), 3);
        assert_eq!(
            counts.iter().collect::<Vec<_>>(),
            vec![("http 409", 1), ("timeout", 2)]
        );
    }
}
