//! Profiles: what users say about themselves — display name, bio, website, location.
//!
//! Owns the `profile` table (with a replica of each user's handle). Contributes the profile
//! fields of `User`, `Query.user` and `updateProfile` (the viewer's own profile only).
//! Consumes `identity.user.registered` (creates the default profile); publishes
//! `profiles.profile.updated`.

pub mod error;
pub mod events;
pub mod profiles;
pub mod schema;
pub mod store;

use std::sync::Arc;

use agora_kit::auth::JwtVerifier;
use agora_kit::events::{Consumer, ConsumerSpec, EventBus, OutboxRelay};
use agora_kit::service::{Service, StartError};
use agora_kit::{Settings, db, http};

use crate::profiles::Profiles;

/// The consumer of identity's events, as the bus knows it.
pub fn identity_consumer() -> ConsumerSpec {
    ConsumerSpec::new("profiles", "identity", &[events::USER_REGISTERED])
}

/// Connects profiles' database, opens its consumer, and binds its HTTP service with the
/// outbox relay and the consumer as background tasks.
pub async fn build(settings: Settings, bus: Arc<dyn EventBus>) -> Result<Service, StartError> {
    let db = db::connect::<agora_profiles_migration::Migrator>(&settings.database_url).await?;
    bus.ensure_stream(events::SOURCE).await?;
    let consumer = Consumer::open(
        db.clone(),
        &bus,
        identity_consumer(),
        Arc::new(events::OnUserRegistered),
    )
    .await?;
    let relay = OutboxRelay::new(db.clone(), bus);
    let verifier = JwtVerifier::remote(settings.jwks_url.clone(), settings.tokens.clone());
    let profiles = Arc::new(Profiles {
        db: db.clone(),
        outbox: relay.waker(),
    });
    let routes = http::router(schema::build(profiles), verifier, db);
    Ok(Service::bind(settings.listen, routes)
        .await?
        .with_task(|stop| relay.run(stop))
        .with_task(|stop| consumer.run(stop)))
}
