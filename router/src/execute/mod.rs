//! Execution of a query plan: fetches in the order the plan gives (sequences in turn,
//! parallel branches concurrently), each fetch's results merged into one response
//! tree, and subgraph errors collected with paths into the client's response.
//!
//! Every fetch runs in three steps: read the response tree to build the request
//! (representations for entity fetches), send it without holding the tree, then lock
//! the tree again to merge. Parallel branches therefore never block each other on I/O.

mod breaker;
mod entity_cache;
mod errors;
mod fetch;
mod inflight;
mod merge;
mod representations;
mod rewrites;

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::http::HeaderValue;
use futures::future::{BoxFuture, FutureExt, join_all};
use hive_router_query_planner::ast::selection_set::SelectionSet;
use hive_router_query_planner::planner::plan_nodes::{
    BatchFetchNode, ConditionNode, FetchNode, FetchRewrite, FlattenNode, FlattenNodePath, PlanNode,
};
use hive_router_query_planner::state::supergraph_state::OperationKind;
use serde_json::{Map, Value as JsonValue};

use entity_cache::Split;
use errors::{EntityError, starts_with_key};
pub(crate) use fetch::{SubgraphClient, SubgraphResponse, request_body};
use merge::{for_each_entity, merge_entities};
use representations::Representations;

use crate::error::ErrorCode;
use crate::response::GraphQLError;
use crate::schema::SchemaIndex;
use crate::value::{Object, Value};
use crate::variables::selection_included;

/// One execution of one plan.
pub(crate) struct Execution<'a> {
    subgraphs: &'a SubgraphClient,
    schema: &'a SchemaIndex,
    variables: &'a Map<String, JsonValue>,
    authorization: Option<&'a HeaderValue>,
    state: Mutex<State>,
}

struct State {
    data: Value,
    errors: Vec<GraphQLError>,
}

/// One `_entities` selection of a fetch: which entities feed it and where its results go.
struct EntityCall<'p> {
    /// The response key of this `_entities` field (`_entities`, or `_e0`.. in a batch).
    response_key: &'p str,
    /// The variable carrying its representations.
    variable: &'p str,
    paths: &'p [FlattenNodePath],
    requires: &'p SelectionSet,
    input_rewrites: Option<&'p [FetchRewrite]>,
    output_rewrites: Option<&'p [FetchRewrite]>,
}

impl<'a> Execution<'a> {
    pub fn new(
        subgraphs: &'a SubgraphClient,
        schema: &'a SchemaIndex,
        variables: &'a Map<String, JsonValue>,
        authorization: Option<&'a HeaderValue>,
    ) -> Self {
        Self {
            subgraphs,
            schema,
            variables,
            authorization,
            state: Mutex::new(State {
                data: Value::Object(Object::new()),
                errors: Vec::new(),
            }),
        }
    }

    /// Starts from data already fetched (a subscription event) instead of nothing.
    pub fn starting_from(self, data: Value, errors: Vec<GraphQLError>) -> Self {
        *self.lock() = State { data, errors };
        self
    }

    /// Runs the plan and returns the merged data and the errors met on the way.
    pub async fn run(self, plan: &PlanNode) -> (Value, Vec<GraphQLError>) {
        self.node(plan).await;
        let state = self
            .state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        (state.data, state.errors)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn node<'n>(&'n self, node: &'n PlanNode) -> BoxFuture<'n, ()> {
        async move {
            match node {
                PlanNode::Fetch(fetch) => self.root_fetch(fetch).await,
                PlanNode::Flatten(flatten) => self.flatten(flatten).await,
                PlanNode::BatchFetch(batch) => self.batch_fetch(batch).await,
                PlanNode::Sequence(sequence) => {
                    for node in &sequence.nodes {
                        self.node(node).await;
                    }
                }
                PlanNode::Parallel(parallel) => {
                    join_all(parallel.nodes.iter().map(|node| self.node(node))).await;
                }
                PlanNode::Condition(condition) => self.condition(condition).await,
                PlanNode::Subscription(_) | PlanNode::Defer(_) => {
                    self.lock().errors.push(GraphQLError::new(
                        "Subscriptions and @defer are not supported by this router yet",
                        ErrorCode::OperationNotSupported,
                    ));
                }
            }
        }
        .boxed()
    }

    async fn condition(&self, condition: &ConditionNode) {
        let passes = selection_included(None, Some(&condition.condition), self.variables);
        let branch = if passes {
            condition.if_clause.as_deref()
        } else {
            condition.else_clause.as_deref()
        };
        if let Some(branch) = branch {
            self.node(branch).await;
        }
    }

    /// A fetch on a root type: its data is merged at the top of the response.
    async fn root_fetch(&self, fetch: &FetchNode) {
        let body = request_body(
            &fetch.operation.document_str,
            &[],
            fetch.variable_usages.as_ref(),
            self.variables,
        );
        let shareable = is_query(fetch.operation_kind.as_ref());
        let response = self.send(&fetch.service_name, body, shareable).await;
        let mut state = self.lock();
        let Some(response) = response else {
            return;
        };
        if let Some(data) = response.data {
            state.data.merge(data);
        }
        state
            .errors
            .extend(response.errors.into_iter().map(GraphQLError::from_subgraph));
    }

    async fn flatten(&self, flatten: &FlattenNode) {
        let PlanNode::Fetch(fetch) = flatten.node.as_ref() else {
            // The planner only puts fetches under Flatten; anything else runs as is.
            return self.node(&flatten.node).await;
        };
        let call = EntityCall {
            response_key: "_entities",
            variable: "representations",
            paths: std::slice::from_ref(&flatten.path),
            requires: fetch.requires.as_ref().unwrap_or(&EMPTY_SELECTION),
            input_rewrites: fetch.input_rewrites.as_deref(),
            output_rewrites: fetch.output_rewrites.as_deref(),
        };
        self.entity_fetch(
            &fetch.service_name,
            &fetch.operation.document_str,
            is_query(fetch.operation_kind.as_ref()),
            fetch.variable_usages.as_ref(),
            &[call],
        )
        .await;
    }

    async fn batch_fetch(&self, batch: &BatchFetchNode) {
        let calls: Vec<EntityCall<'_>> = batch
            .entity_batch
            .aliases
            .iter()
            .map(|alias| EntityCall {
                response_key: &alias.alias,
                variable: &alias.representations_variable_name,
                paths: &alias.merge_paths,
                requires: &alias.requires,
                input_rewrites: alias.input_rewrites.as_deref(),
                output_rewrites: alias.output_rewrites.as_deref(),
            })
            .collect();
        self.entity_fetch(
            &batch.service_name,
            &batch.operation.document_str,
            is_query(batch.operation_kind.as_ref()),
            batch.variable_usages.as_ref(),
            &calls,
        )
        .await;
    }

    /// One request to one subgraph for all `calls`, each with its own representations.
    async fn entity_fetch(
        &self,
        service: &str,
        operation: &str,
        shareable: bool,
        variable_usages: Option<&BTreeSet<String>>,
        calls: &[EntityCall<'_>],
    ) {
        // Calls sharing a variable share requires and paths, so collect once per variable.
        let mut collected: HashMap<&str, Representations> = HashMap::new();
        {
            let mut state = self.lock();
            for call in calls {
                if collected.contains_key(call.variable) {
                    continue;
                }
                let mut representations = Representations::default();
                for path in call.paths {
                    for_each_entity(
                        &mut state.data,
                        path.as_slice(),
                        self.schema,
                        &mut Vec::new(),
                        &mut |entity, _| {
                            representations.push(
                                entity,
                                call.requires,
                                call.input_rewrites,
                                self.schema,
                            )
                        },
                    );
                }
                collected.insert(call.variable, representations);
            }
        }
        if collected.values().all(Representations::is_empty) {
            return;
        }

        // A query asks the subgraph only for the entities its cache does not hold.
        let cache = self.subgraphs.entity_cache(service).filter(|_| shareable);
        let mut split = cache.map(|cache| {
            Split::new(
                cache,
                operation,
                variable_usages,
                self.variables,
                calls.iter().map(|call| (call.response_key, call.variable)),
                &collected,
            )
        });
        let response = match &split {
            Some(split) if split.is_complete() => SubgraphResponse::default(),
            _ => {
                let lists: Vec<(&str, Cow<'_, [u8]>)> = collected
                    .iter()
                    .map(|(&name, representations)| match &split {
                        Some(split) => (name, Cow::Owned(split.list(name, representations))),
                        None => (name, Cow::Borrowed(representations.list.as_slice())),
                    })
                    .collect();
                let variables: Vec<(&str, &[u8])> = lists
                    .iter()
                    .map(|(name, list)| (*name, list.as_ref()))
                    .collect();
                let body = request_body(operation, &variables, variable_usages, self.variables);
                let Some(response) = self.send(service, body, shareable).await else {
                    return;
                };
                response
            }
        };
        let max_age = response.max_age.filter(|_| response.errors.is_empty());

        let mut data = match response.data {
            Some(Value::Object(data)) => data,
            _ => Object::new(),
        };
        let mut state = self.lock();
        let state = &mut *state;
        let mut errors: Vec<GraphQLError> = response
            .errors
            .into_iter()
            .map(GraphQLError::from_subgraph)
            .collect();
        for (index, call) in calls.iter().enumerate() {
            let Some(representations) = collected.get(call.variable) else {
                continue;
            };
            let mut entities = match data.remove(call.response_key) {
                Some(Value::List(entities)) => entities,
                _ => Vec::new(),
            };
            let (mut mine, others): (Vec<_>, Vec<_>) = errors
                .into_iter()
                .partition(|error| starts_with_key(error, call.response_key));
            errors = others;
            if let Some(split) = &mut split {
                entities = split.complete(index, representations, entities, max_age);
                for error in &mut mine {
                    split.relocate(call.variable, error);
                }
            }
            let misplaced: Vec<EntityError> = mine
                .into_iter()
                .map(|error| EntityError::new(error, &entities))
                .collect();
            let first_paths = merge_entities(
                &mut state.data,
                call.paths,
                call.output_rewrites,
                &representations.slots,
                entities,
                self.schema,
                !misplaced.is_empty(),
            );
            for error in misplaced {
                state.errors.extend(error.relocate(&first_paths));
            }
        }
        state.errors.append(&mut errors);
    }

    /// Sends a request (shared with identical ones in flight if `shareable`), turning
    /// transport failures into a client error.
    async fn send(
        &self,
        service: &str,
        body: Vec<u8>,
        shareable: bool,
    ) -> Option<SubgraphResponse> {
        match self
            .subgraphs
            .send(service, body, self.authorization, shareable)
            .await
        {
            Ok(response) => Some(response),
            Err(error) => {
                tracing::warn!(subgraph = service, error = %error, "subgraph request failed");
                let message = format!(
                    "HTTP fetch failed from '{service}': {}",
                    error.client_reason()
                );
                self.lock().errors.push(
                    GraphQLError::new(message, ErrorCode::SubgraphRequestFailed)
                        .with_extension("serviceName", JsonValue::from(service)),
                );
                None
            }
        }
    }
}

/// Whether a fetch only reads, so that identical ones in flight may share one request.
/// A mutation, or a fetch whose kind the plan does not say, is sent on its own.
fn is_query(kind: Option<&OperationKind>) -> bool {
    kind == Some(&OperationKind::Query)
}

static EMPTY_SELECTION: SelectionSet = SelectionSet { items: Vec::new() };
