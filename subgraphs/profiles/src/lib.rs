//! Profiles: what users say about themselves — display name, bio, website, location.
//!
//! Owns the `profile` table (with a replica of each user's handle). Contributes the profile
//! fields of `User` (`User.avatar` a reference to media's `Media`), `Query.user`,
//! `Query.searchUsers` and
//! `updateProfile` (the viewer's own profile only). Consumes `identity.user.registered`
//! (creates the default profile), `identity.user.deleted` (erases it, confirming with
//! `profiles.user.erased`) and `media.media.ready|deleted` (`profiles-MEDIA`: a
//! replica of ready media against which avatars are checked); publishes
//! `profiles.profile.updated`, and `profiles.profile.privacy_changed` when a user makes
//! their account private (`User.isPrivate`) or public again.
//!
//! A block hides each side from the other, as if absent: `Query.user` is null, the
//! profile fields of `User` are null, and search never finds them. For that profiles
//! keeps the kit's replica of social's blocks from `social.user.blocked|unblocked`
//! (`profiles-SOCIAL`), and follows `identity.user.handle_changed` in its handle replica.

pub mod error;
pub mod events;
pub mod profiles;
pub mod schema;
pub mod store;

use std::sync::Arc;

use agora_kit::auth::JwtVerifier;
use agora_kit::events::erasure::Eraser;
use agora_kit::events::{Consumer, ConsumerSpec, EventBus, OutboxRelay};
use agora_kit::service::{Service, StartError};
use agora_kit::{Settings, db, http, restriction};

use crate::profiles::Profiles;

/// The consumer of identity's events, as the bus knows it.
pub fn identity_consumer() -> ConsumerSpec {
    ConsumerSpec::new(
        "profiles",
        "identity",
        &[
            events::USER_REGISTERED,
            events::USER_HANDLE_CHANGED,
            events::USER_DELETED,
        ],
    )
}

/// The consumer of media's ready and deleted media (`profiles-MEDIA`).
pub fn media_consumer() -> ConsumerSpec {
    ConsumerSpec::new(
        "profiles",
        events::MEDIA,
        &[events::MEDIA_READY, events::MEDIA_DELETED],
    )
}

/// The consumer of social's blocks (`profiles-SOCIAL`).
pub fn social_consumer() -> ConsumerSpec {
    ConsumerSpec::new("profiles", restriction::SOCIAL, restriction::BLOCK_EVENTS)
}

/// Connects profiles' database, opens its consumers, and binds its HTTP service with the
/// outbox relay and the consumers as background tasks.
pub async fn build(settings: Settings, bus: Arc<dyn EventBus>) -> Result<Service, StartError> {
    let db = db::connect::<agora_profiles_migration::Migrator>(&settings.database_url).await?;
    bus.ensure_stream(events::SOURCE).await?;
    // Ensuring the streams it reads too lets profiles start before media and social.
    bus.ensure_stream(events::MEDIA).await?;
    bus.ensure_stream(restriction::SOCIAL).await?;
    let eraser: Arc<dyn Eraser> = Arc::new(events::AccountEraser);
    let consumer = Consumer::open(
        db.clone(),
        &bus,
        identity_consumer(),
        Arc::new(events::OnIdentityEvent),
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
        Arc::new(restriction::Replica),
    )
    .await?
    .with_eraser(eraser.clone());
    let relay = OutboxRelay::new(db.clone(), bus.clone());
    let verifier = JwtVerifier::remote(settings.jwks_url.clone(), settings.tokens.clone());
    let profiles = Arc::new(Profiles {
        db: db.clone(),
        outbox: relay.waker(),
    });
    let routes = http::router(schema::build(profiles), verifier, db.clone(), bus);
    Ok(Service::bind(settings.listen, routes, db)
        .await?
        .with_task(|stop| relay.run(stop))
        .with_task(|stop| consumer.run(stop))
        .with_task(|stop| media.run(stop))
        .with_task(|stop| social.run(stop)))
}
