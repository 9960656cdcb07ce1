//! Prometheus metrics, served on `GET /metrics`.
//!
//! Each router owns its recorder (nothing is installed globally), so several routers in
//! one process, as in tests or `agora dev`, keep separate figures. Handles are
//! registered once and kept, so recording on the request path is an atomic update.
//!
//! - `agora_router_request_duration_seconds`: histogram of `/graphql` requests.
//! - `agora_router_errors_total{code}`: errors returned to clients, by `extensions.code`.
//! - `agora_router_plan_cache_total{result="hit"|"miss"}`: prepared-operation cache.
//! - `agora_router_subgraph_request_duration_seconds{subgraph}`: histogram per subgraph.
//! - `agora_router_subgraph_errors_total{subgraph}`: subgraph requests that got no
//!   GraphQL response (unreachable, timed out, not GraphQL).
//! - `agora_router_subgraph_joined_total{subgraph}`: fetches that joined an identical
//!   request in flight instead of sending their own (request deduplication).

use std::collections::HashMap;
use std::time::Duration;

use metrics::{Counter, Histogram, Key, Label, Level, Metadata, Recorder};
use metrics_exporter_prometheus::{PrometheusHandle, PrometheusRecorder};
use serde_json::Value;

use crate::response::GraphQLError;

/// Codes longer than this, or not `SCREAMING_SNAKE_CASE`, are counted as `OTHER`, so a
/// subgraph cannot grow the number of series without bound.
const MAX_CODE_LENGTH: usize = 48;

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// The router's metrics and the handles it records into.
pub(crate) struct Telemetry {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    request_duration: Histogram,
    plan_cache_hits: Counter,
    plan_cache_misses: Counter,
}

/// What is recorded about one subgraph.
#[derive(Clone)]
pub(crate) struct SubgraphMetrics {
    pub duration: Histogram,
    pub errors: Counter,
    pub joined: Counter,
    /// Entities the entity cache answered, and those it had to ask the subgraph for.
    pub cache_hits: Counter,
    pub cache_misses: Counter,
}

impl Telemetry {
    pub fn new() -> Self {
        let recorder = agora_telemetry::prometheus_recorder();
        let handle = recorder.handle();
        let request_duration = recorder.register_histogram(
            &Key::from_name("agora_router_request_duration_seconds"),
            &METADATA,
        );
        let plan_cache = |result: &'static str| {
            recorder.register_counter(
                &Key::from_parts(
                    "agora_router_plan_cache_total",
                    vec![Label::new("result", result)],
                ),
                &METADATA,
            )
        };
        let plan_cache_hits = plan_cache("hit");
        let plan_cache_misses = plan_cache("miss");
        Self {
            request_duration,
            plan_cache_hits,
            plan_cache_misses,
            recorder,
            handle,
        }
    }

    /// Handles for each subgraph, registered up front.
    pub fn subgraphs<'a>(
        &self,
        names: impl Iterator<Item = &'a String>,
    ) -> HashMap<String, SubgraphMetrics> {
        names
            .map(|name| {
                let labels = || vec![Label::new("subgraph", name.clone())];
                let metrics = SubgraphMetrics {
                    duration: self.recorder.register_histogram(
                        &Key::from_parts(
                            "agora_router_subgraph_request_duration_seconds",
                            labels(),
                        ),
                        &METADATA,
                    ),
                    errors: self.recorder.register_counter(
                        &Key::from_parts("agora_router_subgraph_errors_total", labels()),
                        &METADATA,
                    ),
                    joined: self.recorder.register_counter(
                        &Key::from_parts("agora_router_subgraph_joined_total", labels()),
                        &METADATA,
                    ),
                    cache_hits: self.entity_cache_counter(name, "hit"),
                    cache_misses: self.entity_cache_counter(name, "miss"),
                };
                (name.clone(), metrics)
            })
            .collect()
    }

    fn entity_cache_counter(&self, subgraph: &str, result: &'static str) -> Counter {
        self.recorder.register_counter(
            &Key::from_parts(
                "agora_router_entity_cache_total",
                vec![
                    Label::new("subgraph", subgraph.to_owned()),
                    Label::new("result", result),
                ],
            ),
            &METADATA,
        )
    }

    pub fn request_finished(&self, duration: Duration) {
        self.request_duration.record(duration.as_secs_f64());
    }

    pub fn plan_cache(&self, hit: bool) {
        if hit {
            self.plan_cache_hits.increment(1);
        } else {
            self.plan_cache_misses.increment(1);
        }
    }

    /// Counts the errors of a response by their `extensions.code`.
    pub fn errors(&self, errors: &[GraphQLError]) {
        for error in errors {
            let code = match error.extensions.get("code") {
                Some(Value::String(code)) if is_plain_code(code) => code.clone(),
                Some(_) => "OTHER".to_owned(),
                None => "NONE".to_owned(),
            };
            self.recorder
                .register_counter(
                    &Key::from_parts("agora_router_errors_total", vec![Label::new("code", code)]),
                    &METADATA,
                )
                .increment(1);
        }
    }

    /// The Prometheus exposition text.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Folds recorded histogram samples into their buckets, so memory stays bounded when
    /// nobody scrapes. Called periodically by the server.
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }
}

fn is_plain_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= MAX_CODE_LENGTH
        && code
            .bytes()
            .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit() || byte == b'_')
}
