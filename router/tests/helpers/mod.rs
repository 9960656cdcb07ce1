//! Test harness: real subgraphs on port 0, composed with `agora_router::compose`, and a
//! real router on port 0 in front of them, driven over HTTP like a frontend would.

// Each test binary uses a different part of the harness.
#![allow(dead_code)]

pub mod subgraphs;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use agora_router::{Reloader, RouterConfig, Server, SubgraphSdl, compose};
use async_graphql::{Executor, SDLExportOptions};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::routing::post;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// What one subgraph saw: how many `_entities` requests, how many representations each
/// carried, and the `Authorization` and `traceparent` headers of every request.
#[derive(Default)]
pub struct Stats {
    entity_requests: AtomicUsize,
    requests: AtomicUsize,
    representations: Mutex<Vec<usize>>,
    authorizations: Mutex<Vec<Option<String>>>,
    traceparents: Mutex<Vec<Option<String>>>,
    /// Held for writing, requests are counted but not answered.
    gate: tokio::sync::RwLock<()>,
}

impl Stats {
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    pub fn entity_requests(&self) -> usize {
        self.entity_requests.load(Ordering::SeqCst)
    }

    /// Representations per `_entities` request, in arrival order.
    pub fn representations(&self) -> Vec<usize> {
        self.representations.lock().unwrap().clone()
    }

    pub fn authorizations(&self) -> Vec<Option<String>> {
        self.authorizations.lock().unwrap().clone()
    }

    pub fn traceparents(&self) -> Vec<Option<String>> {
        self.traceparents.lock().unwrap().clone()
    }

    /// Holds back the subgraph's answers (each request is counted on arrival) until
    /// the guard is dropped.
    pub async fn hold(&self) -> tokio::sync::RwLockWriteGuard<'_, ()> {
        self.gate.write().await
    }
}

struct Subgraph<E> {
    schema: E,
    stats: Arc<Stats>,
}

async fn serve_request<E: Executor>(
    State(subgraph): State<Arc<Subgraph<E>>>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> GraphQLResponse {
    let request = request.into_inner();
    let stats = &subgraph.stats;
    stats.requests.fetch_add(1, Ordering::SeqCst);
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    stats
        .authorizations
        .lock()
        .unwrap()
        .push(authorization.clone());
    let traceparent = headers
        .get("traceparent")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    stats.traceparents.lock().unwrap().push(traceparent);
    if request.query.contains("_entities") {
        stats.entity_requests.fetch_add(1, Ordering::SeqCst);
        let variables = request.variables.clone().into_value().into_json().unwrap();
        let count = variables
            .as_object()
            .into_iter()
            .flat_map(|variables| variables.values())
            .filter_map(Value::as_array)
            .map(Vec::len)
            .sum();
        stats.representations.lock().unwrap().push(count);
    }
    let request = request.data(subgraphs::Authorization(authorization));
    let _open = stats.gate.read().await;
    subgraph.schema.execute(request).await.into()
}

/// Serves a schema on port 0 and returns its URL and statistics.
async fn spawn_subgraph<E: Executor>(
    schema: E,
    shutdown: CancellationToken,
) -> (String, Arc<Stats>) {
    let stats = Arc::new(Stats::default());
    let app = axum::Router::new()
        .route("/graphql", post(serve_request::<E>))
        .with_state(Arc::new(Subgraph {
            schema,
            stats: Arc::clone(&stats),
        }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
            .unwrap();
    });
    (format!("http://{address}/graphql"), stats)
}

/// A URL where nothing listens.
async fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}/graphql")
}

fn federation() -> SDLExportOptions {
    SDLExportOptions::new().federation()
}

/// The subgraphs' SDLs, with placeholder routing URLs the router must override.
pub fn subgraph_sdls() -> Vec<SubgraphSdl> {
    let sdl = |name: &str, sdl: String| SubgraphSdl {
        name: name.to_owned(),
        url: format!("http://{name}.invalid/graphql"),
        sdl,
    };
    vec![
        sdl(
            "identity",
            subgraphs::identity().sdl_with_options(federation()),
        ),
        sdl(
            "profiles",
            subgraphs::profiles().sdl_with_options(federation()),
        ),
        sdl(
            "content",
            subgraphs::content().sdl_with_options(federation()),
        ),
    ]
}

/// Which parts of the graph are up.
#[derive(Clone, Copy)]
pub struct Options {
    pub profiles_down: bool,
    pub introspection: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            profiles_down: false,
            introspection: true,
        }
    }
}

/// The whole test graph: three subgraphs and a router.
pub struct TestGraph {
    pub router_url: String,
    /// Swaps the router's supergraph.
    pub reloader: Reloader,
    pub identity: Arc<Stats>,
    pub profiles: Arc<Stats>,
    pub content: Arc<Stats>,
    http: reqwest::Client,
    shutdown: CancellationToken,
}

impl Drop for TestGraph {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub async fn spawn() -> TestGraph {
    spawn_with(Options::default()).await
}

pub async fn spawn_with(options: Options) -> TestGraph {
    spawn_configured(options, |_| {}).await
}

/// Spawns the graph with a router configuration adjusted by `configure`.
pub async fn spawn_configured(
    options: Options,
    configure: impl FnOnce(&mut RouterConfig),
) -> TestGraph {
    let shutdown = CancellationToken::new();
    let (identity_url, identity) = spawn_subgraph(subgraphs::identity(), shutdown.clone()).await;
    let (mut profiles_url, profiles) =
        spawn_subgraph(subgraphs::profiles(), shutdown.clone()).await;
    let (content_url, content) = spawn_subgraph(subgraphs::content(), shutdown.clone()).await;
    if options.profiles_down {
        profiles_url = dead_url().await;
    }
    let supergraph_sdl = compose(&subgraph_sdls()).expect("the test subgraphs compose");
    let mut config = RouterConfig {
        supergraph_sdl,
        listen: "127.0.0.1:0".parse().unwrap(),
        subgraph_urls: HashMap::from([
            ("identity".to_owned(), identity_url),
            ("profiles".to_owned(), profiles_url),
            ("content".to_owned(), content_url),
        ]),
        introspection: options.introspection,
        ..RouterConfig::default()
    };
    configure(&mut config);
    let server = Server::bind(config).await.expect("the router starts");
    let router_url = format!("http://{}", server.local_addr());
    let reloader = server.reloader();
    tokio::spawn(server.run(shutdown.clone()));
    TestGraph {
        router_url,
        reloader,
        identity,
        profiles,
        content,
        http: reqwest::Client::new(),
        shutdown,
    }
}

/// The value of one series of a `/metrics` text, by its full name with labels.
pub fn series(metrics: &str, name: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let value = line.strip_prefix(name)?.strip_prefix(' ')?;
        value.trim().parse().ok()
    })
}

/// A router response: HTTP status, headers and JSON body.
pub struct Response {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl TestGraph {
    /// POSTs a query without variables and returns the JSON body.
    pub async fn query(&self, query: &str) -> Value {
        self.post(serde_json::json!({ "query": query }), None)
            .await
            .body
    }

    /// POSTs a request body, optionally with an `Authorization` header.
    pub async fn post(&self, body: Value, authorization: Option<&str>) -> Response {
        let mut request = self
            .http
            .post(format!("{}/graphql", self.router_url))
            .json(&body);
        if let Some(authorization) = authorization {
            request = request.header(header::AUTHORIZATION, authorization);
        }
        let response = request.send().await.unwrap();
        Response {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.json().await.unwrap(),
        }
    }

    /// GETs `/graphql` with query-string parameters and an `Accept` header, and the
    /// `apollo-require-preflight` header a non-browser client sends past CSRF prevention.
    pub async fn get(&self, params: &[(&str, &str)], accept: &str) -> (u16, String) {
        self.get_with(
            params,
            &[
                (header::ACCEPT.as_str(), accept),
                ("apollo-require-preflight", "true"),
            ],
        )
        .await
    }

    /// GETs `/graphql` with query-string parameters and exactly these headers.
    pub async fn get_with(
        &self,
        params: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> (u16, String) {
        let mut request = self
            .http
            .get(format!("{}/graphql", self.router_url))
            .query(params);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// POSTs a raw body to `/graphql` with exactly these headers.
    pub async fn post_raw(
        &self,
        body: impl Into<reqwest::Body>,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut request = self
            .http
            .post(format!("{}/graphql", self.router_url))
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        Response {
            status,
            headers,
            body: serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("not JSON (HTTP {status}): {text}")),
        }
    }

    /// The router's `/metrics` text.
    pub async fn metrics(&self) -> String {
        let response = self
            .http
            .get(format!("{}/metrics", self.router_url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }

    /// The number of requests all subgraphs together received.
    pub fn subgraph_requests(&self) -> usize {
        self.identity.requests() + self.profiles.requests() + self.content.requests()
    }

    /// The `extensions.code` of every error in a response body.
    pub fn error_codes(body: &Value) -> Vec<String> {
        body["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|error| error["extensions"]["code"].as_str())
            .map(str::to_owned)
            .collect()
    }
}
