//! Messaging's GraphQL types: notifications, conversations and messages, the `User` and
//! `Post` entity references they point to, connections, inputs and payloads.

use agora_kit::auth::viewer;
use agora_kit::graphql::{RowLoader, load_row};
use agora_kit::paging::{Cursor, PageKey, PageRequest, load_page};
use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::dataloader::DataLoader;
use async_graphql::{
    Context, Enum, ErrorExtensions, ID, InputObject, Object, Result, ResultExt, SimpleObject,
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::list::List;
use crate::store::loaders::{ParticipantLoader, UnreadKey, UnreadLoader};
use crate::store::notification::{self, Kind};
use crate::store::{message, participant};

agora_kit::connection_names! {
    /// `NotificationConnection`: a user's notifications.
    NotificationName, NotificationEdgeName => "Notification";
    /// `ConversationConnection`: a user's conversations.
    ConversationName, ConversationEdgeName => "Conversation";
    /// `MessageConnection`: a conversation's messages.
    MessageName, MessageEdgeName => "Message";
}

/// Notifications, newest first.
pub type NotificationConnection = Connection<
    Cursor,
    Notification,
    EmptyFields,
    EmptyFields,
    NotificationName,
    NotificationEdgeName,
>;
/// Conversations, most recently active first.
pub type ConversationConnection = Connection<
    Cursor,
    Conversation,
    EmptyFields,
    EmptyFields,
    ConversationName,
    ConversationEdgeName,
>;
/// Messages, newest first.
pub type MessageConnection =
    Connection<Cursor, Message, EmptyFields, EmptyFields, MessageName, MessageEdgeName>;

/// A person on Agora (owned by identity); messaging only refers to them.
pub struct User {
    /// The id as given (echoed back unchanged).
    id: ID,
}

impl User {
    /// The user with this id.
    pub fn new(id: Uuid) -> Self {
        Self {
            id: ID(id.to_string()),
        }
    }

    /// A user from a representation's key; never fails (a batch of representations with
    /// one bad key would otherwise fail as a whole).
    pub fn from_key(id: ID) -> Self {
        Self { id }
    }
}

#[Object]
impl User {
    /// Opaque, stable id.
    async fn id(&self) -> &ID {
        &self.id
    }
}

/// A post (owned by content); messaging only refers to it.
pub struct Post {
    /// The id as given (echoed back unchanged).
    id: ID,
}

impl Post {
    /// The post with this id.
    pub fn new(id: Uuid) -> Self {
        Self {
            id: ID(id.to_string()),
        }
    }

    /// A post from a representation's key; never fails (see [`User::from_key`]).
    pub fn from_key(id: ID) -> Self {
        Self { id }
    }
}

#[Object]
impl Post {
    /// Opaque, stable id.
    async fn id(&self) -> &ID {
        &self.id
    }
}

/// Why a user is notified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum NotificationKind {
    /// The actor followed you.
    Followed,
    /// The actor liked your post.
    Liked,
    /// The actor commented on your post.
    Commented,
    /// The actor mentioned you (`@handle`) in a post or a comment.
    Mentioned,
}

impl From<Kind> for NotificationKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Followed => NotificationKind::Followed,
            Kind::Liked => NotificationKind::Liked,
            Kind::Commented => NotificationKind::Commented,
            Kind::Mentioned => NotificationKind::Mentioned,
        }
    }
}

/// Something another user did that concerns you.
pub struct Notification(notification::Model);

impl Notification {
    /// The notification of this row.
    pub fn new(row: notification::Model) -> Self {
        Self(row)
    }
}

#[Object]
impl Notification {
    /// Opaque, stable id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// What happened.
    async fn kind(&self) -> Result<NotificationKind> {
        Kind::parse(&self.0.kind)
            .map(NotificationKind::from)
            .ok_or_else(|| {
                let unknown = format!("unknown notification kind {:?}", self.0.kind);
                agora_kit::ServiceError::internal(&std::io::Error::other(unknown)).extend()
            })
    }

    /// Who did it.
    async fn actor(&self) -> User {
        User::new(self.0.actor_id)
    }

    /// The post it concerns (liked, commented on, or mentioning you); none for a follow.
    async fn post(&self) -> Option<Post> {
        self.0.post_id.map(Post::new)
    }

    /// When it happened (RFC 3339, UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Whether you marked it read.
    async fn read(&self) -> bool {
        self.0.read_at.is_some()
    }
}

/// A private conversation between two or more users; only they can see it.
pub struct Conversation {
    id: Uuid,
    created_at: DateTime<Utc>,
}

impl Conversation {
    /// The conversation a participant row belongs to (every row of a conversation
    /// carries its start time).
    pub fn new(place: &participant::Model) -> Self {
        Self {
            id: place.conversation_id,
            created_at: place.created_at,
        }
    }
}

#[Object]
impl Conversation {
    /// Opaque, stable id.
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// Everyone in it, you included, in the order they joined.
    async fn participants(&self, ctx: &Context<'_>) -> Result<Vec<User>> {
        let loader = ctx.data_unchecked::<DataLoader<ParticipantLoader>>();
        let users = loader
            .load_one(self.id)
            .await
            .map_err(|e| agora_kit::graphql::internal(&e))?;
        Ok(users
            .unwrap_or_default()
            .into_iter()
            .map(User::new)
            .collect())
    }

    /// Its messages, newest first; `before` continues with older ones (`first` at most
    /// 100, default 20).
    async fn messages(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        before: Option<String>,
    ) -> Result<MessageConnection> {
        let request = super::before_request(first, before).extend()?;
        let key = PageKey {
            list: List::Messages,
            parent: self.id,
            request,
        };
        let page = load_page(ctx, key).await?;
        let loader = ctx.data_unchecked::<DataLoader<RowLoader<message::Entity>>>();
        let mut rows = loader
            .load_many(page.entries.iter().map(|entry| entry.node))
            .await
            .map_err(|e| agora_kit::graphql::internal(&e))?;
        // A message deleted since the page was read is left out, not misplaced.
        let edges = page.entries.iter().filter_map(|entry| {
            let row = rows.remove(&entry.node)?;
            Some((entry.position(), Message::new(row)))
        });
        Ok(agora_kit::paging::connection(
            request,
            page.has_next,
            EmptyFields,
            edges,
        ))
    }

    /// The newest message, if any.
    async fn last_message(&self, ctx: &Context<'_>) -> Result<Option<Message>> {
        let key = PageKey {
            list: List::Messages,
            parent: self.id,
            request: PageRequest {
                first: 1,
                after: None,
            },
        };
        let page = load_page(ctx, key).await?;
        let Some(newest) = page.entries.first() else {
            return Ok(None);
        };
        let row = load_row::<message::Entity>(ctx, newest.node).await?;
        Ok(row.map(Message::new))
    }

    /// How many messages from others you have not read.
    async fn unread_count(&self, ctx: &Context<'_>) -> Result<i32> {
        let viewer = viewer(ctx).extend()?;
        let loader = ctx.data_unchecked::<DataLoader<UnreadLoader>>();
        let key = UnreadKey {
            viewer: viewer.user_id,
            conversation: self.id,
        };
        let count = loader
            .load_one(key)
            .await
            .map_err(|e| agora_kit::graphql::internal(&e))?;
        Ok(count.map_or(0, |n| i32::try_from(n).unwrap_or(i32::MAX)))
    }

    /// When it was started (RFC 3339, UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
}

/// A message in a conversation.
pub struct Message(message::Model);

impl Message {
    /// The message of this row.
    pub fn new(row: message::Model) -> Self {
        Self(row)
    }
}

#[Object]
impl Message {
    /// Opaque, stable id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The conversation it was sent in.
    async fn conversation_id(&self) -> ID {
        ID(self.0.conversation_id.to_string())
    }

    /// Who sent it; null for a deleted user.
    async fn sender(&self) -> Option<User> {
        self.0.sender_id.map(User::new)
    }

    /// The text, 1 to 2 000 characters.
    async fn body(&self) -> &str {
        &self.0.body
    }

    /// When it was sent (RFC 3339, UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Input of `markNotificationsRead`: either `ids` or `all: true`.
#[derive(InputObject)]
pub struct MarkNotificationsReadInput {
    /// The notifications to mark read (yours; others' ids change nothing).
    pub ids: Option<Vec<ID>>,
    /// Mark every notification read.
    pub all: Option<bool>,
}

/// Result of `markNotificationsRead`.
#[derive(SimpleObject)]
pub struct MarkNotificationsReadPayload {
    /// How many notifications were unread and are now read.
    pub marked_count: i32,
    /// How many unread notifications are left.
    pub unread_notification_count: i32,
}

/// Input of `startConversation`.
#[derive(InputObject)]
pub struct StartConversationInput {
    /// The other participants (you are always one); at least one other user, at most 49.
    pub participant_ids: Vec<ID>,
}

/// Result of `startConversation`.
#[derive(SimpleObject)]
pub struct StartConversationPayload {
    /// The conversation with exactly these participants, new or existing.
    pub conversation: Conversation,
}

/// Input of `sendMessage`.
#[derive(InputObject)]
pub struct SendMessageInput {
    /// A conversation you are in.
    pub conversation_id: ID,
    /// The text, 1 to 2 000 characters (trimmed).
    pub body: String,
}

/// Result of `sendMessage`.
#[derive(SimpleObject)]
pub struct SendMessagePayload {
    /// The message sent.
    pub message: Message,
    /// Its conversation.
    pub conversation: Conversation,
}

/// Input of `markConversationRead`.
#[derive(InputObject)]
pub struct MarkConversationReadInput {
    /// A conversation you are in.
    pub conversation_id: ID,
}

/// Result of `markConversationRead`.
#[derive(SimpleObject)]
pub struct MarkConversationReadPayload {
    /// The conversation, with no unread messages.
    pub conversation: Conversation,
}
