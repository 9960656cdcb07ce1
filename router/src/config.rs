//! The router's configuration, as the `agora-router` binary and `agora dev` give it.
//!
//! Every field has a default ([`RouterConfig::default`]) that is safe for production:
//! introspection off, CSRF prevention on, limits on; only JWT validation needs settings
//! (the JWKS URL, issuer and audience) and is therefore off until configured. Rate
//! limiting is on (with stricter limits on `login`, `register` and
//! `requestPasswordReset`), APQ is on, and persisted documents are off until a manifest
//! is given. No origin may read responses cross-origin (CORS) until it is listed, and
//! every response carries the security headers (`browser`).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::time::Duration;

use crate::persisted::PersistedDocuments;

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
    /// The flag labels of progressive `@override(label: "…")` that are on; a field
    /// whose label is not here stays with the subgraph it is overridden from.
    /// (`percent(p)` labels need nothing: p % of requests take the override.)
    pub override_flags: HashSet<String>,
    /// Stop asking a subgraph that keeps failing, for a while; `None` turns it off.
    pub circuit_breaker: Option<CircuitBreaker>,
    /// Send a subgraph one request for identical query fetches in flight at once (same
    /// subgraph, body and `Authorization`), each caller getting a copy of the answer.
    /// Mutations are never shared.
    pub dedupe_queries: bool,
    /// How many entities the router keeps cached per subgraph, for as long as the
    /// subgraph's `Cache-Control: max-age` allows (see `execute::entity_cache`);
    /// `None` turns entity caching off.
    pub entity_cache: Option<NonZeroUsize>,
    /// Operations sent by id: a manifest, and whether only its operations may run.
    pub persisted_documents: Option<PersistedDocuments>,
    /// Automatic persisted queries: clients may register a query under its SHA-256 and
    /// send the hash alone afterwards. Off whenever only the manifest may run.
    pub apq: bool,
    /// Requests allowed per client (verified user, else IP address); `None` turns
    /// rate limiting off.
    pub rate_limit: Option<RateLimit>,
    /// Where the client's address is read from instead of the TCP peer: a header that
    /// the proxy in front of the router sets (`X-Real-IP`) or appends to
    /// (`X-Forwarded-For`, whose last entry is used). Only set it behind such a proxy,
    /// or clients choose their own address.
    pub client_ip_header: Option<String>,
    /// Stricter limits, per client, on mutation fields that guess or spam (passwords,
    /// accounts, reset mails), counted per occurrence of the field at the operation's
    /// root; `None` turns them off.
    pub sensitive_limits: Option<SensitiveLimits>,
    /// Which other origins' pages may call the router from a browser (CORS); none by
    /// default.
    pub cors: Cors,
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
            override_flags: HashSet::new(),
            circuit_breaker: Some(CircuitBreaker::default()),
            dedupe_queries: true,
            entity_cache: NonZeroUsize::new(10_000),
            persisted_documents: None,
            apq: true,
            rate_limit: Some(RateLimit::default()),
            client_ip_header: None,
            sensitive_limits: Some(SensitiveLimits::default()),
            cors: Cors::default(),
        }
    }
}

/// When a subgraph's circuit opens, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitBreaker {
    /// Failures in a row (unreachable, timed out, HTTP 5xx) that open the circuit.
    pub failure_threshold: u32,
    /// How long an open circuit fails fetches at once before one probe is let through.
    pub open_for: Duration,
}

impl Default for CircuitBreaker {
    /// Open after 5 failures in a row, for 5 s.
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            open_for: Duration::from_secs(5),
        }
    }
}

/// How many requests one client may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// The sustained rate.
    pub requests_per_second: NonZeroU32,
    /// How many requests may arrive at once after a quiet period.
    pub burst: NonZeroU32,
}

impl Default for RateLimit {
    /// 100 requests per second, in bursts of up to 200: far above what a person's app
    /// sends, low enough that one script cannot take a replica's capacity.
    fn default() -> Self {
        Self {
            requests_per_second: NonZeroU32::new(100).expect("non-zero"),
            burst: NonZeroU32::new(200).expect("non-zero"),
        }
    }
}

/// Per-client limits on the mutation fields an attacker would repeat: guessing
/// passwords (`login`), creating accounts (`register`), mailing someone reset links
/// (`requestPasswordReset`).
///
/// Each field has its own budget per client (the verified token's subject, else the
/// address, as for [`RateLimit`]), and every occurrence of the field at the root of the
/// executed mutation counts: twenty aliases of `login` in one document are twenty
/// attempts, and so are the fields of a fragment spread on `Mutation`. A request over a
/// budget is refused whole, before any subgraph is called, with HTTP 429,
/// `Retry-After` and `RATE_LIMITED`; a refused request spends nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensitiveLimits {
    /// The `Mutation` fields limited, by name.
    pub fields: Vec<String>,
    /// Attempts each client may make per field per minute, on average.
    pub per_minute: NonZeroU32,
    /// Attempts that may come at once after a quiet period; also the most one request
    /// may carry of one field.
    pub burst: NonZeroU32,
}

impl SensitiveLimits {
    /// The same fields for `agora dev`, 60 a minute in bursts of 20: still limited, but
    /// roomy enough for seeding and end-to-end tests that sign up a dozen users from
    /// one address in a few seconds.
    pub fn local_development() -> Self {
        Self {
            per_minute: NonZeroU32::new(60).expect("non-zero"),
            burst: NonZeroU32::new(20).expect("non-zero"),
            ..Self::default()
        }
    }
}

impl Default for SensitiveLimits {
    /// `login`, `register` and `requestPasswordReset`, 10 a minute each in bursts of 5:
    /// enough for a person who mistypes a password a few times, far too few for a
    /// guessing script.
    fn default() -> Self {
        Self {
            fields: ["login", "register", "requestPasswordReset"]
                .map(str::to_owned)
                .to_vec(),
            per_minute: NonZeroU32::new(10).expect("non-zero"),
            burst: NonZeroU32::new(5).expect("non-zero"),
        }
    }
}

/// Cross-origin resource sharing: which web pages on other origins may send requests
/// with `Authorization` or a JSON body and read the answers.
///
/// The default lists no origin: a preflight is answered 403 and no response carries
/// `Access-Control-Allow-*` headers, so only same-origin pages (GraphiQL) and
/// non-browser clients use the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cors {
    /// Allowed origins, as browsers send them in `Origin`: `scheme://host` or
    /// `scheme://host:port` (`https://app.example.org`). A port of `*` allows every port
    /// of that scheme and host (`http://localhost:*`, for development servers). No other
    /// wildcard exists: `*` alone, paths and `null` are refused at start-up.
    pub origins: Vec<String>,
    /// Send `Access-Control-Allow-Credentials: true`, so pages may send cookies or
    /// TLS client certificates along. The router authenticates with bearer tokens, which
    /// need no credentials mode, so this stays off unless a proxy in front relies on
    /// cookies.
    pub allow_credentials: bool,
    /// How long browsers may cache a preflight's answer.
    pub max_age: Duration,
}

impl Cors {
    /// The web pages of `agora dev`: any port of `localhost`, `127.0.0.1` and `[::1]`,
    /// over HTTP or HTTPS, whatever port the frontend's development server picked.
    pub fn local_development() -> Self {
        let origins = ["http", "https"]
            .into_iter()
            .flat_map(|scheme| {
                ["localhost", "127.0.0.1", "[::1]"].map(|host| format!("{scheme}://{host}:*"))
            })
            .collect();
        Self {
            origins,
            ..Self::default()
        }
    }
}

impl Default for Cors {
    /// No origin; preflight answers cached for 10 minutes once some are listed.
    fn default() -> Self {
        Self {
            origins: Vec::new(),
            allow_credentials: false,
            max_age: Duration::from_secs(600),
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
