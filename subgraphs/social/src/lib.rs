//! Social: who follows whom, who liked or saved which post, and home timelines.
//!
//! Owns the `follow`, `post_like`, `saved_post` and `timeline_entry` tables, and `post`, a
//! replica of content's posts (id, author, creation time) kept from content's events to
//! validate like and save targets and to know whom a like concerns. Contributes
//! `User.followers/following/followerCount/followingCount/viewerIsFollowing`,
//! `Post.likeCount/viewerHasLiked/likedBy`, `Query.feed`, `Query.savedPosts`, and the
//! follow, like and save mutations.
//!
//! Home timelines are built by fan-out on write: a new post is copied into the timeline
//! of its author and of each follower; a follow back-fills the followee's recent posts
//! and an unfollow removes them; a deleted post leaves every timeline.
//!
//! Publishes `social.user.followed|unfollowed` and `social.post.liked|unliked`. Consumes
//! `content.post.created|deleted` (durable consumer `social-CONTENT`) and
//! `identity.user.deleted` (`social-IDENTITY`), which erases the account's social data.
//!
//! Layout:
//! - [`social`]: the operations (validation, write, outbox event).
//! - [`schema`]: the GraphQL types, resolvers and DataLoaders.
//! - [`store`]: the tables and their queries.
//! - [`events`]: payloads published and consumed, and the content handler.
//! - [`error`]: the error type.

pub mod error;
pub mod events;
pub mod schema;
pub mod social;
pub mod store;

use std::sync::Arc;

use agora_kit::auth::JwtVerifier;
use agora_kit::events::{Consumer, ConsumerSpec, EventBus, OutboxRelay};
use agora_kit::service::{Service, StartError};
use agora_kit::{Settings, db, http};

use crate::social::Social;

/// The consumer of content's post events, as the bus knows it (`social-CONTENT`).
pub fn content_consumer() -> ConsumerSpec {
    ConsumerSpec::new(
        "social",
        events::CONTENT,
        &[events::POST_CREATED, events::POST_DELETED],
    )
}

/// The consumer of identity's account deletions, as the bus knows it (`social-IDENTITY`).
pub fn identity_consumer() -> ConsumerSpec {
    ConsumerSpec::new("social", events::IDENTITY, &[events::USER_DELETED])
}

/// Connects social's database, opens its consumers, and binds its HTTP service with the
/// outbox relay and the consumers as background tasks.
pub async fn build(settings: Settings, bus: Arc<dyn EventBus>) -> Result<Service, StartError> {
    let db = db::connect::<agora_social_migration::Migrator>(&settings.database_url).await?;
    bus.ensure_stream(events::SOURCE).await?;
    // Ensuring the streams it reads too (idempotent, same definition) lets social start
    // before their publishers without its subscriptions failing.
    bus.ensure_stream(events::CONTENT).await?;
    bus.ensure_stream(events::IDENTITY).await?;
    let content = Consumer::open(
        db.clone(),
        &bus,
        content_consumer(),
        Arc::new(events::OnContentEvent),
    )
    .await?;
    let identity = Consumer::open(
        db.clone(),
        &bus,
        identity_consumer(),
        Arc::new(events::OnIdentityEvent),
    )
    .await?;
    let relay = OutboxRelay::new(db.clone(), bus);
    let verifier = JwtVerifier::remote(settings.jwks_url.clone(), settings.tokens.clone());
    let social = Arc::new(Social {
        db: db.clone(),
        outbox: relay.waker(),
    });
    let routes = http::router(schema::build(social), verifier, db);
    Ok(Service::bind(settings.listen, routes)
        .await?
        .with_task(|stop| relay.run(stop))
        .with_task(|stop| content.run(stop))
        .with_task(|stop| identity.run(stop)))
}
