//! Talking to subgraphs: one pooled HTTP client, request bodies written directly as
//! JSON bytes, responses read into data and errors, a circuit breaker per subgraph, and
//! identical queries in flight at once sent once ([`super::inflight`]), and the entities
//! a subgraph lets the router keep cached ([`super::entity_cache`]). Nothing is
//! retried: a mutation must not run twice, and a query's client can retry.

use std::collections::{BTreeSet, HashMap};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, header};
use bytes::Bytes;
use headers::{CacheControl, HeaderMapExt};
use serde::Deserialize;
use serde_json::{Map, Value as JsonValue};
use tracing::{Instrument, Span};

use super::breaker::{Breaker, Permit};
use super::entity_cache::EntityCache;
use super::inflight::{Answer, Inflight, Key, Turn};
use crate::config::CircuitBreaker;
use crate::error::RouterError;
use crate::response::write_json;
use crate::telemetry::SubgraphMetrics;
use crate::value::Value;

/// How long connecting to a subgraph may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The subgraphs' endpoints and the pooled HTTP client that reaches them.
pub(crate) struct SubgraphClient {
    http: reqwest::Client,
    /// Subgraph name → where and how long to wait.
    endpoints: HashMap<String, Endpoint>,
    /// Mutations sent so far: a query never joins one that started before the latest
    /// mutation, so a client reads its own writes.
    writes: AtomicU64,
}

struct Endpoint {
    url: String,
    timeout: Duration,
    metrics: Option<SubgraphMetrics>,
    /// `None` when circuit breaking is off.
    breaker: Option<Breaker>,
    /// `None` when request deduplication is off.
    inflight: Option<Inflight>,
    /// `None` when entity caching is off.
    cache: Option<EntityCache>,
}

/// What a subgraph answered.
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct SubgraphResponse {
    #[serde(default)]
    pub data: Option<Value>,
    #[serde(default)]
    pub errors: Vec<JsonValue>,
    /// How long the answer may be reused by anyone (`Cache-Control: max-age`, not
    /// `private`, `no-cache` or `no-store`).
    #[serde(skip)]
    pub max_age: Option<Duration>,
}

/// Why a subgraph request produced no GraphQL response.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("no URL is known for the subgraph")]
    UnknownSubgraph,
    #[error("{0}")]
    Transport(#[source] reqwest::Error),
    #[error("the subgraph answered with HTTP {0}")]
    Status(reqwest::StatusCode),
    #[error("the subgraph's response is not GraphQL JSON: {0}")]
    InvalidBody(#[source] sonic_rs::Error),
    #[error("the subgraph's circuit is open after repeated failures")]
    CircuitOpen(Duration),
}

impl FetchError {
    /// A reason safe to show clients: no URLs, addresses or causes.
    pub fn client_reason(&self) -> String {
        match self {
            Self::UnknownSubgraph => "no URL is configured for it".to_owned(),
            Self::Transport(error) if error.is_timeout() => "the request timed out".to_owned(),
            Self::Transport(error) if error.is_connect() => "it could not be reached".to_owned(),
            Self::Transport(_) => "the request failed".to_owned(),
            Self::Status(status) => format!("it answered with HTTP {}", status.as_u16()),
            Self::InvalidBody(_) => "its response is not GraphQL JSON".to_owned(),
            Self::CircuitOpen(open_for) => format!(
                "it failed repeatedly, so it is not asked for up to {} s",
                open_for.as_secs()
            ),
        }
    }

    /// Whether the subgraph failed (rather than answered, even with errors): what the
    /// circuit breaker counts.
    fn is_failure(&self) -> bool {
        match self {
            Self::Transport(_) => true,
            Self::Status(status) => status.is_server_error(),
            Self::UnknownSubgraph | Self::InvalidBody(_) | Self::CircuitOpen(_) => false,
        }
    }
}

impl SubgraphClient {
    /// A client for `endpoints` (name → URL); each request may take `timeouts[name]`,
    /// else `default_timeout`; each subgraph gets a circuit breaker unless `breaker` is
    /// `None`, shares identical queries in flight if `dedupe`, and keeps up to
    /// `entity_cache` entities of each subgraph.
    pub fn new(
        endpoints: HashMap<String, String>,
        default_timeout: Duration,
        timeouts: HashMap<String, Duration>,
        breaker: Option<CircuitBreaker>,
        dedupe: bool,
        entity_cache: Option<NonZeroUsize>,
        mut metrics: HashMap<String, SubgraphMetrics>,
    ) -> Result<Self, RouterError> {
        let endpoints = endpoints
            .into_iter()
            .map(|(name, url)| {
                let timeout = timeouts.get(&name).copied().unwrap_or(default_timeout);
                let metrics = metrics.remove(&name);
                let cache = entity_cache.map(|capacity| {
                    let counters = metrics
                        .as_ref()
                        .map(|m| (m.cache_hits.clone(), m.cache_misses.clone()));
                    EntityCache::new(capacity, counters)
                });
                (
                    name,
                    Endpoint {
                        url,
                        timeout,
                        metrics,
                        breaker: breaker.map(Breaker::new),
                        inflight: dedupe.then(Inflight::default),
                        cache,
                    },
                )
            })
            .collect();
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .map_err(RouterError::HttpClient)?;
        Ok(Self {
            http,
            endpoints,
            writes: AtomicU64::new(0),
        })
    }

    /// POSTs a prepared body to a subgraph, forwarding the client's `Authorization`.
    /// A `shareable` request (a query) joins an identical one in flight, if any, that
    /// started after the latest mutation, and takes a copy of its answer.
    pub async fn send(
        &self,
        subgraph: &str,
        body: Vec<u8>,
        authorization: Option<&HeaderValue>,
        shareable: bool,
    ) -> Answer {
        let endpoint = self
            .endpoints
            .get(subgraph)
            .ok_or(FetchError::UnknownSubgraph)?;
        let body = Bytes::from(body);
        if !shareable {
            self.writes.fetch_add(1, Ordering::SeqCst);
            if let Some(cache) = &endpoint.cache {
                cache.invalidate();
            }
        }
        let Some(inflight) = endpoint.inflight.as_ref().filter(|_| shareable) else {
            return self.fetch(subgraph, endpoint, body, authorization).await;
        };
        let key = Key {
            writes: self.writes.load(Ordering::SeqCst),
            authorization: authorization.cloned(),
            body: body.clone(),
        };
        match inflight.join(key) {
            Turn::Lead(lead) => {
                let answer = self.fetch(subgraph, endpoint, body, authorization).await;
                lead.finish(&answer);
                answer
            }
            Turn::Follow(answer) => {
                if let Some(metrics) = &endpoint.metrics {
                    metrics.joined.increment(1);
                }
                match answer.await {
                    Ok(answer) => answer,
                    // The leading caller was cancelled before it had an answer.
                    Err(_) => self.fetch(subgraph, endpoint, body, authorization).await,
                }
            }
        }
    }

    /// The entity cache of `subgraph`, if it has one.
    pub fn entity_cache(&self, subgraph: &str) -> Option<&EntityCache> {
        self.endpoints.get(subgraph)?.cache.as_ref()
    }

    /// Sends one request and records how long it took and whether it failed; fails at
    /// once while the subgraph's circuit is open.
    async fn fetch(
        &self,
        subgraph: &str,
        endpoint: &Endpoint,
        body: Bytes,
        authorization: Option<&HeaderValue>,
    ) -> Answer {
        if let Some(breaker) = &endpoint.breaker
            && breaker.permit() == Permit::Refused
        {
            return Err(Arc::new(FetchError::CircuitOpen(breaker.open_for())));
        }
        let started = Instant::now();
        let span = tracing::info_span!("subgraph fetch", otel.kind = "client", subgraph);
        let result = self
            .request(endpoint, body, authorization, &span)
            .instrument(span.clone())
            .await;
        if let Some(breaker) = &endpoint.breaker {
            breaker.record(!result.as_ref().is_err_and(FetchError::is_failure));
        }
        if let Some(metrics) = &endpoint.metrics {
            metrics.duration.record(started.elapsed().as_secs_f64());
            if result.is_err() {
                metrics.errors.increment(1);
            }
        }
        result.map_err(Arc::new)
    }

    async fn request(
        &self,
        endpoint: &Endpoint,
        body: Bytes,
        authorization: Option<&HeaderValue>,
        span: &Span,
    ) -> Result<SubgraphResponse, FetchError> {
        let mut trace = HeaderMap::new();
        agora_telemetry::propagate(span, &mut trace);
        let mut request = self
            .http
            .post(&endpoint.url)
            .headers(trace)
            .timeout(endpoint.timeout)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .body(body);
        if let Some(authorization) = authorization {
            request = request.header(header::AUTHORIZATION, authorization.clone());
        }
        let response = request.send().await.map_err(FetchError::Transport)?;
        let status = response.status();
        let max_age = shared_max_age(response.headers());
        let bytes: Bytes = response.bytes().await.map_err(FetchError::Transport)?;
        if !status.is_success() {
            // A GraphQL-over-HTTP subgraph may answer 4xx with a GraphQL body; keep it.
            return match sonic_rs::from_slice::<SubgraphResponse>(&bytes) {
                Ok(parsed) if !parsed.errors.is_empty() => Ok(parsed),
                _ => Err(FetchError::Status(status)),
            };
        }
        let parsed: SubgraphResponse =
            sonic_rs::from_slice(&bytes).map_err(FetchError::InvalidBody)?;
        Ok(SubgraphResponse { max_age, ..parsed })
    }
}

/// How long a response may be reused by anyone, by its `Cache-Control` header.
fn shared_max_age(headers: &HeaderMap) -> Option<Duration> {
    let cache_control: CacheControl = headers.typed_get()?;
    let shared = !(cache_control.private() || cache_control.no_cache() || cache_control.no_store());
    cache_control
        .max_age()
        .filter(|age| shared && !age.is_zero())
}

/// Writes a subgraph request body: the operation, the representations variables
/// (their items already serialized and comma-separated) and the client variables the
/// operation uses.
pub(crate) fn request_body(
    operation: &str,
    representations: &[(&str, &[u8])],
    variable_usages: Option<&BTreeSet<String>>,
    variables: &Map<String, JsonValue>,
) -> Vec<u8> {
    let mut body = Vec::with_capacity(
        operation.len()
            + 64
            + representations
                .iter()
                .map(|(name, items)| name.len() + items.len() + 8)
                .sum::<usize>(),
    );
    body.extend_from_slice(b"{\"query\":");
    write_json(&mut body, operation);
    body.extend_from_slice(b",\"variables\":{");
    let mut first = true;
    let mut separator = |body: &mut Vec<u8>| {
        if !std::mem::take(&mut first) {
            body.push(b',');
        }
    };
    for (name, items) in representations {
        separator(&mut body);
        write_json(&mut body, name);
        body.extend_from_slice(b":[");
        body.extend_from_slice(items);
        body.push(b']');
    }
    for name in variable_usages.into_iter().flatten() {
        if let Some(value) = variables.get(name) {
            separator(&mut body);
            write_json(&mut body, name);
            body.push(b':');
            write_json(&mut body, value);
        }
    }
    body.extend_from_slice(b"}}");
    body
}
