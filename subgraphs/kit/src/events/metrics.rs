//! What the events of this process do, rendered with each subgraph's `/metrics`:
//!
//! - `agora_events_handled_total{consumer, outcome}`: events a consumer `applied`, found
//!   `duplicate`, or `dead_lettered`.
//! - `agora_event_lag_seconds{consumer}`: histogram from an event's time to the commit of
//!   its effect, publication and delivery included.
//! - `agora_events_published_total{source}`: events the outbox relays published.
//!
//! One registry per process, labelled by consumer and source, so the subgraphs that share
//! a process under `agora dev` stay apart.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use metrics::{Key, Label, Level, Metadata, Recorder};
use metrics_exporter_prometheus::PrometheusRecorder;

use super::consumer::Outcome;

/// Histogram samples are folded into buckets every this many events.
const UPKEEP_EVERY: u64 = 1024;

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// The process's event metrics.
struct EventMetrics {
    recorder: PrometheusRecorder,
    recorded: AtomicU64,
}

static METRICS: LazyLock<EventMetrics> = LazyLock::new(|| EventMetrics {
    recorder: agora_telemetry::prometheus_recorder(),
    recorded: AtomicU64::new(0),
});

/// Records that `consumer` settled an event of `time` with `outcome`; a retry is not
/// counted (the event comes back).
pub(crate) fn handled(consumer: &str, outcome: Outcome, time: DateTime<Utc>) {
    let outcome = match outcome {
        Outcome::Applied => "applied",
        Outcome::Duplicate => "duplicate",
        Outcome::DeadLettered => "dead_lettered",
        Outcome::Retried => return,
    };
    let labels = [
        Label::new("consumer", consumer.to_owned()),
        Label::new("outcome", outcome),
    ];
    let metrics = &*METRICS;
    metrics
        .recorder
        .register_counter(
            &Key::from_parts("agora_events_handled_total", labels.to_vec()),
            &METADATA,
        )
        .increment(1);
    if outcome == "applied" {
        let lag = (Utc::now() - time).to_std().unwrap_or_default();
        let key = Key::from_parts("agora_event_lag_seconds", vec![labels[0].clone()]);
        metrics
            .recorder
            .register_histogram(&key, &METADATA)
            .record(lag.as_secs_f64());
    }
    if metrics.recorded.fetch_add(1, Ordering::Relaxed) % UPKEEP_EVERY == UPKEEP_EVERY - 1 {
        metrics.recorder.handle().run_upkeep();
    }
}

/// Records that a relay published `count` events of `source`.
pub(crate) fn published(source: &str, count: u64) {
    let key = Key::from_parts(
        "agora_events_published_total",
        vec![Label::new("source", source.to_owned())],
    );
    METRICS
        .recorder
        .register_counter(&key, &METADATA)
        .increment(count);
}

/// The Prometheus exposition text of the process's event metrics.
pub fn render() -> String {
    METRICS.recorder.handle().render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applied_events_are_counted_with_their_lag_and_dead_letters_apart() {
        let time = Utc::now() - chrono::Duration::seconds(2);
        handled("metrics-test", Outcome::Applied, time);
        handled("metrics-test", Outcome::DeadLettered, time);
        handled("metrics-test", Outcome::Retried, time);
        published("metrics-test-source", 3);

        let text = render();
        let line = |prefix: &str| {
            text.lines()
                .find(|line| line.starts_with(prefix))
                .unwrap_or_else(|| panic!("{prefix} in {text}"))
                .to_owned()
        };
        assert!(
            line(r#"agora_events_handled_total{consumer="metrics-test",outcome="applied"}"#)
                .ends_with(" 1")
        );
        assert!(
            line(r#"agora_events_handled_total{consumer="metrics-test",outcome="dead_lettered"}"#)
                .ends_with(" 1")
        );
        assert!(line(r#"agora_event_lag_seconds_count{consumer="metrics-test"}"#).ends_with(" 1"));
        let sum: f64 = line(r#"agora_event_lag_seconds_sum{consumer="metrics-test"}"#)
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .expect("a number");
        assert!((2.0..60.0).contains(&sum), "lag {sum}");
        assert!(
            line(r#"agora_events_published_total{source="metrics-test-source"}"#).ends_with(" 3")
        );
    }
}
