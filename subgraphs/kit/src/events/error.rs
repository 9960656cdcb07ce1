//! The errors of the event plumbing: one for the bus and the stores around it, one for
//! handlers so that a consumer knows whether retrying can help.

use std::error::Error as StdError;

/// Why an event could not be published, received, acknowledged or recorded.
///
/// Callers mostly log it and retry later (the relay and the consumer runner do that
/// themselves); the variants exist so that logs say which side failed.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The broker (NATS JetStream, or the embedded bus's log) refused or did not answer.
    #[error("event bus: {0}")]
    Bus(String),
    /// A database statement of the outbox, the inbox or the embedded log failed.
    #[error("event store: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// An envelope could not be written to or read from JSON.
    #[error("event serialization: {0}")]
    Serialization(#[from] serde_json::Error),
    /// A consumer's handler did not apply the event (from [`Consumer::apply`]).
    ///
    /// [`Consumer::apply`]: super::Consumer::apply
    #[error("event handler: {0}")]
    Handler(#[from] HandlerError),
}

impl EventError {
    /// Wraps any broker-side error, keeping its message (NATS errors are many small types).
    pub(crate) fn bus(err: impl std::fmt::Display) -> Self {
        EventError::Bus(err.to_string())
    }
}

/// Why a [`Handler`](super::Handler) did not apply an event.
///
/// The distinction matters to the consumer: a retryable failure is negatively
/// acknowledged with backoff and tried again up to `max_deliver` times, a rejected event
/// goes to the dead letters at once because trying again cannot change the answer.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Something outside the event failed (database busy, a peer down): try again later.
    #[error("retryable: {0}")]
    Retry(#[source] Box<dyn StdError + Send + Sync>),
    /// The event itself cannot be applied (malformed payload, impossible state).
    #[error("rejected: {0}")]
    Reject(#[source] Box<dyn StdError + Send + Sync>),
}

impl HandlerError {
    /// A retryable failure from any error, for handlers with their own error types.
    pub fn retry(err: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        HandlerError::Retry(err.into())
    }

    /// A permanent failure from any error or message.
    pub fn reject(err: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        HandlerError::Reject(err.into())
    }
}

/// Database errors are usually transient (locks, connections), so `?` retries them.
impl From<sea_orm::DbErr> for HandlerError {
    fn from(err: sea_orm::DbErr) -> Self {
        HandlerError::Retry(Box::new(err))
    }
}

/// A payload that does not decode today will not decode tomorrow, so `?` rejects it.
impl From<serde_json::Error> for HandlerError {
    fn from(err: serde_json::Error) -> Self {
        HandlerError::Reject(Box::new(err))
    }
}
