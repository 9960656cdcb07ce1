//! The production event bus: NATS JetStream.
//!
//! Streams and consumers are those of [`super::topology`]. A consumer's deliveries are
//! pulled in batches and handed out in stream order. Order survives a crash too: a
//! consumer opened while deliveries of a previous run are still unsettled (the server
//! hands them out again only when their ack wait runs out, each after its own backoff,
//! so not necessarily in order) holds everything it receives until those have all come
//! back (or been settled elsewhere), then hands it out sorted by stream sequence, so a
//! restart never lets an event overtake an earlier one. A running consumer does the same
//! when its pulls skip a consumer sequence: that delivery went elsewhere (lost with a
//! connection, or to another instance) and would come back behind newer events. Events a
//! consumer gives up on are copied, with the consumer, attempts and last error, to
//! `DEADLETTER` under `deadletter.<durable>`; the server's max-deliveries advisories land
//! there too.
//!
//! Publishing keeps stream order across a reconnect as well: see
//! [`JetStreamBus::publish_all`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{
    self, AckKind,
    consumer::{PullConsumer, pull},
    context::{PublishError, PublishErrorKind},
    message::PublishMessage,
    stream::Config as StreamConfig,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Deserialize;
use tokio::time::Instant;
use uuid::Uuid;

use super::admin::{
    ATTEMPTS_HEADER, Applied, CONSUMER_HEADER, ConsumerStats, DeadLetter, ERROR_HEADER, EventAdmin,
    ReplaySelection, STREAM_SEQ_HEADER,
};
use super::bus::{BusTuning, ConsumerSpec, Delivery, EventBus, EventStream, Naming, Settle};
use super::envelope::Envelope;
use super::error::EventError;
use super::live::{LiveHub, NatsHub};
use super::topology::{self, DEAD_LETTER_DOMAIN, DOMAINS};

/// How long one pull request waits on the server; bounds how long a request abandoned by
/// a dropped consumer can still take a delivery (which then waits out its ack wait).
const PULL_EXPIRES: Duration = Duration::from_secs(10);

/// How long a pull waits while newer events are held back, between looks at whether the
/// previous run's deliveries are settled.
const HOLD_POLL: Duration = Duration::from_millis(200);

/// JetStream behind [`EventBus`].
pub struct JetStreamBus {
    /// The NATS connection (which reconnects by itself).
    client: async_nats::Client,
    /// The JetStream API over it.
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
            js: jetstream::new(client.clone()),
            client,
            naming: Naming::new(namespace),
            tuning,
        })
    }

    /// Publishes once and waits for the PubAck.
    async fn publish_once(&self, envelope: &Envelope) -> Result<(), PublishError> {
        let payload = serde_json::to_vec(envelope)
            .map_err(|err| PublishError::with_source(PublishErrorKind::Other, err))?;
        let message = PublishMessage::build()
            .payload(payload.into())
            .message_id(envelope.id.to_string());
        publish_acked(&self.js, self.naming.subject(&envelope.event_type), message).await
    }

    /// Creates `domain`'s stream, or updates it where it differs from the topology.
    async fn apply_stream(&self, domain: &str) -> Result<&'static str, EventError> {
        let config = topology::stream_config(&self.naming, domain);
        let Ok(mut stream) = self.js.get_stream(&config.name).await else {
            self.js
                .create_stream(config)
                .await
                .map_err(EventError::bus)?;
            return Ok("created");
        };
        let current = stream.info().await.map_err(EventError::bus)?.config.clone();
        if same_stream(&current, &config) {
            return Ok("unchanged");
        }
        self.js
            .update_stream(config)
            .await
            .map_err(EventError::bus)?;
        Ok("updated")
    }

    /// Creates `spec`'s durable consumer, or updates it where it differs from the
    /// topology (servers before 2.10 refuse updates: the old one is kept and said so).
    async fn apply_consumer(
        &self,
        spec: &ConsumerSpec,
    ) -> Result<(PullConsumer, String), EventError> {
        let config = topology::consumer_config(&self.naming, spec, &self.tuning);
        let durable = self.naming.durable(spec);
        let stream = self
            .js
            .get_stream(self.naming.stream(&spec.domain))
            .await
            .map_err(EventError::bus)?;
        let existing: Option<PullConsumer> = stream.get_consumer(&durable).await.ok();
        if let Some(consumer) = &existing
            && same_consumer(&consumer.cached_info().config, &config)
        {
            return Ok((consumer.clone(), "unchanged".to_owned()));
        }
        match stream.create_consumer(config).await {
            Ok(consumer) => {
                let outcome = if existing.is_some() {
                    "updated"
                } else {
                    "created"
                };
                Ok((consumer, outcome.to_owned()))
            }
            Err(err) => match existing {
                Some(consumer) => {
                    tracing::warn!(error = %err, %durable, "the server kept the consumer's old settings");
                    Ok((consumer, format!("kept the old settings ({err})")))
                }
                None => Err(EventError::bus(err)),
            },
        }
    }

    /// The `DEADLETTER` stream, if it exists yet.
    async fn dead_letter_stream(&self) -> Option<jetstream::stream::Stream> {
        self.js
            .get_stream(self.naming.stream(DEAD_LETTER_DOMAIN))
            .await
            .ok()
    }

    /// The dead letter at `seq` of `DEADLETTER`, read back from either kind of record.
    async fn read_dead_letter(
        &self,
        dead_letters: &jetstream::stream::Stream,
        seq: u64,
    ) -> Result<Option<DeadLetter>, EventError> {
        let Ok(message) = dead_letters.get_raw_message(seq).await else {
            // Deleted (replayed) or aged out.
            return Ok(None);
        };
        let dead_at = from_nats_time(message.time);
        if message.subject.starts_with("$JS.EVENT.ADVISORY.") {
            let advisory: MaxDeliveries = serde_json::from_slice(&message.payload)?;
            let event = match self.js.get_stream(&advisory.stream).await {
                Ok(stream) => match stream.get_raw_message(advisory.stream_seq).await {
                    Ok(original) => serde_json::from_slice(&original.payload).ok(),
                    Err(_) => None,
                },
                Err(_) => None,
            };
            return Ok(Some(DeadLetter {
                id: seq,
                consumer: advisory.consumer,
                event,
                stream_seq: advisory.stream_seq,
                attempts: advisory.deliveries,
                error: "deliveries exhausted without a settlement (the consumer crashed or \
                        timed out each time)"
                    .to_owned(),
                dead_at,
            }));
        }
        let header = |name: &str| {
            message
                .headers
                .get(name)
                .map(|v| v.as_str().to_owned())
                .unwrap_or_default()
        };
        Ok(Some(DeadLetter {
            id: seq,
            consumer: header(CONSUMER_HEADER),
            event: serde_json::from_slice(&message.payload).ok(),
            stream_seq: header(STREAM_SEQ_HEADER).parse().unwrap_or(0),
            attempts: header(ATTEMPTS_HEADER).parse().unwrap_or(0),
            error: header(ERROR_HEADER),
            dead_at,
        }))
    }
}

/// The server's `io.nats.jetstream.advisory.v1.max_deliver` advisory.
#[derive(Deserialize)]
struct MaxDeliveries {
    stream: String,
    consumer: String,
    stream_seq: u64,
    deliveries: u32,
}

/// Whether the settings the topology owns are already those of `current`.
fn same_stream(current: &StreamConfig, wanted: &StreamConfig) -> bool {
    let mut subjects = current.subjects.clone();
    let mut wanted_subjects = wanted.subjects.clone();
    subjects.sort();
    wanted_subjects.sort();
    subjects == wanted_subjects
        && current.storage == wanted.storage
        && current.retention == wanted.retention
        && current.duplicate_window == wanted.duplicate_window
        && current.max_age == wanted.max_age
        && current.max_bytes == wanted.max_bytes
        && current.discard == wanted.discard
}

/// Whether the settings the topology owns are already those of `current`.
fn same_consumer(current: &jetstream::consumer::Config, wanted: &pull::Config) -> bool {
    current.ack_wait == wanted.ack_wait
        && current.max_deliver == wanted.max_deliver
        && current.backoff == wanted.backoff
        && current.max_ack_pending == wanted.max_ack_pending
        && current.filter_subject == wanted.filter_subject
        // Servers before 2.10 ignore a list of filters and report none.
        && (current.filter_subjects == wanted.filter_subjects
            || (current.filter_subjects.is_empty() && current.filter_subject.is_empty()))
}

/// A NATS timestamp as chrono's.
fn from_nats_time(time: async_nats::datetime::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(i64::try_from(time.unix_timestamp_nanos()).unwrap_or(0))
}

/// Publishes and awaits the PubAck (duplicates are acked too).
async fn publish_acked(
    js: &jetstream::Context,
    subject: String,
    message: PublishMessage,
) -> Result<(), PublishError> {
    js.send_publish(subject, message).await?.await?;
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

    #[tracing::instrument(skip_all, fields(events = envelopes.len()))]
    async fn publish_all(&self, envelopes: &[Envelope]) -> (usize, Option<EventError>) {
        // All sent first, then the acks in order: one round trip for the batch, not one
        // per event. A connection keeps publish order, but not across a reconnect: what
        // the client still held when the server went away is sent when it is back, after
        // the message that was lost with the socket, and the relay's retry of that one
        // would land behind its successors. So each event names the batch's previous
        // one for its stream, which refuses it unless that is its last message (a
        // duplicate is acknowledged before that check, so a retry still goes through).
        let mut acks = Vec::with_capacity(envelopes.len());
        let mut previous: HashMap<&str, Uuid> = HashMap::new();
        for envelope in envelopes {
            let payload = match serde_json::to_vec(envelope) {
                Ok(payload) => payload,
                Err(err) => {
                    acks.push(Err(EventError::from(err)));
                    break;
                }
            };
            let mut message = PublishMessage::build()
                .payload(payload.into())
                .message_id(envelope.id.to_string());
            if let Some(last) = previous.insert(envelope.domain(), envelope.id) {
                message = message.expected_last_message_id(last.to_string());
            }
            let subject = self.naming.subject(&envelope.event_type);
            match self.js.send_publish(subject, message).await {
                Ok(ack) => acks.push(Ok(ack)),
                Err(err) => {
                    acks.push(Err(EventError::bus(err)));
                    break;
                }
            }
        }
        let mut published = 0;
        for ack in acks {
            let acked = match ack {
                Ok(ack) => ack.await.map(|_| ()),
                Err(err) => return (published, Some(err)),
            };
            match acked {
                Ok(()) => published += 1,
                Err(err) if err.kind() == PublishErrorKind::StreamNotFound => {
                    // A publisher that forgot ensure_stream: create it; the relay retries.
                    if let Err(err) = self.ensure_stream(envelopes[published].domain()).await {
                        return (published, Some(err));
                    }
                    return (published, Some(EventError::bus(err)));
                }
                Err(err) => return (published, Some(EventError::bus(err))),
            }
        }
        (published, None)
    }

    #[tracing::instrument(skip_all, fields(consumer = %spec.name, domain = %spec.domain))]
    async fn subscribe(&self, spec: &ConsumerSpec) -> Result<Box<dyn EventStream>, EventError> {
        self.ensure_stream(&spec.domain).await?;
        self.ensure_stream(DEAD_LETTER_DOMAIN).await?;
        let (consumer, _) = self.apply_consumer(spec).await?;
        let durable = self.naming.durable(spec);
        let info = consumer.cached_info().clone();
        // Deliveries of a previous run still unsettled: hold everything until they are back.
        let patience = topology::longest_redelivery(&info.config.backoff, info.config.ack_wait)
            + self.tuning.ack_wait;
        let hold =
            (info.num_ack_pending > 0).then(|| Hold::new(info.delivered.stream_sequence, patience));
        if let Some(hold) = &hold {
            tracing::info!(%durable, up_to = hold.up_to, "a previous run left deliveries unsettled; holding newer events until they are");
        }
        Ok(Box::new(JetStreamStream {
            js: self.js.clone(),
            consumer,
            subjects: spec
                .event_types
                .iter()
                .map(|t| self.naming.subject(t))
                .collect(),
            dead_letter_subject: self
                .naming
                .subject(&format!("{DEAD_LETTER_DOMAIN}.{durable}")),
            durable,
            ack_wait: self.tuning.ack_wait,
            patience,
            ready: VecDeque::new(),
            hold,
            delivered: info.delivered.consumer_sequence,
            missed: false,
        }))
    }

    #[tracing::instrument(skip_all, fields(domain = %domain))]
    async fn ensure_stream(&self, domain: &str) -> Result<(), EventError> {
        self.apply_stream(domain).await.map(|_| ())
    }

    fn live(&self) -> Arc<dyn LiveHub> {
        self.live.clone()
    }

    fn connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }
}

#[async_trait]
impl EventAdmin for JetStreamBus {
    async fn apply(&self, consumers: &[ConsumerSpec]) -> Result<Vec<Applied>, EventError> {
        let mut applied = Vec::new();
        for domain in DOMAINS.iter().copied().chain([DEAD_LETTER_DOMAIN]) {
            let outcome = self.apply_stream(domain).await?;
            applied.push(Applied {
                object: format!("stream {}", self.naming.stream(domain)),
                outcome: outcome.to_owned(),
            });
        }
        for spec in consumers {
            let (_, outcome) = self.apply_consumer(spec).await?;
            applied.push(Applied {
                object: format!("consumer {}", self.naming.durable(spec)),
                outcome,
            });
        }
        Ok(applied)
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetter>, EventError> {
        let Some(mut stream) = self.dead_letter_stream().await else {
            return Ok(Vec::new());
        };
        let state = stream.info().await.map_err(EventError::bus)?.state.clone();
        let mut letters = Vec::new();
        if state.messages == 0 {
            return Ok(letters);
        }
        for seq in state.first_sequence..=state.last_sequence {
            if let Some(letter) = self.read_dead_letter(&stream, seq).await? {
                letters.push(letter);
            }
        }
        Ok(letters)
    }

    async fn replay(&self, selection: &ReplaySelection) -> Result<usize, EventError> {
        let Some(stream) = self.dead_letter_stream().await else {
            return Ok(0);
        };
        let mut replayed = 0;
        for letter in self.dead_letters().await? {
            let chosen = match selection {
                ReplaySelection::Id(id) => letter.id == *id,
                ReplaySelection::Event(id) => letter.event.as_ref().is_some_and(|e| e.id == *id),
                ReplaySelection::All => true,
            };
            if !chosen {
                continue;
            }
            let Some(event) = &letter.event else {
                tracing::warn!(
                    id = letter.id,
                    "dead letter without its event (aged out); not replayed"
                );
                continue;
            };
            let message = PublishMessage::build()
                .payload(serde_json::to_vec(event)?.into())
                .message_id(format!("replay:{}:{}", letter.consumer, letter.id))
                .header(CONSUMER_HEADER, letter.consumer.as_str());
            publish_acked(&self.js, self.naming.subject(&event.event_type), message)
                .await
                .map_err(EventError::bus)?;
            stream
                .delete_message(letter.id)
                .await
                .map_err(EventError::bus)?;
            replayed += 1;
        }
        Ok(replayed)
    }

    async fn stats(&self, consumers: &[ConsumerSpec]) -> Result<Vec<ConsumerStats>, EventError> {
        let mut dead_by_subject: HashMap<String, u64> = HashMap::new();
        if let Some(stream) = self.dead_letter_stream().await {
            let mut subjects = stream
                .info_with_subjects(">")
                .await
                .map_err(EventError::bus)?;
            while let Some(entry) = subjects.next().await {
                let (subject, count) = entry.map_err(EventError::bus)?;
                dead_by_subject.insert(subject, count as u64);
            }
        }
        let mut all = Vec::new();
        for spec in consumers {
            let durable = self.naming.durable(spec);
            let stream_name = self.naming.stream(&spec.domain);
            let stream = self
                .js
                .get_stream(&stream_name)
                .await
                .map_err(EventError::bus)?;
            let info = stream
                .consumer_info(&durable)
                .await
                .map_err(EventError::bus)?;
            let pending = info.num_pending + info.num_ack_pending as u64;
            let lag = if pending == 0 {
                Duration::ZERO
            } else {
                // The oldest unacknowledged event is the first one after the ack floor.
                let next = info.ack_floor.stream_sequence + 1;
                let oldest = match &info.config.filter_subject {
                    subject if !subject.is_empty() => stream
                        .get_first_raw_message_by_subject(subject, next)
                        .await
                        .ok(),
                    _ => None,
                };
                let oldest = match oldest {
                    Some(message) => Some(message),
                    None => stream.get_raw_message(next).await.ok(),
                };
                oldest
                    .map(|m| {
                        (Utc::now() - from_nats_time(m.time))
                            .to_std()
                            .unwrap_or_default()
                    })
                    .unwrap_or_default()
            };
            let dead_lettered = dead_by_subject
                .get(
                    &self
                        .naming
                        .subject(&format!("{DEAD_LETTER_DOMAIN}.{durable}")),
                )
                .copied()
                .unwrap_or(0)
                + dead_by_subject
                    .get(&topology::max_deliveries_subject(&stream_name, &durable))
                    .copied()
                    .unwrap_or(0);
            all.push(ConsumerStats {
                consumer: durable,
                pending,
                in_flight: info.num_ack_pending as u64,
                redelivered: info.num_redelivered as u64,
                dead_lettered,
                lag,
            });
        }
        Ok(all)
    }
}

/// Deliveries held back until those that went elsewhere (a previous run's unsettled
/// ones, or deliveries this run's pulls skipped) are back or settled.
struct Hold {
    /// The last stream sequence that must be settled first: at the open, the last one the
    /// previous run was handed; after a skip, the one before the oldest pulled.
    up_to: u64,
    /// How long the server may take to hand unsettled deliveries out again: the longest
    /// redelivery delay plus an ack wait.
    patience: Duration,
    /// When to give up waiting (an event whose deliveries the server exhausted never
    /// comes back): `patience` after the hold began, or after the server was last unreachable
    /// (its redelivery timers only run while it is up).
    deadline: Instant,
    /// What this run received meanwhile (events coming back and newer ones) by stream
    /// sequence, kept from expiring with progress acks; a redelivery of
    /// one (its progress acks failed while the server was down) replaces it, so that
    /// each event counts once against the consumer's pending count.
    held: BTreeMap<u64, Delivery>,
    /// When the held events were last told "in progress".
    progressed: Instant,
}

impl Hold {
    /// A hold until the deliveries up to stream sequence `up_to` are settled or back.
    fn new(up_to: u64, patience: Duration) -> Hold {
        Hold {
            up_to,
            patience,
            deadline: Instant::now() + patience,
            held: BTreeMap::new(),
            progressed: Instant::now(),
        }
    }
}

/// Deliveries of one durable pull consumer.
struct JetStreamStream {
    js: jetstream::Context,
    /// Pulled a batch at a time, only while the runner asks: nothing waits in a client
    /// buffer while its ack wait runs, and a dropped consumer holds no message.
    consumer: PullConsumer,
    /// Subjects asked for, to filter on servers that ignored the list; empty means all.
    subjects: Vec<String>,
    /// Where this consumer's dead letters go.
    dead_letter_subject: String,
    /// `<name>-<STREAM>`: replays addressed to another consumer are skipped.
    durable: String,
    /// The consumer's ack wait, which held events are kept from reaching.
    ack_wait: Duration,
    /// How long a hold waits at most for deliveries to come back (see [`Hold`]).
    patience: Duration,
    /// Pulled and in order, not yet handed out.
    ready: VecDeque<Delivery>,
    /// Set while deliveries that went elsewhere are unsettled.
    hold: Option<Hold>,
    /// The consumer sequence of the last delivery pulled (at the open, the consumer's).
    delivered: u64,
    /// Whether a pull skipped consumer sequences since the last hold: deliveries went
    /// elsewhere (lost with a connection, taken by a dropped run's pull request that the
    /// server still served, or by another instance) and come back only after their ack
    /// wait, behind what this pull brought.
    missed: bool,
}

#[async_trait]
impl EventStream for JetStreamStream {
    async fn next(&mut self) -> Result<Delivery, EventError> {
        let mut batch = self.next_batch(1).await?;
        batch
            .pop()
            .ok_or_else(|| EventError::Bus("an empty batch".to_owned()))
    }

    async fn next_batch(&mut self, max: usize) -> Result<Vec<Delivery>, EventError> {
        let max = max.max(1);
        loop {
            if !self.ready.is_empty() {
                let take = max.min(self.ready.len());
                return Ok(self.ready.drain(..take).collect());
            }
            self.review_hold().await?;
            if !self.ready.is_empty() {
                continue;
            }
            let expires = if self.hold.is_some() {
                HOLD_POLL
            } else {
                PULL_EXPIRES
            };
            let pulled = self.pull(max, expires).await?;
            // Held until what precedes the oldest pulled event is settled or back: not
            // further, so that instances sharing the consumer take turns rather than
            // wait on each other's held events.
            if std::mem::take(&mut self.missed)
                && self.hold.is_none()
                && let Some(oldest) = pulled.iter().map(|d| d.stream_seq).min()
            {
                tracing::info!(durable = %self.durable, "deliveries went elsewhere; holding newer events until they are back or settled");
                self.hold = Some(Hold::new(oldest.saturating_sub(1), self.patience));
            }
            match &mut self.hold {
                None => self.ready.extend(pulled),
                Some(hold) => {
                    for delivery in pulled {
                        hold.held.insert(delivery.stream_seq, delivery);
                    }
                }
            }
        }
    }
}

impl JetStreamStream {
    /// Keeps held events alive, and releases them in stream order once the deliveries
    /// waited for are all back (nobody else holds any) or settled (the ack floor reached
    /// `up_to`), or at the deadline.
    async fn review_hold(&mut self) -> Result<(), EventError> {
        let Some(hold) = &mut self.hold else {
            return Ok(());
        };
        let now = Instant::now();
        if now >= hold.progressed + self.ack_wait / 3 {
            for delivery in hold.held.values() {
                if let Err(err) = delivery.progress().await {
                    tracing::warn!(error = %err, "could not extend a held delivery");
                }
            }
            hold.progressed = now;
        }
        let info = match self.consumer.info().await {
            Ok(info) => info.clone(),
            Err(err) => {
                hold.deadline = hold.deadline.max(now + hold.patience);
                return Err(EventError::bus(err));
            }
        };
        let others = info.num_ack_pending.saturating_sub(hold.held.len());
        if info.ack_floor.stream_sequence >= hold.up_to || others == 0 || now >= hold.deadline {
            if info.ack_floor.stream_sequence < hold.up_to && others > 0 {
                tracing::warn!(durable = %self.durable, others, "gave up waiting for deliveries held elsewhere; releasing held events");
            } else {
                tracing::info!(durable = %self.durable, held = hold.held.len(), "deliveries settled; releasing held events");
            }
            self.ready
                .extend(std::mem::take(&mut hold.held).into_values());
            self.hold = None;
        }
        Ok(())
    }

    /// Pulls up to `max` deliveries: waits up to `expires` for the first, then takes
    /// what the server has at hand. Returns them in stream order (maybe none).
    async fn pull(&mut self, max: usize, expires: Duration) -> Result<Vec<Delivery>, EventError> {
        let mut out = Vec::new();
        let mut first = self
            .consumer
            .batch()
            .max_messages(1)
            .expires(expires)
            .messages()
            .await
            .map_err(EventError::bus)?;
        let Some(message) = first.next().await else {
            return Ok(out);
        };
        self.accept(message.map_err(EventError::bus)?, &mut out)
            .await?;
        if max > 1 {
            // An error past the first message keeps what was pulled: dropping it
            // unsettled would let newer events overtake it.
            let rest = self.consumer.fetch().max_messages(max - 1).messages().await;
            match rest {
                Ok(mut rest) => {
                    while let Some(message) = rest.next().await {
                        match message {
                            Ok(message) => self.accept(message, &mut out).await?,
                            Err(err) => {
                                tracing::warn!(error = %err, "pull cut short");
                                break;
                            }
                        }
                    }
                }
                Err(err) => tracing::warn!(error = %err, "pull cut short"),
            }
        }
        Ok(out)
    }

    /// Turns a message into a delivery, or settles it at once: events this consumer did
    /// not ask for (filtered on the client) or replays meant for another consumer are
    /// acknowledged, undecodable ones dead-lettered. Notes a skip in consumer sequences.
    async fn accept(
        &mut self,
        message: jetstream::Message,
        out: &mut Vec<Delivery>,
    ) -> Result<(), EventError> {
        let info = message.info().map_err(EventError::bus)?;
        self.missed |= info.consumer_sequence > self.delivered + 1;
        self.delivered = self.delivered.max(info.consumer_sequence);
        let attempt = u32::try_from(info.delivered).unwrap_or(u32::MAX);
        let stream_seq = info.stream_sequence;
        let wanted = self.subjects.is_empty()
            || self
                .subjects
                .iter()
                .any(|s| s.as_str() == message.subject.as_str());
        let replay_for_other = message
            .headers
            .as_ref()
            .and_then(|h| h.get(CONSUMER_HEADER))
            .is_some_and(|target| target.as_str() != self.durable);
        if !wanted || replay_for_other {
            return message.double_ack().await.map_err(EventError::bus);
        }
        let settle = JetStreamSettle {
            js: self.js.clone(),
            message,
            dead_letter_subject: self.dead_letter_subject.clone(),
            durable: self.durable.clone(),
            stream_seq,
        };
        match serde_json::from_slice::<Envelope>(&settle.message.payload) {
            Ok(envelope) => {
                out.push(Delivery::new(
                    envelope,
                    attempt,
                    stream_seq,
                    Box::new(settle),
                ));
                Ok(())
            }
            Err(err) => {
                tracing::error!(subject = %settle.message.subject, error = %err, "undecodable event; dead-lettered");
                let reason = format!("undecodable: {err}");
                settle.dead_letter(attempt, &reason).await?;
                Box::new(settle).term().await
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
    stream_seq: u64,
}

#[async_trait]
impl Settle for JetStreamSettle {
    async fn ack(self: Box<Self>) -> Result<(), EventError> {
        // Not confirmed by the server: an ack lost on the way only brings a duplicate
        // back, which the inbox drops, and waiting for each confirmation cost the runner
        // a round trip per event.
        self.message.ack().await.map_err(EventError::bus)
    }

    async fn nak(self: Box<Self>, delay: Duration) -> Result<(), EventError> {
        self.message
            .ack_with(AckKind::Nak(Some(delay)))
            .await
            .map_err(EventError::bus)
    }

    async fn dead_letter(&self, attempts: u32, error: &str) -> Result<(), EventError> {
        let mut headers = HeaderMap::new();
        headers.insert(CONSUMER_HEADER, self.durable.as_str());
        headers.insert(ATTEMPTS_HEADER, attempts.to_string().as_str());
        // Header values are one line.
        let error: String = error
            .chars()
            .take(1_000)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        headers.insert(ERROR_HEADER, error.as_str());
        headers.insert(STREAM_SEQ_HEADER, self.stream_seq.to_string().as_str());
        let message = PublishMessage::build()
            .payload(self.message.payload.clone())
            .headers(headers)
            .message_id(format!("{}:{}", self.durable, self.stream_seq));
        publish_acked(&self.js, self.dead_letter_subject.clone(), message)
            .await
            .map_err(EventError::bus)
    }

    async fn term(self: Box<Self>) -> Result<(), EventError> {
        self.message
            .double_ack_with(AckKind::Term)
            .await
            .map_err(EventError::bus)
    }

    async fn progress(&self) -> Result<(), EventError> {
        self.message
            .ack_with(AckKind::Progress)
            .await
            .map_err(EventError::bus)
    }
}
