//! Identity's errors: client errors with their codes, internal errors logged and hidden.

use agora_kit::{Code, ServiceError};
use async_graphql::ErrorExtensions;

/// Everything that can go wrong in identity.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// A client error with a safe message and a code.
    #[error(transparent)]
    Client(#[from] ServiceError),
    /// The database failed.
    #[error("database error")]
    Database(#[from] sea_orm::DbErr),
    /// Keys, randomness or hashing failed.
    #[error("crypto failure: {0}")]
    Crypto(&'static str),
    /// A blocking task (password hashing) died.
    #[error("blocking task failed")]
    Join(#[from] tokio::task::JoinError),
}

impl IdentityError {
    /// The one answer to any failed login, whatever the cause: it reveals nothing.
    pub fn bad_credentials() -> Self {
        ServiceError::new(Code::Unauthenticated, "invalid login or password").into()
    }
}

impl ErrorExtensions for IdentityError {
    fn extend(&self) -> async_graphql::Error {
        match self {
            IdentityError::Client(client) => client.extend(),
            internal => ServiceError::internal(internal).extend(),
        }
    }
}
