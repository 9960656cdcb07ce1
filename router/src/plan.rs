//! Query planning with `hive-router-query-planner`: the planner built once from the
//! supergraph, and each operation normalized and planned under a time limit, for the
//! progressive overrides a request falls under.

use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use graphql_tools::static_graphql::query::Document as QueryDocument;
use graphql_tools::static_graphql::schema::{
    Definition as SchemaDefinition, Document as SchemaDocument,
};
use hive_router_query_planner::ast::normalization::normalize_operation;
use hive_router_query_planner::ast::operation::OperationDefinition;
use hive_router_query_planner::graph::{PERCENTAGE_SCALE_FACTOR, PlannerOverrideContext};
use hive_router_query_planner::planner::plan_nodes::QueryPlan;
use hive_router_query_planner::planner::{Planner, QueryPlannerOptions};
use hive_router_query_planner::utils::cancellation::CancellationToken;

use crate::defer::DEFER_DIRECTIVE;
use crate::error::{ErrorCode, RouterError, panic_message};
use crate::response::Rejection;
use crate::schema::SchemaIndex;

/// How long planning one operation may take before it is abandoned.
const PLANNING_TIMEOUT: Duration = Duration::from_secs(10);

/// The query planner over one supergraph.
pub(crate) struct QueryPlanner {
    planner: Planner,
    /// The supergraph's `percent(p)` override labels, sorted (p scaled by
    /// `PERCENTAGE_SCALE_FACTOR`).
    percentages: Vec<u64>,
    /// The flag labels of progressive overrides that are switched on.
    active_flags: HashSet<String>,
}

/// Where one request falls among the supergraph's `percent(p)` override labels: a
/// percentage drawn per request, reduced to how many labels it is at or past. Requests
/// with the same draw get the same plan, so it is part of the plan-cache key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct OverrideDraw(usize);

impl QueryPlanner {
    /// Builds the planner, with the progressive-override flags that are on. The
    /// planner crate panics on some malformed supergraphs, so construction is guarded
    /// and a panic becomes an error.
    pub fn new(supergraph_sdl: &str, active_flags: HashSet<String>) -> Result<Self, RouterError> {
        let mut document: SchemaDocument = graphql_tools::parser::parse_schema(supergraph_sdl)
            .map_err(|error| RouterError::SupergraphParse(error.to_string()))?
            .into_static();
        label_overridden_fields(&mut document);
        let planner = catch_unwind(|| {
            Planner::new_from_supergraph(&document, QueryPlannerOptions::default())
        })
        .map_err(|panic| RouterError::Planner(panic_message(panic.as_ref())))?
        .map_err(|error| RouterError::Planner(error.to_string()))?;
        let mut percentages: Vec<u64> = planner
            .supergraph
            .progressive_overrides
            .percentages
            .iter()
            .copied()
            .collect();
        percentages.sort_unstable();
        Ok(Self {
            planner,
            percentages,
            active_flags,
        })
    }

    /// Draws a percentage for one request (Apollo's progressive `@override`: a
    /// `percent(p)` label sends p % of requests to the overriding subgraph).
    pub fn draw_overrides(&self) -> OverrideDraw {
        if self.percentages.is_empty() {
            return OverrideDraw::default();
        }
        let drawn = rand::random_range(0..100 * PERCENTAGE_SCALE_FACTOR);
        OverrideDraw(self.percentages.partition_point(|&label| label <= drawn))
    }

    /// Whether a draw made against another supergraph means something here.
    pub fn knows(&self, draw: OverrideDraw) -> bool {
        draw.0 <= self.percentages.len()
    }

    /// The planner's view of a draw: the lowest percentage with the same outcome for
    /// every label, and the active flags.
    fn override_context(&self, draw: OverrideDraw) -> PlannerOverrideContext {
        let percentage = draw
            .0
            .checked_sub(1)
            .and_then(|label| self.percentages.get(label))
            .copied()
            .unwrap_or(0);
        PlannerOverrideContext::new(self.active_flags.clone(), percentage)
    }

    /// The public schema, indexed, with `@defer` (which the router serves itself).
    pub fn schema_index(&self) -> SchemaIndex {
        let supergraph = &self.planner.supergraph;
        let mut document = SchemaDocument::clone(&self.planner.consumer_schema.document);
        let declares_defer = document.definitions.iter().any(|definition| {
            matches!(definition, SchemaDefinition::DirectiveDefinition(directive) if directive.name == "defer")
        });
        if !declares_defer {
            let defer = graphql_tools::parser::parse_schema::<String>(DEFER_DIRECTIVE)
                .expect("the @defer definition parses")
                .into_static();
            document.definitions.extend(defer.definitions);
        }
        SchemaIndex::new(
            Arc::new(document),
            supergraph.query_type.clone(),
            supergraph.mutation_type.clone(),
            supergraph.subscription_type.clone(),
        )
    }

    /// Subgraph name → routing URL, as the supergraph's `join__Graph` declares them.
    pub fn endpoints(&self) -> &HashMap<String, String> {
        &self.planner.supergraph.subgraph_endpoint_map
    }

    /// Normalizes `operation_name` of `document` and plans it for a request with
    /// `draw`.
    pub fn plan(
        &self,
        document: &QueryDocument,
        operation_name: Option<&str>,
        draw: OverrideDraw,
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
                    self.override_context(draw),
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

/// Puts a progressive override's label on the overridden subgraph's `@join__field` too,
/// as Apollo's composition writes it: the planner needs it on both sides to route the
/// field either way, and some composers (graphql-composition among them) write it only
/// on the overriding side.
fn label_overridden_fields(document: &mut SchemaDocument) {
    use graphql_tools::static_graphql::schema::{Definition, TypeDefinition, Value};

    // join__Graph value → subgraph name, from `@join__graph(name: "…")`.
    let mut graphs = HashMap::new();
    for definition in &document.definitions {
        if let Definition::TypeDefinition(TypeDefinition::Enum(graph_enum)) = definition
            && graph_enum.name == "join__Graph"
        {
            for value in &graph_enum.values {
                let name = value
                    .directives
                    .iter()
                    .filter(|directive| directive.name == "join__graph")
                    .flat_map(|directive| &directive.arguments)
                    .find_map(|(argument, name)| match (argument.as_str(), name) {
                        ("name", Value::String(name)) => Some(name.clone()),
                        _ => None,
                    });
                if let Some(name) = name {
                    graphs.insert(name, value.name.clone());
                }
            }
        }
    }
    let argument = |directive: &graphql_tools::static_graphql::schema::Directive, name: &str| {
        directive
            .arguments
            .iter()
            .find(|(argument, _)| argument == name)
            .map(|(_, value)| value.clone())
    };
    for definition in &mut document.definitions {
        let fields = match definition {
            Definition::TypeDefinition(TypeDefinition::Object(object)) => &mut object.fields,
            Definition::TypeDefinition(TypeDefinition::Interface(interface)) => {
                &mut interface.fields
            }
            _ => continue,
        };
        for field in fields {
            let labelled: Vec<(String, Value)> = field
                .directives
                .iter()
                .filter(|directive| directive.name == "join__field")
                .filter_map(|directive| {
                    let Some(Value::String(from)) = argument(directive, "override") else {
                        return None;
                    };
                    let label = argument(directive, "overrideLabel")?;
                    Some((graphs.get(&from)?.clone(), label))
                })
                .collect();
            for (graph, label) in labelled {
                for directive in &mut field.directives {
                    let is_overridden = directive.name == "join__field"
                        && matches!(argument(directive, "graph"), Some(Value::Enum(g)) if g == graph);
                    if is_overridden && argument(directive, "overrideLabel").is_none() {
                        directive
                            .arguments
                            .push(("overrideLabel".to_owned(), label.clone()));
                    }
                }
            }
        }
    }
}
