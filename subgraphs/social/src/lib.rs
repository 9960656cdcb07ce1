//! Social: who follows whom, who liked or saved which post, and home timelines.
//!
//! Owns the `follow`, `post_like`, `saved_post` and `timeline_entry` tables, and `post`, a
//! replica of content's posts (id, author, creation time) kept from content's events to
//! validate like and save targets and to know whom a like concerns. Contributes
//! `User.followers/following/followerCount/followingCount/viewerIsFollowing`,
//! `User.viewerHasBlocked/viewerHasMuted`, `Post.likeCount/viewerHasLiked/likedBy`,
//! `Query.feed`, `Query.savedPosts`, `Query.blockedUsers/mutedUsers`, and the follow,
//! like, save, block and mute mutations.
//!
//! Home timelines are built by fan-out on write: a new post is copied into the timeline
//! of its author and of each follower; a follow back-fills the followee's recent posts
//! and an unfollow removes them; a deleted post leaves every timeline.
//!
//! Private accounts: social keeps a replica of which accounts profiles says are private
//! (the kit's `account_privacy`, from `profiles.profile.privacy_changed`, durable consumer
//! `social-PROFILES`). Following a private account makes a pending `follow_request`
//! (published as `social.follow.requested`) that the account accepts or declines
//! (`User.followRequests`, `acceptFollowRequest`, `declineFollowRequest`); an account made
//! public approves its pending requests. A private account's followers and following
//! lists are empty to all but itself and its followers; its counts stay public.
//! `Post.likedBy` leaves out the users with a block either way with the viewer.
//!
//! Owns blocks and mutes too (`block`, `mute`): a block ends follows both ways and
//! refuses follows and likes between the two as `NOT_FOUND`, and hides each one's follows
//! from the other; a mute keeps the muted user's posts out of the muter's feed. Both are
//! published for the subgraphs that must honour them.
//!
//! Publishes `social.user.followed|unfollowed`, `social.follow.requested`,
//! `social.post.liked|unliked` and
//! `social.user.blocked|unblocked|muted|unmuted`. Consumes
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
use agora_kit::events::erasure::{self, Eraser};
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

/// The consumer of profiles' privacy changes, as the bus knows it (`social-PROFILES`).
pub fn profiles_consumer() -> ConsumerSpec {
    ConsumerSpec::new("social", events::PROFILES, &[events::PRIVACY_CHANGED])
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
    bus.ensure_stream(events::PROFILES).await?;
    let eraser: Arc<dyn Eraser> = Arc::new(events::AccountEraser);
    let content = Consumer::open(
        db.clone(),
        &bus,
        content_consumer(),
        Arc::new(events::OnContentEvent),
    )
    .await?
    .with_eraser(eraser.clone());
    let identity = Consumer::open(
        db.clone(),
        &bus,
        identity_consumer(),
        Arc::new(erasure::EraseOnly),
    )
    .await?
    .with_eraser(eraser.clone());
    let profiles = Consumer::open(
        db.clone(),
        &bus,
        profiles_consumer(),
        Arc::new(events::OnProfilesEvent),
    )
    .await?
    .with_eraser(eraser.clone());
    let relay = OutboxRelay::new(db.clone(), bus.clone());
    let verifier = JwtVerifier::remote(settings.jwks_url.clone(), settings.tokens.clone());
    let social = Arc::new(Social {
        db: db.clone(),
        outbox: relay.waker(),
    });
    let routes = http::router(schema::build(social), verifier, db.clone(), bus);
    Ok(Service::bind(settings.listen, routes, db)
        .await?
        .with_task(|stop| relay.run(stop))
        .with_task(|stop| content.run(stop))
        .with_task(|stop| identity.run(stop))
        .with_task(|stop| profiles.run(stop)))
}
