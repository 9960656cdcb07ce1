//! Agora's router: a stateless GraphQL Federation v2 gateway.
//!
//! It plans each client operation across the subgraphs with
//! `hive-router-query-planner`, runs the plan with its own executor (one batched
//! `_entities` request per subgraph per plan step), and shapes the merged result into
//! exactly what the client asked for.
//!
//! # Layout
//!
//! - [`compose`]: subgraph SDLs → supergraph SDL (used by `agora compose` and `agora dev`).
//! - `config`, `server`: [`RouterConfig`] and [`Server`] (`bind`, then `run`;
//!   [`Reloader`] for a new supergraph while serving).
//! - `supergraph`: what depends on the supergraph (planner, schema, plan cache,
//!   subgraph clients), swapped as a whole on reload.
//! - `http`: the axum routes, CSRF prevention and the body limit; `browser`: CORS for
//!   the configured origins and the security headers on every response; `graphiql`: the
//!   IDE page (under its own content-security policy) and its vendored assets;
//!   `pipeline`: one request from body to response bytes.
//! - `auth`: bearer tokens verified against a cached JWKS before anything is forwarded.
//! - `limits`: depth, aliases, root fields and tokens, counted before validation;
//!   `rate_limit`: requests per client, answered 429 over the limit, and the stricter
//!   per-field budgets of `login`, `register` and `requestPasswordReset`.
//! - `persisted`: operations sent by id (a persisted-document manifest, APQ).
//! - `validate`, `operation`, `plan`: parse, validate, normalize and plan once per
//!   distinct operation, cached.
//! - [`DryRun`]: the pipeline up to execution as a library call, for the fuzz tests.
//! - `execute`: the plan executor (fetches, representations, merging, rewrites, and
//!   moving `_entities` error paths to client paths), with identical queries in flight
//!   to a subgraph sent once and shared (`inflight`).
//! - `value`: the executor's JSON value (objects as small vectors, inline short strings),
//!   parsed straight from subgraph responses.
//! - `project`: the client's selection applied to the merged data, with null propagation,
//!   written straight into the response bytes.
//! - `subscribe`: operations over streaming transports: `ws_server`
//!   (graphql-transport-ws on `GET /graphql`), `sse` (`Accept: text/event-stream`),
//!   and `upstream` (subscriptions to subgraphs over shared graphql-transport-ws
//!   sockets, each event completed by the executor).
//! - `introspection`: `__schema`/`__type` answered from the public schema.
//! - `defer`: `@defer` split into an initial and a full operation, delivered
//!   incrementally over `multipart/mixed`.
//! - `telemetry`: Prometheus metrics for `/metrics`, one recorder per router.
//! - `schema`, `variables`, `response`, `error`: shared vocabulary.

mod auth;
mod browser;
pub mod compose;
mod config;
mod defer;
mod dry_run;
mod error;
mod execute;
mod graphiql;
mod http;
mod introspection;
mod limits;
mod operation;
mod persisted;
mod pipeline;
mod plan;
mod project;
mod rate_limit;
mod response;
mod schema;
mod server;
mod subscribe;
mod supergraph;
mod telemetry;
mod validate;
mod value;
mod variables;

pub use compose::{SubgraphSdl, compose};
pub use config::{
    CircuitBreaker, Cors, JwtConfig, Limits, RateLimit, RouterConfig, SensitiveLimits,
};
pub use dry_run::DryRun;
pub use error::{ErrorCode, RouterError};
pub use persisted::{PersistedDocuments, PersistedManifest};
pub use server::{Reloader, Server};
pub use supergraph::Reloaded;
pub use validate::validation_errors;
