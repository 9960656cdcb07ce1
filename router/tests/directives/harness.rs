//! The harness of this suite: subgraphs served on port 0, composed with
//! `agora_router::compose`, a router in front of them, and a table of operations whose
//! whole responses are compared with expected JSON.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use agora_router::{RouterConfig, Server, SubgraphSdl, compose};
use async_graphql::{ObjectType, SDLExportOptions, Schema, SubscriptionType};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// One subgraph of a test graph: served (or deliberately unreachable) and its SDL.
pub struct Subgraph {
    name: &'static str,
    sdl: String,
    url: String,
    requests: Arc<AtomicUsize>,
    shutdown: CancellationToken,
}

struct Served<Q, M, S> {
    schema: Schema<Q, M, S>,
    requests: Arc<AtomicUsize>,
}

async fn serve_request<Q, M, S>(
    State(served): State<Arc<Served<Q, M, S>>>,
    request: GraphQLRequest,
) -> GraphQLResponse
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    served.requests.fetch_add(1, Ordering::SeqCst);
    served.schema.execute(request.into_inner()).await.into()
}

impl Subgraph {
    /// Serves `schema` on port 0; its SDL is exported with the federation directives.
    pub async fn serve<Q, M, S>(name: &'static str, schema: Schema<Q, M, S>) -> Self
    where
        Q: ObjectType + 'static,
        M: ObjectType + 'static,
        S: SubscriptionType + 'static,
    {
        let sdl = schema.sdl_with_options(SDLExportOptions::new().federation());
        let requests = Arc::new(AtomicUsize::new(0));
        let shutdown = CancellationToken::new();
        let app = axum::Router::new()
            .route("/graphql", post(serve_request::<Q, M, S>))
            .with_state(Arc::new(Served {
                schema,
                requests: Arc::clone(&requests),
            }));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
                .unwrap();
        });
        Self {
            name,
            sdl,
            url: format!("http://{address}/graphql"),
            requests,
            shutdown,
        }
    }

    /// Composes this subgraph as it is, but routes its requests where nothing listens.
    pub async fn down(mut self) -> Self {
        self.shutdown.cancel();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        self.url = format!("http://{address}/graphql");
        self
    }

    /// Edits the SDL given to composition (for directive arguments async-graphql cannot
    /// express, such as `@override(label:)`); the served schema is unchanged.
    pub fn edit_sdl(mut self, edit: impl FnOnce(String) -> String) -> Self {
        self.sdl = edit(self.sdl);
        self
    }
}

/// A router in front of its subgraphs.
pub struct Graph {
    router_url: String,
    requests: HashMap<&'static str, Arc<AtomicUsize>>,
    http: reqwest::Client,
    shutdown: CancellationToken,
    subgraph_shutdowns: Vec<CancellationToken>,
}

impl Drop for Graph {
    fn drop(&mut self) {
        self.shutdown.cancel();
        for shutdown in &self.subgraph_shutdowns {
            shutdown.cancel();
        }
    }
}

impl Graph {
    /// Composes the subgraphs and starts a router in front of them.
    pub async fn start(subgraphs: Vec<Subgraph>) -> Self {
        Self::start_configured(subgraphs, |_| {}).await
    }

    /// Like [`Graph::start`], with the router's configuration adjusted by `configure`.
    pub async fn start_configured(
        subgraphs: Vec<Subgraph>,
        configure: impl FnOnce(&mut RouterConfig),
    ) -> Self {
        let sdls: Vec<SubgraphSdl> = subgraphs
            .iter()
            .map(|subgraph| SubgraphSdl {
                name: subgraph.name.to_owned(),
                url: format!("http://{}.invalid/graphql", subgraph.name),
                sdl: subgraph.sdl.clone(),
            })
            .collect();
        let supergraph_sdl = match compose(&sdls) {
            Ok(sdl) => sdl,
            Err(errors) => panic!("the subgraphs do not compose: {errors:#?}"),
        };
        // To read a plan, write the supergraph out and plan the operation against it.
        if let Ok(dir) = std::env::var("DIRECTIVES_SUPERGRAPH_DIR") {
            let names: Vec<&str> = subgraphs.iter().map(|s| s.name).collect();
            let path = format!("{dir}/{}.graphql", names.join("-"));
            std::fs::write(path, &supergraph_sdl).unwrap();
        }
        let mut config = RouterConfig {
            supergraph_sdl,
            listen: "127.0.0.1:0".parse().unwrap(),
            subgraph_urls: subgraphs
                .iter()
                .map(|subgraph| (subgraph.name.to_owned(), subgraph.url.clone()))
                .collect(),
            introspection: true,
            ..RouterConfig::default()
        };
        configure(&mut config);
        let server = Server::bind(config).await.expect("the router starts");
        let router_url = format!("http://{}/graphql", server.local_addr());
        let shutdown = CancellationToken::new();
        tokio::spawn(server.run(shutdown.clone()));
        Self {
            router_url,
            requests: subgraphs
                .iter()
                .map(|subgraph| (subgraph.name, Arc::clone(&subgraph.requests)))
                .collect(),
            http: reqwest::Client::new(),
            shutdown,
            subgraph_shutdowns: subgraphs.into_iter().map(|s| s.shutdown).collect(),
        }
    }

    /// POSTs one operation and returns the whole JSON body.
    pub async fn post(&self, query: &str, variables: &Value) -> Value {
        let mut body = json!({ "query": query });
        if !variables.is_null() {
            body["variables"] = variables.clone();
        }
        let response = self
            .http
            .post(&self.router_url)
            .json(&body)
            .send()
            .await
            .unwrap();
        response.json().await.unwrap()
    }

    fn request_counts(&self) -> HashMap<&'static str, usize> {
        self.requests
            .iter()
            .map(|(name, count)| (*name, count.load(Ordering::SeqCst)))
            .collect()
    }

    /// Runs every case in turn and fails with all mismatches at once.
    pub async fn check(&self, cases: &[Case]) {
        let mut failures = String::new();
        for case in cases {
            let before = self.request_counts();
            let body = self.post(case.query, &case.variables).await;
            let after = self.request_counts();
            if body != case.expected {
                let _ = writeln!(
                    failures,
                    "\n--- {}\nquery: {}\nexpected: {}\n     got: {}",
                    case.name, case.query, case.expected, body,
                );
            }
            for (subgraph, expected) in &case.requests {
                let sent = after.get(subgraph).copied().unwrap_or_default()
                    - before.get(subgraph).copied().unwrap_or_default();
                if sent != *expected {
                    let _ = writeln!(
                        failures,
                        "\n--- {}\n{subgraph} got {sent} requests, expected {expected}",
                        case.name,
                    );
                }
            }
        }
        assert!(failures.is_empty(), "{failures}");
    }
}

/// One operation, its variables and the response expected for it.
pub struct Case {
    name: &'static str,
    query: &'static str,
    variables: Value,
    expected: Value,
    /// Subgraph → how many requests it must receive for this operation.
    requests: Vec<(&'static str, usize)>,
}

/// A case without variables.
pub fn case(name: &'static str, query: &'static str, expected: Value) -> Case {
    Case {
        name,
        query,
        variables: Value::Null,
        expected,
        requests: Vec::new(),
    }
}

impl Case {
    /// Sends these variables with the operation.
    pub fn variables(mut self, variables: Value) -> Self {
        self.variables = variables;
        self
    }

    /// Also checks that `subgraph` receives exactly `count` requests for this operation.
    pub fn requests(mut self, subgraph: &'static str, count: usize) -> Self {
        self.requests.push((subgraph, count));
        self
    }
}
