//! Content: what users write — posts, the comments under them, and the hashtags in them.
//!
//! Owns the `post`, `comment` and `post_tag` tables and the full-text index of posts.
//! Contributes `Post @key(id)` and `Comment @key(id)`, `User.posts` and `User.postCount`,
//! `Query.post`, `Query.postsByTag`, `Query.searchPosts` (ranked full-text: SQLite FTS5
//! or Postgres `tsvector`), and the mutations `createPost`, `editPost`, `deletePost` (the
//! post's author only), `addComment` and `deleteComment` (the comment's author or the
//! post's author).
//!
//! Publishes `content.post.created|updated|deleted` and
//! `content.comment.created|deleted`, each written to the outbox in the transaction of its
//! change. Consumes `identity.user.deleted` (durable consumer `content-IDENTITY`), which
//! erases everything the account wrote, and `media.media.ready|deleted` (`content-MEDIA`):
//! a replica of ready media (id, owner) against which `createPost` checks its `mediaIds`.
//! `Post.media` are references to media's `Media`.
//!
//! A block hides each side's posts and comments from the other, as if absent:
//! `Query.post` is null, `User.posts` is empty, `postsByTag`, `searchPosts` and
//! `Post.comments` leave them out, and `addComment` on the other's post is `NOT_FOUND`.
//! For that content keeps the kit's replica of social's blocks from
//! `social.user.blocked|unblocked` (`content-SOCIAL`).
//!
//! A private account's posts and comments are for itself and its approved followers: to
//! anyone else (signed out too) they are hidden as across a block, and as `Post` and
//! `Comment` entities too, and `addComment` on its posts is `NOT_FOUND`. For that content
//! keeps the kit's replica of private accounts, from `profiles.profile.privacy_changed`
//! (`content-PROFILES`), and of who follows whom, from
//! `social.user.followed|unfollowed|blocked` (`content-SOCIAL`).
//!
//! Layout:
//! - [`content`]: the operations (validation, ownership checks, write, outbox event).
//! - [`schema`]: the GraphQL types, resolvers and DataLoaders.
//! - [`store`]: the tables and their queries.
//! - [`events`]: payloads published and consumed, and the identity handler.
//! - [`error`]: the error type.

pub mod content;
pub mod error;
pub mod events;
pub mod schema;
pub mod store;

use std::sync::Arc;

use agora_kit::auth::JwtVerifier;
use agora_kit::events::erasure::{self, Eraser};
use agora_kit::events::{Consumer, ConsumerSpec, EventBus, OutboxRelay};
use agora_kit::service::{Service, StartError};
use agora_kit::{Settings, db, http, privacy, restriction};

use crate::content::Content;

/// The consumer of identity's account deletions, as the bus knows it (`content-IDENTITY`).
pub fn identity_consumer() -> ConsumerSpec {
    ConsumerSpec::new("content", events::IDENTITY, &[events::USER_DELETED])
}

/// The consumer of media's ready and deleted media (`content-MEDIA`).
pub fn media_consumer() -> ConsumerSpec {
    ConsumerSpec::new(
        "content",
        events::MEDIA,
        &[events::MEDIA_READY, events::MEDIA_DELETED],
    )
}

/// The consumer of social's blocks and follows (`content-SOCIAL`).
pub fn social_consumer() -> ConsumerSpec {
    ConsumerSpec::new("content", restriction::SOCIAL, events::SOCIAL_EVENTS)
}

/// The consumer of profiles' privacy changes (`content-PROFILES`).
pub fn profiles_consumer() -> ConsumerSpec {
    ConsumerSpec::new("content", privacy::PROFILES, &[privacy::PRIVACY_CHANGED])
}

/// Connects content's database, opens its consumers, and binds its HTTP service with the
/// outbox relay and the consumers as background tasks.
pub async fn build(settings: Settings, bus: Arc<dyn EventBus>) -> Result<Service, StartError> {
    let db = db::connect::<agora_content_migration::Migrator>(&settings.database_url).await?;
    bus.ensure_stream(events::SOURCE).await?;
    // Ensuring the streams it reads too (idempotent, same definition) lets content start
    // before identity, media, social and profiles without its subscriptions failing.
    bus.ensure_stream(events::IDENTITY).await?;
    bus.ensure_stream(events::MEDIA).await?;
    bus.ensure_stream(restriction::SOCIAL).await?;
    bus.ensure_stream(privacy::PROFILES).await?;
    let eraser: Arc<dyn Eraser> = Arc::new(events::AccountEraser);
    let identity = Consumer::open(
        db.clone(),
        &bus,
        identity_consumer(),
        Arc::new(erasure::EraseOnly),
    )
    .await?
    .with_eraser(eraser.clone());
    let media = Consumer::open(
        db.clone(),
        &bus,
        media_consumer(),
        Arc::new(events::OnMediaEvent),
    )
    .await?
    .with_eraser(eraser.clone());
    let social = Consumer::open(
        db.clone(),
        &bus,
        social_consumer(),
        Arc::new(events::OnSocialEvent),
    )
    .await?
    .with_eraser(eraser.clone());
    let profiles = Consumer::open(
        db.clone(),
        &bus,
        profiles_consumer(),
        Arc::new(privacy::Replica),
    )
    .await?
    .with_eraser(eraser.clone());
    let relay = OutboxRelay::new(db.clone(), bus.clone());
    let verifier = JwtVerifier::remote(settings.jwks_url.clone(), settings.tokens.clone());
    let content = Arc::new(Content {
        db: db.clone(),
        outbox: relay.waker(),
    });
    let routes = http::router(schema::build(content), verifier, db.clone(), bus);
    Ok(Service::bind(settings.listen, routes, db)
        .await?
        .with_task(|stop| relay.run(stop))
        .with_task(|stop| identity.run(stop))
        .with_task(|stop| media.run(stop))
        .with_task(|stop| social.run(stop))
        .with_task(|stop| profiles.run(stop)))
}
