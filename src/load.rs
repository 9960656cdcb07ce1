//! Load generation for the bench binaries: a number of concurrent clients, each sending
//! requests back to back for a while, and the latency percentiles and throughput that
//! came of it.

use std::future::Future;
use std::time::{Duration, Instant};

/// What a load run measured.
#[derive(Debug)]
pub struct Report {
    /// Requests that succeeded.
    pub requests: usize,
    /// Requests that failed (not counted in the latencies).
    pub failures: usize,
    /// Wall time of the measured part.
    pub elapsed: Duration,
    /// Successful requests' latencies, sorted.
    latencies: Vec<Duration>,
}

impl Report {
    /// Successful requests per second.
    pub fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// The latency below which `p` percent of the successful requests finished.
    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }

    /// One line: requests/s, p50, p99, failures.
    pub fn summary(&self) -> String {
        format!(
            "{} requests in {:.1} s: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} failed",
            self.requests,
            self.elapsed.as_secs_f64(),
            self.throughput(),
            ms(self.percentile(50.0)),
            ms(self.percentile(99.0)),
            self.failures,
        )
    }
}

/// Runs `clients` concurrent loops of `request(client_index)` for `warm_up` (not
/// measured), then for `duration`, and reports what the measured part saw.
pub async fn run<F, Fut, E>(
    clients: usize,
    warm_up: Duration,
    duration: Duration,
    request: F,
) -> Report
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: Send,
{
    let start = Instant::now();
    let measure_from = start + warm_up;
    let end = measure_from + duration;
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let request = request.clone();
            tokio::spawn(async move {
                let (mut latencies, mut failures) = (Vec::new(), 0);
                loop {
                    let sent = Instant::now();
                    if sent >= end {
                        break;
                    }
                    let outcome = request(client).await;
                    if sent < measure_from {
                        continue;
                    }
                    match outcome {
                        Ok(()) => latencies.push(sent.elapsed()),
                        Err(_) => failures += 1,
                    }
                }
                (latencies, failures)
            })
        })
        .collect();
    let mut report = Report {
        requests: 0,
        failures: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for task in tasks {
        if let Ok((latencies, failures)) = task.await {
            report.latencies.extend(latencies);
            report.failures += failures;
        }
    }
    report.elapsed = Instant::now().saturating_duration_since(measure_from);
    report.requests = report.latencies.len();
    report.latencies.sort();
    report
}

/// A duration in milliseconds.
pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}
