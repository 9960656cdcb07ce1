//! Media's errors: client errors with their codes, internal errors logged and hidden; and
//! the upload endpoint's errors, each an HTTP status with a JSON body.

use agora_kit::ServiceError;
use async_graphql::ErrorExtensions;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::process::Rejection;
use crate::token::TokenError;

/// Everything that can go wrong in media's GraphQL operations.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// A client error with a safe message and a code.
    #[error(transparent)]
    Client(#[from] ServiceError),
    /// The database failed.
    #[error("database error")]
    Database(#[from] sea_orm::DbErr),
}

impl ErrorExtensions for MediaError {
    fn extend(&self) -> async_graphql::Error {
        match self {
            MediaError::Client(client) => client.extend(),
            internal => ServiceError::internal(internal).extend(),
        }
    }
}

/// Why an upload (`PUT` to an upload URL) failed; the token stays usable until it
/// expires for every one of them except [`UploadError::Used`] and [`UploadError::Expired`].
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The token is not one media signed (403).
    #[error("this upload URL is not valid")]
    InvalidToken,
    /// The token has expired (410).
    #[error("this upload URL has expired")]
    Expired,
    /// The token was used already, or an upload with it is in progress (409).
    #[error("this upload URL was used already")]
    Used,
    /// The media was deleted (410).
    #[error("this upload was deleted")]
    Gone,
    /// More bytes than `createUpload` declared (413).
    #[error("the upload is larger than the {declared} bytes declared")]
    TooLarge {
        /// The declared size.
        declared: i64,
    },
    /// Fewer bytes than declared (400).
    #[error("the upload is {got} bytes, not the {declared} declared")]
    SizeMismatch {
        /// The declared size.
        declared: i64,
        /// What arrived.
        got: usize,
    },
    /// The bytes were refused (400, 415 or 422 by kind).
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The database failed (500, logged).
    #[error("database error")]
    Database(#[from] sea_orm::DbErr),
    /// The file store failed (500, logged).
    #[error("file store error")]
    Store(#[from] object_store::Error),
    /// Reading the request body failed other than by its size (400).
    #[error("the upload could not be read")]
    Body,
    /// A processing thread failed (500, logged).
    #[error("processing failed")]
    Worker(#[from] tokio::task::JoinError),
}

impl UploadError {
    /// The HTTP status and machine-readable code of this error.
    pub fn status(&self) -> (StatusCode, &'static str) {
        match self {
            UploadError::InvalidToken => (StatusCode::FORBIDDEN, "INVALID_TOKEN"),
            UploadError::Expired => (StatusCode::GONE, "EXPIRED"),
            UploadError::Used => (StatusCode::CONFLICT, "ALREADY_UPLOADED"),
            UploadError::Gone => (StatusCode::GONE, "DELETED"),
            UploadError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "TOO_LARGE"),
            UploadError::SizeMismatch { .. } => (StatusCode::BAD_REQUEST, "SIZE_MISMATCH"),
            UploadError::Body => (StatusCode::BAD_REQUEST, "BAD_REQUEST"),
            UploadError::Rejected(rejection) => match rejection {
                Rejection::Empty => (StatusCode::BAD_REQUEST, "EMPTY"),
                Rejection::Unsupported | Rejection::Mismatch { .. } => {
                    (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE")
                }
                Rejection::TooLarge(_) => (StatusCode::UNPROCESSABLE_ENTITY, "IMAGE_TOO_LARGE"),
                Rejection::Undecodable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "UNDECODABLE"),
            },
            UploadError::Database(_) | UploadError::Store(_) | UploadError::Worker(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_SERVER_ERROR")
            }
        }
    }
}

impl From<TokenError> for UploadError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Invalid => UploadError::InvalidToken,
            TokenError::Expired => UploadError::Expired,
        }
    }
}

/// `{"error": {"code", "message"}}` with the status; internal causes are logged, not shown.
impl IntoResponse for UploadError {
    fn into_response(self) -> Response {
        let (status, code) = self.status();
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            ServiceError::internal(&self).message
        } else {
            self.to_string()
        };
        let body = json!({ "error": { "code": code, "message": message } });
        (status, Json(body)).into_response()
    }
}
