//! Operations prepared for execution: parsed, validated, planned and compiled for
//! projection once, then kept in a bounded cache keyed by document text and operation
//! name, so a repeated operation goes straight to execution.

use std::hash::{BuildHasher, RandomState};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use graphql_tools::static_graphql::query::{
    Definition, Document, OperationDefinition, Selection, SelectionSet, VariableDefinition,
};
use hive_router_query_planner::planner::plan_nodes::PlanNode;
use lru::LruCache;
use serde_json::{Map, Value};

use crate::config::Limits;
use crate::error::ErrorCode;
use crate::introspection::{self, is_introspection_field};
use crate::limits;
use crate::plan::QueryPlanner;
use crate::project::Projection;
use crate::response::Rejection;
use crate::schema::SchemaIndex;
use crate::validate::Validator;
use crate::variables::VariableSpec;

/// How many prepared operations the cache keeps.
const CACHE_CAPACITY: NonZeroUsize = NonZeroUsize::new(1024).expect("non-zero");

/// The kind of a GraphQL operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OperationKind {
    Query,
    Mutation,
    Subscription,
}

/// Everything needed to execute one operation of one document.
pub(crate) struct PreparedOperation {
    pub kind: OperationKind,
    /// `None` when nothing needs fetching (only introspection or `__typename`).
    pub plan: Option<PlanNode>,
    pub projection: Projection,
    pub variables: Vec<VariableSpec>,
    /// The client document, kept only when the operation selects `__schema`/`__type`.
    introspection: Option<IntrospectionRequest>,
    /// The size of the last response body written for this operation, so that the next
    /// one's buffer is allocated once (a 64 KiB response would otherwise grow it seven
    /// times, copying it each time).
    response_size: AtomicUsize,
}

struct IntrospectionRequest {
    document: Document,
    /// Position of the executed operation in `document.definitions`.
    operation: usize,
}

impl PreparedOperation {
    /// A buffer for this operation's response body.
    pub fn response_buffer(&self) -> Vec<u8> {
        Vec::with_capacity(self.response_size.load(Ordering::Relaxed).max(1024))
    }

    /// Remembers how large a response body was, for [`PreparedOperation::response_buffer`].
    pub fn record_response_size(&self, size: usize) {
        self.response_size.store(size, Ordering::Relaxed);
    }

    /// The values of the root introspection fields, keyed by response key.
    pub fn introspection(
        &self,
        schema: &SchemaIndex,
        variables: &Map<String, Value>,
    ) -> Option<Map<String, Value>> {
        let request = self.introspection.as_ref()?;
        let Some(Definition::Operation(operation)) =
            request.document.definitions.get(request.operation)
        else {
            return None;
        };
        let fragments =
            request
                .document
                .definitions
                .iter()
                .filter_map(|definition| match definition {
                    Definition::Fragment(fragment) => Some(fragment),
                    Definition::Operation(_) => None,
                });
        let resolver = introspection::Resolver::new(schema, fragments, variables);
        Some(resolver.resolve_root(root_selection(operation)))
    }
}

/// What preparing an operation needs.
pub(crate) struct Preparer<'a> {
    pub planner: &'a QueryPlanner,
    pub schema: &'a SchemaIndex,
    pub validator: &'a Validator,
    pub introspection_enabled: bool,
    pub limits: &'a Limits,
}

impl Preparer<'_> {
    /// Parses, validates, plans and compiles one operation of a document.
    pub fn prepare(
        &self,
        query: &str,
        operation_name: Option<&str>,
    ) -> Result<PreparedOperation, Rejection> {
        limits::check_tokens(query, self.limits)?;
        let document = self.validator.parse(query)?;
        limits::check_document(&document, self.limits)?;
        self.validator.validate(self.schema.document(), &document)?;
        let position = select_operation(&document, operation_name)?;
        let Some(Definition::Operation(operation)) = document.definitions.get(position) else {
            return Err(Rejection::new(
                "Operation not found",
                ErrorCode::GraphqlValidationFailed,
            ));
        };
        let (kind, root_type) = match operation {
            OperationDefinition::Query(_) | OperationDefinition::SelectionSet(_) => {
                (OperationKind::Query, Some(&self.schema.query_type))
            }
            OperationDefinition::Mutation(_) => {
                (OperationKind::Mutation, self.schema.mutation_type.as_ref())
            }
            OperationDefinition::Subscription(_) => (
                OperationKind::Subscription,
                self.schema.subscription_type.as_ref(),
            ),
        };
        let root_type = root_type.ok_or_else(|| {
            Rejection::new(
                "The schema does not support this operation type",
                ErrorCode::GraphqlValidationFailed,
            )
        })?;
        let variables = variable_definitions(operation)
            .iter()
            .map(VariableSpec::from_definition)
            .collect();

        let introspection_keys: Vec<String> = root_selection(operation)
            .items
            .iter()
            .filter_map(|item| match item {
                Selection::Field(field) if is_introspection_field(&field.name) => {
                    Some(field.alias.clone().unwrap_or_else(|| field.name.clone()))
                }
                _ => None,
            })
            .collect();
        if !introspection_keys.is_empty() && !self.introspection_enabled {
            return Err(Rejection::new(
                "GraphQL introspection is not allowed, but the query contained __schema or __type",
                ErrorCode::GraphqlValidationFailed,
            ));
        }

        // Subgraphs never see introspection: plan the operation without it.
        let mut planned_document = document.clone();
        if let Some(Definition::Operation(operation)) =
            planned_document.definitions.get_mut(position)
        {
            root_selection_mut(operation).items.retain(|item| {
                !matches!(item, Selection::Field(field) if is_introspection_field(&field.name))
            });
        }
        let has_fetches = match planned_document.definitions.get(position) {
            Some(Definition::Operation(operation)) => !root_selection(operation).items.is_empty(),
            _ => false,
        };
        let (plan, projection) = if has_fetches {
            let (normalized, plan) = self.planner.plan(&planned_document, operation_name)?;
            // graphql-tools' rule collects root fields by name, so an aliased second
            // subscription field passes it; the normalized selection has one per key.
            if kind == OperationKind::Subscription && normalized.selection_set.items.len() > 1 {
                return Err(Rejection::new(
                    "A subscription must select only one root field",
                    ErrorCode::GraphqlValidationFailed,
                ));
            }
            let projection = Projection::new(
                self.schema,
                root_type,
                Some(&normalized.selection_set),
                &introspection_keys,
            );
            (plan.node, projection)
        } else {
            (
                None,
                Projection::new(self.schema, root_type, None, &introspection_keys),
            )
        };

        Ok(PreparedOperation {
            kind,
            plan,
            projection,
            variables,
            introspection: (!introspection_keys.is_empty()).then_some(IntrospectionRequest {
                document,
                operation: position,
            }),
            response_size: AtomicUsize::new(0),
        })
    }
}

/// The position of the operation to execute.
fn select_operation(document: &Document, name: Option<&str>) -> Result<usize, Rejection> {
    let mut operations = document.definitions.iter().enumerate().filter_map(
        |(position, definition)| match definition {
            Definition::Operation(operation) => Some((position, operation_name(operation))),
            Definition::Fragment(_) => None,
        },
    );
    match name {
        Some(name) => operations
            .find(|(_, candidate)| *candidate == Some(name))
            .map(|(position, _)| position)
            .ok_or_else(|| {
                Rejection::new(
                    format!("Unknown operation named \"{name}\"."),
                    ErrorCode::GraphqlValidationFailed,
                )
            }),
        None => match (operations.next(), operations.next()) {
            (Some((position, _)), None) => Ok(position),
            (None, _) => Err(Rejection::new(
                "The document contains no operation",
                ErrorCode::GraphqlValidationFailed,
            )),
            (Some(_), Some(_)) => Err(Rejection::new(
                "Must provide operation name if query contains multiple operations.",
                ErrorCode::GraphqlValidationFailed,
            )),
        },
    }
}

fn operation_name(operation: &OperationDefinition) -> Option<&str> {
    match operation {
        OperationDefinition::Query(query) => query.name.as_deref(),
        OperationDefinition::Mutation(mutation) => mutation.name.as_deref(),
        OperationDefinition::Subscription(subscription) => subscription.name.as_deref(),
        OperationDefinition::SelectionSet(_) => None,
    }
}

fn root_selection(operation: &OperationDefinition) -> &SelectionSet {
    match operation {
        OperationDefinition::Query(query) => &query.selection_set,
        OperationDefinition::Mutation(mutation) => &mutation.selection_set,
        OperationDefinition::Subscription(subscription) => &subscription.selection_set,
        OperationDefinition::SelectionSet(selection) => selection,
    }
}

fn root_selection_mut(operation: &mut OperationDefinition) -> &mut SelectionSet {
    match operation {
        OperationDefinition::Query(query) => &mut query.selection_set,
        OperationDefinition::Mutation(mutation) => &mut mutation.selection_set,
        OperationDefinition::Subscription(subscription) => &mut subscription.selection_set,
        OperationDefinition::SelectionSet(selection) => selection,
    }
}

fn variable_definitions(operation: &OperationDefinition) -> &[VariableDefinition] {
    match operation {
        OperationDefinition::Query(query) => &query.variable_definitions,
        OperationDefinition::Mutation(mutation) => &mutation.variable_definitions,
        OperationDefinition::Subscription(subscription) => &subscription.variable_definitions,
        OperationDefinition::SelectionSet(_) => &[],
    }
}

/// Prepared operations by (document text, operation name), least recently used evicted.
pub(crate) struct OperationCache {
    entries: Mutex<LruCache<u64, Arc<CacheEntry>>>,
    hasher: RandomState,
}

struct CacheEntry {
    query: String,
    operation_name: Option<String>,
    operation: Arc<PreparedOperation>,
}

impl OperationCache {
    pub fn new() -> Self {
        Self {
            entries: Mutex::new(LruCache::new(CACHE_CAPACITY)),
            hasher: RandomState::new(),
        }
    }

    /// The cached operation, or a freshly prepared one (which is then cached), and
    /// whether it came from the cache. Failures are not cached.
    pub fn get_or_prepare(
        &self,
        query: &str,
        operation_name: Option<&str>,
        prepare: impl FnOnce() -> Result<PreparedOperation, Rejection>,
    ) -> Result<(Arc<PreparedOperation>, bool), Rejection> {
        let key = self.hasher.hash_one((query, operation_name));
        let cached = self
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .filter(|entry| {
                entry.query == query && entry.operation_name.as_deref() == operation_name
            })
            .map(|entry| Arc::clone(&entry.operation));
        if let Some(operation) = cached {
            return Ok((operation, true));
        }
        let operation = Arc::new(prepare()?);
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .put(
                key,
                Arc::new(CacheEntry {
                    query: query.to_owned(),
                    operation_name: operation_name.map(str::to_owned),
                    operation: Arc::clone(&operation),
                }),
            );
        Ok((operation, false))
    }
}
