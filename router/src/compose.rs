//! Composition: subgraph SDLs in, an Apollo-style `join__` supergraph SDL out.
//!
//! `graphql-composition` does the real work. Its rendering leaves the root operation
//! types (`Query`, `Mutation`, `Subscription`) without `@join__type`, and the query
//! planner only enters a subgraph through a root type that names it, so a small
//! post-pass adds `@join__type(graph: X)` for every graph that contributes root fields.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};

use graphql_tools::parser::schema::{Definition, Document, ObjectType, TypeDefinition};
use graphql_tools::parser::{self, Pos};

use crate::error::panic_message;

/// One subgraph to compose: its name (as the router will know it), where it is served,
/// and its federation SDL.
#[derive(Debug, Clone)]
pub struct SubgraphSdl {
    /// The subgraph's name, for example `identity`; it becomes the `join__Graph` value's
    /// `name:` argument, which is what `RouterConfig::subgraph_urls` is keyed by.
    pub name: String,
    /// The routing URL written into the supergraph.
    pub url: String,
    /// The subgraph's SDL as exported with federation directives.
    pub sdl: String,
}

/// Composes subgraphs into a supergraph SDL the router can serve.
///
/// Returns every composition diagnostic (errors first, then warnings) when composition
/// fails; warnings alone do not fail it. `graphql-composition` panics on some invalid
/// inputs (a field of an undefined type, for one); such a panic is caught and returned
/// as an error too.
pub fn compose(subgraphs: &[SubgraphSdl]) -> Result<String, Vec<String>> {
    catch_unwind(AssertUnwindSafe(|| compose_unguarded(subgraphs))).unwrap_or_else(|panic| {
        Err(vec![format!(
            "composition failed: {}",
            panic_message(panic.as_ref())
        )])
    })
}

fn compose_unguarded(subgraphs: &[SubgraphSdl]) -> Result<String, Vec<String>> {
    let mut ingested = graphql_composition::Subgraphs::default();
    let mut ingest_errors = Vec::new();
    for subgraph in subgraphs {
        if let Err(error) = ingested.ingest_str(&subgraph.sdl, &subgraph.name, Some(&subgraph.url))
        {
            ingest_errors.push(format!("subgraph `{}`: {error}", subgraph.name));
        }
    }
    if !ingest_errors.is_empty() {
        return Err(ingest_errors);
    }

    let federated = graphql_composition::compose(&mut ingested)
        .into_result()
        .map_err(|diagnostics| {
            diagnostics
                .iter_errors()
                .chain(diagnostics.iter_warnings())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })?;
    let sdl = graphql_composition::render_federated_sdl(&federated)
        .map_err(|error| vec![format!("rendering the supergraph failed: {error}")])?;
    add_root_join_types(&sdl).map_err(|error| vec![error])
}

/// Adds `@join__type(graph: X)` to each root operation type for every graph that
/// resolves one of its fields, unless the type already carries `@join__type`.
fn add_root_join_types(sdl: &str) -> Result<String, String> {
    let document = parser::parse_schema::<String>(sdl)
        .map_err(|error| format!("the composed supergraph does not parse: {error}"))?;
    let all_graphs = join_graph_values(&document);
    let root_names = root_type_names(&document);

    // Insertions keyed by (line, column) of the type keyword, applied bottom-up so
    // earlier positions stay valid.
    let mut insertions: BTreeMap<(usize, usize), (String, String)> = BTreeMap::new();
    for definition in &document.definitions {
        let Definition::TypeDefinition(TypeDefinition::Object(object)) = definition else {
            continue;
        };
        if !root_names.contains(object.name.as_str())
            || object.directives.iter().any(|d| d.name == "join__type")
        {
            continue;
        }
        let graphs = graphs_resolving_fields(object, &all_graphs);
        if graphs.is_empty() {
            continue;
        }
        let directives = graphs
            .iter()
            .map(|graph| format!("\n  @join__type(graph: {graph})"))
            .collect::<String>();
        insertions.insert(
            position_key(object.position),
            (object.name.clone(), directives),
        );
    }

    let mut lines: Vec<String> = sdl.lines().map(str::to_owned).collect();
    for ((line, column), (name, directives)) in insertions.into_iter().rev() {
        let text = lines
            .get_mut(line.saturating_sub(1))
            .ok_or_else(|| format!("root type `{name}` is not where the parser saw it"))?;
        let start = column.saturating_sub(1);
        let keyword = "type ";
        let name_end = text
            .get(start..)
            .and_then(|rest| rest.strip_prefix(keyword))
            .filter(|rest| rest.starts_with(name.as_str()))
            .map(|_| start + keyword.len() + name.len())
            .ok_or_else(|| format!("root type `{name}` is not where the parser saw it"))?;
        text.insert_str(name_end, &directives);
    }
    let mut out = lines.join("\n");
    out.push('\n');
    Ok(out)
}

fn position_key(pos: Pos) -> (usize, usize) {
    (pos.line, pos.column)
}

/// The `join__Graph` enum values, for example `IDENTITY`.
fn join_graph_values(document: &Document<'_, String>) -> Vec<String> {
    document
        .definitions
        .iter()
        .find_map(|definition| match definition {
            Definition::TypeDefinition(TypeDefinition::Enum(e)) if e.name == "join__Graph" => {
                Some(e.values.iter().map(|v| v.name.clone()).collect())
            }
            _ => None,
        })
        .unwrap_or_default()
}

/// The names of the root operation types, honouring a `schema { .. }` block.
fn root_type_names(document: &Document<'_, String>) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = ["Query", "Mutation", "Subscription"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    for definition in &document.definitions {
        if let Definition::SchemaDefinition(schema) = definition {
            names.extend(
                [&schema.query, &schema.mutation, &schema.subscription]
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
        }
    }
    names
}

/// Graphs named by the fields' `@join__field(graph:)`; a field without one is resolvable
/// by every graph.
fn graphs_resolving_fields(
    object: &ObjectType<'_, String>,
    all_graphs: &[String],
) -> BTreeSet<String> {
    let mut graphs = BTreeSet::new();
    for field in &object.fields {
        let mut named = false;
        for directive in field.directives.iter().filter(|d| d.name == "join__field") {
            for (argument, value) in &directive.arguments {
                if argument == "graph"
                    && let parser::schema::Value::Enum(graph) = value
                {
                    graphs.insert(graph.clone());
                    named = true;
                }
            }
        }
        if !named {
            graphs.extend(all_graphs.iter().cloned());
        }
    }
    graphs
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::plan::{OverrideDraw, QueryPlanner};

    const IDENTITY: &str = r#"
        extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
        type Query { me: User }
        type User @key(fields: "id") { id: ID! handle: String! }
    "#;

    const PROFILES: &str = r#"
        extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
        type User @key(fields: "id") { id: ID! displayName: String }
    "#;

    const CONTENT: &str = r#"
        extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
        type Query { posts: [Post!]! }
        type Mutation { createPost(title: String!): Post! }
        type Post @key(fields: "id") { id: ID! title: String! author: User! }
        type User @key(fields: "id") { id: ID! }
    "#;

    fn subgraphs() -> Vec<SubgraphSdl> {
        [
            ("identity", IDENTITY),
            ("profiles", PROFILES),
            ("content", CONTENT),
        ]
        .into_iter()
        .map(|(name, sdl)| SubgraphSdl {
            name: name.to_owned(),
            url: format!("http://{name}:4000/graphql"),
            sdl: sdl.to_owned(),
        })
        .collect()
    }

    #[test]
    fn root_types_name_every_graph_that_contributes_fields() {
        let supergraph = compose(&subgraphs()).expect("composes");

        let golden = include_str!("../tests/fixtures/three-subgraphs.supergraph.graphql");
        assert_eq!(supergraph, golden);
    }

    #[test]
    fn the_composed_supergraph_plans_an_operation_across_subgraphs() {
        let supergraph = compose(&subgraphs()).expect("composes");
        let planner =
            QueryPlanner::new(&supergraph, HashSet::new()).expect("the planner accepts it");
        let document = graphql_tools::parser::parse_query::<String>(
            "{ me { handle displayName } posts { title author { handle } } }",
        )
        .expect("parses")
        .into_static();

        let (_, plan) = planner
            .plan(&document, None, OverrideDraw::default())
            .expect("plans");

        let plan = plan.to_string();
        for expected in [
            r#"Fetch(service: "identity")"#,
            r#"Fetch(service: "profiles")"#,
            r#"Fetch(service: "content")"#,
            r#"Flatten(path: "me")"#,
        ] {
            assert!(plan.contains(expected), "{expected} missing from {plan}");
        }
    }

    #[test]
    fn composition_errors_are_returned_as_messages() {
        let broken = SubgraphSdl {
            name: "broken".to_owned(),
            url: "http://broken".to_owned(),
            sdl: "type Query { me: Missing }".to_owned(),
        };

        let errors = compose(&[broken]).expect_err("does not compose");

        assert!(!errors.is_empty());
    }
}
