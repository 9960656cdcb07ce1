//! The GraphQL response vocabulary: errors with paths and extensions, and rejections
//! (requests refused before execution, with their HTTP status).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::ErrorCode;

/// One entry of a response's `errors` list.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct GraphQLError {
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<Vec<PathSegment>>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub extensions: Map<String, Value>,
}

impl GraphQLError {
    /// An error raised by the router itself, carrying `extensions.code`.
    pub fn new(message: impl Into<String>, code: ErrorCode) -> Self {
        let mut extensions = Map::new();
        extensions.insert("code".to_owned(), Value::from(code.as_str()));
        Self {
            message: message.into(),
            locations: Vec::new(),
            path: None,
            extensions,
        }
    }

    pub fn with_locations(mut self, locations: Vec<Location>) -> Self {
        self.locations = locations;
        self
    }

    pub fn with_extension(mut self, key: &str, value: Value) -> Self {
        self.extensions.insert(key.to_owned(), value);
        self
    }

    /// Reads an error as a subgraph sent it. The message, path and extensions are kept;
    /// locations are dropped because they point into the subgraph's operation, not the
    /// client's.
    pub fn from_subgraph(error: Value) -> Self {
        let Value::Object(mut error) = error else {
            return Self::new(
                "Subgraph returned a malformed error",
                ErrorCode::SubgraphRequestFailed,
            );
        };
        let message = match error.remove("message") {
            Some(Value::String(message)) => message,
            _ => "Subgraph returned an error without a message".to_owned(),
        };
        let path = match error.remove("path") {
            Some(Value::Array(segments)) => segments
                .into_iter()
                .map(|segment| match segment {
                    Value::String(key) => Some(PathSegment::Key(key)),
                    Value::Number(index) => index
                        .as_u64()
                        .and_then(|i| usize::try_from(i).ok())
                        .map(PathSegment::Index),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>(),
            _ => None,
        };
        let extensions = match error.remove("extensions") {
            Some(Value::Object(extensions)) => extensions,
            _ => Map::new(),
        };
        Self {
            message,
            locations: Vec::new(),
            path,
            extensions,
        }
    }
}

/// A position in the client's document.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Location {
    pub line: usize,
    pub column: usize,
}

/// One step of an error's `path`: a response key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub(crate) enum PathSegment {
    Key(String),
    Index(usize),
}

/// A request refused before execution: the HTTP status and the errors to show.
#[derive(Debug)]
pub(crate) struct Rejection {
    pub status: axum::http::StatusCode,
    pub errors: Vec<GraphQLError>,
    /// Seconds the client should wait before trying again (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl Rejection {
    /// Rejects with one error whose code also decides the status.
    pub fn new(message: impl Into<String>, code: ErrorCode) -> Self {
        Self {
            status: code.status(),
            errors: vec![GraphQLError::new(message, code)],
            retry_after: None,
        }
    }

    /// Rejects a client over its rate limit, telling it how long to wait.
    pub fn rate_limited(wait: std::time::Duration) -> Self {
        Self::retry_after(wait, |seconds| {
            format!("Too many requests: try again in {seconds} s")
        })
    }

    /// Rejects with `RATE_LIMITED`, HTTP 429 and `Retry-After: <wait, rounded up>`; the
    /// message is written for those seconds.
    pub fn retry_after(wait: std::time::Duration, message: impl FnOnce(u64) -> String) -> Self {
        let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        Self {
            retry_after: Some(seconds),
            ..Self::new(message(seconds), ErrorCode::RateLimited)
        }
    }

    /// Rejects with several errors that share a code.
    pub fn many(code: ErrorCode, errors: Vec<GraphQLError>) -> Self {
        Self {
            status: code.status(),
            errors,
            retry_after: None,
        }
    }

    /// The response body as a JSON value: `{"errors": [...]}`.
    pub fn body_json(&self) -> Value {
        let errors = serde_json::to_value(&self.errors).unwrap_or(Value::Null);
        Value::Object(Map::from_iter([("errors".to_owned(), errors)]))
    }

    /// The response body: `{"errors": [...]}`.
    pub fn body(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Body<'a> {
            errors: &'a [GraphQLError],
        }
        serde_json::to_vec(&Body {
            errors: &self.errors,
        })
        .unwrap_or_else(|_| br#"{"errors":[{"message":"Internal server error"}]}"#.to_vec())
    }
}

/// Serializes into a buffer. Writing JSON into a `Vec` cannot fail for the values the
/// router writes (string keys only), so a failure degrades to `null` instead of panicking.
pub(crate) fn write_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.extend_from_slice(b"null");
    }
}
