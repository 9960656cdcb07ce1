//! Messaging's mutations: marking notifications read, starting conversations, sending
//! messages and marking conversations read.

use std::sync::Arc;

use agora_kit::ServiceError;
use agora_kit::auth::viewer;
use agora_kit::input::parse_id;
use async_graphql::{Context, Object, Result, ResultExt};
use uuid::Uuid;

use super::types::{
    Conversation, MarkConversationReadInput, MarkConversationReadPayload,
    MarkNotificationsReadInput, MarkNotificationsReadPayload, Message, SendMessageInput,
    SendMessagePayload, StartConversationInput, StartConversationPayload,
};
use crate::error::MessagingError;
use crate::messaging::Messaging;
use crate::store::notification;

/// Messaging's root mutation fields.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Marks your notifications read: those of `ids`, or every one with `all: true`
    /// (exactly one of the two).
    async fn mark_notifications_read(
        &self,
        ctx: &Context<'_>,
        input: MarkNotificationsReadInput,
    ) -> Result<MarkNotificationsReadPayload> {
        let viewer = viewer(ctx).extend()?;
        let ids = match (input.ids, input.all) {
            (Some(ids), None | Some(false)) => Some(
                ids.iter()
                    .map(|id| parse_id("ids", id))
                    .collect::<Result<Vec<Uuid>, _>>()
                    .extend()?,
            ),
            (None, Some(true)) => None,
            _ => {
                let error = ServiceError::bad_input("ids", "give either ids or all: true");
                return Err(error).extend();
            }
        };
        let messaging = ctx.data_unchecked::<Arc<Messaging>>();
        let marked = messaging
            .mark_notifications_read(viewer.user_id, ids.as_deref())
            .await
            .extend()?;
        let unread = notification::unread_count(&messaging.db, viewer.user_id)
            .await
            .map_err(MessagingError::from)
            .extend()?;
        Ok(MarkNotificationsReadPayload {
            marked_count: i32::try_from(marked).unwrap_or(i32::MAX),
            unread_notification_count: i32::try_from(unread).unwrap_or(i32::MAX),
        })
    }

    /// Starts a conversation with `participantIds` (you are always in it), or returns
    /// the one you already have with exactly these people.
    async fn start_conversation(
        &self,
        ctx: &Context<'_>,
        input: StartConversationInput,
    ) -> Result<StartConversationPayload> {
        let viewer = viewer(ctx).extend()?;
        let others = input
            .participant_ids
            .iter()
            .map(|id| parse_id("participantIds", id))
            .collect::<Result<Vec<Uuid>, _>>()
            .extend()?;
        let messaging = ctx.data_unchecked::<Arc<Messaging>>();
        let started = messaging
            .start_conversation(viewer.user_id, &others)
            .await
            .extend()?;
        let place = messaging
            .conversation(viewer.user_id, started.id)
            .await
            .extend()?;
        Ok(StartConversationPayload {
            conversation: Conversation::new(&place),
        })
    }

    /// Sends a message to a conversation you are in (`NOT_FOUND` otherwise).
    async fn send_message(
        &self,
        ctx: &Context<'_>,
        input: SendMessageInput,
    ) -> Result<SendMessagePayload> {
        let viewer = viewer(ctx).extend()?;
        let conversation = parse_id("conversationId", &input.conversation_id).extend()?;
        let messaging = ctx.data_unchecked::<Arc<Messaging>>();
        let sent = messaging
            .send_message(viewer.user_id, conversation, &input.body)
            .await
            .extend()?;
        let place = messaging
            .conversation(viewer.user_id, conversation)
            .await
            .extend()?;
        Ok(SendMessagePayload {
            message: Message::new(sent),
            conversation: Conversation::new(&place),
        })
    }

    /// Marks a conversation you are in read, up to now (`NOT_FOUND` otherwise).
    async fn mark_conversation_read(
        &self,
        ctx: &Context<'_>,
        input: MarkConversationReadInput,
    ) -> Result<MarkConversationReadPayload> {
        let viewer = viewer(ctx).extend()?;
        let conversation = parse_id("conversationId", &input.conversation_id).extend()?;
        let messaging = ctx.data_unchecked::<Arc<Messaging>>();
        let place = messaging
            .mark_conversation_read(viewer.user_id, conversation)
            .await
            .extend()?;
        Ok(MarkConversationReadPayload {
            conversation: Conversation::new(&place),
        })
    }
}
