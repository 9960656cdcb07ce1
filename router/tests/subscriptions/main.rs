//! Subscriptions through the router end to end: async-graphql subgraphs on port 0 (one
//! with a `Subscription` root, two resolving the entities its events reference), a
//! real router in front, and clients speaking graphql-transport-ws and GraphQL over
//! SSE as a frontend would. Events are driven by a mutation and every wait is for a
//! frame or a counter, with a timeout; nothing sleeps.
//!
//! - `events`: each event completed with fields from the other subgraphs, over both
//!   transports; queries and mutations over the same transports.
//! - `auth`: tokens from `connection_init` or headers, refused (4401, 401) or forwarded.
//! - `sharing`: one upstream socket per (subgraph, token), released subscription by
//!   subscription, closed with the last one.
//! - `failures`: a subgraph going away, limits, validation, CSRF and protocol errors,
//!   and a stopping router.

mod auth;
mod clients;
mod events;
mod failures;
mod graph;
mod sharing;
