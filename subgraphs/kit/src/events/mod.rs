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
//! - `topology`: the JetStream streams and consumers as code, the one source of truth.
//! - `admin`: [`EventAdmin`], what `agora events` does (apply, dead letters, replay,
//!   stats) on either bus.
//! - `erasure`: the account erasure protocol every subgraph takes part in.
//! - `migration`: the `outbox` and `inbox` tables and their indexes, and the erasers'
//!   `erased_user`; `tables`: their entities.
//! - `metrics`: events handled, their lag, and events published, for `/metrics`.
//! - `backoff`, `error`: shared pieces.
//!
//! Guarantees: nothing committed is lost (outbox, PubAck, durable consumers), nothing is
//! applied twice (inbox in the effect's transaction), and each consumer applies events in
//! stream order, so the events about one entity are applied in the order they were
//! published (see `consumer` and `jetstream` for how retries and crashes keep it).

mod admin;
mod backoff;
mod bus;
mod consumer;
mod embedded;
mod envelope;
pub mod erasure;
mod error;
mod jetstream;
mod live;
pub(crate) mod metrics;
mod migration;
mod outbox;
pub mod tables;
pub mod topology;

pub use admin::{Applied, ConsumerStats, DeadLetter, EventAdmin, ReplaySelection, connect_admin};
pub use backoff::Backoff;
pub use bus::{
    BusConfig, BusTuning, ConsumerSpec, DEFAULT_ACK_WAIT, DEFAULT_MAX_ACK_PENDING,
    DEFAULT_MAX_DELIVER, Delivery, EventBus, EventStream, connect, connect_with,
};
pub use consumer::{BATCH, Consumer, Handler, Outcome};
pub use embedded::EmbeddedBus;
pub use envelope::{CONTENT_TYPE, Envelope, SPEC_VERSION};
pub use error::{EventError, HandlerError};
pub use jetstream::JetStreamBus;
pub use live::{LiveHub, LiveStream, LocalHub, NatsHub};
pub use migration::{ErasedUsersMigration, EventTablesMigration, OutboxUnsentIndexMigration};
pub use outbox::{DEFAULT_RETENTION, OutboxRelay, commit_with, enqueue};
