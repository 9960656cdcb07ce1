//! Errors: [`RouterError`] for start-up and serving failures, and [`ErrorCode`], the
//! `extensions.code` values the router itself puts on errors it shows to clients.
//!
//! Client errors and internal errors stay apart: internal causes are logged and the
//! client sees a code and a safe message, never a cause chain.

use std::net::SocketAddr;

use axum::http::StatusCode;

/// Why the router could not start or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    /// The supergraph SDL is not valid GraphQL.
    #[error("the supergraph SDL does not parse: {0}")]
    SupergraphParse(String),
    /// The supergraph parses but the query planner cannot be built over it.
    #[error("the query planner rejected the supergraph: {0}")]
    Planner(String),
    /// A URL override names a subgraph that the supergraph does not define.
    #[error("a URL override names subgraph `{0}`, which the supergraph does not define")]
    UnknownSubgraph(String),
    /// The pooled HTTP client for subgraph requests could not be built.
    #[error("building the subgraph HTTP client failed")]
    HttpClient(#[source] reqwest::Error),
    /// The listener could not be bound.
    #[error("binding {addr} failed")]
    Bind {
        /// The address that was asked for.
        addr: SocketAddr,
        /// Why binding failed.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP server failed while serving.
    #[error("serving HTTP failed")]
    Serve(#[source] std::io::Error),
    /// The persisted-document manifest is not an Apollo persisted-query manifest.
    #[error("the persisted-document manifest is invalid: {0}")]
    PersistedManifest(String),
    /// `client_ip_header` is not a valid header name.
    #[error("`{0}` is not a valid header name for the client's address")]
    ClientIpHeader(String),
    /// A CORS origin is not `scheme://host[:port]` (with `*` allowed as the port only).
    #[error(
        "`{0}` is not a CORS origin: write scheme://host or scheme://host:port (the port may be *)"
    )]
    CorsOrigin(String),
}

/// The `extensions.code` of errors produced by the router (errors from subgraphs keep
/// their own codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The request is not a well-formed GraphQL-over-HTTP request.
    BadRequest,
    /// The document does not parse.
    GraphqlParseFailed,
    /// The document is not valid against the public schema.
    GraphqlValidationFailed,
    /// Variable values do not satisfy the operation's variable definitions.
    BadUserInput,
    /// The operation may not be sent with this HTTP method (mutations over GET).
    MethodNotAllowed,
    /// The router supports the operation in GraphQL but not yet in this router.
    OperationNotSupported,
    /// The planner could not plan the operation.
    QueryPlanningFailed,
    /// A subgraph could not be reached or answered with something other than GraphQL.
    SubgraphRequestFailed,
    /// A value required by the schema was missing; the error was not caused by the client.
    InternalServerError,
    /// The bearer token is malformed, expired, not for us, or not signed by a known key.
    Unauthenticated,
    /// A request a browser could send cross-site without a preflight.
    CsrfPrevention,
    /// The body is not JSON (`Content-Type` other than `application/json`).
    UnsupportedMediaType,
    /// The body is larger than `Limits::max_body_bytes`.
    PayloadTooLarge,
    /// Fields nest deeper than `Limits::max_depth`.
    MaxDepthExceeded,
    /// More aliases than `Limits::max_aliases`.
    MaxAliasesExceeded,
    /// More root fields than `Limits::max_root_fields`.
    MaxRootFieldsExceeded,
    /// More tokens than `Limits::max_tokens`.
    MaxTokensExceeded,
    /// An APQ hash the router has not seen: the client should send the query with it.
    PersistedQueryNotFound,
    /// An APQ hash that is not the SHA-256 of the query sent with it.
    PersistedQueryHashMismatch,
    /// An operation outside the persisted-document manifest, when only it may run.
    PersistedQueryNotInList,
    /// The client sent more requests than its rate limit allows, or more attempts at a
    /// sensitive field (`login`, …) than its stricter limit allows.
    RateLimited,
    /// A CORS preflight from an origin the configuration does not list.
    OriginNotAllowed,
}

impl ErrorCode {
    /// The code as it appears in `extensions.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "BAD_REQUEST",
            Self::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            Self::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::OperationNotSupported => "OPERATION_NOT_SUPPORTED",
            Self::QueryPlanningFailed => "QUERY_PLANNING_FAILED",
            Self::SubgraphRequestFailed => "SUBGRAPH_REQUEST_FAILED",
            Self::InternalServerError => "INTERNAL_SERVER_ERROR",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::CsrfPrevention => "CSRF_PREVENTION",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::MaxDepthExceeded => "MAX_DEPTH_EXCEEDED",
            Self::MaxAliasesExceeded => "MAX_ALIASES_EXCEEDED",
            Self::MaxRootFieldsExceeded => "MAX_ROOT_FIELDS_EXCEEDED",
            Self::MaxTokensExceeded => "MAX_TOKENS_EXCEEDED",
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::PersistedQueryHashMismatch => "PERSISTED_QUERY_HASH_MISMATCH",
            Self::PersistedQueryNotInList => "PERSISTED_QUERY_NOT_IN_LIST",
            Self::RateLimited => "RATE_LIMITED",
            Self::OriginNotAllowed => "ORIGIN_NOT_ALLOWED",
        }
    }

    /// The HTTP status of a response rejected with this code before execution.
    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest
            | Self::GraphqlParseFailed
            | Self::GraphqlValidationFailed
            | Self::BadUserInput
            | Self::OperationNotSupported
            | Self::CsrfPrevention
            | Self::MaxDepthExceeded
            | Self::MaxAliasesExceeded
            | Self::MaxRootFieldsExceeded
            | Self::MaxTokensExceeded
            | Self::PersistedQueryHashMismatch
            | Self::PersistedQueryNotInList => StatusCode::BAD_REQUEST,
            // Apollo's clients retry with the query on this code; 200 keeps GET
            // responses cacheable and matches Apollo Server and Router.
            Self::PersistedQueryNotFound => StatusCode::OK,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::OriginNotAllowed => StatusCode::FORBIDDEN,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::QueryPlanningFailed | Self::InternalServerError => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Self::SubgraphRequestFailed => StatusCode::BAD_GATEWAY,
        }
    }
}

/// The message of a caught panic. The planner and composition crates panic on some
/// malformed inputs; the router catches those panics and reports them as errors.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|message| (*message).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}
