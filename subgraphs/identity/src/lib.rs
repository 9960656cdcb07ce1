//! Identity: accounts, handles, credentials, sessions and the keys that sign access tokens.
//!
//! Owns the `account`, `session`, `refresh_token`, `login_attempt`, `audit_log`,
//! `account_token` (reset and verification links) and `signing_key` tables. Contributes
//! `User @key(fields: "id")` with `id`, `handle`, `email` and `emailVerified` (its owner
//! only) and `createdAt`, `Query.me`, and the account mutations. Serves its public keys
//! at `/.well-known/jwks.json` for every other service.
//!
//! `changeHandle` publishes `identity.user.handle_changed`, which profiles and messaging
//! follow in their handle replicas; the old handle is free at once.
//!
//! Publishes `identity.user.registered`, and `identity.password_reset.requested` and
//! `identity.email_verification.requested`, from which messaging mails the links, and
//! `identity.user.deleted` (`deleteAccount`), on which every other subgraph erases the
//! account. Consumes their confirmations, `<subgraph>.user.erased` (durable consumers
//! `identity-PROFILES`, `identity-CONTENT`, …), into the erasure's status
//! (`Query.erasureStatus`); see [`erasure`].

pub mod accounts;
pub mod erasure;
pub mod error;
pub mod events;
mod password;
pub mod schema;
pub mod store;
mod tokens;
mod validate;

use std::sync::Arc;

use agora_kit::auth::JwtVerifier;
use agora_kit::events::erasure::{ERASERS, confirmation_consumers};
use agora_kit::events::{Consumer, ConsumerSpec, EventBus, OutboxRelay};
use agora_kit::service::{Service, StartError};
use agora_kit::{Settings, db, http};
use axum::Json;
use axum::routing::get;

use crate::accounts::Identity;
use crate::tokens::Keys;

/// The consumers of the erasers' confirmations, one per eraser's stream, as the bus
/// knows them (`identity-PROFILES`, `identity-CONTENT`, …).
pub fn erasure_consumers() -> Vec<ConsumerSpec> {
    confirmation_consumers(events::SOURCE)
}

/// Connects identity's database, loads its keys, opens its consumers, and binds its HTTP
/// service with the outbox relay and the consumers as background tasks.
pub async fn build(settings: Settings, bus: Arc<dyn EventBus>) -> Result<Service, StartError> {
    let db = db::connect::<agora_identity_migration::Migrator>(&settings.database_url).await?;
    bus.ensure_stream(events::SOURCE).await?;
    // Ensuring the streams it reads too lets identity start before the erasers.
    for eraser in ERASERS {
        bus.ensure_stream(eraser).await?;
    }
    let mut consumers = Vec::new();
    for spec in erasure_consumers() {
        let handler = Arc::new(events::OnUserErased);
        consumers.push(Consumer::open(db.clone(), &bus, spec, handler).await?);
    }
    let keys = Keys::load_or_create(&db, settings.tokens.clone())
        .await
        .map_err(|e| StartError::Setup(e.to_string()))?;
    let jwks = keys.jwks().clone();
    let verifier = JwtVerifier::local(jwks.clone(), settings.tokens.clone());
    let relay = OutboxRelay::new(db.clone(), bus.clone());
    let identity = Arc::new(Identity {
        db: db.clone(),
        keys,
        outbox: relay.waker(),
    });
    let routes = http::router(schema::build(identity), verifier, db.clone(), bus).route(
        "/.well-known/jwks.json",
        get(move || async move { Json(jwks) }),
    );
    let mut service = Service::bind(settings.listen, routes, db)
        .await?
        .with_task(|stop| relay.run(stop));
    for consumer in consumers {
        service = service.with_task(|stop| consumer.run(stop));
    }
    Ok(service)
}
