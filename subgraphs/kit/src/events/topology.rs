//! The JetStream objects Agora runs on, as code: one stream per publishing domain, the
//! `DEADLETTER` stream, and one durable pull consumer per [`ConsumerSpec`].
//!
//! This module is the single source of truth. The services apply it idempotently at
//! start-up (a stream when they publish to or read from it, their own consumers when they
//! open them) and `agora events apply` applies all of it at once; `agora events apply
//! --print` prints it in the `nats` CLI's JSON format (`nats stream add --config`).

use std::time::Duration;

use async_nats::jetstream::{
    consumer::{AckPolicy, DeliverPolicy, pull},
    stream::{Config as StreamConfig, DiscardPolicy, RetentionPolicy, StorageType},
};

use super::bus::{BusTuning, ConsumerSpec, Naming};

/// Every publishing domain, each with its stream (`IDENTITY`, `PROFILES`, …).
pub const DOMAINS: &[&str] = &[
    "identity",
    "profiles",
    "content",
    "social",
    "media",
    "messaging",
];

/// The domain whose stream holds dead letters (`DEADLETTER`).
pub(crate) const DEAD_LETTER_DOMAIN: &str = "deadletter";

/// How long the server keeps deduplicating a message id (`Nats-Msg-Id`, the event id):
/// longer than the relay's longest backoff, so a republished row is dropped.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// How long a domain stream keeps an event: consumers down for longer miss it.
pub const MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

/// Bytes a domain stream may hold. When it is full the server refuses new events
/// (discard new) rather than dropping unread old ones: the relays back off and the
/// outboxes hold them, so nothing is lost. Unlimited in a namespace (tests), where many
/// streams at once must not reserve the server's storage.
pub const MAX_BYTES: i64 = 1 << 30;

/// Bytes the dead-letter stream may hold (discard old: the newest failures matter most).
pub const DEAD_LETTER_MAX_BYTES: i64 = 256 << 20;

/// The subject of the server's advisory that a consumer exhausted `max_deliver` on an
/// event, for one stream: `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.<STREAM>.<consumer>`.
pub(crate) fn max_deliveries_subject(stream: &str, durable: &str) -> String {
    format!("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{stream}.{durable}")
}

/// The stream of `domain`: subjects `<domain>.>`, file storage, limits retention,
/// a two-minute duplicate window, bounded age and size.
pub(crate) fn stream_config(naming: &Naming, domain: &str) -> StreamConfig {
    if domain == DEAD_LETTER_DOMAIN {
        return dead_letter_stream_config(naming);
    }
    StreamConfig {
        name: naming.stream(domain),
        description: Some(format!("Agora: events published by {domain}")),
        subjects: vec![format!("{}.>", naming.subject(domain))],
        storage: StorageType::File,
        retention: RetentionPolicy::Limits,
        duplicate_window: DUPLICATE_WINDOW,
        max_age: MAX_AGE,
        max_bytes: if naming.is_namespaced() {
            -1
        } else {
            MAX_BYTES
        },
        discard: DiscardPolicy::New,
        num_replicas: 1,
        ..Default::default()
    }
}

/// `DEADLETTER`: what consumers gave up on (`deadletter.<durable>`, written by the
/// consumer runner with the event, its attempts and last error) and the server's
/// max-deliveries advisories for every domain stream (events whose deliveries ran out
/// without the runner settling them, e.g. because it crashed each time).
fn dead_letter_stream_config(naming: &Naming) -> StreamConfig {
    let mut subjects = vec![format!("{}.>", naming.subject(DEAD_LETTER_DOMAIN))];
    subjects.extend(
        DOMAINS
            .iter()
            .map(|domain| max_deliveries_subject(&naming.stream(domain), "*")),
    );
    StreamConfig {
        name: naming.stream(DEAD_LETTER_DOMAIN),
        description: Some("Agora: dead letters and max-deliveries advisories".to_owned()),
        subjects,
        storage: StorageType::File,
        retention: RetentionPolicy::Limits,
        duplicate_window: DUPLICATE_WINDOW,
        max_age: MAX_AGE,
        max_bytes: if naming.is_namespaced() {
            -1
        } else {
            DEAD_LETTER_MAX_BYTES
        },
        discard: DiscardPolicy::Old,
        num_replicas: 1,
        ..Default::default()
    }
}

/// The durable pull consumer of `spec`: explicit ack, `max_deliver` deliveries with
/// redeliveries backing off from the ack wait (doubling, at most ten minutes apart), at
/// most `max_ack_pending` unsettled, filtered to the spec's event types.
pub(crate) fn consumer_config(
    naming: &Naming,
    spec: &ConsumerSpec,
    tuning: &BusTuning,
) -> pull::Config {
    let max_deliver = spec.max_deliver.max(1);
    let backoff = (0..max_deliver - 1)
        .map(|n| {
            tuning
                .ack_wait
                .saturating_mul(1 << n.min(20))
                .min(Duration::from_secs(600))
        })
        .collect();
    let mut config = pull::Config {
        durable_name: Some(naming.durable(spec)),
        description: Some(format!("Agora: {} reading {}", spec.name, spec.domain)),
        deliver_policy: DeliverPolicy::All,
        ack_policy: AckPolicy::Explicit,
        ack_wait: tuning.ack_wait,
        backoff,
        max_deliver: i64::from(max_deliver),
        max_ack_pending: i64::from(spec.max_ack_pending.max(1)),
        ..Default::default()
    };
    let subjects: Vec<String> = spec.event_types.iter().map(|t| naming.subject(t)).collect();
    // One subject works on every server; several need 2.10 (older servers ignore the
    // list, and the stream filters on the client instead).
    match subjects.as_slice() {
        [one] => config.filter_subject = one.clone(),
        _ => config.filter_subjects = subjects,
    }
    config
}

/// The longest a redelivery of an unsettled event can take under a consumer's `backoff`
/// and `ack_wait`: its last backoff step, or its ack wait.
pub(crate) fn longest_redelivery(backoff: &[Duration], ack_wait: Duration) -> Duration {
    backoff.last().copied().unwrap_or(ack_wait)
}

/// One JetStream object of the topology in the `nats` CLI's JSON form.
#[derive(Clone, Debug)]
pub struct Definition {
    /// `stream` or `consumer`.
    pub kind: &'static str,
    /// The stream a consumer reads; the stream's own name for a stream.
    pub stream: String,
    /// The object's name.
    pub name: String,
    /// Its configuration as the JetStream API (and `nats ... add --config`) takes it.
    pub config: serde_json::Value,
}

/// The whole topology for `namespace` ("" in production) and `consumers`, streams
/// first: what `agora events apply` creates, as `agora events apply --print` shows it.
pub fn definitions(
    namespace: &str,
    consumers: &[ConsumerSpec],
    tuning: &BusTuning,
) -> Result<Vec<Definition>, serde_json::Error> {
    let naming = Naming::new(namespace);
    let mut all = Vec::new();
    for domain in DOMAINS.iter().copied().chain([DEAD_LETTER_DOMAIN]) {
        let config = stream_config(&naming, domain);
        all.push(Definition {
            kind: "stream",
            stream: config.name.clone(),
            name: config.name.clone(),
            config: serde_json::to_value(&config)?,
        });
    }
    for spec in consumers {
        let config = consumer_config(&naming, spec, tuning);
        all.push(Definition {
            kind: "consumer",
            stream: naming.stream(&spec.domain),
            name: naming.durable(spec),
            config: serde_json::to_value(&config)?,
        });
    }
    Ok(all)
}
