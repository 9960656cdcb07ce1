//! Messaging's queries and its `User` and `Post` entity references.

use std::sync::Arc;

use agora_kit::auth::viewer;
use agora_kit::input::parse_id;
use agora_kit::paging::page_request;
use async_graphql::connection::EmptyFields;
use async_graphql::{Context, ID, Object, Result, ResultExt};

use super::types::{
    Conversation, ConversationConnection, Notification, NotificationConnection, Post, User,
};
use crate::error::MessagingError;
use crate::messaging::Messaging;
use crate::store::{notification, participant};

/// Messaging's root query fields.
pub struct Query;

#[Object]
impl Query {
    /// Your notifications, newest first (`first` at most 100, default 20); only the
    /// unread ones with `unreadOnly: true`.
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        unread_only: Option<bool>,
    ) -> Result<NotificationConnection> {
        let viewer = viewer(ctx).extend()?;
        let request = page_request(first, after).extend()?;
        let messaging = ctx.data_unchecked::<Arc<Messaging>>();
        let (rows, has_next) = notification::page(
            &messaging.db,
            viewer.user_id,
            request,
            unread_only.unwrap_or(false),
        )
        .await
        .map_err(MessagingError::from)
        .extend()?;
        let edges = rows.into_iter().map(|row| {
            let position = agora_kit::paging::Position {
                at: row.created_at,
                id: row.id,
            };
            (position, Notification::new(row))
        });
        Ok(agora_kit::paging::connection(
            request,
            has_next,
            EmptyFields,
            edges,
        ))
    }

    /// How many of your notifications are unread.
    async fn unread_notification_count(&self, ctx: &Context<'_>) -> Result<i32> {
        let viewer = viewer(ctx).extend()?;
        let messaging = ctx.data_unchecked::<Arc<Messaging>>();
        let count = notification::unread_count(&messaging.db, viewer.user_id)
            .await
            .map_err(MessagingError::from)
            .extend()?;
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }

    /// Your conversations, the one with the latest message first (`first` at most 100,
    /// default 20).
    async fn conversations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<ConversationConnection> {
        let viewer = viewer(ctx).extend()?;
        let request = page_request(first, after).extend()?;
        let messaging = ctx.data_unchecked::<Arc<Messaging>>();
        let (rows, has_next) = participant::page(&messaging.db, viewer.user_id, request)
            .await
            .map_err(MessagingError::from)
            .extend()?;
        let edges = rows.iter().map(|place| {
            let position = agora_kit::paging::Position {
                at: place.last_activity_at,
                id: place.conversation_id,
            };
            (position, Conversation::new(place))
        });
        Ok(agora_kit::paging::connection(
            request,
            has_next,
            EmptyFields,
            edges,
        ))
    }

    /// A conversation you are in (`NOT_FOUND` otherwise).
    async fn conversation(&self, ctx: &Context<'_>, id: ID) -> Result<Conversation> {
        let viewer = viewer(ctx).extend()?;
        let id = parse_id("id", &id).extend()?;
        let messaging = ctx.data_unchecked::<Arc<Messaging>>();
        let place = messaging.conversation(viewer.user_id, id).await.extend()?;
        Ok(Conversation::new(&place))
    }

    /// How many messages from others you have not read, across your conversations.
    async fn unread_message_count(&self, ctx: &Context<'_>) -> Result<i32> {
        let viewer = viewer(ctx).extend()?;
        let messaging = ctx.data_unchecked::<Arc<Messaging>>();
        let count = participant::unread_total(&messaging.db, viewer.user_id)
            .await
            .map_err(MessagingError::from)
            .extend()?;
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }

    /// Resolves `User` references (messaging adds no fields of its own).
    #[graphql(entity)]
    async fn find_user_by_id(&self, #[graphql(key)] id: ID) -> User {
        User::from_key(id)
    }

    /// Resolves `Post` references (messaging adds no fields of its own).
    #[graphql(entity)]
    async fn find_post_by_id(&self, #[graphql(key)] id: ID) -> Post {
        Post::from_key(id)
    }
}
