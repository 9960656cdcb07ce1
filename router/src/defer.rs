//! `@defer`: incremental delivery over `multipart/mixed` (the incremental-delivery RFC as
//! Apollo's clients speak it, `deferSpec=20220824`).
//!
//! The planner does not plan `@defer`, so the router splits the operation itself: the
//! *initial* operation leaves every deferred fragment out, the *full* one keeps them as
//! plain fragments. A query runs both at once; the initial result is sent as soon as it
//! is ready (`hasNext: true`), then each deferred fragment's fields are cut from the full
//! result at the fragment's paths (one entry per object a list holds) and sent as
//! `incremental` entries (`hasNext: false`). The fast part never waits for the slow one;
//! the price is that the fields outside the fragments are fetched twice.
//!
//! A client that does not accept `multipart/mixed`, a mutation (which must not run
//! twice), and streamed transports get the full operation as one response: `@defer` is a
//! hint the server may ignore.

use std::collections::BTreeSet;

use graphql_tools::static_graphql::query::{
    Definition, Directive, Document, OperationDefinition, Selection, SelectionSet, Value,
};
use serde_json::{Map, Value as Json};

use crate::operation::{fragment, root_selection, root_selection_mut};

/// The directive as clients may use it, added to the public schema for validation and
/// introspection.
pub(crate) const DEFER_DIRECTIVE: &str =
    "directive @defer(label: String, if: Boolean! = true) on FRAGMENT_SPREAD | INLINE_FRAGMENT";

/// An operation that uses `@defer`: its parsed document, kept to split per request
/// (whether a fragment is deferred can depend on an `if: $variable`).
pub(crate) struct Deferred {
    document: Document,
    /// Position of the operation in `document.definitions`.
    operation: usize,
}

/// One request's operation split in two, and where the deferred fields go.
pub(crate) struct Split {
    /// The operation without the deferred fragments.
    pub initial: String,
    /// The operation with every fragment inline.
    pub full: String,
    pub fragments: Vec<Fragment>,
}

/// One deferred fragment: where it sits and which response keys it brings.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Fragment {
    pub label: Option<String>,
    /// Response keys from the root to the object the fragment applies to.
    pub path: Vec<String>,
    pub keys: BTreeSet<String>,
}

impl Deferred {
    /// The operation at `operation` if it uses `@defer` anywhere, kept with the
    /// document's fragments (and without its other operations).
    pub fn of(document: &Document, operation: usize) -> Option<Self> {
        let uses_defer = document
            .definitions
            .iter()
            .any(|definition| match definition {
                Definition::Operation(operation) => has_defer(root_selection(operation)),
                Definition::Fragment(fragment) => has_defer(&fragment.selection_set),
            });
        if !uses_defer {
            return None;
        }
        let mut kept = document.clone();
        kept.definitions = document
            .definitions
            .iter()
            .enumerate()
            .filter(|(index, definition)| {
                matches!(definition, Definition::Fragment(_)) || *index == operation
            })
            .map(|(_, definition)| definition.clone())
            .collect();
        Some(Self {
            document: kept,
            operation: kept_index(document, operation),
        })
    }

    /// Splits the operation for a request with `variables`.
    pub fn split(&self, variables: &Map<String, Json>) -> Split {
        let mut fragments = Vec::new();
        if let Some(Definition::Operation(operation)) =
            self.document.definitions.get(self.operation)
        {
            collect(
                &self.document,
                root_selection(operation),
                &mut Vec::new(),
                variables,
                &mut fragments,
            );
        }
        let mut full = self.document.clone();
        for_each_selection_set(&mut full, &mut |set| strip_defer(set));
        let mut initial = self.document.clone();
        for_each_selection_set(&mut initial, &mut |set| drop_deferred(set, variables));
        remove_unused(&mut initial);
        Split {
            initial: initial.to_string(),
            full: full.to_string(),
            fragments,
        }
    }
}

/// The initial payload: the initial operation's response with `hasNext: true`.
pub(crate) fn with_has_next(mut body: Vec<u8>) -> Vec<u8> {
    if body.last() == Some(&b'}') {
        body.pop();
        body.extend_from_slice(br#","hasNext":true}"#);
    }
    body
}

/// The last payload: the deferred fragments cut from the full operation's response
/// body, each with the errors under its path; errors under no fragment's path are
/// listed beside them.
pub(crate) fn subsequent(full: &[u8], fragments: &[Fragment]) -> Vec<u8> {
    let mut payload = Map::new();
    if let Ok(Json::Object(mut full)) = serde_json::from_slice::<Json>(full) {
        let data = full.remove("data").unwrap_or(Json::Null);
        let mut entries = incremental(&data, fragments);
        let mut unplaced = Vec::new();
        if let Some(Json::Array(errors)) = full.remove("errors") {
            for error in errors {
                let owner = entries.iter_mut().find(|entry| {
                    let (Some(Json::Array(at)), Some(Json::Array(path))) =
                        (entry.get("path"), error.get("path"))
                    else {
                        return false;
                    };
                    path.starts_with(at)
                        && path
                            .get(at.len())
                            .and_then(Json::as_str)
                            .is_some_and(|key| entry["data"].get(key).is_some())
                });
                match owner.and_then(Json::as_object_mut) {
                    Some(entry) => match entry
                        .entry("errors")
                        .or_insert_with(|| Json::Array(Vec::new()))
                    {
                        Json::Array(owned) => owned.push(error),
                        _ => unplaced.push(error),
                    },
                    None => unplaced.push(error),
                }
            }
        }
        payload.insert("incremental".to_owned(), Json::Array(entries));
        if !unplaced.is_empty() {
            payload.insert("errors".to_owned(), Json::Array(unplaced));
        }
    }
    payload.insert("hasNext".to_owned(), Json::Bool(false));
    serde_json::to_vec(&Json::Object(payload)).unwrap_or_else(|_| br#"{"hasNext":false}"#.to_vec())
}

/// Where the operation at `operation` lands once the other operations are removed.
fn kept_index(document: &Document, operation: usize) -> usize {
    document.definitions[..operation]
        .iter()
        .filter(|definition| matches!(definition, Definition::Fragment(_)))
        .count()
}

/// The `incremental` entries of the deferred fragments, cut from the full result's
/// `data`; fragments whose objects are missing (nulled by an error) are left out.
pub(crate) fn incremental(data: &Json, fragments: &[Fragment]) -> Vec<Json> {
    let mut entries = Vec::new();
    for fragment in fragments {
        let mut found = Vec::new();
        objects_at(data, &fragment.path, &mut Vec::new(), &mut found);
        for (path, object) in found {
            let fields: Map<String, Json> = object
                .iter()
                .filter(|(key, _)| fragment.keys.contains(*key))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect();
            if fields.is_empty() {
                continue; // an object of another type than the fragment's condition
            }
            let mut entry = Map::new();
            entry.insert("data".to_owned(), Json::Object(fields));
            entry.insert("path".to_owned(), Json::Array(path));
            if let Some(label) = &fragment.label {
                entry.insert("label".to_owned(), Json::from(label.as_str()));
            }
            entries.push(Json::Object(entry));
        }
    }
    entries
}

/// Every object at `path` (lists walked item by item), with its concrete path.
fn objects_at<'a>(
    value: &'a Json,
    path: &[String],
    at: &mut Vec<Json>,
    out: &mut Vec<(Vec<Json>, &'a Map<String, Json>)>,
) {
    match value {
        Json::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                at.push(Json::from(index));
                objects_at(item, path, at, out);
                at.pop();
            }
        }
        Json::Object(object) => match path.split_first() {
            None => out.push((at.clone(), object)),
            Some((key, rest)) => {
                if let Some(value) = object.get(key) {
                    at.push(Json::from(key.as_str()));
                    objects_at(value, rest, at, out);
                    at.pop();
                }
            }
        },
        _ => {}
    }
}

/// Whether a selection set uses `@defer` anywhere below it.
fn has_defer(set: &SelectionSet) -> bool {
    set.items.iter().any(|item| match item {
        Selection::Field(field) => has_defer(&field.selection_set),
        Selection::InlineFragment(fragment) => {
            defer_directive(&fragment.directives).is_some() || has_defer(&fragment.selection_set)
        }
        Selection::FragmentSpread(spread) => defer_directive(&spread.directives).is_some(),
    })
}

fn defer_directive(directives: &[Directive]) -> Option<&Directive> {
    directives
        .iter()
        .find(|directive| directive.name == "defer")
}

/// Whether `directives` defer their fragment for these variables (`if` absent, true,
/// or a variable that is not false).
fn is_deferred(directives: &[Directive], variables: &Map<String, Json>) -> bool {
    let Some(defer) = defer_directive(directives) else {
        return false;
    };
    match defer.arguments.iter().find(|(name, _)| name == "if") {
        None => true,
        Some((_, Value::Boolean(active))) => *active,
        Some((_, Value::Variable(name))) => variables.get(name) != Some(&Json::Bool(false)),
        Some(_) => true,
    }
}

fn label(directives: &[Directive]) -> Option<String> {
    defer_directive(directives)?
        .arguments
        .iter()
        .find_map(|(name, value)| match (name.as_str(), value) {
            ("label", Value::String(label)) => Some(label.clone()),
            _ => None,
        })
}

/// Records the deferred fragments under `set`, whose objects sit at `path`.
fn collect(
    document: &Document,
    set: &SelectionSet,
    path: &mut Vec<String>,
    variables: &Map<String, Json>,
    out: &mut Vec<Fragment>,
) {
    for item in &set.items {
        match item {
            Selection::Field(field) => {
                path.push(field.alias.clone().unwrap_or_else(|| field.name.clone()));
                collect(document, &field.selection_set, path, variables, out);
                path.pop();
            }
            Selection::InlineFragment(fragment) if is_deferred(&fragment.directives, variables) => {
                out.push(Fragment {
                    label: label(&fragment.directives),
                    path: path.clone(),
                    keys: response_keys(document, &fragment.selection_set),
                });
            }
            Selection::InlineFragment(fragment) => {
                collect(document, &fragment.selection_set, path, variables, out);
            }
            Selection::FragmentSpread(spread) => {
                let Some(definition) = fragment(document, &spread.fragment_name) else {
                    continue;
                };
                if is_deferred(&spread.directives, variables) {
                    out.push(Fragment {
                        label: label(&spread.directives),
                        path: path.clone(),
                        keys: response_keys(document, &definition.selection_set),
                    });
                } else {
                    collect(document, &definition.selection_set, path, variables, out);
                }
            }
        }
    }
}

/// The response keys a selection set puts on its object, through fragments.
fn response_keys(document: &Document, set: &SelectionSet) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for item in &set.items {
        match item {
            Selection::Field(field) => {
                keys.insert(field.alias.clone().unwrap_or_else(|| field.name.clone()));
            }
            Selection::InlineFragment(fragment) => {
                keys.extend(response_keys(document, &fragment.selection_set));
            }
            Selection::FragmentSpread(spread) => {
                if let Some(definition) = fragment(document, &spread.fragment_name) {
                    keys.extend(response_keys(document, &definition.selection_set));
                }
            }
        }
    }
    keys
}

/// Calls `edit` on every selection set of the document, innermost first.
fn for_each_selection_set(document: &mut Document, edit: &mut impl FnMut(&mut SelectionSet)) {
    fn walk(set: &mut SelectionSet, edit: &mut impl FnMut(&mut SelectionSet)) {
        for item in &mut set.items {
            match item {
                Selection::Field(field) => walk(&mut field.selection_set, edit),
                Selection::InlineFragment(fragment) => walk(&mut fragment.selection_set, edit),
                Selection::FragmentSpread(_) => {}
            }
        }
        edit(set);
    }
    for definition in &mut document.definitions {
        match definition {
            Definition::Operation(operation) => walk(root_selection_mut(operation), edit),
            Definition::Fragment(fragment) => walk(&mut fragment.selection_set, edit),
        }
    }
}

/// Removes `@defer` from the fragments of `set`, keeping the fragments.
fn strip_defer(set: &mut SelectionSet) {
    for item in &mut set.items {
        match item {
            Selection::InlineFragment(fragment) => {
                fragment
                    .directives
                    .retain(|directive| directive.name != "defer");
            }
            Selection::FragmentSpread(spread) => {
                spread
                    .directives
                    .retain(|directive| directive.name != "defer");
            }
            Selection::Field(_) => {}
        }
    }
}

/// Removes the deferred fragments of `set` (and `@defer` from the others); a set left
/// empty selects `__typename`, since GraphQL has no empty selections.
fn drop_deferred(set: &mut SelectionSet, variables: &Map<String, Json>) {
    let had_items = !set.items.is_empty();
    set.items.retain(|item| match item {
        Selection::InlineFragment(fragment) => !is_deferred(&fragment.directives, variables),
        Selection::FragmentSpread(spread) => !is_deferred(&spread.directives, variables),
        Selection::Field(_) => true,
    });
    strip_defer(set);
    if had_items && set.items.is_empty() {
        set.items.push(Selection::Field(
            graphql_tools::static_graphql::query::Field {
                position: set.span.0,
                alias: None,
                name: "__typename".to_owned(),
                arguments: Vec::new(),
                directives: Vec::new(),
                selection_set: SelectionSet {
                    span: set.span,
                    items: Vec::new(),
                },
            },
        ));
    }
}

/// Drops what the initial operation no longer uses, which validation would refuse:
/// fragments no longer spread and variables no longer read.
fn remove_unused(document: &mut Document) {
    loop {
        let spread = spread_names(document);
        let before = document.definitions.len();
        document.definitions.retain(|definition| match definition {
            Definition::Fragment(fragment) => spread.contains(&fragment.name),
            Definition::Operation(_) => true,
        });
        if document.definitions.len() == before {
            break;
        }
    }
    let used = variable_names(document);
    for definition in &mut document.definitions {
        if let Definition::Operation(operation) = definition {
            let definitions = match operation {
                OperationDefinition::Query(query) => &mut query.variable_definitions,
                OperationDefinition::Mutation(mutation) => &mut mutation.variable_definitions,
                OperationDefinition::Subscription(subscription) => {
                    &mut subscription.variable_definitions
                }
                OperationDefinition::SelectionSet(_) => continue,
            };
            definitions.retain(|variable| used.contains(&variable.name));
        }
    }
}

/// Names of the fragments spread anywhere in the document.
fn spread_names(document: &Document) -> BTreeSet<String> {
    fn walk(set: &SelectionSet, out: &mut BTreeSet<String>) {
        for item in &set.items {
            match item {
                Selection::Field(field) => walk(&field.selection_set, out),
                Selection::InlineFragment(fragment) => walk(&fragment.selection_set, out),
                Selection::FragmentSpread(spread) => {
                    out.insert(spread.fragment_name.clone());
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    for definition in &document.definitions {
        match definition {
            Definition::Operation(operation) => walk(root_selection(operation), &mut out),
            Definition::Fragment(fragment) => walk(&fragment.selection_set, &mut out),
        }
    }
    out
}

/// Names of the variables read anywhere in the document's selections.
fn variable_names(document: &Document) -> BTreeSet<String> {
    fn value(read: &Value, out: &mut BTreeSet<String>) {
        match read {
            Value::Variable(name) => {
                out.insert(name.clone());
            }
            Value::List(items) => items.iter().for_each(|item| value(item, out)),
            Value::Object(fields) => fields.iter().for_each(|(_, item)| value(item, out)),
            _ => {}
        }
    }
    fn directives(directives: &[Directive], out: &mut BTreeSet<String>) {
        for directive in directives {
            directive.arguments.iter().for_each(|(_, v)| value(v, out));
        }
    }
    fn walk(set: &SelectionSet, out: &mut BTreeSet<String>) {
        for item in &set.items {
            match item {
                Selection::Field(field) => {
                    field.arguments.iter().for_each(|(_, v)| value(v, out));
                    directives(&field.directives, out);
                    walk(&field.selection_set, out);
                }
                Selection::InlineFragment(fragment) => {
                    directives(&fragment.directives, out);
                    walk(&fragment.selection_set, out);
                }
                Selection::FragmentSpread(spread) => directives(&spread.directives, out),
            }
        }
    }
    let mut out = BTreeSet::new();
    for definition in &document.definitions {
        match definition {
            Definition::Operation(operation) => walk(root_selection(operation), &mut out),
            Definition::Fragment(fragment) => walk(&fragment.selection_set, &mut out),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn split(query: &str, variables: Json) -> Split {
        let document = graphql_tools::parser::parse_query::<String>(query)
            .unwrap()
            .into_static();
        let deferred = Deferred::of(&document, 0).expect("uses @defer");
        deferred.split(variables.as_object().unwrap())
    }

    fn normalized(text: &str) -> String {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn a_deferred_fragment_leaves_the_initial_operation_and_stays_in_the_full_one() {
        let split = split(
            "query($id: ID!) { me { handle ... @defer(label: \"bio\") { bio posts(id: $id) { id } } } }",
            json!({}),
        );

        assert_eq!(normalized(&split.initial), "query { me { handle } }");
        assert_eq!(
            normalized(&split.full),
            "query($id: ID!) { me { handle ... { bio posts(id: $id) { id } } } }"
        );
        assert_eq!(
            split.fragments,
            [Fragment {
                label: Some("bio".to_owned()),
                path: vec!["me".to_owned()],
                keys: BTreeSet::from(["bio".to_owned(), "posts".to_owned()]),
            }]
        );
    }

    #[test]
    fn deferred_spreads_drop_their_fragment_and_empty_sets_select_typename() {
        let split = split(
            "{ me { ...Slow @defer } } fragment Slow on User { bio }",
            json!({}),
        );

        assert_eq!(normalized(&split.initial), "{ me { __typename } }");
        assert!(
            normalized(&split.full).contains("me { ...Slow }"),
            "{}",
            split.full
        );
        assert_eq!(split.fragments[0].keys, BTreeSet::from(["bio".to_owned()]));
    }

    #[test]
    fn if_false_does_not_defer() {
        let split = split(
            "query($later: Boolean!) { me { ... @defer(if: $later) { bio } } }",
            json!({ "later": false }),
        );

        assert!(split.fragments.is_empty());
        assert!(
            normalized(&split.initial).contains("bio"),
            "{}",
            split.initial
        );
    }

    #[test]
    fn incremental_entries_follow_lists_and_skip_missing_objects() {
        let fragments = [Fragment {
            label: None,
            path: vec!["posts".to_owned(), "author".to_owned()],
            keys: BTreeSet::from(["bio".to_owned()]),
        }];
        let data = json!({ "posts": [
            { "author": { "handle": "ada", "bio": "maths" } },
            { "author": null },
            { "author": { "handle": "grace", "bio": "ships" } },
        ] });

        assert_eq!(
            incremental(&data, &fragments),
            [
                json!({ "data": { "bio": "maths" }, "path": ["posts", 0, "author"] }),
                json!({ "data": { "bio": "ships" }, "path": ["posts", 2, "author"] }),
            ]
        );
    }
}
