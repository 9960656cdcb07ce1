//! The `agora` command line: runs the platform, composes the supergraph.
//!
//! # Layout
//! - [`subgraphs`]: the six subgraphs this build knows, with their SDL and start-up.
//! - [`compose`]: `supergraph.yaml`, writing each `schema.graphql` and `supergraph.graphql`,
//!   and checking that the committed copies are current.
//! - [`platform`]: every subgraph and the router in one process (`agora dev`, the tests).

pub mod compose;
pub mod platform;
pub mod subgraphs;
