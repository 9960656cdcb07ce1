//! Domain events: the CloudEvents envelope, the bus (JetStream or embedded), the
//! transactional outbox and its relay, and the idempotent consumer runner.
//!
//! Layout:
//! - `envelope`: the CloudEvents 1.0 JSON envelope.
//! - `bus`: the [`EventBus`] and [`EventStream`] traits, [`Delivery`], [`connect`].
//! - `jetstream`, `embedded`: the two buses.
//! - `outbox`: [`enqueue`] in the domain transaction (or [`commit_with`] it), [`OutboxRelay`]
//!   to publish.
//! - `consumer`: [`Handler`] and [`Consumer`], effect + inbox row in one transaction.
//! - `live`: [`LiveHub`], fire-and-forget pub/sub for subscriptions across instances.
//! - `migration`: the `outbox` and `inbox` tables; `tables`: their entities.
//! - `backoff`, `error`: shared pieces.

mod backoff;
mod bus;
mod consumer;
mod embedded;
mod envelope;
mod error;
mod jetstream;
mod live;
mod migration;
mod outbox;
pub mod tables;

pub use backoff::Backoff;
pub use bus::{
    BusConfig, BusTuning, ConsumerSpec, DEFAULT_ACK_WAIT, DEFAULT_MAX_DELIVER, Delivery, EventBus,
    EventStream, connect, connect_with,
};
pub use consumer::{Consumer, Handler, Outcome};
pub use embedded::EmbeddedBus;
pub use envelope::{CONTENT_TYPE, Envelope, SPEC_VERSION};
pub use error::{EventError, HandlerError};
pub use jetstream::JetStreamBus;
pub use live::{LiveHub, LiveStream, LocalHub, NatsHub};
pub use migration::EventTablesMigration;
pub use outbox::{OutboxRelay, commit_with, enqueue};
