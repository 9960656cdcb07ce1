//! Identity: accounts, handles, credentials, sessions and the keys that sign access tokens.
//!
//! Owns the `account`, `session`, `refresh_token`, `login_attempt`, `audit_log` and
//! `signing_key` tables. Contributes `User @key(fields: "id")` with `id`, `handle`,
//! `email` (its owner only) and `createdAt`, `Query.me`, and the account mutations.
//! Serves its public keys at `/.well-known/jwks.json` for every other service.
//! Publishes `identity.user.registered`; consumes nothing.

pub mod accounts;
pub mod error;
pub mod events;
mod password;
pub mod schema;
pub mod store;
mod tokens;
mod validate;

use std::sync::Arc;

use agora_kit::auth::JwtVerifier;
use agora_kit::events::{EventBus, OutboxRelay};
use agora_kit::service::{Service, StartError};
use agora_kit::{Settings, db, http};
use axum::Json;
use axum::routing::get;

use crate::accounts::Identity;
use crate::tokens::Keys;

/// Connects identity's database, loads its keys, and binds its HTTP service with the
/// outbox relay as a background task.
pub async fn build(settings: Settings, bus: Arc<dyn EventBus>) -> Result<Service, StartError> {
    let db = db::connect::<agora_identity_migration::Migrator>(&settings.database_url).await?;
    bus.ensure_stream(events::SOURCE).await?;
    let keys = Keys::load_or_create(&db, settings.tokens.clone())
        .await
        .map_err(|e| StartError::Setup(e.to_string()))?;
    let jwks = keys.jwks().clone();
    let verifier = JwtVerifier::local(jwks.clone(), settings.tokens.clone());
    let relay = OutboxRelay::new(db.clone(), bus);
    let identity = Arc::new(Identity {
        db: db.clone(),
        keys,
        outbox: relay.waker(),
    });
    let routes = http::router(schema::build(identity), verifier, db).route(
        "/.well-known/jwks.json",
        get(move || async move { Json(jwks) }),
    );
    Ok(Service::bind(settings.listen, routes)
        .await?
        .with_task(|stop| relay.run(stop)))
}
