//! The messaging operations: validation, participant checks, the write (with its outbox
//! event where there is one), then live delivery of what was committed.
//!
//! A conversation exists only for its participants: to anyone else every operation on it
//! answers `NOT_FOUND`, exactly as for a conversation that does not exist.

use std::sync::Arc;

use agora_kit::events::{self, Envelope};
use agora_kit::input::bounded_text;
use agora_kit::restriction;
use agora_kit::{Code, ServiceError};
use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::error::MessagingError;
use crate::events::{MESSAGE_SENT, MessageSent, SOURCE};
use crate::live::Live;
use crate::store::{conversation, member, message, notification, participant};

/// Messages are 1 to 2 000 characters.
pub const MESSAGE_BODY_MAX: usize = 2_000;
/// A conversation has at most this many participants, the viewer included.
pub const PARTICIPANTS_MAX: usize = 50;

/// What the operations need: the database, the relay's wake-up, the live hub.
pub struct Messaging {
    /// Messaging's own database.
    pub db: DatabaseConnection,
    /// Woken after a commit that enqueued events.
    pub outbox: Arc<Notify>,
    /// Where committed messages are announced.
    pub live: Live,
}

impl Messaging {
    /// `viewer` starts a conversation with `others` (the viewer is always in it), or gets
    /// the one they already have with exactly these people.
    pub async fn start_conversation(
        &self,
        viewer: Uuid,
        others: &[Uuid],
    ) -> Result<conversation::Model, MessagingError> {
        let mut participants = others.to_vec();
        participants.push(viewer);
        participants.sort_unstable();
        participants.dedup();
        if participants.len() < 2 {
            return Err(bad_participants(
                "participantIds must name at least one other user",
            ));
        }
        if participants.len() > PARTICIPANTS_MAX {
            return Err(bad_participants(&format!(
                "a conversation has at most {PARTICIPANTS_MAX} participants"
            )));
        }
        let txn = self.db.begin().await?;
        let known = member::live(&txn, &participants).await?;
        // A block looks exactly like an unknown user, so that it is not revealed.
        let blocked = restriction::blocked_with(&txn, viewer, &participants).await?;
        if participants
            .iter()
            .any(|id| *id != viewer && (!known.contains(id) || blocked.contains(id)))
        {
            return Err(bad_participants("participantIds names an unknown user"));
        }
        let started = conversation::find_or_start(&txn, &participants, Utc::now()).await?;
        txn.commit().await?;
        Ok(started)
    }

    /// `viewer` sends `body` to a conversation they are in.
    pub async fn send_message(
        &self,
        viewer: Uuid,
        conversation_id: Uuid,
        body: &str,
    ) -> Result<message::Model, MessagingError> {
        let body = bounded_text("body", body, MESSAGE_BODY_MAX)?;
        let txn = self.db.begin().await?;
        membership(&txn, viewer, conversation_id).await?;
        let sent = message::Model {
            id: Uuid::now_v7(),
            conversation_id,
            sender_id: Some(viewer),
            body,
            created_at: agora_kit::db::micros(Utc::now()),
        };
        message::insert(&txn, &sent).await?;
        conversation::touch(&txn, conversation_id, sent.created_at).await?;
        // Writing in a conversation means having read it.
        participant::mark_read(&txn, conversation_id, viewer, sent.created_at).await?;
        let recipients: Vec<Uuid> = participant::of_conversations(&txn, &[conversation_id])
            .await?
            .into_iter()
            .map(|row| row.user_id)
            .filter(|user| *user != viewer)
            .collect();
        // A block with anyone in it closes the conversation to the sender, as if it were
        // not there.
        if !restriction::blocked_with(&txn, viewer, &recipients)
            .await?
            .is_empty()
        {
            return Err(conversation_not_found());
        }
        let payload = MessageSent {
            id: sent.id,
            conversation_id,
            sender_id: viewer,
            recipient_ids: recipients,
            sent_at: sent.created_at,
        };
        let envelope = Envelope::new(SOURCE, MESSAGE_SENT, sent.id, &payload);
        events::commit_with(txn, &envelope, &self.outbox).await?;
        self.live.message_added(&sent).await;
        Ok(sent)
    }

    /// The conversation, if `viewer` is in it.
    pub async fn conversation(
        &self,
        viewer: Uuid,
        conversation_id: Uuid,
    ) -> Result<participant::Model, MessagingError> {
        membership(&self.db, viewer, conversation_id).await
    }

    /// `viewer` has read a conversation they are in, up to now.
    pub async fn mark_conversation_read(
        &self,
        viewer: Uuid,
        conversation_id: Uuid,
    ) -> Result<participant::Model, MessagingError> {
        let txn = self.db.begin().await?;
        let place = membership(&txn, viewer, conversation_id).await?;
        let now = agora_kit::db::micros(Utc::now());
        participant::mark_read(&txn, conversation_id, viewer, now).await?;
        txn.commit().await?;
        Ok(participant::Model {
            last_read_at: Some(now),
            ..place
        })
    }

    /// `viewer` has read the notifications `ids` (theirs; others' are ignored), or all of
    /// them; returns how many were unread.
    pub async fn mark_notifications_read(
        &self,
        viewer: Uuid,
        ids: Option<&[Uuid]>,
    ) -> Result<u64, MessagingError> {
        Ok(notification::mark_read(&self.db, viewer, ids, Utc::now()).await?)
    }
}

/// `viewer`'s place in the conversation, or `NOT_FOUND` (also when it does not exist).
async fn membership(
    conn: &impl ConnectionTrait,
    viewer: Uuid,
    conversation_id: Uuid,
) -> Result<participant::Model, MessagingError> {
    participant::find(conn, conversation_id, viewer)
        .await?
        .ok_or_else(conversation_not_found)
}

/// The answer about a conversation that does not exist, is not the viewer's, or that a
/// block closes.
fn conversation_not_found() -> MessagingError {
    ServiceError::new(Code::NotFound, "conversation not found").into()
}

fn bad_participants(message: &str) -> MessagingError {
    ServiceError::bad_input("participantIds", message).into()
}
