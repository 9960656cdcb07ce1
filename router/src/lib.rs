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
//! - `config`, `server`: [`RouterConfig`] and [`Server`] (`bind`, then `run`).
//! - `http`: the axum routes, CSRF prevention and the body limit; `graphiql`: the IDE
//!   page and its vendored assets; `pipeline`: one request from body to response bytes.
//! - `auth`: bearer tokens verified against a cached JWKS before anything is forwarded.
//! - `limits`: depth, aliases, root fields and tokens, counted before validation.
//! - `validate`, `operation`, `plan`: parse, validate, normalize and plan once per
//!   distinct operation, cached.
//! - [`DryRun`]: the pipeline up to execution as a library call, for the fuzz tests.
//! - `execute`: the plan executor (fetches, representations, merging, rewrites, and
//!   moving `_entities` error paths to client paths).
//! - `value`: the executor's JSON value (objects as small vectors, inline short strings),
//!   parsed straight from subgraph responses.
//! - `project`: the client's selection applied to the merged data, with null propagation,
//!   written straight into the response bytes.
//! - `subscribe`: operations over streaming transports: `ws_server`
//!   (graphql-transport-ws on `GET /graphql`), `sse` (`Accept: text/event-stream`),
//!   and `upstream` (subscriptions to subgraphs over shared graphql-transport-ws
//!   sockets, each event completed by the executor).
//! - `introspection`: `__schema`/`__type` answered from the public schema.
//! - `telemetry`: Prometheus metrics for `/metrics`, one recorder per router.
//! - `schema`, `variables`, `response`, `error`: shared vocabulary.

mod auth;
pub mod compose;
mod config;
mod dry_run;
mod error;
mod execute;
mod graphiql;
mod http;
mod introspection;
mod limits;
mod operation;
mod pipeline;
mod plan;
mod project;
mod response;
mod schema;
mod server;
mod subscribe;
mod telemetry;
mod validate;
mod value;
mod variables;

pub use compose::{SubgraphSdl, compose};
pub use config::{JwtConfig, Limits, RouterConfig};
pub use dry_run::DryRun;
pub use error::{ErrorCode, RouterError};
pub use server::Server;
