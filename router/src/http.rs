//! The HTTP surface: `POST /graphql` (JSON body), `GET /graphql` (GraphiQL for
//! browsers, with its assets under `/graphiql/`, a graphql-transport-ws WebSocket on
//! upgrade, otherwise queries from query-string parameters), either of them as a
//! Server-Sent Events stream with `Accept: text/event-stream`, `GET /health`,
//! `GET /ready` and `GET /metrics` (Prometheus). Every failure is answered as GraphQL
//! JSON.
//!
//! CSRF prevention follows Apollo's rule: a request runs an operation only if a browser
//! would have had to preflight it, that is if its `Content-Type` is not one of the
//! three a cross-site form may send (`text/plain`, `application/x-www-form-urlencoded`,
//! `multipart/form-data`; absent counts as simple too) or it carries a non-empty
//! `apollo-require-preflight` or `x-apollo-operation-name` header.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::ErrorCode;
use crate::graphiql;
use crate::pipeline::{Gateway, GraphQLRequest, RequestContext};
use crate::response::Rejection;
use crate::subscribe::{sse, ws_server};

/// The router's HTTP routes over the shared gateway.
pub(crate) fn app(gateway: Arc<Gateway>) -> Router {
    let max_body_bytes = gateway.limits().max_body_bytes;
    Router::new()
        .route("/graphql", get(get_graphql).post(post_graphql))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&gateway),
            time_request,
        ))
        .route("/graphiql/{file}", get(graphiql::asset))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(gateway)
}

async fn health() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"UP"}"#,
    )
}

/// Ready once a supergraph is loaded, which a bound `Server` always has.
async fn ready(State(_gateway): State<Arc<Gateway>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"READY"}"#,
    )
}

/// The Prometheus exposition of the router's metrics.
async fn metrics(State(gateway): State<Arc<Gateway>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        gateway.telemetry().render(),
    )
}

/// Records how long each `/graphql` request took, rejections included.
async fn time_request(
    State(gateway): State<Arc<Gateway>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let response = next.run(request).await;
    gateway.telemetry().request_finished(started.elapsed());
    response
}

async fn post_graphql(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Err(rejection) = check_csrf(&gateway, &headers) {
        return rejected(&gateway, rejection);
    }
    if !is_json(&headers) {
        return rejected(
            &gateway,
            Rejection::new(
                "The request body must be JSON (Content-Type: application/json)",
                ErrorCode::UnsupportedMediaType,
            ),
        );
    }
    let body = match body {
        Ok(body) => body,
        Err(BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_))) => {
            return rejected(
                &gateway,
                Rejection::new(
                    format!(
                        "The request body is larger than {} bytes",
                        gateway.limits().max_body_bytes
                    ),
                    ErrorCode::PayloadTooLarge,
                ),
            );
        }
        Err(error) => {
            return rejected(
                &gateway,
                Rejection::new(
                    format!("The request body could not be read: {error}"),
                    ErrorCode::BadRequest,
                ),
            );
        }
    };
    let request = match serde_json::from_slice::<GraphQLRequest>(&body) {
        Ok(request) => request,
        Err(error) => {
            return rejected(
                &gateway,
                Rejection::new(
                    format!("The request body is not a GraphQL request: {error}"),
                    ErrorCode::BadRequest,
                ),
            );
        }
    };
    execute(gateway, request, &headers, false).await
}

/// Query-string parameters of a GET request; `variables` is JSON text.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
}

async fn get_graphql(State(gateway): State<Arc<Gateway>>, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    if is_websocket_upgrade(&parts.headers) {
        return match WebSocketUpgrade::from_request_parts(&mut parts, &gateway).await {
            Ok(upgrade) => ws_server::upgrade(gateway, upgrade, &parts.headers),
            Err(rejection) => rejection.into_response(),
        };
    }
    let (headers, uri) = (parts.headers, parts.uri);
    if accepts_html(&headers) {
        return graphiql::page();
    }
    if let Err(rejection) = check_csrf(&gateway, &headers) {
        return rejected(&gateway, rejection);
    }
    let params = match Query::<GetParams>::try_from_uri(&uri) {
        Ok(Query(params)) => params,
        Err(error) => {
            return rejected(
                &gateway,
                Rejection::new(
                    format!("The query string is not a GraphQL request: {error}"),
                    ErrorCode::BadRequest,
                ),
            );
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
            return rejected(
                &gateway,
                Rejection::new(
                    format!("`variables` is not a JSON object: {error}"),
                    ErrorCode::BadRequest,
                ),
            );
        }
    };
    let request = GraphQLRequest {
        query: params.query,
        operation_name: params.operation_name,
        variables,
    };
    execute(gateway, request, &headers, true).await
}

/// Runs the request as one response, or as an event stream when the client asks for
/// one.
async fn execute(
    gateway: Arc<Gateway>,
    request: GraphQLRequest,
    headers: &HeaderMap,
    is_get: bool,
) -> Response {
    if accepts_event_stream(headers) {
        let authorization = headers.get(header::AUTHORIZATION).cloned();
        return match sse::respond(Arc::clone(&gateway), request, authorization, is_get).await {
            Ok(response) => response,
            Err(rejection) => rejected(&gateway, rejection),
        };
    }
    let context = RequestContext {
        is_get,
        authorization: headers.get(header::AUTHORIZATION),
    };
    match gateway.handle(request, context).await {
        Ok(body) => json(StatusCode::OK, body),
        Err(rejection) => rejected(&gateway, rejection),
    }
}

fn rejected(gateway: &Gateway, rejection: Rejection) -> Response {
    gateway.telemetry().errors(&rejection.errors);
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

/// SSE clients ask for `text/event-stream`.
fn accepts_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains("text/event-stream"))
}

/// A WebSocket handshake: `Upgrade: websocket`.
fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"))
}

/// Refuses requests that a browser could have sent cross-site without a preflight.
fn check_csrf(gateway: &Gateway, headers: &HeaderMap) -> Result<(), Rejection> {
    if !gateway.csrf_prevention() || is_preflighted(headers) {
        return Ok(());
    }
    Err(Rejection::new(
        "This request has been blocked as a potential Cross-Site Request Forgery (CSRF). \
         Send it with Content-Type: application/json, or with a non-empty \
         `apollo-require-preflight` or `x-apollo-operation-name` header.",
        ErrorCode::CsrfPrevention,
    ))
}

/// Whether a browser would have preflighted this request (see the module docs).
fn is_preflighted(headers: &HeaderMap) -> bool {
    let has = |name: &str| headers.get(name).is_some_and(|value| !value.is_empty());
    if has("apollo-require-preflight") || has("x-apollo-operation-name") {
        return true;
    }
    match media_type(headers) {
        None => false,
        Some(media_type) => !matches!(
            media_type.as_str(),
            "text/plain" | "application/x-www-form-urlencoded" | "multipart/form-data"
        ),
    }
}

/// A POST body is JSON when it says so (`application/json`, or any `+json` type), or
/// says nothing.
fn is_json(headers: &HeaderMap) -> bool {
    media_type(headers)
        .is_none_or(|media_type| media_type == "application/json" || media_type.ends_with("+json"))
}

/// The `Content-Type` without parameters, lower-cased; `Some("")` when unreadable.
fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?;
    let value = value.to_str().unwrap_or_default();
    let essence = value.split(';').next().unwrap_or_default();
    Some(essence.trim().to_ascii_lowercase())
}
