//! The HTTP face of a subgraph: `POST /graphql`, subscriptions over WebSocket
//! (`GET /graphql` upgraded, graphql-transport-ws) when the schema has a subscription
//! root, `/health` and `/ready`.
//!
//! A request's bearer token is verified before the operation runs; a bad token fails the
//! whole request with `UNAUTHENTICATED` rather than quietly running it anonymously. A
//! WebSocket is authenticated once, at `connection_init`: the token comes from its
//! payload (`Authorization` or `authorization`, as the router sends it) or else from the
//! upgrade request's `Authorization` header, and a bad one closes the connection.

use std::sync::Arc;

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::{Data, ErrorExtensions, ObjectType, Schema, SubscriptionType};
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use sea_orm::DatabaseConnection;

use crate::auth::{JwtVerifier, bearer};
use crate::error::ServiceError;

/// What the GraphQL handler needs on every request.
struct GraphqlState<Q, M, S> {
    schema: Schema<Q, M, S>,
    verifier: Arc<JwtVerifier>,
}

/// The axum router of a subgraph around its federation `schema`; subscriptions are
/// served only if the schema has a subscription root.
pub fn router<Q, M, S>(
    schema: Schema<Q, M, S>,
    verifier: Arc<JwtVerifier>,
    db: DatabaseConnection,
) -> axum::Router
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let state = Arc::new(GraphqlState { schema, verifier });
    let mut endpoint = post(graphql::<Q, M, S>);
    if !S::is_empty() {
        endpoint = endpoint.get(subscribe::<Q, M, S>);
    }
    axum::Router::new()
        .route("/graphql", endpoint.with_state(state))
        .route("/health", get(|| async { "ok" }))
        .route("/ready", get(ready).with_state(db))
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
    let mut request = request.into_inner();
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
    state.schema.execute(request).await.into()
}

/// Upgrades to a graphql-transport-ws (or legacy graphql-ws) connection whose operations
/// run with the viewer that `connection_init` authenticated.
async fn subscribe<Q, M, S>(
    State(state): State<Arc<GraphqlState<Q, M, S>>>,
    protocol: GraphQLProtocol,
    headers: HeaderMap,
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
        .on_upgrade(move |socket| {
            let verifier = state.verifier.clone();
            GraphQLWebSocket::new(socket, state.schema.clone(), protocol)
                .on_connection_init(move |payload| {
                    connection_data(verifier, init_authorization(&payload).or(handshake))
                })
                .serve()
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

async fn ready(State(db): State<DatabaseConnection>) -> StatusCode {
    match db.ping().await {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}
