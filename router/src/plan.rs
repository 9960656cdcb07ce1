//! Query planning with `hive-router-query-planner`: the planner built once from the
//! supergraph, and each operation normalized and planned under a time limit.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use graphql_tools::static_graphql::query::Document as QueryDocument;
use graphql_tools::static_graphql::schema::Document as SchemaDocument;
use hive_router_query_planner::ast::normalization::normalize_operation;
use hive_router_query_planner::ast::operation::OperationDefinition;
use hive_router_query_planner::graph::PlannerOverrideContext;
use hive_router_query_planner::planner::plan_nodes::QueryPlan;
use hive_router_query_planner::planner::{Planner, QueryPlannerOptions};
use hive_router_query_planner::utils::cancellation::CancellationToken;

use crate::error::{ErrorCode, RouterError, panic_message};
use crate::response::Rejection;
use crate::schema::SchemaIndex;

/// How long planning one operation may take before it is abandoned.
const PLANNING_TIMEOUT: Duration = Duration::from_secs(10);

/// The query planner over one supergraph.
pub(crate) struct QueryPlanner {
    planner: Planner,
}

impl QueryPlanner {
    /// Builds the planner. The planner crate panics on some malformed supergraphs, so
    /// construction is guarded and a panic becomes an error.
    pub fn new(supergraph_sdl: &str) -> Result<Self, RouterError> {
        let document: SchemaDocument = graphql_tools::parser::parse_schema(supergraph_sdl)
            .map_err(|error| RouterError::SupergraphParse(error.to_string()))?
            .into_static();
        let planner = catch_unwind(|| {
            Planner::new_from_supergraph(&document, QueryPlannerOptions::default())
        })
        .map_err(|panic| RouterError::Planner(panic_message(panic.as_ref())))?
        .map_err(|error| RouterError::Planner(error.to_string()))?;
        Ok(Self { planner })
    }

    /// The public schema, indexed.
    pub fn schema_index(&self) -> SchemaIndex {
        let supergraph = &self.planner.supergraph;
        SchemaIndex::new(
            Arc::clone(&self.planner.consumer_schema.document),
            supergraph.query_type.clone(),
            supergraph.mutation_type.clone(),
            supergraph.subscription_type.clone(),
        )
    }

    /// Subgraph name → routing URL, as the supergraph's `join__Graph` declares them.
    pub fn endpoints(&self) -> &HashMap<String, String> {
        &self.planner.supergraph.subgraph_endpoint_map
    }

    /// Normalizes `operation_name` of `document` and plans it.
    pub fn plan(
        &self,
        document: &QueryDocument,
        operation_name: Option<&str>,
    ) -> Result<(OperationDefinition, QueryPlan), Rejection> {
        let planned = catch_unwind(AssertUnwindSafe(|| {
            let normalized =
                normalize_operation(&self.planner.supergraph, document, operation_name)
                    .map_err(|error| error.to_string())?;
            // Every root field skipped by a literal `@skip`/`@include`: there is nothing
            // to fetch, and the planner fails on an empty selection.
            if normalized.operation.selection_set.items.is_empty() {
                let plan = QueryPlan {
                    kind: "QueryPlan",
                    node: None,
                };
                return Ok((normalized.operation, plan));
            }
            let cancellation = CancellationToken::with_timeout(PLANNING_TIMEOUT);
            let plan = self
                .planner
                .plan_from_normalized_operation(
                    &normalized.operation,
                    PlannerOverrideContext::default(),
                    &cancellation,
                )
                .map_err(|error| error.to_string())?;
            Ok::<_, String>((normalized.operation, plan))
        }))
        .map_err(|panic| panic_message(panic.as_ref()))
        .and_then(|planned| planned);
        planned.map_err(|reason| {
            tracing::error!(%reason, "query planning failed");
            Rejection::new(
                "The operation could not be planned",
                ErrorCode::QueryPlanningFailed,
            )
        })
    }
}
