//! Operations prepared for execution: parsed, validated, planned and compiled for
//! projection once, then kept in a bounded cache keyed by document text and operation
//! name, so a repeated operation goes straight to execution.

use std::hash::{BuildHasher, RandomState};
use std::num::{NonZeroU32, NonZeroUsize};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use graphql_tools::static_graphql::query::{
    Definition, Document, FragmentDefinition, OperationDefinition, Selection, SelectionSet,
    TypeCondition, VariableDefinition,
};
use hive_router_query_planner::planner::plan_nodes::PlanNode;
use lru::LruCache;
use serde_json::{Map, Value};

use crate::config::Limits;
use crate::defer::Deferred;
use crate::error::ErrorCode;
use crate::introspection::{self, is_introspection_field};
use crate::limits;
use crate::plan::{OverrideDraw, QueryPlanner};
use crate::project::Projection;
use crate::rate_limit::Attempts;
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
    /// Set when the operation uses `@defer`: it then has no plan of its own, and runs
    /// as the operations the split gives (see `defer`).
    pub deferred: Option<Deferred>,
    /// How often a mutation asks for each sensitive field (`SensitiveLimits`), counted
    /// once here so that a cached operation costs nothing to count.
    pub sensitive: Vec<Attempts>,
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
    /// The `Mutation` fields whose occurrences are counted (empty when not limited).
    pub sensitive_fields: &'a [String],
}

impl Preparer<'_> {
    /// Parses, validates, plans and compiles one operation of a document.
    pub fn prepare(
        &self,
        query: &str,
        operation_name: Option<&str>,
        draw: OverrideDraw,
    ) -> Result<PreparedOperation, Rejection> {
        limits::check_tokens(query, self.limits)?;
        let document = tracing::info_span!("parse").in_scope(|| self.validator.parse(query))?;
        limits::check_document(&document, self.limits)?;
        tracing::info_span!("validate")
            .in_scope(|| self.validator.validate(self.schema.document(), &document))?;
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
        let sensitive = if kind == OperationKind::Mutation {
            sensitive_attempts(&document, root_selection(operation), self.sensitive_fields)
        } else {
            Vec::new()
        };
        if let Some(deferred) = Deferred::of(&document, position) {
            return Ok(PreparedOperation {
                kind,
                plan: None,
                projection: Projection::new(self.schema, root_type, None, &[]),
                variables,
                introspection: None,
                deferred: Some(deferred),
                sensitive,
                response_size: AtomicUsize::new(0),
            });
        }

        let introspection_keys = introspection_keys(&document, root_selection(operation));
        if !introspection_keys.is_empty() && !self.introspection_enabled {
            return Err(Rejection::new(
                "GraphQL introspection is not allowed, but the query contained __schema or __type",
                ErrorCode::GraphqlValidationFailed,
            ));
        }

        // Subgraphs never see introspection: plan the operation without it.
        let mut planned_document = document.clone();
        let planned_position = if introspection_keys.is_empty() {
            position
        } else {
            strip_introspection(&mut planned_document, position, &self.schema.query_type)
        };
        let has_fetches = match planned_document.definitions.get(planned_position) {
            Some(Definition::Operation(operation)) => !root_selection(operation).items.is_empty(),
            _ => false,
        };
        let (plan, projection) = if has_fetches {
            let (normalized, plan) = tracing::info_span!("plan")
                .in_scope(|| self.planner.plan(&planned_document, operation_name, draw))?;
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
            deferred: None,
            sensitive,
            response_size: AtomicUsize::new(0),
        })
    }
}

/// How often each of `fields` is selected at the root of a (validated) operation:
/// every alias is one more, fields in inline fragments and in fragments spread at the
/// root count too (a fragment spread twice, twice), and `@skip`/`@include` are not
/// looked at, so an attempt can be counted that does not run but never the reverse.
fn sensitive_attempts(
    document: &Document,
    root: &SelectionSet,
    fields: &[String],
) -> Vec<Attempts> {
    fn count(
        document: &Document,
        set: &SelectionSet,
        fields: &[String],
        path: &mut Vec<String>,
        counts: &mut [u32],
    ) {
        for item in &set.items {
            match item {
                Selection::Field(field) => {
                    if let Some(index) = fields.iter().position(|name| *name == field.name) {
                        counts[index] = counts[index].saturating_add(1);
                    }
                }
                Selection::InlineFragment(fragment) => {
                    count(document, &fragment.selection_set, fields, path, counts);
                }
                Selection::FragmentSpread(spread) => {
                    // Validation refuses cycles; the path only keeps a bad one finite.
                    if path.contains(&spread.fragment_name) {
                        continue;
                    }
                    if let Some(fragment) = fragment(document, &spread.fragment_name) {
                        path.push(spread.fragment_name.clone());
                        count(document, &fragment.selection_set, fields, path, counts);
                        path.pop();
                    }
                }
            }
        }
    }
    if fields.is_empty() {
        return Vec::new();
    }
    let mut counts = vec![0u32; fields.len()];
    count(document, root, fields, &mut Vec::new(), &mut counts);
    counts
        .into_iter()
        .enumerate()
        .filter_map(|(field, count)| NonZeroU32::new(count).map(|count| Attempts { field, count }))
        .collect()
}

/// The response keys of the root `__schema`/`__type` fields, found through inline
/// fragments and fragment spreads too.
fn introspection_keys(document: &Document, root: &SelectionSet) -> Vec<String> {
    fn collect(
        document: &Document,
        set: &SelectionSet,
        seen: &mut Vec<String>,
        out: &mut Vec<String>,
    ) {
        for item in &set.items {
            match item {
                Selection::Field(field) if is_introspection_field(&field.name) => {
                    let key = field.alias.clone().unwrap_or_else(|| field.name.clone());
                    if !out.contains(&key) {
                        out.push(key);
                    }
                }
                Selection::Field(_) => {}
                Selection::InlineFragment(fragment) => {
                    collect(document, &fragment.selection_set, seen, out);
                }
                Selection::FragmentSpread(spread) => {
                    if seen.contains(&spread.fragment_name) {
                        continue;
                    }
                    seen.push(spread.fragment_name.clone());
                    if let Some(fragment) = fragment(document, &spread.fragment_name) {
                        collect(document, &fragment.selection_set, seen, out);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    collect(document, root, &mut Vec::new(), &mut out);
    out
}

/// Removes the root `__schema`/`__type` fields from the operation at `position`,
/// inside root inline fragments and fragments on the query type too, and whatever is
/// left empty by that (the planner refuses empty selections). Returns the operation's
/// new position.
fn strip_introspection(document: &mut Document, position: usize, query_type: &str) -> usize {
    /// Strips one selection set; `true` when nothing is left of it.
    fn strip(set: &mut SelectionSet, emptied: &[String]) -> bool {
        set.items.retain_mut(|item| match item {
            Selection::Field(field) => !is_introspection_field(&field.name),
            Selection::InlineFragment(fragment) => !strip(&mut fragment.selection_set, emptied),
            Selection::FragmentSpread(spread) => !emptied.contains(&spread.fragment_name),
        });
        set.items.is_empty()
    }
    // Fragments on the query type, until no more empty out (one may spread another).
    let mut emptied: Vec<String> = Vec::new();
    loop {
        let before = emptied.len();
        for definition in &mut document.definitions {
            if let Definition::Fragment(fragment) = definition {
                let TypeCondition::On(on) = &fragment.type_condition;
                if on == query_type
                    && !emptied.contains(&fragment.name)
                    && strip(&mut fragment.selection_set, &emptied)
                {
                    emptied.push(fragment.name.clone());
                }
            }
        }
        if emptied.len() == before {
            break;
        }
    }
    if let Some(Definition::Operation(operation)) = document.definitions.get_mut(position) {
        strip(root_selection_mut(operation), &emptied);
    }
    let removed_before = document.definitions[..position]
        .iter()
        .filter(
            |definition| matches!(definition, Definition::Fragment(f) if emptied.contains(&f.name)),
        )
        .count();
    document.definitions.retain(|definition| {
        !matches!(definition, Definition::Fragment(fragment) if emptied.contains(&fragment.name))
    });
    position - removed_before
}

/// The fragment named `name`.
pub(crate) fn fragment<'a>(document: &'a Document, name: &str) -> Option<&'a FragmentDefinition> {
    document
        .definitions
        .iter()
        .find_map(|definition| match definition {
            Definition::Fragment(fragment) if fragment.name == name => Some(fragment),
            _ => None,
        })
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

/// The selection set at the root of an operation.
pub(crate) fn root_selection(operation: &OperationDefinition) -> &SelectionSet {
    match operation {
        OperationDefinition::Query(query) => &query.selection_set,
        OperationDefinition::Mutation(mutation) => &mutation.selection_set,
        OperationDefinition::Subscription(subscription) => &subscription.selection_set,
        OperationDefinition::SelectionSet(selection) => selection,
    }
}

/// The selection set at the root of an operation, to edit.
pub(crate) fn root_selection_mut(operation: &mut OperationDefinition) -> &mut SelectionSet {
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

/// Prepared operations by (document text, operation name, override draw), least
/// recently used evicted.
pub(crate) struct OperationCache {
    entries: Mutex<LruCache<u64, Arc<CacheEntry>>>,
    hasher: RandomState,
}

struct CacheEntry {
    query: String,
    operation_name: Option<String>,
    draw: OverrideDraw,
    operation: Arc<PreparedOperation>,
}

impl OperationCache {
    pub fn new() -> Self {
        Self {
            entries: Mutex::new(LruCache::new(CACHE_CAPACITY)),
            hasher: RandomState::new(),
        }
    }

    /// The (document text, operation name, override draw) of every cached operation,
    /// most recently used first: what a reloaded supergraph prepares again.
    pub fn keys(&self) -> Vec<(String, Option<String>, OverrideDraw)> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(_, entry)| {
                (
                    entry.query.clone(),
                    entry.operation_name.clone(),
                    entry.draw,
                )
            })
            .collect()
    }

    /// The cached operation, or a freshly prepared one (which is then cached), and
    /// whether it came from the cache. Failures are not cached.
    pub fn get_or_prepare(
        &self,
        query: &str,
        operation_name: Option<&str>,
        draw: OverrideDraw,
        prepare: impl FnOnce() -> Result<PreparedOperation, Rejection>,
    ) -> Result<(Arc<PreparedOperation>, bool), Rejection> {
        let key = self.hasher.hash_one((query, operation_name, draw));
        let cached = self
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .filter(|entry| {
                entry.query == query
                    && entry.operation_name.as_deref() == operation_name
                    && entry.draw == draw
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
                    draw,
                    operation: Arc::clone(&operation),
                }),
            );
        Ok((operation, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempts(query: &str) -> Vec<(usize, u32)> {
        let document = graphql_tools::parser::parse_query::<String>(query)
            .unwrap()
            .into_static();
        let Some(Definition::Operation(operation)) = document
            .definitions
            .iter()
            .find(|definition| matches!(definition, Definition::Operation(_)))
        else {
            panic!("no operation");
        };
        let fields = ["login".to_owned(), "register".to_owned()];
        sensitive_attempts(&document, root_selection(operation), &fields)
            .into_iter()
            .map(|attempts| (attempts.field, attempts.count.get()))
            .collect()
    }

    #[test]
    fn every_alias_of_a_sensitive_field_is_an_attempt() {
        let aliases = (0..20)
            .map(|i| format!("a{i}: login(password: \"{i}\")"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(attempts(&format!("mutation {{ {aliases} }}")), [(0, 20)]);
        assert_eq!(
            attempts("mutation { login register other }"),
            [(0, 1), (1, 1)]
        );
        assert_eq!(
            attempts("mutation { other { login } }"),
            [],
            "not at the root"
        );
    }

    #[test]
    fn fragments_on_the_mutation_type_count_once_per_spread() {
        let query = "mutation { ...Guess ...Guess ... on Mutation { login ... @skip(if: true) { login } } } \
                     fragment Guess on Mutation { a: login b: login ...Nested } \
                     fragment Nested on Mutation { register }";
        assert_eq!(attempts(query), [(0, 6), (1, 2)]);
    }

    #[test]
    fn a_fragment_cycle_does_not_loop() {
        let query = "mutation { ...A } fragment A on Mutation { login ...B } fragment B on Mutation { ...A }";
        assert_eq!(attempts(query), [(0, 1)]);
    }
}
