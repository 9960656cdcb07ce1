//! What every Agora subgraph shares, written once. Plumbing only: no domain logic.
//!
//! # Layout
//! - [`settings`]: typed settings from `AGORA_*` environment variables, embedded defaults.
//! - [`db`]: the sea-orm connection (SQLite or Postgres) with migrations run on start.
//! - [`migration`]: helpers for the subgraphs' own migrations.
//! - [`error`]: error codes and how client and internal errors reach GraphQL.
//! - [`input`]: checks of client input (ids, bounded texts) naming the field at fault.
//! - [`auth`]: JWT verification against identity's JWKS, giving a [`auth::Viewer`].
//! - [`graphql`]: federation schema building, SDL export and DataLoaders of rows by id;
//!   `documents`: parsed operations kept by text.
//! - [`paging`]: cursors, page requests, keyset lists and their loaders, connections.
//! - [`http`]: the axum app around an async-graphql Federation v2 schema, with
//!   subscriptions over WebSocket; `metrics`: its Prometheus metrics.
//! - [`service`]: binding, background tasks and graceful shutdown of one subgraph.
//! - [`events`]: the CloudEvents envelope, event bus, transactional outbox and consumers,
//!   and the live hub that carries subscription events across instances.
//! - [`restriction`]: the replica of social's blocks and mutes that subgraphs honour.
//! - [`privacy`]: the replica of private accounts and their followers that subgraphs
//!   honour.
//! - `testing` (feature `testing`): a test's own databases and event namespace.

pub mod auth;
pub mod db;
mod documents;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod input;
mod metrics;
pub mod migration;
pub mod paging;
pub mod privacy;
pub mod restriction;
pub mod service;
pub mod settings;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{Code, ServiceError};
/// The allocator of every Agora binary (`#[global_allocator]` in each `main.rs`): under
/// load glibc's malloc took about a fifth of the CPU.
pub use mimalloc::MiMalloc as Allocator;
pub use settings::Settings;
