//! Live delivery of new notifications and messages to subscribers on any instance.
//!
//! The instance that commits a notification or a message publishes it on the kit's live
//! hub, on the topic of its recipient (`messaging.notification.<user id>`) or of its
//! conversation (`messaging.conversation.<id>`); each subscription listens on its own
//! topic, so it only ever sees what its viewer may see. The payload carries the row, so
//! no instance reads the database to deliver. Delivery is best-effort: the row is the
//! record, and a client that was away reads it from the queries.

use std::sync::Arc;

use agora_kit::events::{EventError, LiveHub};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::{message, notification};

/// The topic of a user's new notifications.
pub fn notification_topic(user: Uuid) -> String {
    format!("messaging.notification.{user}")
}

/// The topic of a conversation's new messages.
pub fn conversation_topic(conversation: Uuid) -> String {
    format!("messaging.conversation.{conversation}")
}

/// Messaging's side of the live hub.
#[derive(Clone)]
pub struct Live(Arc<dyn LiveHub>);

/// A notification as it travels live.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LiveNotification {
    id: Uuid,
    recipient_id: Uuid,
    kind: String,
    actor_id: Uuid,
    post_id: Option<Uuid>,
    event_id: Uuid,
    created_at: DateTime<Utc>,
}

/// A message as it travels live.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LiveMessage {
    id: Uuid,
    conversation_id: Uuid,
    sender_id: Option<Uuid>,
    body: String,
    created_at: DateTime<Utc>,
}

impl Live {
    /// Messaging's topics on `hub`.
    pub fn new(hub: Arc<dyn LiveHub>) -> Self {
        Self(hub)
    }

    /// Tells the recipient's subscriptions about a committed notification.
    pub async fn notification_added(&self, row: &notification::Model) {
        let live = LiveNotification {
            id: row.id,
            recipient_id: row.recipient_id,
            kind: row.kind.clone(),
            actor_id: row.actor_id,
            post_id: row.post_id,
            event_id: row.event_id,
            created_at: row.created_at,
        };
        self.publish(&notification_topic(row.recipient_id), &live)
            .await;
    }

    /// Tells the conversation's subscriptions about a committed message.
    pub async fn message_added(&self, row: &message::Model) {
        let live = LiveMessage {
            id: row.id,
            conversation_id: row.conversation_id,
            sender_id: row.sender_id,
            body: row.body.clone(),
            created_at: row.created_at,
        };
        self.publish(&conversation_topic(row.conversation_id), &live)
            .await;
    }

    /// `user`'s new notifications from now on.
    pub async fn notifications(
        &self,
        user: Uuid,
    ) -> Result<impl Stream<Item = notification::Model> + use<>, EventError> {
        let stream = self
            .subscribe::<LiveNotification>(&notification_topic(user))
            .await?;
        Ok(stream.map(|live| notification::Model {
            id: live.id,
            recipient_id: live.recipient_id,
            kind: live.kind,
            actor_id: live.actor_id,
            post_id: live.post_id,
            event_id: live.event_id,
            created_at: live.created_at,
            read_at: None,
        }))
    }

    /// A conversation's new messages from now on.
    pub async fn messages(
        &self,
        conversation: Uuid,
    ) -> Result<impl Stream<Item = message::Model> + use<>, EventError> {
        let stream = self
            .subscribe::<LiveMessage>(&conversation_topic(conversation))
            .await?;
        Ok(stream.map(|live| message::Model {
            id: live.id,
            conversation_id: live.conversation_id,
            sender_id: live.sender_id,
            body: live.body,
            created_at: live.created_at,
        }))
    }

    /// Publishes after a commit; a failure is logged, never returned: the row is saved,
    /// and only live delivery missed it.
    async fn publish(&self, topic: &str, payload: &impl Serialize) {
        let sent = match serde_json::to_vec(payload) {
            Ok(bytes) => self.0.publish(topic, Bytes::from(bytes)).await,
            Err(err) => Err(err.into()),
        };
        if let Err(err) = sent {
            tracing::warn!(topic, error = %err, "live delivery failed");
        }
    }

    /// Decoded messages of `topic`; one that does not decode is skipped and logged.
    async fn subscribe<T: DeserializeOwned + Send + 'static>(
        &self,
        topic: &str,
    ) -> Result<impl Stream<Item = T> + use<T>, EventError> {
        let topic_name = topic.to_owned();
        let stream = self.0.subscribe(topic).await?;
        Ok(stream.filter_map(move |payload| {
            let decoded = serde_json::from_slice::<T>(&payload);
            if let Err(err) = &decoded {
                tracing::warn!(topic = %topic_name, error = %err, "undecodable live message");
            }
            futures::future::ready(decoded.ok())
        }))
    }
}
