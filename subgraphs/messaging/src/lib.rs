//! Messaging: notifications, direct messages between users, and their live delivery.
//!
//! Owns the `notification`, `conversation`, `participant` and `message` tables, and
//! `member`, a replica of identity's accounts (id and handle) kept from identity's events
//! to resolve `@handle` mentions and to check conversation participants. Contributes
//! `Query.notifications/unreadNotificationCount/conversations/conversation/
//! unreadMessageCount`, the mutations `markNotificationsRead`, `startConversation`,
//! `sendMessage` and `markConversationRead`, and `Subscription.notificationAdded` and
//! `messageAdded(conversationId)`. `Notification.actor`, `Notification.post` and the
//! participants and senders are references to identity's `User` and content's `Post`.
//!
//! Notifications come from events: `social.user.followed` (FOLLOWED), `social.post.liked`
//! (LIKED), `content.comment.created` (COMMENTED, to the post's author) and `@handle`
//! mentions in `content.post.created` and `content.comment.created` (MENTIONED); nobody
//! is told about their own action. Consumes those (durable consumers `messaging-SOCIAL`
//! and `messaging-CONTENT`) and `identity.user.registered|deleted`
//! (`messaging-IDENTITY`): a deleted account's notifications are erased and its messages
//! stay, from a "deleted user". Publishes `messaging.message.sent`.
//!
//! Live delivery goes through the kit's live hub (core NATS, or in-process in embedded
//! mode), published by the instance that committed, so that any instance serves any
//! subscriber.
//!
//! Layout:
//! - [`messaging`]: the operations (validation, participant checks, write, live delivery).
//! - [`schema`]: the GraphQL types, resolvers, subscriptions and DataLoaders.
//! - [`store`]: the tables and their queries.
//! - [`events`]: payloads published and consumed, and the handlers.
//! - [`live`]: messaging's topics and payloads on the live hub.
//! - [`mentions`]: `@handle` parsing.
//! - [`error`]: the error type.

pub mod error;
pub mod events;
pub mod live;
pub mod mentions;
pub mod messaging;
pub mod schema;
pub mod store;

use std::sync::Arc;

use agora_kit::auth::JwtVerifier;
use agora_kit::events::{Consumer, ConsumerSpec, EventBus, OutboxRelay};
use agora_kit::service::{Service, StartError};
use agora_kit::{Settings, db, http};

use crate::live::Live;
use crate::messaging::Messaging;

/// The consumer of identity's accounts, as the bus knows it (`messaging-IDENTITY`).
pub fn identity_consumer() -> ConsumerSpec {
    ConsumerSpec::new(
        "messaging",
        events::IDENTITY,
        &[events::USER_REGISTERED, events::USER_DELETED],
    )
}

/// The consumer of social's follows and likes (`messaging-SOCIAL`).
pub fn social_consumer() -> ConsumerSpec {
    ConsumerSpec::new(
        "messaging",
        events::SOCIAL,
        &[events::USER_FOLLOWED, events::POST_LIKED],
    )
}

/// The consumer of content's posts and comments (`messaging-CONTENT`).
pub fn content_consumer() -> ConsumerSpec {
    ConsumerSpec::new(
        "messaging",
        events::CONTENT,
        &[events::POST_CREATED, events::COMMENT_CREATED],
    )
}

/// Connects messaging's database, opens its consumers, and binds its HTTP service (with
/// subscriptions) with the outbox relay and the consumers as background tasks.
pub async fn build(settings: Settings, bus: Arc<dyn EventBus>) -> Result<Service, StartError> {
    let db = db::connect::<agora_messaging_migration::Migrator>(&settings.database_url).await?;
    // Ensuring the streams it reads too (idempotent, same definition) lets messaging
    // start before their publishers without its subscriptions failing.
    for domain in [
        events::SOURCE,
        events::IDENTITY,
        events::SOCIAL,
        events::CONTENT,
    ] {
        bus.ensure_stream(domain).await?;
    }
    let live = Live::new(bus.live());
    let notifier = Arc::new(events::Notifier { live: live.clone() });
    let identity = Consumer::open(
        db.clone(),
        &bus,
        identity_consumer(),
        Arc::new(events::OnIdentityEvent),
    )
    .await?;
    let social = Consumer::open(db.clone(), &bus, social_consumer(), notifier.clone()).await?;
    let content = Consumer::open(db.clone(), &bus, content_consumer(), notifier).await?;
    let relay = OutboxRelay::new(db.clone(), bus);
    let verifier = JwtVerifier::remote(settings.jwks_url.clone(), settings.tokens.clone());
    let messaging = Arc::new(Messaging {
        db: db.clone(),
        outbox: relay.waker(),
        live,
    });
    let routes = http::router(schema::build(messaging), verifier, db);
    Ok(Service::bind(settings.listen, routes)
        .await?
        .with_task(|stop| relay.run(stop))
        .with_task(|stop| identity.run(stop))
        .with_task(|stop| social.run(stop))
        .with_task(|stop| content.run(stop)))
}
