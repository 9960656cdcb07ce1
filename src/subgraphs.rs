//! The subgraphs this build knows: their names, SDL from code, and how to start them.

use std::sync::Arc;

use agora_kit::Settings;
use agora_kit::events::{ConsumerSpec, EventBus};
use agora_kit::service::{Service, StartError};
use futures::future::BoxFuture;
use sea_orm_migration::MigratorTrait;

/// Connects a subgraph's database and binds its service.
pub type Build = fn(Settings, Arc<dyn EventBus>) -> BoxFuture<'static, Result<Service, StartError>>;

/// Brings the database at a URL up to a subgraph's latest migration.
pub type Migrate = fn(String) -> BoxFuture<'static, Result<(), String>>;

/// `Migrate` for the migrator `M`.
fn migrate<M: MigratorTrait>(url: String) -> BoxFuture<'static, Result<(), String>> {
    Box::pin(async move {
        agora_kit::db::connect::<M>(&url)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    })
}

/// One subgraph as the command line sees it.
pub struct Subgraph {
    /// Its name in `supergraph.yaml`, settings and events.
    pub name: &'static str,
    /// Its federation SDL, printed from code.
    pub sdl: fn() -> String,
    /// Connects its database and binds its service.
    pub build: Build,
    /// Migrates its database (services also migrate on start; this is the separate
    /// deployment step).
    pub migrate: Migrate,
    /// Its durable event consumers, as the bus knows them (`agora events`).
    pub consumers: fn() -> Vec<ConsumerSpec>,
}

/// Every subgraph, identity first: the others verify tokens with its keys.
pub const ALL: &[Subgraph] = &[
    Subgraph {
        name: "identity",
        sdl: agora_identity::schema::sdl,
        build: |settings, bus| Box::pin(agora_identity::build(settings, bus)),
        migrate: migrate::<agora_identity_migration::Migrator>,
        consumers: agora_identity::erasure_consumers,
    },
    Subgraph {
        name: "profiles",
        sdl: agora_profiles::schema::sdl,
        build: |settings, bus| Box::pin(agora_profiles::build(settings, bus)),
        migrate: migrate::<agora_profiles_migration::Migrator>,
        consumers: || {
            vec![
                agora_profiles::identity_consumer(),
                agora_profiles::media_consumer(),
                agora_profiles::social_consumer(),
            ]
        },
    },
    Subgraph {
        name: "content",
        sdl: agora_content::schema::sdl,
        build: |settings, bus| Box::pin(agora_content::build(settings, bus)),
        migrate: migrate::<agora_content_migration::Migrator>,
        consumers: || {
            vec![
                agora_content::identity_consumer(),
                agora_content::media_consumer(),
                agora_content::social_consumer(),
                agora_content::profiles_consumer(),
            ]
        },
    },
    Subgraph {
        name: "social",
        sdl: agora_social::schema::sdl,
        build: |settings, bus| Box::pin(agora_social::build(settings, bus)),
        migrate: migrate::<agora_social_migration::Migrator>,
        consumers: || {
            vec![
                agora_social::content_consumer(),
                agora_social::identity_consumer(),
                agora_social::profiles_consumer(),
            ]
        },
    },
    Subgraph {
        name: "media",
        sdl: agora_media::schema::sdl,
        build: |settings, bus| Box::pin(agora_media::build(settings, bus)),
        migrate: migrate::<agora_media_migration::Migrator>,
        consumers: || {
            vec![
                agora_media::identity_consumer(),
                agora_media::content_consumer(),
                agora_media::profiles_consumer(),
            ]
        },
    },
    Subgraph {
        name: "messaging",
        sdl: agora_messaging::schema::sdl,
        build: |settings, bus| Box::pin(agora_messaging::build(settings, bus)),
        migrate: migrate::<agora_messaging_migration::Migrator>,
        consumers: || {
            vec![
                agora_messaging::identity_consumer(),
                agora_messaging::social_consumer(),
                agora_messaging::content_consumer(),
            ]
        },
    },
];

/// The subgraph called `name`.
pub fn find(name: &str) -> Option<&'static Subgraph> {
    ALL.iter().find(|s| s.name == name)
}
