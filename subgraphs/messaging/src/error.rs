//! Messaging's errors: client errors with their codes, internal errors logged and hidden.

use agora_kit::ServiceError;
use async_graphql::ErrorExtensions;

/// Everything that can go wrong in messaging.
#[derive(Debug, thiserror::Error)]
pub enum MessagingError {
    /// A client error with a safe message and a code.
    #[error(transparent)]
    Client(#[from] ServiceError),
    /// The database failed.
    #[error("database error")]
    Database(#[from] sea_orm::DbErr),
    /// The live hub failed (NATS unreachable) while subscribing.
    #[error("live delivery")]
    Live(#[from] agora_kit::events::EventError),
}

impl ErrorExtensions for MessagingError {
    fn extend(&self) -> async_graphql::Error {
        match self {
            MessagingError::Client(client) => client.extend(),
            internal => ServiceError::internal(internal).extend(),
        }
    }
}
