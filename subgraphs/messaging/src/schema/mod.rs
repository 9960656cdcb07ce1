//! Messaging's GraphQL schema: notifications, conversations and messages, their
//! mutations, and the `notificationAdded` and `messageAdded` subscriptions.
//!
//! Per-conversation fields load through DataLoaders — message pages and last messages
//! through the kit's keyset pages, message rows through its row loader, participants and
//! unread counts through messaging's own — so a page of 50 conversations costs the same
//! number of SQL statements as a page of 5.

mod mutation;
mod query;
mod subscription;
mod types;

use std::sync::Arc;

use agora_kit::ServiceError;
use agora_kit::graphql::{BATCH_WINDOW, RowLoader, loader};
use agora_kit::paging::{Cursor, PageLoader, PageRequest, page_size};
use async_graphql::connection::CursorType;
use async_graphql::{Schema, SchemaBuilder};

use crate::messaging::Messaging;
use crate::store::list::List;
use crate::store::loaders::{ParticipantLoader, UnreadLoader};
use crate::store::message;

pub use mutation::Mutation;
pub use query::Query;
pub use subscription::Subscription;
pub use types::{Conversation, Message, Notification, NotificationKind, Post, User};

/// Messaging's executable schema.
pub type MessagingSchema = Schema<Query, Mutation, Subscription>;

/// Builds the schema around the messaging operations, with its loaders on the kit's
/// [`BATCH_WINDOW`].
pub fn build(messaging: Arc<Messaging>) -> MessagingSchema {
    let db = messaging.db.clone();
    builder()
        .data(messaging)
        .data(loader(PageLoader::<List>::new(db.clone())).delay(BATCH_WINDOW))
        .data(loader(RowLoader::<message::Entity>::new(db.clone())).delay(BATCH_WINDOW))
        .data(loader(ParticipantLoader(db.clone())).delay(BATCH_WINDOW))
        .data(loader(UnreadLoader(db)).delay(BATCH_WINDOW))
        .finish()
}

/// The federation SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    agora_kit::graphql::federation_sdl(&builder().finish())
}

fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    agora_kit::graphql::federated(Query, Mutation, Subscription)
}

/// A page of a newest-first list continuing with older entries: `first`, and `before`
/// (a cursor of the list), or `BAD_USER_INPUT` naming the argument.
fn before_request(first: Option<i32>, before: Option<String>) -> Result<PageRequest, ServiceError> {
    let first = page_size(first)?;
    let after = before
        .map(|cursor| Cursor::decode_cursor(&cursor))
        .transpose()
        .map_err(|_| ServiceError::bad_input("before", "before is not a cursor from this list"))?
        .map(|cursor| cursor.0);
    Ok(PageRequest { first, after })
}
