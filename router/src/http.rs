//! The HTTP surface: `POST /graphql` (JSON body), `GET /graphql` (GraphiQL for
//! browsers, with its assets under `/graphiql/`, a graphql-transport-ws WebSocket on
//! upgrade, otherwise queries from query-string parameters), either of them as a
//! Server-Sent Events stream with `Accept: text/event-stream`, `GET /health`,
//! `GET /ready` and `GET /metrics` (Prometheus). Every failure is answered as GraphQL
//! JSON. Every `/graphql` request is admitted first: its bearer token verified and the
//! request counted against its client's rate limit (429 with `Retry-After` over it).
//! Around every route: CORS preflights from origins that are not listed refused (403),
//! then CORS and the security headers (`browser`).
//!
//! CSRF prevention follows Apollo's rule: a request runs an operation only if a browser
//! would have had to preflight it, that is if its `Content-Type` is not one of the
//! three a cross-site form may send (`text/plain`, `application/x-www-form-urlencoded`,
//! `multipart/form-data`; absent counts as simple too) or it carries a non-empty
//! `apollo-require-preflight` or `x-apollo-operation-name` header.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{
    ConnectInfo, DefaultBodyLimit, Extension, FromRequestParts, Query, Request, State,
};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde::Deserialize;
use serde_json::{Map, Value};
use tracing::Instrument;

use crate::browser;
use crate::error::ErrorCode;
use crate::graphiql;
use crate::pipeline::{Answer, Gateway, GraphQLRequest, RequestContext};
use crate::rate_limit::Client;
use crate::response::Rejection;
use crate::subscribe::{sse, ws_server};

/// The router's HTTP routes over the shared gateway.
pub(crate) fn app(gateway: Arc<Gateway>) -> Router {
    let max_body_bytes = gateway.limits().max_body_bytes;
    let routes = Router::new()
        .route("/graphql", get(get_graphql).post(post_graphql))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&gateway), admit))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&gateway),
            time_request,
        ))
        .route("/graphiql/{file}", get(graphiql::asset))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body_bytes));
    let (cors, origins) = gateway.cors();
    let routes = match browser::cors_layer(cors, origins) {
        Some(cors) => routes.layer(cors),
        None => routes,
    };
    // Outside CORS, which answers every `OPTIONS` itself.
    let routes = routes.layer(middleware::from_fn_with_state(
        Arc::clone(&gateway),
        refuse_unlisted_preflights,
    ));
    browser::with_security_headers(routes).with_state(gateway)
}

async fn not_found() -> Response {
    json(
        StatusCode::NOT_FOUND,
        br#"{"errors":[{"message":"Not found: the API is at /graphql"}]}"#.to_vec(),
    )
}

/// Answers a CORS preflight from an origin that is not listed with 403 (every
/// preflight, when none is), before the CORS layer would answer it without
/// `Access-Control-Allow-Origin`.
async fn refuse_unlisted_preflights(
    State(gateway): State<Arc<Gateway>>,
    request: Request,
    next: Next,
) -> Response {
    if browser::is_preflight(request.method(), request.headers()) {
        let (_, origins) = gateway.cors();
        let listed = request
            .headers()
            .get(header::ORIGIN)
            .is_some_and(|origin| origins.allows(origin));
        if !listed {
            return rejected(
                &gateway,
                Rejection::new(
                    "Cross-origin requests from this origin are not allowed \
                     (the router's `cors.origins` does not list it)",
                    ErrorCode::OriginNotAllowed,
                ),
            );
        }
    }
    next.run(request).await
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

/// Traces each `/graphql` request (continuing the client's trace when it sends a
/// `traceparent`) and records how long it took, rejections included.
async fn time_request(
    State(gateway): State<Arc<Gateway>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let span = tracing::info_span!(
        "graphql request",
        otel.kind = "server",
        trace_id = tracing::field::Empty
    );
    agora_telemetry::continue_trace(&span, request.headers());
    let response = next.run(request).instrument(span).await;
    gateway.telemetry().request_finished(started.elapsed());
    response
}

/// Authenticates the bearer token and counts the request against its client's rate
/// limit before any handler runs, leaving the [`Client`] in the request's extensions
/// for the stricter limits on sensitive fields. A WebSocket handshake counts against
/// its address only: the socket authenticates in `connection_init`, and counts each
/// subscription then.
async fn admit(State(gateway): State<Arc<Gateway>>, mut request: Request, next: Next) -> Response {
    let address = client_address(&gateway, request.headers(), request.extensions());
    let subject = if is_websocket_upgrade(request.headers()) {
        None
    } else {
        match gateway
            .authenticate(request.headers().get(header::AUTHORIZATION))
            .await
        {
            Ok(subject) => subject,
            Err(rejection) => return rejected(&gateway, rejection),
        }
    };
    match gateway.rate_limit(subject, address) {
        Ok(client) => {
            request.extensions_mut().insert(client);
        }
        Err(rejection) => return rejected(&gateway, rejection),
    }
    next.run(request).await
}

/// The client's address: from the configured proxy header when it holds one, else the
/// TCP peer's.
fn client_address(gateway: &Gateway, headers: &HeaderMap, extensions: &Extensions) -> IpAddr {
    let from_header = gateway.client_ip_header().and_then(|name| {
        let value = headers.get(name)?.to_str().ok()?;
        value.rsplit(',').next()?.trim().parse().ok()
    });
    from_header
        .or_else(|| {
            extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| peer.ip())
        })
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

async fn post_graphql(
    State(gateway): State<Arc<Gateway>>,
    Extension(client): Extension<Client>,
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
    execute(gateway, request, &headers, false, client).await
}

/// Query-string parameters of a GET request; `variables` and `extensions` are JSON
/// text.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
    document_id: Option<String>,
    extensions: Option<String>,
}

async fn get_graphql(State(gateway): State<Arc<Gateway>>, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    if is_websocket_upgrade(&parts.headers) {
        return match WebSocketUpgrade::from_request_parts(&mut parts, &gateway).await {
            Ok(upgrade) => {
                let address = client_address(&gateway, &parts.headers, &parts.extensions);
                ws_server::upgrade(gateway, upgrade, &parts.headers, address)
            }
            Err(rejection) => rejection.into_response(),
        };
    }
    let (headers, uri) = (parts.headers, parts.uri);
    let Some(client) = parts.extensions.get::<Client>().cloned() else {
        // `admit` runs before every `/graphql` handler.
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if accepts(&headers, "text/html") {
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
    let extensions = match params.extensions.as_deref().map(serde_json::from_str) {
        None => None,
        Some(Ok(extensions)) => extensions,
        Some(Err(error)) => {
            return rejected(
                &gateway,
                Rejection::new(
                    format!("`extensions` is not a JSON object: {error}"),
                    ErrorCode::BadRequest,
                ),
            );
        }
    };
    let request = GraphQLRequest {
        query: params.query,
        operation_name: params.operation_name,
        variables,
        document_id: params.document_id,
        extensions,
    };
    execute(gateway, request, &headers, true, client).await
}

/// Runs the request as one response, or as an event stream when the client asks for
/// one.
async fn execute(
    gateway: Arc<Gateway>,
    request: GraphQLRequest,
    headers: &HeaderMap,
    is_get: bool,
    client: Client,
) -> Response {
    if accepts(headers, "text/event-stream") {
        let authorization = headers.get(header::AUTHORIZATION).cloned();
        let events = sse::respond(Arc::clone(&gateway), request, authorization, is_get, client);
        return match events.await {
            Ok(response) => response,
            Err(rejection) => rejected(&gateway, rejection),
        };
    }
    let context = RequestContext {
        is_get,
        authorization: headers.get(header::AUTHORIZATION),
        incremental: accepts(headers, "multipart/mixed"),
        client: &client,
    };
    match gateway.handle(request, context).await {
        Ok(Answer::Single(body)) => json(StatusCode::OK, body),
        Ok(Answer::Incremental(payloads)) => multipart(payloads),
        Err(rejection) => rejected(&gateway, rejection),
    }
}

fn rejected(gateway: &Gateway, rejection: Rejection) -> Response {
    gateway.telemetry().errors(&rejection.errors);
    let mut response = json(rejection.status, rejection.body());
    if let Some(seconds) = rejection.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn json(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// An incremental-delivery response: each payload a JSON part of a `multipart/mixed`
/// body (boundary `graphql`, as Apollo's clients expect), then the closing delimiter.
fn multipart(payloads: BoxStream<'static, Vec<u8>>) -> Response {
    const PART: &[u8] = b"\r\n--graphql\r\ncontent-type: application/json; charset=utf-8\r\n\r\n";
    let parts = payloads
        .map(|payload| Ok::<_, Infallible>(Bytes::from([PART, &payload].concat())))
        .chain(futures::stream::once(async {
            Ok(Bytes::from_static(b"\r\n--graphql--\r\n"))
        }));
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            r#"multipart/mixed;boundary="graphql";deferSpec=20220824"#,
        )],
        Body::from_stream(parts),
    )
        .into_response()
}

/// Whether the client accepts `media_type`: browsers ask for `text/html`, SSE clients
/// for `text/event-stream`, clients that take `@defer` incrementally for
/// `multipart/mixed`.
fn accepts(headers: &HeaderMap, media_type: &str) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains(media_type))
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
