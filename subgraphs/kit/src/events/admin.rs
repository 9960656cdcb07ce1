//! Operating the bus: apply its streams and consumers, list and replay dead letters, and
//! per-consumer figures. Behind `agora events`; both buses implement it, so the commands
//! work the same against JetStream and against `agora dev`'s embedded log.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::bus::{BusConfig, BusTuning, ConsumerSpec};
use super::embedded::EmbeddedBus;
use super::envelope::Envelope;
use super::error::EventError;
use super::jetstream::JetStreamBus;

/// Header naming the durable consumer a message is meant for: on a dead-letter record,
/// the consumer that gave up; on a replayed event, the only consumer that applies it.
pub const CONSUMER_HEADER: &str = "Agora-Consumer";
/// Header of a dead-letter record: deliveries tried before giving up.
pub const ATTEMPTS_HEADER: &str = "Agora-Attempts";
/// Header of a dead-letter record: the handler's last error.
pub const ERROR_HEADER: &str = "Agora-Error";
/// Header of a dead-letter record: the event's sequence in its domain stream.
pub const STREAM_SEQ_HEADER: &str = "Agora-Stream-Seq";

/// An event a consumer gave up on.
#[derive(Clone, Debug, PartialEq)]
pub struct DeadLetter {
    /// Its id in the dead letters (the `DEADLETTER` stream sequence, or the embedded row);
    /// what `agora events replay <id>` takes.
    pub id: u64,
    /// The durable consumer that gave up, e.g. `profiles-IDENTITY`.
    pub consumer: String,
    /// The event, as published; `None` if its stream no longer holds it.
    pub event: Option<Envelope>,
    /// Its sequence in its domain stream.
    pub stream_seq: u64,
    /// Deliveries tried.
    pub attempts: u32,
    /// The handler's last error, or why the server gave up ("deliveries exhausted").
    pub error: String,
    /// When it was given up on.
    pub dead_at: DateTime<Utc>,
}

/// Which dead letters to replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplaySelection {
    /// One dead letter by its [`DeadLetter::id`].
    Id(u64),
    /// Every dead letter of one event (by envelope id), whichever consumers gave up on it.
    Event(Uuid),
    /// All of them.
    All,
}

/// `42` names a dead letter, a UUID an event; `--all` is for the command line to say.
impl std::str::FromStr for ReplaySelection {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Ok(id) = text.parse::<u64>() {
            return Ok(ReplaySelection::Id(id));
        }
        Uuid::parse_str(text)
            .map(ReplaySelection::Event)
            .map_err(|_| format!("{text:?} is neither a dead letter's id nor an event id"))
    }
}

/// One consumer's figures, for `agora events stats`.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsumerStats {
    /// The durable consumer, e.g. `profiles-IDENTITY`.
    pub consumer: String,
    /// Events not yet acknowledged: waiting, or delivered and in flight.
    pub pending: u64,
    /// Of those, delivered and not yet settled.
    pub in_flight: u64,
    /// Deliveries that were redeliveries (an ack wait ran out, or a nak).
    pub redelivered: u64,
    /// Dead letters of this consumer still held.
    pub dead_lettered: u64,
    /// How long the oldest unacknowledged event has waited; zero when caught up.
    pub lag: Duration,
}

/// What `apply` did to one stream or consumer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// `stream IDENTITY` or `consumer profiles-IDENTITY`.
    pub object: String,
    /// `created`, `updated`, `unchanged`, or why the server kept the old one.
    pub outcome: String,
}

/// Operations on the bus that the command line and tests use; both buses implement it.
#[async_trait]
pub trait EventAdmin: Send + Sync {
    /// Creates or updates every domain stream, the dead letters, and `consumers`.
    async fn apply(&self, consumers: &[ConsumerSpec]) -> Result<Vec<Applied>, EventError>;

    /// The dead letters still held, oldest first.
    async fn dead_letters(&self) -> Result<Vec<DeadLetter>, EventError>;

    /// Re-drives the selected dead letters to the consumer that gave up on each (and to no
    /// other), removing them from the dead letters; returns how many. The consumer's inbox
    /// keeps a replay from applying anything twice.
    async fn replay(&self, selection: &ReplaySelection) -> Result<usize, EventError>;

    /// Figures for each of `consumers`.
    async fn stats(&self, consumers: &[ConsumerSpec]) -> Result<Vec<ConsumerStats>, EventError>;
}

/// The admin side of the bus `config` names: JetStream, or the embedded log (which may
/// be in use by a running `agora dev` at the same time).
pub async fn connect_admin(config: &BusConfig) -> Result<Arc<dyn EventAdmin>, EventError> {
    let tuning = BusTuning::default();
    match &config.nats_url {
        Some(url) => Ok(Arc::new(
            JetStreamBus::connect(url, &config.namespace, tuning).await?,
        )),
        None => Ok(Arc::new(
            EmbeddedBus::open(&config.embedded_db_url, &config.namespace, tuning).await?,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_names_a_dead_letter_by_number_or_an_event_by_uuid() {
        assert_eq!("42".parse(), Ok(ReplaySelection::Id(42)));
        let id = Uuid::now_v7();
        assert_eq!(id.to_string().parse(), Ok(ReplaySelection::Event(id)));
        assert!("profiles".parse::<ReplaySelection>().is_err());
    }
}
