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
//! is told about their own action, nor about the actions of a user they blocked, were
//! blocked by or muted (a replica of social's `social.user.blocked|unblocked|muted|
//! unmuted`, which also refuses messages between blocked users). Consumes those (durable consumers `messaging-SOCIAL`
//! and `messaging-CONTENT`) and `identity.user.registered|handle_changed|deleted` and
//! `identity.password_reset|email_verification.requested` (`messaging-IDENTITY`): a
//! deleted account's notifications are erased and its messages stay, from a "deleted
//! user"; a link request becomes a mail in the email outbox, which the [`mail::Mailer`]
//! delivers. Publishes `messaging.message.sent`.
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
//! - [`mail`]: the mail settings, the mails' text, and the mailer (SMTP or dev mailbox).
//! - [`error`]: the error type.

pub mod error;
pub mod events;
pub mod live;
pub mod mail;
pub mod mentions;
pub mod messaging;
pub mod schema;
pub mod store;

use std::sync::Arc;

use agora_kit::auth::JwtVerifier;
use agora_kit::events::erasure::Eraser;
use agora_kit::events::{Consumer, ConsumerSpec, EventBus, OutboxRelay};
use agora_kit::service::{Service, StartError};
use agora_kit::{Settings, db, http};

use crate::live::Live;
use crate::mail::{MailSettings, Mailer};
use crate::messaging::Messaging;

/// The consumer of identity's accounts, as the bus knows it (`messaging-IDENTITY`).
pub fn identity_consumer() -> ConsumerSpec {
    ConsumerSpec::new(
        "messaging",
        events::IDENTITY,
        &[
            events::USER_REGISTERED,
            events::USER_HANDLE_CHANGED,
            events::USER_DELETED,
            events::PASSWORD_RESET_REQUESTED,
            events::EMAIL_VERIFICATION_REQUESTED,
        ],
    )
}

/// The consumer of social's follows, likes, blocks and mutes (`messaging-SOCIAL`).
pub fn social_consumer() -> ConsumerSpec {
    ConsumerSpec::new(
        "messaging",
        events::SOCIAL,
        &[
            events::USER_FOLLOWED,
            events::POST_LIKED,
            events::USER_BLOCKED,
            events::USER_UNBLOCKED,
            events::USER_MUTED,
            events::USER_UNMUTED,
        ],
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

/// Builds messaging with its mail settings read from the environment (see
/// [`MailSettings`]).
pub async fn build(settings: Settings, bus: Arc<dyn EventBus>) -> Result<Service, StartError> {
    let mail = MailSettings::from_env(&settings);
    build_with(settings, mail, bus).await
}

/// Connects messaging's database, opens its consumers, and binds its HTTP service (with
/// subscriptions) with the outbox relay, the consumers and the mailer as background
/// tasks.
pub async fn build_with(
    settings: Settings,
    mail: MailSettings,
    bus: Arc<dyn EventBus>,
) -> Result<Service, StartError> {
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
    let mailer = Mailer::new(db.clone(), &mail)?;
    let on_identity = events::OnIdentityEvent {
        web_url: mail.web_url.clone(),
        mailer: mailer.waker(),
    };
    let eraser: Arc<dyn Eraser> = Arc::new(events::AccountEraser);
    let identity = Consumer::open(db.clone(), &bus, identity_consumer(), Arc::new(on_identity))
        .await?
        .with_eraser(eraser.clone());
    let social = Consumer::open(db.clone(), &bus, social_consumer(), notifier.clone())
        .await?
        .with_eraser(eraser.clone());
    let content = Consumer::open(db.clone(), &bus, content_consumer(), notifier)
        .await?
        .with_eraser(eraser.clone());
    let relay = OutboxRelay::new(db.clone(), bus.clone());
    let verifier = JwtVerifier::remote(settings.jwks_url.clone(), settings.tokens.clone());
    let messaging = Arc::new(Messaging {
        db: db.clone(),
        outbox: relay.waker(),
        live,
    });
    let routes = http::router(schema::build(messaging), verifier, db.clone(), bus);
    Ok(Service::bind(settings.listen, routes, db)
        .await?
        .with_task(|stop| relay.run(stop))
        .with_task(|stop| identity.run(stop))
        .with_task(|stop| social.run(stop))
        .with_task(|stop| content.run(stop))
        .with_task(|stop| mailer.run(stop)))
}
