//! Media: the pictures and videos users upload, their resized variants, and their files.
//!
//! Owns the `media`, `media_variant` and `media_use` tables and the file store (a local
//! directory under the data dir, or S3 with `AGORA_MEDIA_STORE=s3://…`). Contributes
//! `Media @key(id)` (which content's `Post.media` and profiles' `User.avatar` point to),
//! `Query.media`, and the mutations `createUpload` and `deleteMedia` (the owner only).
//! Beside `/graphql` it serves `PUT /uploads/{token}` (the signed, expiring, single-use
//! upload URLs) and `GET /media/{id}/{file}` (the files, for clients or a CDN).
//!
//! Publishes `media.media.ready|deleted`. Consumes `content.post.created|deleted`
//! (`media-CONTENT`: which posts show which media; a deleted post's media go unless
//! something else uses them), `profiles.profile.updated` (`media-PROFILES`: avatars) and
//! `identity.user.deleted` (`media-IDENTITY`: all the account's media go). A janitor
//! deletes the files of deleted media and of uploads abandoned past their expiry.
//!
//! Layout:
//! - [`media`]: the operations (uploads, deletion, the janitor's purge).
//! - [`process`]: checking, stripping and resizing bytes, off the async runtime.
//! - [`storage`]: the file store.
//! - [`http`]: the upload and file endpoints.
//! - [`token`]: signing upload URLs.
//! - [`schema`]: the GraphQL types, resolvers and DataLoaders.
//! - [`store`]: the tables and their queries.
//! - [`events`]: payloads published and consumed, and the handler.
//! - [`config`]: media's own settings.
//! - [`error`]: the error types.

pub mod config;
pub mod error;
pub mod events;
pub mod http;
pub mod media;
pub mod process;
pub mod schema;
pub mod storage;
pub mod store;
pub mod token;

use std::sync::{Arc, OnceLock};

use agora_kit::auth::JwtVerifier;
use agora_kit::events::erasure::Eraser;
use agora_kit::events::{Consumer, ConsumerSpec, EventBus, OutboxRelay};
use agora_kit::service::{Service, StartError};
use agora_kit::{Settings, db};
use tokio::sync::{Notify, Semaphore};

use crate::config::MediaSettings;
use crate::media::MediaService;
use crate::token::Signer;

/// The consumer of identity's account deletions (`media-IDENTITY`).
pub fn identity_consumer() -> ConsumerSpec {
    ConsumerSpec::new("media", events::IDENTITY, &[events::USER_DELETED])
}

/// The consumer of content's posts (`media-CONTENT`).
pub fn content_consumer() -> ConsumerSpec {
    ConsumerSpec::new(
        "media",
        events::CONTENT,
        &[events::POST_CREATED, events::POST_DELETED],
    )
}

/// The consumer of profiles' avatars (`media-PROFILES`).
pub fn profiles_consumer() -> ConsumerSpec {
    ConsumerSpec::new("media", events::PROFILES, &[events::PROFILE_UPDATED])
}

/// Builds media with its own settings read from the environment (see [`MediaSettings`]).
pub async fn build(settings: Settings, bus: Arc<dyn EventBus>) -> Result<Service, StartError> {
    let media = MediaSettings::from_env(&settings)?;
    build_with(settings, media, bus).await
}

/// Connects media's database and file store, opens its consumers, and binds its HTTP
/// service (GraphQL, uploads, files) with the outbox relay, the consumers and the janitor
/// as background tasks.
pub async fn build_with(
    settings: Settings,
    media: MediaSettings,
    bus: Arc<dyn EventBus>,
) -> Result<Service, StartError> {
    let db = db::connect::<agora_media_migration::Migrator>(&settings.database_url).await?;
    let store = storage::Store::open(&media.store)
        .map_err(|e| StartError::Setup(format!("media store {}: {e}", media.store)))?;
    // Ensuring the streams it reads too (idempotent, same definition) lets media start
    // before their publishers without its subscriptions failing.
    for domain in [
        events::SOURCE,
        events::IDENTITY,
        events::CONTENT,
        events::PROFILES,
    ] {
        bus.ensure_stream(domain).await?;
    }
    let relay = OutboxRelay::new(db.clone(), bus.clone());
    let janitor = Arc::new(Notify::new());
    let handler = Arc::new(events::OnEvent {
        outbox: relay.waker(),
        janitor: janitor.clone(),
    });
    let eraser: Arc<dyn Eraser> = Arc::new(events::AccountEraser);
    let identity = Consumer::open(db.clone(), &bus, identity_consumer(), handler.clone())
        .await?
        .with_eraser(eraser.clone());
    let content = Consumer::open(db.clone(), &bus, content_consumer(), handler.clone())
        .await?
        .with_eraser(eraser.clone());
    let profiles = Consumer::open(db.clone(), &bus, profiles_consumer(), handler)
        .await?
        .with_eraser(eraser.clone());
    let secret = store::key::secret(&db).await?;
    let service = Arc::new(MediaService {
        db: db.clone(),
        outbox: relay.waker(),
        janitor,
        store,
        signer: Signer::new(&secret),
        workers: Arc::new(Semaphore::new(media.workers)),
        settings: media,
        base_url: OnceLock::new(),
    });
    let verifier = JwtVerifier::remote(settings.jwks_url.clone(), settings.tokens.clone());
    let routes = agora_kit::http::router(schema::build(service.clone()), verifier, db.clone(), bus)
        .merge(http::routes(service.clone()));
    let bound = Service::bind(settings.listen, routes, db).await?;
    let _ = service
        .base_url
        .set(format!("http://{}", bound.local_addr()));
    Ok(bound
        .with_task(|stop| relay.run(stop))
        .with_task(|stop| identity.run(stop))
        .with_task(|stop| content.run(stop))
        .with_task(|stop| profiles.run(stop))
        .with_task(|stop| service.run_janitor(stop)))
}
