//! A subgraph's Prometheus metrics, served on `GET /metrics`:
//!
//! - `agora_subgraph_request_duration_seconds`: histogram of `POST /graphql` requests.
//! - `agora_subgraph_responses_with_errors_total`: responses that carried GraphQL errors.
//!
//! Each service has its own recorder (several run in one process under `agora dev`); the
//! event metrics of the process (`events::metrics`) are rendered after them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use metrics::{Counter, Histogram, Key, Level, Metadata, Recorder};
use metrics_exporter_prometheus::PrometheusHandle;

/// Histogram samples are folded into buckets every this many requests, so memory stays
/// bounded when nobody scrapes.
const UPKEEP_EVERY: u64 = 1024;

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// One subgraph's metrics.
pub(crate) struct Metrics {
    handle: PrometheusHandle,
    duration: Histogram,
    with_errors: Counter,
    requests: AtomicU64,
}

impl Metrics {
    pub fn new() -> Self {
        let recorder = agora_telemetry::prometheus_recorder();
        Self {
            duration: recorder.register_histogram(
                &Key::from_name("agora_subgraph_request_duration_seconds"),
                &METADATA,
            ),
            with_errors: recorder.register_counter(
                &Key::from_name("agora_subgraph_responses_with_errors_total"),
                &METADATA,
            ),
            handle: recorder.handle(),
            requests: AtomicU64::new(0),
        }
    }

    /// Records one GraphQL request.
    pub fn request(&self, took: Duration, had_errors: bool) {
        self.duration.record(took.as_secs_f64());
        if had_errors {
            self.with_errors.increment(1);
        }
        if self.requests.fetch_add(1, Ordering::Relaxed) % UPKEEP_EVERY == UPKEEP_EVERY - 1 {
            self.handle.run_upkeep();
        }
    }

    /// The Prometheus exposition text.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}
