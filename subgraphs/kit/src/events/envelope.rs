//! The CloudEvents 1.0 envelope every Agora event travels in, in its JSON form.
//!
//! One shape for every event means the bus, the outbox, the inbox and the dead letters
//! never need to know a domain's payload types; only producers and handlers do.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The CloudEvents version this envelope follows.
pub const SPEC_VERSION: &str = "1.0";

/// The only content type Agora payloads use.
pub const CONTENT_TYPE: &str = "application/json";

/// A domain event in CloudEvents 1.0 JSON form.
///
/// Field names on the wire are the CloudEvents attribute names (`type`,
/// `specversion`, `datacontenttype`), so any CloudEvents tooling can read the streams.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Envelope {
    /// Always "1.0"; kept so that a reader can reject a future incompatible version.
    pub specversion: String,
    /// UUIDv7: unique (the bus deduplicates and the inbox is keyed by it) and time-ordered.
    pub id: Uuid,
    /// The publishing subgraph, e.g. "identity".
    pub source: String,
    /// `<domain>.<entity>.<verb>`, e.g. "identity.user.registered"; also the NATS subject.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When the change happened (RFC 3339, UTC).
    pub time: DateTime<Utc>,
    /// The id of the entity the event is about, so consumers can route without the payload.
    pub subject: String,
    /// Always "application/json".
    pub datacontenttype: String,
    /// The payload, owned by the publishing domain.
    pub data: serde_json::Value,
    /// The W3C trace context of the change that caused the event (the CloudEvents
    /// distributed-tracing extension), so its publication and handling join that trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

impl Envelope {
    /// Wraps a payload in a fresh envelope (new UUIDv7 id, time now, the current span's
    /// trace context).
    ///
    /// A payload that cannot be represented as JSON (a map with non-string keys) becomes
    /// `null` and is logged; payloads are plain structs, so that is a programming error.
    pub fn new(
        source: &str,
        event_type: &str,
        subject: impl ToString,
        data: &impl Serialize,
    ) -> Envelope {
        let data = serde_json::to_value(data).unwrap_or_else(|err| {
            tracing::error!(event_type, error = %err, "event payload is not representable as JSON");
            serde_json::Value::Null
        });
        Envelope {
            specversion: SPEC_VERSION.to_owned(),
            id: Uuid::now_v7(),
            source: source.to_owned(),
            event_type: event_type.to_owned(),
            time: Utc::now(),
            subject: subject.to_string(),
            datacontenttype: CONTENT_TYPE.to_owned(),
            data,
            traceparent: agora_telemetry::traceparent(&tracing::Span::current()),
        }
    }

    /// Decodes the payload into the type a handler expects.
    pub fn data_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.data)
    }

    /// The publishing domain: the first segment of the event type ("identity").
    pub fn domain(&self) -> &str {
        domain_of(&self.event_type)
    }
}

/// The domain of an event type: everything before the first dot.
pub(crate) fn domain_of(event_type: &str) -> &str {
    event_type.split('.').next().unwrap_or(event_type)
}
