//! Messaging's subscriptions, for the signed-in viewer only: new notifications, and new
//! messages in a conversation they are in. Served over WebSocket by the kit; delivered
//! from whichever instance committed the change through the live hub.

use std::sync::Arc;

use agora_kit::auth::viewer;
use agora_kit::input::parse_id;
use async_graphql::{Context, ID, Result, ResultExt, Subscription as GraphqlSubscription};
use futures::{Stream, StreamExt};

use super::types::{Message, Notification};
use crate::error::MessagingError;
use crate::messaging::Messaging;

/// Messaging's root subscription fields.
pub struct Subscription;

#[GraphqlSubscription]
impl Subscription {
    /// Each new notification of yours, as it is created.
    async fn notification_added(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Notification> + use<>> {
        let viewer = viewer(ctx).extend()?;
        let messaging = ctx.data_unchecked::<Arc<Messaging>>();
        let added = messaging
            .live
            .notifications(viewer.user_id)
            .await
            .map_err(MessagingError::from)
            .extend()?;
        Ok(added.map(Notification::new))
    }

    /// Each new message in a conversation you are in (`NOT_FOUND` otherwise), yours
    /// included.
    async fn message_added(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
    ) -> Result<impl Stream<Item = Message> + use<>> {
        let viewer = viewer(ctx).extend()?;
        let conversation = parse_id("conversationId", &conversation_id).extend()?;
        let messaging = ctx.data_unchecked::<Arc<Messaging>>();
        messaging
            .conversation(viewer.user_id, conversation)
            .await
            .extend()?;
        let added = messaging
            .live
            .messages(conversation)
            .await
            .map_err(MessagingError::from)
            .extend()?;
        Ok(added.map(Message::new))
    }
}
