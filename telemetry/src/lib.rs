//! Tracing for every Agora process, set up once here: logs filtered by `RUST_LOG`,
//! OpenTelemetry spans exported over OTLP (HTTP/protobuf) when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and W3C trace context (`traceparent`,
//! `tracestate`) read from incoming requests and written on outgoing ones, so one
//! client request is one trace across the router and the subgraphs.
//!
//! Spans get OpenTelemetry ids whether or not they are exported, so the context always
//! flows; without an endpoint nothing leaves the process. `AGORA_LOG_FORMAT=json` writes
//! one JSON object per log line, with the request's `trace_id`. Metrics: each service
//! keeps a Prometheus recorder of its own, built here with the shared buckets.

use std::collections::HashMap;

use http::HeaderMap;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};
use opentelemetry::global;
use opentelemetry::trace::{TraceContextExt as _, TraceId, TracerProvider as _};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// Histogram buckets in seconds for every `*_duration_seconds` metric: 1 ms to 30 s.
const DURATION_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// A Prometheus recorder of a service's own (nothing is installed globally, so several
/// services in one process keep separate figures), with the shared duration buckets.
pub fn prometheus_recorder() -> PrometheusRecorder {
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("duration_seconds".to_owned()),
            &DURATION_BUCKETS,
        )
        // The buckets are non-empty, so this cannot fail; summaries if it ever does.
        .unwrap_or_else(|_| PrometheusBuilder::new())
        .build_recorder()
}

/// What `RUST_LOG` defaults to.
const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn,async_nats=warn";

/// Flushes exported spans when dropped: keep it alive for the life of `main`.
#[must_use = "spans are flushed when the guard drops"]
pub struct Guard {
    provider: SdkTracerProvider,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.provider.shutdown();
    }
}

/// Installs the global subscriber for the process `service` (the `service.name` of its
/// spans). Later calls install nothing (tests call it freely) but still return a guard.
pub fn init(service: &'static str) -> Guard {
    let provider = provider(service);
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let json = std::env::var("AGORA_LOG_FORMAT").is_ok_and(|format| format == "json");
    let logs = if json {
        tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer().boxed()
    };
    let _ = tracing_subscriber::registry()
        .with(layer(&provider, service))
        .with(logs)
        .with(filter)
        .try_init();
    Guard { provider }
}

/// A tracer provider exporting over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set and not
/// empty (the
/// exporter reads the standard `OTEL_EXPORTER_OTLP_*` variables), else exporting nothing.
fn provider(service: &'static str) -> SdkTracerProvider {
    let builder = SdkTracerProvider::builder()
        .with_resource(Resource::builder().with_service_name(service).build());
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").unwrap_or_default();
    let exporter = (!endpoint.is_empty()).then_some(()).and_then(|()| {
        opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
            .inspect_err(|error| eprintln!("OTLP export is off: {error}"))
            .ok()
    });
    match exporter {
        Some(exporter) => builder.with_batch_exporter(exporter).build(),
        None => builder.build(),
    }
}

/// The layer that gives `tracing` spans OpenTelemetry ids and hands finished spans to
/// `provider`; also installs the W3C trace-context propagator. Tests build a provider
/// with an in-memory exporter and a subscriber of their own around this layer.
pub fn layer(
    provider: &SdkTracerProvider,
    service: &'static str,
) -> impl Layer<Registry> + Send + Sync + 'static {
    global::set_text_map_propagator(TraceContextPropagator::new());
    tracing_opentelemetry::layer().with_tracer(provider.tracer(service))
}

/// Makes `span` a child of the trace context in `headers` (`traceparent`), if any, and
/// records its trace id in the span's `trace_id` field when it declares one (as request
/// spans do, so that JSON log lines inside them carry it).
pub fn continue_trace(span: &Span, headers: &HeaderMap) {
    let parent =
        global::get_text_map_propagator(|propagator| propagator.extract(&HeaderExtractor(headers)));
    let _ = span.set_parent(parent);
    let trace_id = span.context().span().span_context().trace_id();
    if trace_id != TraceId::INVALID {
        span.record("trace_id", tracing::field::display(trace_id));
    }
}

/// The W3C `traceparent` of `span`, to carry its trace where no header goes (an event's
/// envelope); `None` when the span is in no trace.
pub fn traceparent(span: &Span) -> Option<String> {
    let mut carrier = HashMap::new();
    let context = span.context();
    global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut carrier);
    });
    carrier.remove("traceparent")
}

/// Makes `span` a child of the span `traceparent` names (from [`traceparent`]).
pub fn continue_from(span: &Span, traceparent: &str) {
    let carrier = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let parent = global::get_text_map_propagator(|propagator| propagator.extract(&carrier));
    let _ = span.set_parent(parent);
}

/// Writes `span`'s trace context into `headers` for the next hop.
pub fn propagate(span: &Span, headers: &mut HeaderMap) {
    let context = span.context();
    global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut HeaderInjector(headers));
    });
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// Headers of a request that continues the W3C example trace.
    fn incoming() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                .parse()
                .unwrap(),
        );
        headers
    }

    #[test]
    fn a_continued_trace_is_propagated_with_its_trace_id_and_a_new_parent() {
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry().with(layer(&provider, "test"));
        let _default = tracing::subscriber::set_default(subscriber);
        let incoming = incoming();

        let span = tracing::info_span!("request");
        continue_trace(&span, &incoming);
        let mut outgoing = HeaderMap::new();
        propagate(&span, &mut outgoing);

        let traceparent = outgoing["traceparent"].to_str().unwrap();
        let parts: Vec<&str> = traceparent.split('-').collect();
        assert_eq!(parts[1], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_ne!(parts[2], "00f067aa0ba902b7", "the span's own id");
        assert_eq!(parts[3], "01", "sampled");
    }

    #[test]
    fn json_log_lines_inside_a_continued_request_carry_its_trace_id() {
        #[derive(Clone, Default)]
        struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(layer(&provider, "test"))
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_writer(move || writer.clone()),
            );
        let _default = tracing::subscriber::set_default(subscriber);
        let incoming = incoming();

        let span = tracing::info_span!("request", trace_id = tracing::field::Empty);
        continue_trace(&span, &incoming);
        span.in_scope(|| tracing::info!("inside"));

        let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert!(
            logs.contains(r#""trace_id":"4bf92f3577b34da6a3ce929d0e0e4736""#),
            "{logs}"
        );
    }
}
