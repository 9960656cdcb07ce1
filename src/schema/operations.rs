//! The frontends' registered operations: read from `operations/` (GraphQL documents, or
//! Apollo persisted-query manifests), validated against the new public schema with the
//! router's own rules, and mapped to the parts of the base schema they use, so that a
//! breaking change can be told apart from one that no client would notice.
//!
//! Each operation is checked on its own, with the fragments of its file that it
//! spreads: a file may hold several operations and shared fragments, but fragments are
//! not shared across files.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use graphql_tools::ast::{OperationVisitor, OperationVisitorContext, visit_document};
use graphql_tools::static_graphql::query::{
    self, Definition, Directive, Document, FragmentDefinition, FragmentSpread, InlineFragment,
    OperationDefinition, Selection, SelectionSet, TypeCondition, VariableDefinition,
};
use graphql_tools::static_graphql::schema::{Document as SchemaDocument, TypeDefinition};
use serde::Deserialize;

use super::diff::{Change, Kind, Level};

/// One registered operation.
pub struct Operation {
    /// Its name, `<anonymous>` without one.
    pub name: String,
    /// Where it is registered: a file, and for a manifest entry `#<id>`.
    pub source: String,
    /// The operation with the fragments it spreads, or why its document does not parse.
    pub document: Result<Document, String>,
}

impl Operation {
    /// `Name (source)`, how reports name an operation.
    pub fn label(&self) -> String {
        format!("{} ({})", self.name, self.source)
    }
}

/// Every operation under `dir`, in path order: each `.graphql` or `.gql` file's
/// operations, and each `.json` file's entries (an Apollo persisted-query manifest).
/// A missing directory has none.
pub fn load(dir: &Path) -> Result<Vec<Operation>, String> {
    let mut files = Vec::new();
    if dir.exists() {
        collect_files(dir, &mut files)?;
    }
    files.sort();
    let mut operations = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        let source = path.display().to_string();
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => {
                let manifest: Manifest = serde_json::from_str(&text).map_err(|error| {
                    format!("{source}: not a persisted-query manifest: {error}")
                })?;
                if manifest.format != "apollo-persisted-query-manifest" {
                    return Err(format!(
                        "{source}: format {:?}, expected \"apollo-persisted-query-manifest\"",
                        manifest.format
                    ));
                }
                for entry in manifest.operations {
                    // Manifest ids are SHA-256 hashes: a prefix names the entry well enough.
                    let id = entry.id.get(..12).unwrap_or(&entry.id);
                    let source = format!("{source}#{id}");
                    operations.extend(split(&entry.body, &source, Some(entry.name)));
                }
            }
            _ => operations.extend(split(&text, &source, None)),
        }
    }
    Ok(operations)
}

/// An Apollo persisted-query manifest (`generate-persisted-query-manifest`), the shape
/// the router's persisted documents read too.
#[derive(Deserialize)]
struct Manifest {
    format: String,
    operations: Vec<ManifestEntry>,
}

#[derive(Deserialize)]
struct ManifestEntry {
    id: String,
    name: String,
    body: String,
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|error| format!("{}: {error}", dir.display()))?
            .path();
        if path.is_dir() {
            collect_files(&path, files)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("graphql" | "gql" | "json")
        ) {
            files.push(path);
        }
    }
    Ok(())
}

/// The operations of one document, each with the fragments it spreads.
fn split(text: &str, source: &str, name: Option<String>) -> Vec<Operation> {
    let document: Document = match graphql_tools::parser::parse_query::<String>(text) {
        Ok(document) => document.into_static(),
        Err(error) => {
            let name = name.unwrap_or_else(|| {
                Path::new(source)
                    .file_stem()
                    .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
            });
            return vec![Operation {
                name,
                source: source.to_owned(),
                document: Err(error.to_string().trim().to_owned()),
            }];
        }
    };
    let fragments: Vec<&FragmentDefinition> = document
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::Fragment(f) => Some(f),
            Definition::Operation(_) => None,
        })
        .collect();
    document
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::Operation(operation) => Some(operation),
            Definition::Fragment(_) => None,
        })
        .map(|operation| {
            let mut definitions = vec![Definition::Operation(operation.clone())];
            definitions.extend(
                spread_fragments(operation, &fragments)
                    .into_iter()
                    .map(|f| Definition::Fragment(f.clone())),
            );
            Operation {
                name: operation_name(operation)
                    .or(name.clone())
                    .unwrap_or_else(|| "<anonymous>".to_owned()),
                source: source.to_owned(),
                document: Ok(Document { definitions }),
            }
        })
        .collect()
}

fn operation_name(operation: &OperationDefinition) -> Option<String> {
    match operation {
        OperationDefinition::Query(q) => q.name.clone(),
        OperationDefinition::Mutation(m) => m.name.clone(),
        OperationDefinition::Subscription(s) => s.name.clone(),
        OperationDefinition::SelectionSet(_) => None,
    }
}

/// The fragments an operation spreads, directly or through other fragments, in file
/// order. Unknown names are left for validation to report.
fn spread_fragments<'a>(
    operation: &OperationDefinition,
    fragments: &[&'a FragmentDefinition],
) -> Vec<&'a FragmentDefinition> {
    let mut wanted: HashSet<&str> = HashSet::new();
    let mut pending = Vec::new();
    spreads_in(operation.selection_set(), &mut pending);
    while let Some(name) = pending.pop() {
        if let Some(fragment) = fragments.iter().find(|f| f.name == name)
            && wanted.insert(&fragment.name)
        {
            spreads_in(&fragment.selection_set, &mut pending);
        }
    }
    fragments
        .iter()
        .filter(|f| wanted.contains(f.name.as_str()))
        .copied()
        .collect()
}

fn spreads_in(selection_set: &SelectionSet, found: &mut Vec<String>) {
    for selection in &selection_set.items {
        match selection {
            Selection::Field(field) => spreads_in(&field.selection_set, found),
            Selection::InlineFragment(fragment) => spreads_in(&fragment.selection_set, found),
            Selection::FragmentSpread(spread) => found.push(spread.fragment_name.clone()),
        }
    }
}

/// What an operation uses of a schema, in schema coordinates.
#[derive(Debug, Default)]
pub struct Usage {
    /// Every named type it reaches: field types, fragment conditions, variable and
    /// argument types.
    types: BTreeSet<String>,
    /// Input types (input objects, enums, scalars) whose values it may send, through
    /// variables or literals, with the input types nested in them.
    input_types: BTreeSet<String>,
    /// `Type.field`, `Type.field(arg:)`, `Input.field`, `Enum.VALUE` (literals),
    /// `@directive`, `@directive(arg:)`, and `Abstract.Member` / `Member.Abstract` for a
    /// fragment on `Member` within a selection on `Abstract`.
    coordinates: BTreeSet<String>,
}

impl Usage {
    /// What `document` uses of `schema` (the base schema: a removed field is still
    /// found there).
    pub fn of(document: &Document, schema: &SchemaDocument) -> Self {
        let mut usage = Usage::default();
        let mut context = OperationVisitorContext::new(document, schema);
        visit_document(
            &mut Collector {
                directive: None,
                schema,
            },
            document,
            &mut context,
            &mut usage,
        );
        usage
    }

    /// Whether a client running this operation would notice `change`. Safe changes
    /// never count.
    pub fn affected_by(&self, change: &Change) -> bool {
        let coordinate = change.coordinate.as_str();
        let owner = coordinate.split(['.', '(']).next().unwrap_or(coordinate);
        let field = coordinate.split('(').next().unwrap_or(coordinate);
        let sends = |name: &str| self.input_types.contains(name);
        match change.kind {
            _ if change.level == Level::Safe => false,
            Kind::TypeRemoved | Kind::TypeChangedKind => self.types.contains(coordinate),
            Kind::FieldRemoved | Kind::FieldChangedKind => {
                self.coordinates.contains(coordinate) || sends(owner)
            }
            Kind::ArgRemoved
            | Kind::ArgChangedKind
            | Kind::DirectiveArgRemoved
            | Kind::TypeRemovedFromUnion
            | Kind::ImplementedInterfaceRemoved => self.coordinates.contains(coordinate),
            Kind::RequiredArgAdded | Kind::OptionalArgAdded | Kind::ArgDefaultValueChange => {
                self.coordinates.contains(field)
            }
            Kind::ValueRemovedFromEnum => self.coordinates.contains(coordinate) || sends(owner),
            Kind::RequiredInputFieldAdded
            | Kind::OptionalInputFieldAdded
            | Kind::InputFieldDefaultValueChange => sends(owner),
            Kind::DirectiveRemoved
            | Kind::RequiredDirectiveArgAdded
            | Kind::DirectiveRepeatableRemoved
            | Kind::DirectiveLocationRemoved => self
                .coordinates
                .contains(field.split('.').next().unwrap_or(field)),
            Kind::ValueAddedToEnum | Kind::TypeAddedToUnion | Kind::ImplementedInterfaceAdded => {
                self.types.contains(owner)
            }
            _ => false,
        }
    }
}

/// Walks an operation against the base schema, filling its [`Usage`].
struct Collector<'s> {
    /// The directive whose arguments are being visited, if any.
    directive: Option<String>,
    schema: &'s SchemaDocument,
}

impl Collector<'_> {
    /// Records a named input type and every input type nested in it.
    fn sends(&self, usage: &mut Usage, name: &str) {
        if !usage.input_types.insert(name.to_owned()) {
            return;
        }
        usage.types.insert(name.to_owned());
        if let Some(TypeDefinition::InputObject(input)) = self.schema.type_by_name(name) {
            for field in &input.fields {
                self.sends(usage, field.value_type.inner_type());
            }
        }
    }

    fn condition(
        &self,
        context: &OperationVisitorContext,
        usage: &mut Usage,
        condition: &TypeCondition,
    ) {
        let TypeCondition::On(name) = condition;
        usage.types.insert(name.clone());
        if let Some(parent) = context.current_parent_type()
            && parent.name() != name
        {
            usage
                .coordinates
                .insert(format!("{}.{name}", parent.name()));
            usage
                .coordinates
                .insert(format!("{name}.{}", parent.name()));
        }
    }
}

impl<'a> OperationVisitor<'a, Usage> for Collector<'_> {
    fn enter_field(
        &mut self,
        context: &mut OperationVisitorContext<'a>,
        usage: &mut Usage,
        field: &query::Field,
    ) {
        if let Some(parent) = context.current_parent_type() {
            usage
                .coordinates
                .insert(format!("{}.{}", parent.name(), field.name));
        }
        if let Some(field_type) = context.current_type() {
            usage.types.insert(field_type.name().to_owned());
        }
    }

    fn enter_argument(
        &mut self,
        context: &mut OperationVisitorContext<'a>,
        usage: &mut Usage,
        (name, _): &'a (String, query::Value),
    ) {
        let owner = match (
            &self.directive,
            context.current_parent_type(),
            context.current_field(),
        ) {
            (Some(directive), _, _) => format!("@{directive}"),
            (None, Some(parent), Some(field)) => format!("{}.{}", parent.name(), field.name),
            _ => return,
        };
        usage.coordinates.insert(format!("{owner}({name}:)"));
        if let Some(input) = context.current_input_type() {
            let input = input.name().to_owned();
            self.sends(usage, &input);
        }
    }

    fn enter_object_field(
        &mut self,
        context: &mut OperationVisitorContext<'a>,
        usage: &mut Usage,
        (name, _): &(String, query::Value),
    ) {
        if let Some(parent) = context.parent_input_type() {
            usage
                .coordinates
                .insert(format!("{}.{name}", parent.name()));
        }
    }

    fn enter_enum_value(
        &mut self,
        context: &mut OperationVisitorContext<'a>,
        usage: &mut Usage,
        value: &String,
    ) {
        if let Some(enum_type) = context.current_input_type() {
            usage
                .coordinates
                .insert(format!("{}.{value}", enum_type.name()));
        }
    }

    fn enter_variable_definition(
        &mut self,
        _: &mut OperationVisitorContext<'a>,
        usage: &mut Usage,
        variable: &'a VariableDefinition,
    ) {
        self.sends(usage, variable.var_type.inner_type());
    }

    fn enter_directive(
        &mut self,
        _: &mut OperationVisitorContext<'a>,
        usage: &mut Usage,
        directive: &Directive,
    ) {
        usage.coordinates.insert(format!("@{}", directive.name));
        self.directive = Some(directive.name.clone());
    }

    fn leave_directive(
        &mut self,
        _: &mut OperationVisitorContext<'a>,
        _: &mut Usage,
        _: &Directive,
    ) {
        self.directive = None;
    }

    fn enter_fragment_definition(
        &mut self,
        _: &mut OperationVisitorContext<'a>,
        usage: &mut Usage,
        fragment: &'a FragmentDefinition,
    ) {
        let TypeCondition::On(name) = &fragment.type_condition;
        usage.types.insert(name.clone());
    }

    fn enter_inline_fragment(
        &mut self,
        context: &mut OperationVisitorContext<'a>,
        usage: &mut Usage,
        fragment: &InlineFragment,
    ) {
        if let Some(condition) = &fragment.type_condition {
            self.condition(context, usage, condition);
        }
    }

    fn enter_fragment_spread(
        &mut self,
        context: &mut OperationVisitorContext<'a>,
        usage: &mut Usage,
        spread: &'a FragmentSpread,
    ) {
        if let Some(fragment) = context.known_fragments.get(spread.fragment_name.as_str()) {
            let condition = fragment.type_condition.clone();
            self.condition(context, usage, &condition);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::api::ApiSchema;
    use crate::schema::diff::diff;

    const SCHEMA: &str = "type Query { feed(first: Int): [Post!]! me: User } \
        type Post { id: ID! body: String! author: User! } \
        type User { id: ID! handle: String! website: String }";

    fn operations(text: &str) -> Vec<Operation> {
        split(text, "operations/test.graphql", None)
    }

    fn errors(schema: &str, operation: &Operation) -> Vec<String> {
        let api = ApiSchema::from_supergraph(schema).unwrap();
        agora_router::validation_errors(&api.document, operation.document.as_ref().unwrap())
    }

    #[test]
    fn an_operation_the_schema_serves_passes_and_one_it_does_not_fails() {
        let ops = operations(
            "query Feed { feed(first: 5) { ...Card } } \
             query Broken { feed { id title } } \
             fragment Card on Post { id body author { handle } }",
        );
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[0].label(), "Feed (operations/test.graphql)");
        assert!(errors(SCHEMA, &ops[0]).is_empty());
        let broken = errors(SCHEMA, &ops[1]);
        assert_eq!(broken.len(), 1, "{broken:?}");
        assert!(broken[0].contains("Cannot query field \"title\" on type \"Post\""));
    }

    #[test]
    fn a_document_that_does_not_parse_is_one_failed_operation_named_after_its_file() {
        let ops = operations("query { feed {");
        assert_eq!(ops.len(), 1);
        assert_eq!(ops[0].name, "test");
        assert!(ops[0].document.is_err());
    }

    #[test]
    fn an_operation_is_affected_only_by_breaking_changes_to_what_it_uses() {
        let base = ApiSchema::from_supergraph(SCHEMA).unwrap();
        let new = ApiSchema::from_supergraph(
            "type Query { feed(first: Int): [Post!]! me: User } \
             type Post { id: ID! author: User! } type User { id: ID! handle: String! }",
        )
        .unwrap();
        let ops = operations(
            "query Feed { feed { ...Card } } fragment Card on Post { id body } \
             query Me { me { handle } }",
        );
        let usages: Vec<Usage> = ops
            .iter()
            .map(|op| Usage::of(op.document.as_ref().unwrap(), &base.document))
            .collect();
        let changes = diff(&base, &new);
        let ids: Vec<&str> = changes.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            ["FIELD_REMOVED:Post.body", "FIELD_REMOVED:User.website"]
        );

        assert!(usages[0].affected_by(&changes[0]), "Feed reads Post.body");
        assert!(!usages[1].affected_by(&changes[0]));
        assert!(!usages[0].affected_by(&changes[1]), "nobody reads website");
        assert!(!usages[1].affected_by(&changes[1]));
    }

    #[test]
    fn arguments_enum_literals_and_variables_count_as_use() {
        let schema = "type Query { list(kind: Kind, filter: Filter): Int } \
                      enum Kind { A B } input Filter { tag: String }";
        let base = ApiSchema::from_supergraph(schema).unwrap();
        let ops = operations("query Q($f: Filter) { list(kind: A, filter: $f) }");
        let usage = Usage::of(ops[0].document.as_ref().unwrap(), &base.document);
        for coordinate in [
            "Query.list",
            "Query.list(kind:)",
            "Query.list(filter:)",
            "Kind.A",
        ] {
            assert!(
                usage.coordinates.contains(coordinate),
                "{coordinate}: {usage:?}"
            );
        }
        assert!(usage.input_types.contains("Filter"));
        assert!(usage.input_types.contains("String"));
    }
}
