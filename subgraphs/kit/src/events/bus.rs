//! The event bus seen from the subgraphs: publish, subscribe, and the delivery handle.
//!
//! Two implementations sit behind [`EventBus`]: NATS JetStream in production and an
//! embedded SQLite-backed log for `agora dev`. Both give the same guarantees: durable
//! publish acknowledged before returning, deduplication by envelope id, in-order
//! at-least-once delivery to durable consumers with explicit ack, nak with delay,
//! bounded redelivery and dead letters.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::embedded::EmbeddedBus;
use super::envelope::{Envelope, domain_of};
use super::error::EventError;
use super::jetstream::JetStreamBus;
use super::live::LiveHub;

/// How long a delivery may stay unacknowledged before the bus hands it out again.
pub const DEFAULT_ACK_WAIT: Duration = Duration::from_secs(30);

/// Where events go.
#[derive(Clone, Debug)]
pub struct BusConfig {
    /// NATS server URL; `None` runs the embedded bus (the `agora dev` default).
    pub nats_url: Option<String>,
    /// Prefix isolating one test run's streams and subjects from another's; "" in production.
    pub namespace: String,
    /// SQLite URL of the embedded bus's durable log (e.g.
    /// `sqlite://data/events.sqlite?mode=rwc`), used only when `nats_url` is `None`.
    pub embedded_db_url: String,
}

/// The `agora dev` default: the embedded bus logging to `data/events.sqlite`.
impl Default for BusConfig {
    fn default() -> Self {
        BusConfig {
            nats_url: None,
            namespace: String::new(),
            embedded_db_url: "sqlite://data/events.sqlite?mode=rwc".to_owned(),
        }
    }
}

/// Knobs that production leaves at their defaults and tests shorten.
#[derive(Clone, Debug)]
pub struct BusTuning {
    /// How long an unacknowledged delivery waits before redelivery (JetStream `ack_wait`).
    pub ack_wait: Duration,
    /// How often the embedded bus looks for due work when nothing woke it.
    pub poll_interval: Duration,
}

impl Default for BusTuning {
    fn default() -> Self {
        BusTuning {
            ack_wait: DEFAULT_ACK_WAIT,
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// Connects the bus `config` asks for, with default tuning.
pub async fn connect(config: &BusConfig) -> Result<Arc<dyn EventBus>, EventError> {
    connect_with(config, BusTuning::default()).await
}

/// Connects the bus `config` asks for, with explicit tuning (tests shorten `ack_wait`).
pub async fn connect_with(
    config: &BusConfig,
    tuning: BusTuning,
) -> Result<Arc<dyn EventBus>, EventError> {
    match &config.nats_url {
        Some(url) => Ok(Arc::new(
            JetStreamBus::connect(url, &config.namespace, tuning).await?,
        )),
        None => Ok(Arc::new(
            EmbeddedBus::open(&config.embedded_db_url, &config.namespace, tuning).await?,
        )),
    }
}

/// A durable, acknowledged, deduplicating event log with durable consumers.
#[async_trait]
pub trait EventBus: Send + Sync {
    /// Durably publishes; returns once the broker acknowledged (JetStream PubAck, or the
    /// embedded log's row committed). The envelope id deduplicates (`Nats-Msg-Id`).
    async fn publish(&self, envelope: &Envelope) -> Result<(), EventError>;

    /// Publishes `envelopes` in order, each acknowledged; returns how many of the first
    /// were, and the error that stopped the rest. JetStream pipelines them (all sent,
    /// then the acks awaited in order); by default they go one at a time.
    async fn publish_all(&self, envelopes: &[Envelope]) -> (usize, Option<EventError>) {
        for (sent, envelope) in envelopes.iter().enumerate() {
            if let Err(err) = self.publish(envelope).await {
                return (sent, Some(err));
            }
        }
        (envelopes.len(), None)
    }

    /// Opens (creating if needed, idempotently) the durable consumer `<name>-<STREAM>` on
    /// the stream of `spec.domain`, filtered to `spec.event_types` (all if empty).
    async fn subscribe(&self, spec: &ConsumerSpec) -> Result<Box<dyn EventStream>, EventError>;

    /// Ensures the stream of a publishing domain exists (file storage, duplicate window of
    /// at least two minutes). Idempotent; publishers call it at start-up.
    async fn ensure_stream(&self, domain: &str) -> Result<(), EventError>;

    /// The live hub on the same connection: core NATS beside JetStream, or the process's
    /// broadcast channels beside the embedded log. Everyone sharing the bus shares it.
    fn live(&self) -> Arc<dyn LiveHub>;

    /// Whether the bus is reachable now (the NATS connection is up); `/ready` asks. The
    /// embedded log always is.
    fn connected(&self) -> bool {
        true
    }

    /// Closes the bus once everyone using it has stopped, so that the process exits with
    /// nothing half-closed: the embedded log's connections end (SQLite checkpoints its
    /// write-ahead log). JetStream needs nothing: every publish was acknowledged.
    async fn close(&self) {}
}

/// What a consuming subgraph wants to receive from one publishing domain.
#[derive(Clone, Debug)]
pub struct ConsumerSpec {
    /// The consuming subgraph (or a purpose within it), e.g. "profiles"; names the durable
    /// consumer and keys the inbox.
    pub name: String,
    /// The publishing domain, e.g. "identity"; selects the stream.
    pub domain: String,
    /// Event types to receive, e.g. `["identity.user.registered"]`; empty means all.
    pub event_types: Vec<String>,
    /// Deliveries before an event is given up on and dead-lettered, e.g. 5.
    pub max_deliver: u32,
    /// Deliveries handed out and not yet settled, at most (JetStream `max_ack_pending`):
    /// bounds what a consumer holds at once, and so what one crash re-delivers.
    pub max_ack_pending: u32,
}

/// Deliveries of one event before it is dead-lettered, unless a consumer says otherwise.
pub const DEFAULT_MAX_DELIVER: u32 = 5;

/// Unsettled deliveries per consumer, unless a consumer says otherwise: room for a few
/// batches of the runner (which pulls [`super::consumer::BATCH`] at a time).
pub const DEFAULT_MAX_ACK_PENDING: u32 = 1_000;

impl ConsumerSpec {
    /// Consumer `name` of `domain`'s `event_types`, dead-lettering after
    /// [`DEFAULT_MAX_DELIVER`] deliveries.
    pub fn new(name: &str, domain: &str, event_types: &[&str]) -> Self {
        Self {
            name: name.to_owned(),
            domain: domain.to_owned(),
            event_types: event_types.iter().map(|t| (*t).to_owned()).collect(),
            max_deliver: DEFAULT_MAX_DELIVER,
            max_ack_pending: DEFAULT_MAX_ACK_PENDING,
        }
    }
}

/// The deliveries of one durable consumer, in stream order.
#[async_trait]
pub trait EventStream: Send {
    /// Waits for the next delivery (new, or redelivered after a nak or an expired ack wait).
    async fn next(&mut self) -> Result<Delivery, EventError>;

    /// Waits for the next delivery and returns it with those right behind it that the bus
    /// has at hand, at most `max` in all, in stream order. The embedded bus has one event
    /// in flight per consumer, so it returns one.
    async fn next_batch(&mut self, max: usize) -> Result<Vec<Delivery>, EventError> {
        let _ = max;
        Ok(vec![self.next().await?])
    }
}

/// One delivery of an event to a consumer; settle it with exactly one of ack, nak, term.
///
/// Dropping it unsettled is what a crash looks like: the bus delivers it again after
/// the ack wait (or, for the embedded bus, at once after a restart).
pub struct Delivery {
    /// The event.
    pub envelope: Envelope,
    /// 1 on first delivery, counting up on each redelivery; compared with `max_deliver`.
    pub attempt: u32,
    /// The event's position in its stream (JetStream's stream sequence, the embedded log's
    /// `seq`): what dead letters and `agora events stats` point at.
    pub stream_seq: u64,
    settle: Box<dyn Settle>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("envelope", &self.envelope)
            .field("attempt", &self.attempt)
            .field("stream_seq", &self.stream_seq)
            .finish_non_exhaustive()
    }
}

impl Delivery {
    pub(crate) fn new(
        envelope: Envelope,
        attempt: u32,
        stream_seq: u64,
        settle: Box<dyn Settle>,
    ) -> Self {
        Delivery {
            envelope,
            attempt,
            stream_seq,
            settle,
        }
    }

    /// Done: never deliver this event to this consumer again.
    pub async fn ack(self) -> Result<(), EventError> {
        self.settle.ack().await
    }

    /// Not now: deliver it again after `delay` (counts as an attempt).
    pub async fn nak(self, delay: Duration) -> Result<(), EventError> {
        self.settle.nak(delay).await
    }

    /// Records this event as a dead letter of this consumer, with how many times it was
    /// tried and why it failed last; then [`Delivery::term`] it. Recording first means a
    /// failure here leaves the delivery in hand to try again, never lost.
    pub async fn dead_letter(&self, attempts: u32, error: &str) -> Result<(), EventError> {
        self.settle.dead_letter(attempts, error).await
    }

    /// Never: stop delivering this event to this consumer (after [`Delivery::dead_letter`]).
    pub async fn term(self) -> Result<(), EventError> {
        self.settle.term().await
    }

    /// Still working on it: restart the ack wait, so that an event held while an earlier
    /// one is retried, or while the database is down, is not handed out again meanwhile.
    pub async fn progress(&self) -> Result<(), EventError> {
        self.settle.progress().await
    }
}

/// How a bus implementation settles one of its deliveries.
#[async_trait]
pub(crate) trait Settle: Send + Sync {
    async fn ack(self: Box<Self>) -> Result<(), EventError>;
    async fn nak(self: Box<Self>, delay: Duration) -> Result<(), EventError>;
    async fn dead_letter(&self, attempts: u32, error: &str) -> Result<(), EventError>;
    async fn term(self: Box<Self>) -> Result<(), EventError>;
    async fn progress(&self) -> Result<(), EventError>;
}

/// Names of streams, subjects and consumers, shared by both buses so that they agree.
#[derive(Clone, Debug)]
pub(crate) struct Naming {
    namespace: String,
}

impl Naming {
    pub(crate) fn new(namespace: &str) -> Self {
        Naming {
            namespace: namespace.to_owned(),
        }
    }

    /// "IDENTITY", or "IDENTITY_<NS>" in a namespace.
    pub(crate) fn stream(&self, domain: &str) -> String {
        let base = domain.to_uppercase();
        if self.namespace.is_empty() {
            base
        } else {
            format!("{base}_{}", self.namespace.to_uppercase())
        }
    }

    /// The subject of an event type: the type itself, or "<ns>.<type>" in a namespace.
    pub(crate) fn subject(&self, event_type: &str) -> String {
        if self.namespace.is_empty() {
            event_type.to_owned()
        } else {
            format!("{}.{event_type}", self.namespace)
        }
    }

    /// The stream an event type is published on.
    pub(crate) fn stream_of(&self, event_type: &str) -> String {
        self.stream(domain_of(event_type))
    }

    /// "<name>-<STREAM>".
    pub(crate) fn durable(&self, spec: &ConsumerSpec) -> String {
        format!("{}-{}", spec.name, self.stream(&spec.domain))
    }

    /// Whether this is a namespace of its own (tests), not production's names.
    pub(crate) fn is_namespaced(&self) -> bool {
        !self.namespace.is_empty()
    }
}
