//! The HTTP face of a subgraph: `POST /graphql`, `/health` and `/ready`.
//!
//! A request's bearer token is verified before the operation runs; a bad token fails the
//! whole request with `UNAUTHENTICATED` rather than quietly running it anonymously.

use std::sync::Arc;

use async_graphql::{ErrorExtensions, ObjectType, Schema, SubscriptionType};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use sea_orm::DatabaseConnection;

use crate::auth::{JwtVerifier, bearer};
use crate::error::ServiceError;

/// What the GraphQL handler needs on every request.
struct GraphqlState<Q, M, S> {
    schema: Schema<Q, M, S>,
    verifier: Arc<JwtVerifier>,
}

/// The axum router of a subgraph around its federation `schema`.
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
    axum::Router::new()
        .route("/graphql", post(graphql::<Q, M, S>).with_state(state))
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
