//! The router's configuration, as the `agora-router` binary and `agora dev` give it.
//!
//! Every field has a default ([`RouterConfig::default`]) that is safe for production:
//! introspection off, CSRF prevention on, limits on; only JWT validation needs settings
//! (the JWKS URL, issuer and audience) and is therefore off until configured.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

/// Everything the router needs to start. Build it with struct-update syntax over
/// [`RouterConfig::default`] so that new settings keep their defaults.
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
    /// Subgraph name → graphql-transport-ws URL for subscriptions. A subgraph without
    /// one is reached at its HTTP URL with the scheme turned into `ws`/`wss`
    /// (`http://host:4001/graphql` → `ws://host:4001/graphql`).
    pub subgraph_ws_urls: HashMap<String, String>,
    /// Whether `__schema`/`__type` are answered; on for development, off in production.
    pub introspection: bool,
    /// Verify bearer tokens against a JWKS before anything is forwarded to a subgraph.
    /// `None` forwards the `Authorization` header unchecked (subgraphs still verify).
    pub auth: Option<JwtConfig>,
    /// Refuse requests a browser could send cross-site without a CORS preflight
    /// (Apollo's rule): GET or POST without a JSON content type and without an
    /// `apollo-require-preflight` or `x-apollo-operation-name` header.
    pub csrf_prevention: bool,
    /// Size limits on client requests, checked before validation and planning.
    pub limits: Limits,
    /// How long one subgraph request may take unless `subgraph_timeouts` says otherwise.
    pub subgraph_timeout: Duration,
    /// Subgraph name → request timeout, for subgraphs that need another one.
    pub subgraph_timeouts: HashMap<String, Duration>,
}

impl Default for RouterConfig {
    fn default() -> Self {
        Self {
            supergraph_sdl: String::new(),
            listen: SocketAddr::from(([127, 0, 0, 1], 4000)),
            subgraph_urls: HashMap::new(),
            subgraph_ws_urls: HashMap::new(),
            introspection: false,
            auth: None,
            csrf_prevention: true,
            limits: Limits::default(),
            subgraph_timeout: Duration::from_secs(30),
            subgraph_timeouts: HashMap::new(),
        }
    }
}

/// Where the router gets the keys that sign access tokens, and what the tokens must say.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// The JSON Web Key Set URL (identity's `/.well-known/jwks.json`).
    pub jwks_url: String,
    /// The required `iss` claim.
    pub issuer: String,
    /// The required `aud` claim.
    pub audience: String,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
    /// The key set is fetched again at most this often, however many unknown `kid`s
    /// arrive, so forged tokens cannot turn the router against the JWKS endpoint.
    pub min_refetch_interval: Duration,
    /// Keys older than this are refreshed (so a withdrawn key stops being accepted);
    /// until the refresh succeeds the old keys stay in use.
    pub max_key_age: Duration,
}

impl JwtConfig {
    /// Validation against `jwks_url` with the default leeway (10 s), refetch interval
    /// (10 s) and key age (5 min).
    pub fn new(
        jwks_url: impl Into<String>,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Self {
        Self {
            jwks_url: jwks_url.into(),
            issuer: issuer.into(),
            audience: audience.into(),
            leeway: Duration::from_secs(10),
            min_refetch_interval: Duration::from_secs(10),
            max_key_age: Duration::from_secs(300),
        }
    }
}

/// Limits on what one request may ask, each refused with its own `extensions.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of fields (fragments expanded); `{ me { id } }` has depth 2.
    /// Refused with `MAX_DEPTH_EXCEEDED`.
    pub max_depth: usize,
    /// Aliased fields in the whole document. Refused with `MAX_ALIASES_EXCEEDED`.
    pub max_aliases: usize,
    /// Fields selected at the root of an operation (fragments expanded). Refused with
    /// `MAX_ROOT_FIELDS_EXCEEDED`.
    pub max_root_fields: usize,
    /// Lexical tokens in the document, counted before it is parsed. Refused with
    /// `MAX_TOKENS_EXCEEDED`.
    pub max_tokens: usize,
    /// Bytes in a request body. Refused with HTTP 413 and `PAYLOAD_TOO_LARGE`.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 15,
            max_aliases: 30,
            max_root_fields: 20,
            max_tokens: 15_000,
            max_body_bytes: 1024 * 1024,
        }
    }
}
