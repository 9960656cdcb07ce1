//! The HTTP face of a subgraph: `POST /graphql`, subscriptions over WebSocket
//! (`GET /graphql` upgraded, graphql-transport-ws) when the schema has a subscription
//! root, `/health` (live), `/ready` (database, event bus and token keys reachable) and
//! `/metrics` (Prometheus).
//!
//! A request's bearer token is verified before the operation runs; a bad token fails the
//! whole request with `UNAUTHENTICATED` rather than quietly running it anonymously. A
//! WebSocket is authenticated once, at `connection_init`: the token comes from its
//! payload (`Authorization` or `authorization`, as the router sends it) or else from the
//! upgrade request's `Authorization` header, and a bad one closes the connection.
//! Each request is traced as part of the caller's trace (its `traceparent`). When the
//! service shuts down, each open WebSocket gets a close frame (1001, going away) and the
//! service waits for it to be sent.

use std::sync::Arc;
use std::time::Instant;

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::{Data, ErrorExtensions, ObjectType, Schema, SubscriptionType};
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::Extension;
use axum::extract::ws::{CloseFrame, Message, close_code};
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::{SinkExt, StreamExt};
use sea_orm::DatabaseConnection;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::auth::{JwtVerifier, bearer};
use crate::documents::DocumentCache;
use crate::error::ServiceError;
use crate::events::EventBus;
use crate::metrics::Metrics;

/// What the GraphQL handler needs on every request.
struct GraphqlState<Q, M, S> {
    schema: Schema<Q, M, S>,
    verifier: Arc<JwtVerifier>,
    metrics: Arc<Metrics>,
    documents: DocumentCache,
}

/// What WebSockets need to end cleanly when the service stops: its shutdown token, and a
/// sender that each open socket holds until its close frame is sent (the service waits
/// until every one is dropped). [`crate::service::Service`] provides it.
#[derive(Clone)]
pub(crate) struct Draining {
    /// Cancelled when the service stops.
    pub shutdown: CancellationToken,
    /// Held by each open socket, never sent on.
    pub _open: mpsc::Sender<()>,
}

impl Draining {
    /// For a router served on its own (tests): a shutdown that never comes.
    fn never() -> Self {
        Self {
            shutdown: CancellationToken::new(),
            _open: mpsc::channel(1).0,
        }
    }
}

/// What `/ready` checks.
struct Readiness {
    db: DatabaseConnection,
    bus: Arc<dyn EventBus>,
    verifier: Arc<JwtVerifier>,
}

/// The axum router of a subgraph around its federation `schema`; subscriptions are
/// served only if the schema has a subscription root.
pub fn router<Q, M, S>(
    schema: Schema<Q, M, S>,
    verifier: Arc<JwtVerifier>,
    db: DatabaseConnection,
    bus: Arc<dyn EventBus>,
) -> axum::Router
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let metrics = Arc::new(Metrics::new());
    let readiness = Arc::new(Readiness {
        db,
        bus,
        verifier: Arc::clone(&verifier),
    });
    let state = Arc::new(GraphqlState {
        schema,
        verifier,
        metrics: Arc::clone(&metrics),
        documents: DocumentCache::new(),
    });
    let mut endpoint = post(graphql::<Q, M, S>);
    if !S::is_empty() {
        endpoint = endpoint.get(subscribe::<Q, M, S>);
    }
    axum::Router::new()
        .route("/graphql", endpoint.with_state(state))
        .route("/health", get(|| async { "ok" }))
        .route("/ready", get(ready).with_state(readiness))
        .route("/metrics", get(render_metrics).with_state(metrics))
}

/// The Prometheus exposition of the subgraph's metrics.
async fn render_metrics(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics.render() + &crate::events::metrics::render(),
    )
}

async fn graphql<Q, M, S>(
    State(state): State<Arc<GraphqlState<Q, M, S>>>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> GraphQLResponse
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let span = tracing::info_span!(
        "graphql request",
        otel.kind = "server",
        trace_id = tracing::field::Empty
    );
    agora_telemetry::continue_trace(&span, &headers);
    let mut request = request.into_inner();
    state.documents.prepare(&mut request);
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value.to_str().ok().and_then(bearer);
        let viewer = match token {
            Some(token) => state.verifier.verify(token).await,
            None => Err(ServiceError::unauthenticated()),
        };
        match viewer {
            Ok(viewer) => request = request.data(viewer),
            Err(error) => return refuse(error),
        }
    }
    let started = Instant::now();
    let response = state.schema.execute(request).instrument(span).await;
    state
        .metrics
        .request(started.elapsed(), !response.errors.is_empty());
    response.into()
}

/// Upgrades to a graphql-transport-ws (or legacy graphql-ws) connection whose operations
/// run with the viewer that `connection_init` authenticated.
async fn subscribe<Q, M, S>(
    State(state): State<Arc<GraphqlState<Q, M, S>>>,
    protocol: GraphQLProtocol,
    headers: HeaderMap,
    draining: Option<Extension<Draining>>,
    upgrade: WebSocketUpgrade,
) -> Response
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let handshake = headers
        .get(header::AUTHORIZATION)
        .map(|value| value.to_str().unwrap_or_default().to_owned());
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| async move {
            let verifier = state.verifier.clone();
            let draining = draining.map_or_else(Draining::never, |Extension(d)| d);
            let (mut sink, stream) = socket.split();
            let input = stream.take_until(draining.shutdown.clone().cancelled_owned());
            GraphQLWebSocket::new_with_pair(&mut sink, input, state.schema.clone(), protocol)
                .on_connection_init(move |payload| {
                    connection_data(verifier, init_authorization(&payload).or(handshake))
                })
                .serve()
                .await;
            if draining.shutdown.is_cancelled() {
                let away = CloseFrame {
                    code: close_code::AWAY,
                    reason: "the service is shutting down".into(),
                };
                let _ = sink.send(Message::Close(Some(away))).await;
            }
        })
}

/// The `Authorization` value of a `connection_init` payload, under either spelling.
fn init_authorization(payload: &serde_json::Value) -> Option<String> {
    ["Authorization", "authorization"]
        .iter()
        .find_map(|key| payload.get(key)?.as_str().map(str::to_owned))
}

/// The data of an authenticated connection: its viewer, if it presented a token; a token
/// that is not a valid bearer token refuses the connection.
async fn connection_data(
    verifier: Arc<JwtVerifier>,
    authorization: Option<String>,
) -> async_graphql::Result<Data> {
    let mut data = Data::default();
    if let Some(value) = authorization {
        let viewer = match bearer(&value) {
            Some(token) => verifier.verify(token).await,
            None => Err(ServiceError::unauthenticated()),
        };
        data.insert(viewer.map_err(|error| error.extend())?);
    }
    Ok(data)
}

fn refuse(error: ServiceError) -> GraphQLResponse {
    let mut server_error = async_graphql::ServerError::new(error.message.clone(), None);
    server_error.extensions = error.extend().extensions;
    async_graphql::Response::from_errors(vec![server_error]).into()
}

/// 200 when the database, the event bus and the token keys can all be reached, else 503;
/// the body says which: `{"database":true,"events":false,"keys":true}`.
async fn ready(State(readiness): State<Arc<Readiness>>) -> impl IntoResponse {
    let database = readiness.db.ping().await.is_ok();
    let events = readiness.bus.connected();
    let keys = readiness.verifier.ready().await;
    let status = if database && events && keys {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({ "database": database, "events": events, "keys": keys });
    (status, axum::Json(body))
}
