//! The `agora` command line: runs the platform, composes the supergraph, seeds data.
//!
//! # Layout
//! - [`subgraphs`]: the six subgraphs this build knows, with their SDL and start-up.
//! - [`compose`]: `supergraph.yaml`, writing each `schema.graphql` and `supergraph.graphql`,
//!   and checking that the committed copies are current.
//! - [`events`]: `agora events apply | dead-letters | replay | stats`, operating the bus.
//! - [`schema`]: `agora schema check | publish | log`: breaking changes, registered
//!   operations, lints, and the `registry/` of published versions.
//! - [`platform`]: every subgraph and the router in one process (`agora dev`, the tests).
//! - [`seed`]: `agora seed`, a social network created through the API.
//! - [`client`]: the GraphQL client that `agora seed` and the bench binaries use.
//! - [`load`]: concurrent clients and latency percentiles for the bench binaries.
//! - [`output`]: printing that a closed pipe ends quietly.

pub mod client;
pub mod compose;
pub mod events;
pub mod load;
pub mod output;
pub mod platform;
pub mod schema;
pub mod seed;
pub mod subgraphs;
