//! The subgraphs this build knows: their names, SDL from code, and how to start them.

use std::sync::Arc;

use agora_kit::Settings;
use agora_kit::events::EventBus;
use agora_kit::service::{Service, StartError};
use futures::future::BoxFuture;

/// Connects a subgraph's database and binds its service.
pub type Build = fn(Settings, Arc<dyn EventBus>) -> BoxFuture<'static, Result<Service, StartError>>;

/// One subgraph as the command line sees it.
pub struct Subgraph {
    /// Its name in `supergraph.yaml`, settings and events.
    pub name: &'static str,
    /// Its federation SDL, printed from code.
    pub sdl: fn() -> String,
    /// Connects its database and binds its service.
    pub build: Build,
}

/// Every subgraph, identity first: the others verify tokens with its keys.
pub const ALL: &[Subgraph] = &[
    Subgraph {
        name: "identity",
        sdl: agora_identity::schema::sdl,
        build: |settings, bus| Box::pin(agora_identity::build(settings, bus)),
    },
    Subgraph {
        name: "profiles",
        sdl: agora_profiles::schema::sdl,
        build: |settings, bus| Box::pin(agora_profiles::build(settings, bus)),
    },
    Subgraph {
        name: "content",
        sdl: agora_content::schema::sdl,
        build: |settings, bus| Box::pin(agora_content::build(settings, bus)),
    },
    Subgraph {
        name: "social",
        sdl: agora_social::schema::sdl,
        build: |settings, bus| Box::pin(agora_social::build(settings, bus)),
    },
    Subgraph {
        name: "messaging",
        sdl: agora_messaging::schema::sdl,
        build: |settings, bus| Box::pin(agora_messaging::build(settings, bus)),
    },
];

/// The subgraph called `name`.
pub fn find(name: &str) -> Option<&'static Subgraph> {
    ALL.iter().find(|s| s.name == name)
}
