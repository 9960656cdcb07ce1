//! The HTTP surface: `POST /graphql` (JSON body), `GET /graphql` (GraphiQL for
//! browsers, otherwise queries from query-string parameters) and `GET /health`.
//! Every failure is answered as GraphQL JSON.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::ErrorCode;
use crate::pipeline::{Gateway, GraphQLRequest, RequestContext};
use crate::response::Rejection;

/// The GraphiQL page served to browsers.
const GRAPHIQL: &str = include_str!("graphiql.html");

/// The router's HTTP routes over the shared gateway.
pub(crate) fn app(gateway: Arc<Gateway>) -> Router {
    Router::new()
        .route("/graphql", get(get_graphql).post(post_graphql))
        .route("/health", get(health))
        .with_state(gateway)
}

async fn health() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"UP"}"#,
    )
}

async fn post_graphql(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = match serde_json::from_slice::<GraphQLRequest>(&body) {
        Ok(request) => request,
        Err(error) => {
            return rejected(Rejection::new(
                format!("The request body is not a GraphQL request: {error}"),
                ErrorCode::BadRequest,
            ));
        }
    };
    execute(&gateway, request, &headers, false).await
}

/// Query-string parameters of a GET request; `variables` is JSON text.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
}

async fn get_graphql(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    if accepts_html(&headers) {
        return Html(GRAPHIQL).into_response();
    }
    let params = match Query::<GetParams>::try_from_uri(&uri) {
        Ok(Query(params)) => params,
        Err(error) => {
            return rejected(Rejection::new(
                format!("The query string is not a GraphQL request: {error}"),
                ErrorCode::BadRequest,
            ));
        }
    };
    let variables = match params
        .variables
        .as_deref()
        .map(serde_json::from_str::<Option<Map<String, Value>>>)
    {
        None => None,
        Some(Ok(variables)) => variables,
        Some(Err(error)) => {
            return rejected(Rejection::new(
                format!("`variables` is not a JSON object: {error}"),
                ErrorCode::BadRequest,
            ));
        }
    };
    let request = GraphQLRequest {
        query: params.query,
        operation_name: params.operation_name,
        variables,
    };
    execute(&gateway, request, &headers, true).await
}

async fn execute(
    gateway: &Gateway,
    request: GraphQLRequest,
    headers: &HeaderMap,
    is_get: bool,
) -> Response {
    let context = RequestContext {
        is_get,
        authorization: headers.get(header::AUTHORIZATION),
    };
    match gateway.handle(request, context).await {
        Ok(body) => json(StatusCode::OK, body),
        Err(rejection) => rejected(rejection),
    }
}

fn rejected(rejection: Rejection) -> Response {
    json(rejection.status, rejection.body())
}

fn json(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Browsers ask for HTML; GraphQL clients ask for JSON (or nothing).
fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains("text/html"))
}
