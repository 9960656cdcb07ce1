//! Content's errors: client errors with their codes, internal errors logged and hidden.

use agora_kit::ServiceError;
use async_graphql::ErrorExtensions;

/// Everything that can go wrong in content.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// A client error with a safe message and a code.
    #[error(transparent)]
    Client(#[from] ServiceError),
    /// The database failed.
    #[error("database error")]
    Database(#[from] sea_orm::DbErr),
}

impl ErrorExtensions for ContentError {
    fn extend(&self) -> async_graphql::Error {
        match self {
            ContentError::Client(client) => client.extend(),
            internal => ServiceError::internal(internal).extend(),
        }
    }
}
