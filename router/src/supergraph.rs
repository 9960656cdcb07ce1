//! One loaded supergraph: its planner, public schema, prepared operations, and the
//! clients that reach its subgraphs (pooled HTTP, shared subscription sockets).
//!
//! The gateway holds the current one and swaps in a new one when the supergraph is
//! reloaded. A request keeps the supergraph it was prepared against until it ends, so a
//! reload never changes or drops a request in flight; the old supergraph is freed when
//! its last request or subscription ends.

use std::collections::HashMap;

use crate::config::RouterConfig;
use crate::error::RouterError;
use crate::execute::SubgraphClient;
use crate::operation::OperationCache;
use crate::plan::QueryPlanner;
use crate::schema::SchemaIndex;
use crate::subscribe::Upstreams;
use crate::telemetry::Telemetry;

/// What a reload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reloaded {
    /// Operations of the previous plan cache prepared again for the new supergraph.
    pub warmed: usize,
    /// Operations of the previous plan cache that the new supergraph refuses.
    pub dropped: usize,
}

/// Everything that depends on the supergraph SDL.
pub(crate) struct Supergraph {
    pub planner: QueryPlanner,
    pub schema: SchemaIndex,
    pub operations: OperationCache,
    pub subgraphs: SubgraphClient,
    /// The subgraph WebSockets that subscriptions share.
    pub upstreams: Upstreams,
}

impl Supergraph {
    /// Builds the planner over `sdl` and the subgraph clients for its endpoints, with
    /// the URL overrides, timeouts and circuit breaker of `config`.
    pub fn load(
        sdl: &str,
        config: &RouterConfig,
        telemetry: &Telemetry,
    ) -> Result<Self, RouterError> {
        let planner = QueryPlanner::new(sdl, config.override_flags.clone())?;
        let schema = planner.schema_index();
        let endpoints = subgraph_endpoints(planner.endpoints(), &config.subgraph_urls)?;
        for name in config.subgraph_timeouts.keys() {
            if !endpoints.contains_key(name) {
                return Err(RouterError::UnknownSubgraph(name.clone()));
            }
        }
        let upstreams = Upstreams::new(&endpoints, &config.subgraph_ws_urls)?;
        let metrics = telemetry.subgraphs(endpoints.keys());
        let subgraphs = SubgraphClient::new(
            endpoints,
            config.subgraph_timeout,
            config.subgraph_timeouts.clone(),
            config.circuit_breaker,
            config.dedupe_queries,
            config.entity_cache,
            metrics,
        )?;
        Ok(Self {
            planner,
            schema,
            operations: OperationCache::new(),
            subgraphs,
            upstreams,
        })
    }
}

/// The supergraph's routing URLs with the configured overrides applied.
fn subgraph_endpoints(
    declared: &HashMap<String, String>,
    overrides: &HashMap<String, String>,
) -> Result<HashMap<String, String>, RouterError> {
    let mut endpoints = declared.clone();
    for (name, url) in overrides {
        let endpoint = endpoints
            .get_mut(name)
            .ok_or_else(|| RouterError::UnknownSubgraph(name.clone()))?;
        endpoint.clone_from(url);
    }
    Ok(endpoints)
}
