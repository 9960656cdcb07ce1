//! The router's configuration, as the `agora-router` binary and `agora dev` give it.

use std::collections::HashMap;
use std::net::SocketAddr;

/// Everything the router needs to start.
#[derive(Debug, Clone)]
pub struct RouterConfig {
    /// The composed supergraph SDL (with `join__` directives), as `compose` produces it.
    pub supergraph_sdl: String,
    /// Where to listen; port 0 picks a free port (see `Server::local_addr`).
    pub listen: SocketAddr,
    /// Subgraph name → URL, overriding the routing URLs in the supergraph. Names are the
    /// composed subgraph names (the `join__Graph` values' `name:`); empty keeps the
    /// supergraph's URLs.
    pub subgraph_urls: HashMap<String, String>,
    /// Whether `__schema`/`__type` are answered; on for development, off in production.
    pub introspection: bool,
}
