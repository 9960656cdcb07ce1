//! Error codes and the way errors reach a GraphQL client.
//!
//! Client errors carry a safe message and an `extensions.code`; internal errors are logged
//! with their cause chain and shown only as `INTERNAL_SERVER_ERROR`. Resolvers turn errors
//! into GraphQL errors with `async_graphql::ResultExt::extend`, which keeps the code (a
//! bare `?` would keep only the message).

use async_graphql::ErrorExtensions;

/// The `extensions.code` values every Agora service speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// No valid credentials were presented.
    Unauthenticated,
    /// The viewer is known but may not do this.
    Forbidden,
    /// An argument or input field is invalid; the message names it.
    BadUserInput,
    /// The thing does not exist, or the viewer may not know that it does.
    NotFound,
    /// Too many attempts; `extensions.retryAfter` says when to try again.
    TooManyRequests,
    /// Something broke on our side; details are in the logs, not the response.
    InternalServerError,
}

impl Code {
    /// The wire form, as in `extensions.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::Forbidden => "FORBIDDEN",
            Code::BadUserInput => "BAD_USER_INPUT",
            Code::NotFound => "NOT_FOUND",
            Code::TooManyRequests => "TOO_MANY_REQUESTS",
            Code::InternalServerError => "INTERNAL_SERVER_ERROR",
        }
    }
}

/// A client error: a code and a message that is safe to show.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ServiceError {
    /// The `extensions.code`.
    pub code: Code,
    /// Safe, human-readable message.
    pub message: String,
    /// Input field at fault, for `BAD_USER_INPUT` (`extensions.field`).
    pub field: Option<&'static str>,
    /// Seconds until a retry may succeed, for `TOO_MANY_REQUESTS`.
    pub retry_after: Option<u64>,
}

impl ServiceError {
    /// A client error with `code` and `message`.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    /// A `BAD_USER_INPUT` error naming the input field at fault.
    pub fn bad_input(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field),
            ..Self::new(Code::BadUserInput, message)
        }
    }

    /// The standard `UNAUTHENTICATED` error for a missing or unusable token.
    pub fn unauthenticated() -> Self {
        Self::new(Code::Unauthenticated, "authentication required")
    }

    /// Logs an internal error with its cause chain and returns the opaque client error.
    pub fn internal(error: &(dyn std::error::Error + 'static)) -> Self {
        let mut chain = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            source = cause.source();
        }
        tracing::error!(error = %chain, "internal error");
        Self::new(Code::InternalServerError, "internal server error")
    }
}

impl ErrorExtensions for ServiceError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.message.clone()).extend_with(|_, ext| {
            ext.set("code", self.code.as_str());
            if let Some(field) = self.field {
                ext.set("field", field);
            }
            if let Some(seconds) = self.retry_after {
                ext.set("retryAfter", seconds);
            }
        })
    }
}
