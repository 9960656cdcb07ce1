//! The production event bus: NATS JetStream.
//!
//! One stream per publishing domain (file storage, two-minute duplicate window keyed by
//! `Nats-Msg-Id`), durable pull consumers with explicit ack and one message in flight
//! (so delivery is in order, as on the embedded bus), and a `DEADLETTER` stream that
//! receives, under `deadletter.<durable>`, every event a consumer gave up on.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{
    self, AckKind,
    consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull},
    context::{PublishError, PublishErrorKind},
    message::PublishMessage,
    stream::{Config as StreamConfig, StorageType},
};
use async_trait::async_trait;
use futures::StreamExt;

use super::bus::{BusTuning, ConsumerSpec, Delivery, EventBus, EventStream, Naming, Settle};
use super::envelope::Envelope;
use super::error::EventError;
use super::live::{LiveHub, NatsHub};

/// The domain whose stream holds dead letters.
const DEAD_LETTER_DOMAIN: &str = "deadletter";

/// How long the server keeps deduplicating a message id.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// How long one pull request waits on the server; bounds how long a request abandoned by
/// a dropped consumer can still take a delivery (which then waits out its ack wait).
const PULL_EXPIRES: Duration = Duration::from_secs(10);

/// JetStream behind [`EventBus`].
pub struct JetStreamBus {
    /// The JetStream API over one NATS connection (which reconnects by itself).
    js: jetstream::Context,
    /// Stream, subject and consumer names.
    naming: Naming,
    /// Ack wait for the consumers this bus creates.
    tuning: BusTuning,
    /// Core NATS pub/sub on the same connection, for live delivery.
    live: Arc<NatsHub>,
}

impl JetStreamBus {
    /// Connects to the NATS server at `url`.
    pub async fn connect(
        url: &str,
        namespace: &str,
        tuning: BusTuning,
    ) -> Result<Self, EventError> {
        let client = async_nats::connect(url).await.map_err(EventError::bus)?;
        Ok(JetStreamBus {
            live: Arc::new(NatsHub::new(client.clone(), namespace)),
            js: jetstream::new(client),
            naming: Naming::new(namespace),
            tuning,
        })
    }

    /// Publishes once and waits for the PubAck.
    async fn publish_once(&self, envelope: &Envelope) -> Result<(), PublishError> {
        let payload = serde_json::to_vec(envelope)
            .map_err(|err| PublishError::with_source(PublishErrorKind::Other, err))?;
        publish_acked(
            &self.js,
            self.naming.subject(&envelope.event_type),
            &envelope.id.to_string(),
            payload,
        )
        .await
    }
}

/// Publishes with a message id and awaits the PubAck (duplicates are acked too).
async fn publish_acked(
    js: &jetstream::Context,
    subject: String,
    message_id: &str,
    payload: Vec<u8>,
) -> Result<(), PublishError> {
    let publish = PublishMessage::build()
        .payload(payload.into())
        .message_id(message_id);
    js.send_publish(subject, publish).await?.await?;
    Ok(())
}

#[async_trait]
impl EventBus for JetStreamBus {
    #[tracing::instrument(skip_all, fields(event_type = %envelope.event_type, event_id = %envelope.id))]
    async fn publish(&self, envelope: &Envelope) -> Result<(), EventError> {
        match self.publish_once(envelope).await {
            Ok(()) => Ok(()),
            // A publisher that forgot ensure_stream at start-up still works.
            Err(err) if err.kind() == PublishErrorKind::StreamNotFound => {
                self.ensure_stream(envelope.domain()).await?;
                self.publish_once(envelope).await.map_err(EventError::bus)
            }
            Err(err) => Err(EventError::bus(err)),
        }
    }

    #[tracing::instrument(skip_all, fields(consumer = %spec.name, domain = %spec.domain))]
    async fn subscribe(&self, spec: &ConsumerSpec) -> Result<Box<dyn EventStream>, EventError> {
        self.ensure_stream(&spec.domain).await?;
        self.ensure_stream(DEAD_LETTER_DOMAIN).await?;
        let durable = self.naming.durable(spec);
        let subjects: Vec<String> = spec
            .event_types
            .iter()
            .map(|t| self.naming.subject(t))
            .collect();
        let mut config = pull::Config {
            durable_name: Some(durable.clone()),
            deliver_policy: DeliverPolicy::All,
            ack_policy: AckPolicy::Explicit,
            ack_wait: self.tuning.ack_wait,
            // One spare delivery: if copying to the dead letters fails on the last
            // attempt, the event comes back instead of being dropped by the server.
            max_deliver: i64::from(spec.max_deliver.max(1)) + 1,
            max_ack_pending: 1,
            ..Default::default()
        };
        // One subject works on every server; several need 2.10 (older servers ignore the
        // list, and the stream filters on the client instead).
        match subjects.as_slice() {
            [one] => config.filter_subject = one.clone(),
            _ => config.filter_subjects = subjects.clone(),
        }
        let stream = self
            .js
            .get_stream(self.naming.stream(&spec.domain))
            .await
            .map_err(EventError::bus)?;
        let consumer: PullConsumer = match stream.create_consumer(config).await {
            Ok(consumer) => consumer,
            Err(err) => {
                // Servers before 2.10 refuse to update a durable; keep the existing one.
                tracing::warn!(error = %err, %durable, "could not create or update consumer; using the existing one");
                stream
                    .get_consumer(&durable)
                    .await
                    .map_err(EventError::bus)?
            }
        };
        Ok(Box::new(JetStreamStream {
            js: self.js.clone(),
            consumer,
            subjects,
            dead_letter_subject: self
                .naming
                .subject(&format!("{DEAD_LETTER_DOMAIN}.{durable}")),
            durable,
        }))
    }

    #[tracing::instrument(skip_all, fields(domain = %domain))]
    async fn ensure_stream(&self, domain: &str) -> Result<(), EventError> {
        let config = StreamConfig {
            name: self.naming.stream(domain),
            subjects: vec![format!("{}.>", self.naming.subject(domain))],
            storage: StorageType::File,
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        };
        self.js
            .get_or_create_stream(config)
            .await
            .map_err(EventError::bus)?;
        Ok(())
    }

    fn live(&self) -> Arc<dyn LiveHub> {
        self.live.clone()
    }
}

/// Deliveries of one durable pull consumer.
struct JetStreamStream {
    js: jetstream::Context,
    /// Pulled one message per request, only while `next` is awaited: nothing waits in a
    /// client buffer while its ack wait runs, and a dropped consumer holds no message.
    consumer: PullConsumer,
    /// Subjects asked for, to filter on servers that ignored the list; empty means all.
    subjects: Vec<String>,
    /// Where this consumer's dead letters go.
    dead_letter_subject: String,
    durable: String,
}

#[async_trait]
impl EventStream for JetStreamStream {
    async fn next(&mut self) -> Result<Delivery, EventError> {
        loop {
            let mut batch = self
                .consumer
                .batch()
                .max_messages(1)
                .expires(PULL_EXPIRES)
                .messages()
                .await
                .map_err(EventError::bus)?;
            let Some(message) = batch.next().await else {
                // The request expired empty; ask again.
                continue;
            };
            let message = message.map_err(EventError::bus)?;
            if !self.subjects.is_empty()
                && !self
                    .subjects
                    .iter()
                    .any(|s| s.as_str() == message.subject.as_str())
            {
                message.double_ack().await.map_err(EventError::bus)?;
                continue;
            }
            let attempt = message
                .info()
                .map(|info| u32::try_from(info.delivered).unwrap_or(u32::MAX))
                .map_err(EventError::bus)?;
            match serde_json::from_slice::<Envelope>(&message.payload) {
                Ok(envelope) => {
                    let settle = JetStreamSettle {
                        js: self.js.clone(),
                        message,
                        dead_letter_subject: self.dead_letter_subject.clone(),
                        durable: self.durable.clone(),
                        event_id: envelope.id.to_string(),
                    };
                    return Ok(Delivery::new(envelope, attempt, Box::new(settle)));
                }
                Err(err) => {
                    tracing::error!(subject = %message.subject, error = %err, "undecodable event; terminated");
                    message
                        .double_ack_with(AckKind::Term)
                        .await
                        .map_err(EventError::bus)?;
                }
            }
        }
    }
}

/// Settles one JetStream message.
struct JetStreamSettle {
    js: jetstream::Context,
    message: jetstream::Message,
    dead_letter_subject: String,
    durable: String,
    event_id: String,
}

#[async_trait]
impl Settle for JetStreamSettle {
    async fn ack(self: Box<Self>) -> Result<(), EventError> {
        self.message.double_ack().await.map_err(EventError::bus)
    }

    async fn nak(self: Box<Self>, delay: Duration) -> Result<(), EventError> {
        self.message
            .ack_with(AckKind::Nak(Some(delay)))
            .await
            .map_err(EventError::bus)
    }

    async fn term(self: Box<Self>) -> Result<(), EventError> {
        // Copy to the dead letters first: if that fails the event is redelivered, not lost.
        publish_acked(
            &self.js,
            self.dead_letter_subject.clone(),
            &format!("{}:{}", self.durable, self.event_id),
            self.message.payload.to_vec(),
        )
        .await
        .map_err(EventError::bus)?;
        self.message
            .double_ack_with(AckKind::Term)
            .await
            .map_err(EventError::bus)
    }
}
