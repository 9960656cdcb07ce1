//! The public API schema of a supergraph: what clients can query, derived exactly as the
//! router derives it (the query planner's consumer schema: `@inaccessible` pruned,
//! `join__`/`link__` definitions and federation directives stripped), plus which of its
//! types are federation entities, which only the supergraph knows.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};

use graphql_tools::static_graphql::schema::{
    Definition, DirectiveDefinition, Document, Field, InputValue, TypeDefinition,
};
use hive_router_query_planner::consumer_schema::ConsumerSchema;

/// A supergraph's public API schema.
pub struct ApiSchema {
    /// The schema clients validate against, introspection types included.
    pub document: Document,
    /// Object types with a federation `@key` in some subgraph.
    pub entities: BTreeSet<String>,
}

impl ApiSchema {
    /// Derives the public schema of a supergraph SDL.
    pub fn from_supergraph(sdl: &str) -> Result<Self, String> {
        let supergraph: Document = graphql_tools::parser::parse_schema(sdl)
            .map_err(|error| format!("the supergraph does not parse: {error}"))?
            .into_static();
        // The planner's derivation panics on shapes a composed supergraph never has (no
        // query type, type extensions); a hand-written base file might.
        let consumer = catch_unwind(AssertUnwindSafe(|| {
            ConsumerSchema::new_from_supergraph(&supergraph)
        }))
        .map_err(|_| "the supergraph has no query type or has type extensions".to_owned())?;
        Ok(Self {
            document: (*consumer.document).clone(),
            entities: entities(&supergraph),
        })
    }

    /// The public types by name, without introspection's `__` types.
    pub fn types(&self) -> BTreeMap<&str, &TypeDefinition> {
        self.document
            .definitions
            .iter()
            .filter_map(|definition| match definition {
                Definition::TypeDefinition(t) if !t.name().starts_with("__") => Some((t.name(), t)),
                _ => None,
            })
            .collect()
    }

    /// The directive definitions by name.
    pub fn directives(&self) -> BTreeMap<&str, &DirectiveDefinition> {
        self.document
            .definitions
            .iter()
            .filter_map(|definition| match definition {
                Definition::DirectiveDefinition(d) => Some((d.name.as_str(), d)),
                _ => None,
            })
            .collect()
    }
}

/// The fields of an object or interface type, without introspection's `__schema` and
/// `__type`; none for other kinds.
pub fn fields(definition: &TypeDefinition) -> Vec<&Field> {
    let fields = match definition {
        TypeDefinition::Object(t) => &t.fields,
        TypeDefinition::Interface(t) => &t.fields,
        _ => return Vec::new(),
    };
    fields
        .iter()
        .filter(|field| !field.name.starts_with("__"))
        .collect()
}

/// The description of any type definition.
pub fn description(definition: &TypeDefinition) -> Option<&str> {
    match definition {
        TypeDefinition::Scalar(t) => t.description.as_deref(),
        TypeDefinition::Object(t) => t.description.as_deref(),
        TypeDefinition::Interface(t) => t.description.as_deref(),
        TypeDefinition::Union(t) => t.description.as_deref(),
        TypeDefinition::Enum(t) => t.description.as_deref(),
        TypeDefinition::InputObject(t) => t.description.as_deref(),
    }
}

/// The fields of an input object type; none for other kinds.
pub fn input_fields(definition: &TypeDefinition) -> &[InputValue] {
    match definition {
        TypeDefinition::InputObject(t) => &t.fields,
        _ => &[],
    }
}

/// Object types carrying `@join__type(.., key: ..)`.
fn entities(supergraph: &Document) -> BTreeSet<String> {
    supergraph
        .definitions
        .iter()
        .filter_map(|definition| match definition {
            Definition::TypeDefinition(TypeDefinition::Object(object))
                if object.directives.iter().any(|directive| {
                    directive.name == "join__type"
                        && directive.arguments.iter().any(|(name, _)| name == "key")
                }) =>
            {
                Some(object.name.clone())
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUPERGRAPH: &str = r#"
        schema @link(url: "https://specs.apollo.dev/link/v1.0") { query: Query }
        directive @join__type(graph: join__Graph, key: join__FieldSet) repeatable on OBJECT
        directive @join__field(graph: join__Graph) on FIELD_DEFINITION
        directive @inaccessible on FIELD_DEFINITION
        directive @link(url: String) repeatable on SCHEMA
        scalar join__FieldSet
        enum join__Graph { A @join__graph(name: "a", url: "http://a") }
        type Query @join__type(graph: A) { post: Post secret: Int @inaccessible }
        type Post @join__type(graph: A, key: "id") { id: ID! body: String }
        type PageInfo @join__type(graph: A) { end: String }
    "#;

    #[test]
    fn the_public_schema_drops_federation_internals_and_inaccessible_fields() {
        let api = ApiSchema::from_supergraph(SUPERGRAPH).unwrap();

        let types = api.types();
        assert!(types.contains_key("Post"));
        assert!(!types.contains_key("join__Graph"));
        assert!(!types.keys().any(|name| name.starts_with("__")));
        let query: Vec<&str> = fields(types["Query"])
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(query, ["post"]);
        let directives: Vec<&str> = api.directives().into_keys().collect();
        assert_eq!(
            directives,
            ["deprecated", "include", "oneOf", "skip", "specifiedBy"]
        );
        assert_eq!(api.entities, BTreeSet::from(["Post".to_owned()]));
    }
}
