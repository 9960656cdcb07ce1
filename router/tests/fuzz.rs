//! Fuzzing the request pipeline up to execution (token count, parse, limits, validation,
//! planning, the prepared-operation cache, variable coercion) through
//! [`agora_router::DryRun`], with `proptest` (`cargo fuzz` needs a nightly toolchain).
//!
//! Four inputs: arbitrary bytes and unicode; soups of GraphQL tokens, which reach deeper
//! into the parser than random text; and documents shaped by a supergraph's real types
//! and fields (selections, aliases, arguments, variables, directives, inline fragments,
//! named fragments, nesting past the depth limit, a few textual mutations), sent with
//! arbitrary JSON variables, over the test graph and over Agora's own supergraph.
//!
//! The property: the pipeline never panics (not even a panic it catches itself, as it
//! does around the planner) and answers with a plan or with errors that all carry an
//! `extensions.code`. Each test runs 256 cases unless `PROPTEST_CASES` says otherwise,
//! and prints how many executions it made and what they answered:
//!
//! ```text
//! PROPTEST_CASES=200000 cargo test --release -p agora-router --test fuzz -- --nocapture
//! ```

mod helpers;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use agora_router::{DryRun, RouterConfig, compose};
use graphql_tools::parser::schema::{Definition, Type, TypeDefinition};
use helpers::TestGraph;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};

/// Agora's composed supergraph, as `agora compose` writes it.
const AGORA_SUPERGRAPH: &str = include_str!("../../supergraph.graphql");

/// Variable names the documents declare and the variables maps use, so that they meet.
const VARIABLE_NAMES: [&str; 8] = [
    "id", "first", "after", "input", "flag", "term", "handle", "v",
];

#[test]
fn arbitrary_bytes_and_unicode_are_answered_with_a_code() {
    let documents = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512)
            .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
        any::<String>(),
        "\\PC{0,256}",
    ];
    let strategy = (documents, option_name(), variables());
    Fuzz::new("bytes and unicode", test_graph()).run(strategy);
}

#[test]
fn soups_of_graphql_tokens_are_answered_with_a_code() {
    let strategy = (token_soup(), option_name(), variables());
    Fuzz::new("token soup", test_graph()).run(strategy);
}

#[test]
fn documents_shaped_by_the_test_graph_are_answered_with_a_plan_or_a_code() {
    let dry_run = test_graph();
    let model = Arc::new(Model::new(&helpers_supergraph()));
    let strategy = shaped_request(model);
    Fuzz::new("test graph documents", dry_run).run(strategy);
}

#[test]
fn documents_shaped_by_agoras_supergraph_are_answered_with_a_plan_or_a_code() {
    let dry_run = DryRun::new(&router_config(AGORA_SUPERGRAPH)).expect("the planner starts");
    let model = Arc::new(Model::new(AGORA_SUPERGRAPH));
    let strategy = shaped_request(model);
    Fuzz::new("Agora supergraph documents", dry_run).run(strategy);
}

// ---- what the fuzzer found, end to end ------------------------------------------------

#[tokio::test]
async fn a_fragment_cycle_two_fields_deep_is_refused_and_the_router_lives_on() {
    let graph = helpers::spawn().await;
    // Without the router's own cycle check this overflowed the stack in validation,
    // which aborts the whole process.
    let cycle = "{ me { ...F } } fragment F on User { \
        posts { author { posts { author { ...F } } } } ... { posts { author { ...F } } } }";

    let response = graph.post(json!({ "query": cycle }), None).await;

    assert_eq!(response.status, 400);
    assert_eq!(
        TestGraph::error_codes(&response.body),
        ["GRAPHQL_VALIDATION_FAILED"; 2],
        "one error per spread that closes the cycle"
    );
    assert_eq!(
        graph.query("{ me { handle } }").await,
        json!({ "data": { "me": { "handle": "ada" } } })
    );
}

#[tokio::test]
async fn an_operation_whose_root_fields_are_all_skipped_answers_empty_data() {
    let graph = helpers::spawn().await;

    let body = graph
        .query("{ me @skip(if: true) { handle } motd @include(if: false) }")
        .await;

    assert_eq!(body, json!({ "data": {} }));
    assert_eq!(graph.subgraph_requests(), 0);
}

#[tokio::test]
async fn an_unknown_double_underscore_field_is_a_validation_error() {
    let graph = helpers::spawn().await;

    let response = graph
        .post(json!({ "query": "{ me { __tpename } }" }), None)
        .await;

    assert_eq!(response.status, 400);
    assert_eq!(
        TestGraph::error_codes(&response.body),
        ["GRAPHQL_VALIDATION_FAILED"]
    );
}

// ---- the harness ----------------------------------------------------------------------

fn helpers_supergraph() -> String {
    compose(&helpers::subgraph_sdls()).expect("the test subgraphs compose")
}

fn router_config(supergraph_sdl: &str) -> RouterConfig {
    RouterConfig {
        supergraph_sdl: supergraph_sdl.to_owned(),
        introspection: true,
        ..RouterConfig::default()
    }
}

fn test_graph() -> DryRun {
    DryRun::new(&router_config(&helpers_supergraph())).expect("the planner starts")
}

/// Panics anywhere in the process, caught or not, since the hook was installed.
static PANICS: AtomicU64 = AtomicU64::new(0);

/// Counts every panic before the default hook reports it, so that a panic the router
/// catches (around the planner) still fails the property.
fn count_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            report(info);
        }));
    });
}

/// One fuzzing run over one strategy: the executions counted, outcomes tallied by
/// `extensions.code`, the slowest execution remembered.
struct Fuzz {
    name: &'static str,
    dry_run: DryRun,
    executions: AtomicU64,
    /// Outcome → (count, shortest document that had it).
    outcomes: Mutex<BTreeMap<String, (u64, String)>>,
    slowest: Mutex<(Duration, String)>,
}

impl Fuzz {
    fn new(name: &'static str, dry_run: DryRun) -> Self {
        count_panics();
        Self {
            name,
            dry_run,
            executions: AtomicU64::new(0),
            outcomes: Mutex::new(BTreeMap::new()),
            slowest: Mutex::new((Duration::ZERO, String::new())),
        }
    }

    /// Runs the property for `PROPTEST_CASES` (default 256) cases, prints the tally, and
    /// fails with the shrunk counterexample if there is one.
    fn run(
        &self,
        strategy: impl Strategy<Value = (String, Option<String>, Option<Map<String, Value>>)>,
    ) {
        let mut runner = TestRunner::new(Config {
            failure_persistence: None,
            ..Config::default()
        });
        let started = Instant::now();
        let result = runner.run(&strategy, |(query, operation_name, variables)| {
            self.execute(&query, operation_name.as_deref(), variables)
        });
        let (slowest, slowest_query) = self.slowest.lock().unwrap().clone();
        let outcomes = self.outcomes.lock().unwrap();
        let counts: BTreeMap<&str, u64> = outcomes
            .iter()
            .map(|(outcome, (count, _))| (outcome.as_str(), *count))
            .collect();
        println!(
            "fuzz {}: {} executions in {:.1?}, property held: {}\n  outcomes: {counts:?}\n  slowest: {slowest:.1?} for {:?}",
            self.name,
            self.executions.load(Ordering::SeqCst),
            started.elapsed(),
            result.is_ok(),
            truncate(&slowest_query, 300),
        );
        for (outcome, (_, shortest)) in outcomes.iter() {
            println!("  shortest {outcome}: {:?}", truncate(shortest, 300));
        }
        if let Err(failure) = result {
            panic!("fuzz {}: {failure}", self.name);
        }
    }

    fn execute(
        &self,
        query: &str,
        operation_name: Option<&str>,
        variables: Option<Map<String, Value>>,
    ) -> Result<(), TestCaseError> {
        self.executions.fetch_add(1, Ordering::SeqCst);
        let panics_before = PANICS.load(Ordering::SeqCst);
        let started = Instant::now();
        let outcome = self.dry_run.plan(query, operation_name, variables);
        let elapsed = started.elapsed();
        {
            let mut slowest = self.slowest.lock().unwrap();
            if elapsed > slowest.0 {
                *slowest = (elapsed, query.to_owned());
            }
        }
        prop_assert_eq!(
            PANICS.load(Ordering::SeqCst),
            panics_before,
            "a panic was caught inside the pipeline"
        );
        let tally = match &outcome {
            Ok(plan) if plan.is_empty() => "no fetch".to_owned(),
            Ok(_) => "plan".to_owned(),
            Err(body) => {
                let errors = body["errors"].as_array();
                prop_assert!(
                    errors.is_some_and(|errors| !errors.is_empty()),
                    "a rejection without errors: {body}"
                );
                let codes: Vec<&str> = errors
                    .into_iter()
                    .flatten()
                    .map(|error| error["extensions"]["code"].as_str().unwrap_or(""))
                    .collect();
                prop_assert!(
                    codes.iter().all(|code| !code.is_empty()),
                    "an error without extensions.code: {body}"
                );
                codes[0].to_owned()
            }
        };
        let mut outcomes = self.outcomes.lock().unwrap();
        let (count, shortest) = outcomes
            .entry(tally)
            .or_insert_with(|| (0, query.to_owned()));
        *count += 1;
        if query.len() < shortest.len() {
            *shortest = query.to_owned();
        }
        Ok(())
    }
}

fn truncate(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

// ---- unstructured inputs --------------------------------------------------------------

fn option_name() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        3 => Just(None),
        1 => "[A-Za-z_][A-Za-z0-9_]{0,8}".prop_map(Some),
        1 => any::<String>().prop_map(Some),
    ]
}

/// Arbitrary JSON, nested a few levels.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,16}".prop_map(Value::String),
        proptest::sample::select(&["u1", "p1", "true", "", "null", "0"][..])
            .prop_map(|text| Value::String(text.to_owned())),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(variable_name(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn variable_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(&VARIABLE_NAMES[..]).prop_map(str::to_owned),
        1 => "\\PC{0,8}",
    ]
}

/// A `variables` object, or none.
fn variables() -> impl Strategy<Value = Option<Map<String, Value>>> {
    proptest::option::of(
        proptest::collection::btree_map(variable_name(), json(), 0..5)
            .prop_map(|map| map.into_iter().collect()),
    )
}

/// Sequences of GraphQL tokens: punctuators, keywords, names, values and comments.
fn token_soup() -> impl Strategy<Value = String> {
    const TOKENS: &[&str] = &[
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        ":",
        "=",
        "!",
        "$",
        "@",
        "|",
        "&",
        "...",
        "query",
        "mutation",
        "subscription",
        "fragment",
        "on",
        "true",
        "false",
        "null",
        "me",
        "users",
        "user",
        "posts",
        "search",
        "id",
        "handle",
        "displayName",
        "title",
        "author",
        "User",
        "Post",
        "__typename",
        "__schema",
        "__type",
        "types",
        "name",
        "fields",
        "skip",
        "include",
        "if",
        "defer",
        "ID",
        "String",
        "Int",
        "Boolean",
        "term",
        "\"u1\"",
        "\"\"",
        "\"\"\"block\"\"\"",
        "\"\\u00e9\\n\"",
        "\"\\uD800\"",
        "\"unterminated",
        "0",
        "-1",
        "1.5e3",
        "9999999999999999999999",
        "0x1",
        "#comment\n",
        "\n",
        ",",
        "\u{feff}",
        "\u{0}",
        "é",
    ];
    proptest::collection::vec(proptest::sample::select(TOKENS), 0..160)
        .prop_map(|tokens| tokens.join(" "))
}

// ---- documents shaped by a supergraph -------------------------------------------------

/// A field of an object or interface type.
struct FieldDef {
    name: String,
    arguments: Vec<(String, TypeRef)>,
    /// The field's type with its list and non-null wrappers removed.
    type_name: String,
}

/// A type reference with its wrappers, as argument and variable types need it.
#[derive(Clone)]
enum TypeRef {
    Named(String),
    List(Box<TypeRef>),
    NonNull(Box<TypeRef>),
}

impl TypeRef {
    fn from_ast(ty: &Type<'_, String>) -> Self {
        match ty {
            Type::NamedType(name) => Self::Named(name.clone()),
            Type::ListType(inner) => Self::List(Box::new(Self::from_ast(inner))),
            Type::NonNullType(inner) => Self::NonNull(Box::new(Self::from_ast(inner))),
        }
    }

    fn render(&self) -> String {
        match self {
            Self::Named(name) => name.clone(),
            Self::List(inner) => format!("[{}]", inner.render()),
            Self::NonNull(inner) => format!("{}!", inner.render()),
        }
    }
}

/// The public-looking part of a supergraph: what a document can select and pass.
struct Model {
    /// Object and interface types → their fields.
    composites: BTreeMap<String, Vec<FieldDef>>,
    /// Union and interface types → the object types they may be.
    possible: BTreeMap<String, Vec<String>>,
    enums: BTreeMap<String, Vec<String>>,
    inputs: BTreeMap<String, Vec<(String, TypeRef)>>,
    /// `Query`, `Mutation` and `Subscription` where the supergraph has them.
    roots: Vec<(&'static str, String)>,
    /// Every type name, for type conditions and variable types.
    types: Vec<String>,
}

impl Model {
    fn new(supergraph_sdl: &str) -> Self {
        let document = graphql_tools::parser::parse_schema::<String>(supergraph_sdl)
            .expect("the supergraph parses");
        let mut model = Model {
            composites: BTreeMap::new(),
            possible: BTreeMap::new(),
            enums: BTreeMap::new(),
            inputs: BTreeMap::new(),
            roots: Vec::new(),
            types: Vec::new(),
        };
        let field = |field: &graphql_tools::parser::schema::Field<'_, String>| FieldDef {
            name: field.name.clone(),
            arguments: field
                .arguments
                .iter()
                .map(|argument| {
                    (
                        argument.name.clone(),
                        TypeRef::from_ast(&argument.value_type),
                    )
                })
                .collect(),
            type_name: named(&field.field_type),
        };
        for definition in &document.definitions {
            let Definition::TypeDefinition(definition) = definition else {
                continue;
            };
            match definition {
                TypeDefinition::Object(object) => {
                    model.composites.insert(
                        object.name.clone(),
                        object.fields.iter().map(field).collect(),
                    );
                    for interface in &object.implements_interfaces {
                        model
                            .possible
                            .entry(interface.clone())
                            .or_default()
                            .push(object.name.clone());
                    }
                    model.types.push(object.name.clone());
                }
                TypeDefinition::Interface(interface) => {
                    model.composites.insert(
                        interface.name.clone(),
                        interface.fields.iter().map(field).collect(),
                    );
                    model.types.push(interface.name.clone());
                }
                TypeDefinition::Union(union) => {
                    model
                        .possible
                        .insert(union.name.clone(), union.types.clone());
                    model.types.push(union.name.clone());
                }
                TypeDefinition::Enum(enumeration) => {
                    model.enums.insert(
                        enumeration.name.clone(),
                        enumeration
                            .values
                            .iter()
                            .map(|value| value.name.clone())
                            .collect(),
                    );
                    model.types.push(enumeration.name.clone());
                }
                TypeDefinition::InputObject(input) => {
                    model.inputs.insert(
                        input.name.clone(),
                        input
                            .fields
                            .iter()
                            .map(|field| (field.name.clone(), TypeRef::from_ast(&field.value_type)))
                            .collect(),
                    );
                    model.types.push(input.name.clone());
                }
                TypeDefinition::Scalar(scalar) => model.types.push(scalar.name.clone()),
            }
        }
        for (keyword, root) in [
            ("query", "Query"),
            ("mutation", "Mutation"),
            ("subscription", "Subscription"),
        ] {
            if model.composites.contains_key(root) {
                model.roots.push((keyword, root.to_owned()));
            }
        }
        model
            .types
            .extend(["String", "Int", "Float", "Boolean", "ID", "Nope"].map(str::to_owned));
        model
    }
}

fn named(ty: &Type<'_, String>) -> String {
    match ty {
        Type::NamedType(name) => name.clone(),
        Type::ListType(inner) | Type::NonNullType(inner) => named(inner),
    }
}

/// Random choices read from a tape, so that proptest shrinks a document by shrinking
/// the tape: an exhausted tape answers 0, and choice 0 is always the simplest.
struct Tape {
    choices: Vec<u32>,
    next: usize,
}

impl Tape {
    /// A choice in `0..n` (0 when `n` is 0 or the tape is spent).
    fn pick(&mut self, n: usize) -> usize {
        let choice = self.choices.get(self.next).copied().unwrap_or(0);
        self.next += 1;
        if n == 0 { 0 } else { choice as usize % n }
    }

    /// True with probability about `percent`%, false once the tape is spent.
    fn chance(&mut self, percent: usize) -> bool {
        self.pick(100) >= 100 - percent
    }

    fn select<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        let index = self.pick(items.len());
        items.get(index)
    }
}

/// Writes one document from a tape. Most documents are written "clean" (they should
/// validate, so the planner sees them); the rest are "chaotic": unknown fields,
/// wrong types, undeclared variables, fragment cycles, stray directives.
struct Writer<'a> {
    model: &'a Model,
    tape: Tape,
    chaos: bool,
    /// How deep fields may nest in this document; sometimes past the limit (15).
    max_depth: usize,
    /// Fragment names and their type conditions, chosen before anything is written.
    fragments: Vec<(String, String)>,
    /// Which fragments were spread, so that a clean document defines only those.
    spread: Vec<bool>,
    /// While writing a fragment, the first fragment it may spread (later ones only,
    /// so that clean documents have no cycles).
    spreadable_from: usize,
    /// Variables of the operation being written, with their types.
    declared: Vec<(String, String)>,
    aliases: usize,
}

impl Writer<'_> {
    fn document(mut self) -> (String, Option<String>) {
        self.max_depth = 3 + self.tape.pick(15);
        let fragment_count = self.tape.pick(4);
        for i in 0..fragment_count {
            let on = if self.chaotic(20) {
                self.any_type()
            } else {
                self.composite_type()
            };
            self.fragments.push((format!("F{i}"), on));
        }
        self.spread = vec![false; fragment_count];

        let mut out = String::new();
        let operation_count = 1 + usize::from(self.tape.chance(20));
        let mut names = Vec::new();
        for i in 0..operation_count {
            let (text, name) = self.operation(i, operation_count);
            out.push_str(&text);
            names.extend(name);
        }
        for i in 0..fragment_count {
            if !self.spread[i] && !self.chaotic(50) {
                continue;
            }
            let (name, on) = self.fragments[i].clone();
            self.spreadable_from = i + 1;
            self.declared.clear();
            let _ = write!(out, "\nfragment {name} on {on}");
            let mut body = String::new();
            self.directives(&mut body, "FRAGMENT_DEFINITION");
            self.selection_set(&mut body, &on, 1);
            out.push_str(&body);
        }
        let operation_name = match self.tape.pick(8) {
            _ if self.chaotic(10) => Some("Unknown".to_owned()),
            0..=3 if names.len() == 1 => None,
            _ => self.tape.select(&names).cloned(),
        };
        if self.chaotic(25) {
            mutate(&mut self.tape, &mut out);
        }
        (out, operation_name)
    }

    /// True with probability about `percent`% in a chaotic document, never in a clean one.
    fn chaotic(&mut self, percent: usize) -> bool {
        self.chaos && self.tape.chance(percent)
    }

    /// One operation's text and its name, if it has one.
    fn operation(&mut self, index: usize, count: usize) -> (String, Option<String>) {
        self.declared.clear();
        self.spreadable_from = 0;
        let (keyword, root) = if self.chaotic(10) {
            match self.tape.pick(2) {
                0 => ("subscription", "Query".to_owned()),
                _ => ("mutation", "Mutation".to_owned()),
            }
        } else {
            // Queries mostly: mutations plan as a sequence and are less varied.
            let root = match self.tape.pick(5) {
                0 => self.tape.select(&self.model.roots).cloned(),
                _ => None,
            };
            root.unwrap_or(("query", "Query".to_owned()))
        };
        let shorthand = count == 1 && keyword == "query" && self.tape.chance(30);
        let name = (!shorthand && (count > 1 || self.tape.chance(70) || self.chaotic(50)))
            .then(|| format!("Op{index}"));

        let mut body = String::new();
        self.directives(&mut body, "QUERY");
        self.selection_set(&mut body, &root, 1);
        if self.chaotic(30) {
            let name = VARIABLE_NAMES[self.tape.pick(VARIABLE_NAMES.len())];
            let ty = self.any_type();
            let ty = if self.tape.chance(50) {
                format!("{ty}!")
            } else {
                ty
            };
            self.declared.push((name.to_owned(), ty));
        }

        let mut out = String::from("\n");
        if !shorthand {
            out.push_str(keyword);
            if let Some(name) = &name {
                let _ = write!(out, " {name}");
            }
            if !self.declared.is_empty() {
                out.push('(');
                for (name, ty) in self.declared.clone() {
                    let _ = write!(out, "${name}: {ty}");
                    if self.tape.chance(15) {
                        out.push_str(" = ");
                        let default = parse_type(&ty);
                        self.value(&mut out, &default, 0, false);
                    }
                    out.push(' ');
                }
                out.push(')');
            }
        }
        out.push_str(&body);
        (out, name)
    }

    fn composite_type(&mut self) -> String {
        let names: Vec<&String> = self
            .model
            .composites
            .keys()
            .chain(self.model.possible.keys())
            .collect();
        self.tape
            .select(&names)
            .map(|name| (*name).clone())
            .unwrap_or_else(|| "Query".to_owned())
    }

    fn any_type(&mut self) -> String {
        self.tape
            .select(&self.model.types)
            .cloned()
            .unwrap_or_else(|| "Query".to_owned())
    }

    /// `{ ... }` on `type_name`.
    fn selection_set(&mut self, out: &mut String, type_name: &str, depth: usize) {
        out.push_str(" {");
        if self.chaotic(5) {
            out.push_str(" }");
            return;
        }
        let count = 1 + self.tape.pick(if depth == 1 { 3 } else { 4 });
        let mut keys = Vec::new();
        for _ in 0..count {
            self.selection(out, type_name, depth, &mut keys);
        }
        out.push_str(" }");
    }

    /// One selection; `keys` are the response keys already used in this set, which a
    /// clean document does not repeat.
    fn selection(
        &mut self,
        out: &mut String,
        type_name: &str,
        depth: usize,
        keys: &mut Vec<String>,
    ) {
        let possible = self
            .model
            .possible
            .get(type_name)
            .cloned()
            .unwrap_or_default();
        match self.tape.pick(20) {
            0..=13 => self.field(out, type_name, depth, keys),
            14 => out.push_str(" __typename"),
            15 | 16 => {
                let on = match self.tape.pick(4) {
                    _ if self.chaotic(30) => Some(self.composite_type()),
                    0 => None,
                    1 => Some(type_name.to_owned()),
                    _ => Some(
                        self.tape
                            .select(&possible)
                            .cloned()
                            .unwrap_or_else(|| type_name.to_owned()),
                    ),
                };
                out.push_str(" ...");
                if let Some(on) = &on {
                    let _ = write!(out, " on {on}");
                }
                self.directives(out, "INLINE_FRAGMENT");
                // Keys inside the fragment may overlap with the parent's; a clean
                // document avoids most of it by giving the fragment the same key list.
                out.push_str(" {");
                let on = on.as_deref().unwrap_or(type_name).to_owned();
                let count = 1 + self.tape.pick(3);
                for _ in 0..count {
                    self.selection(out, &on, depth, keys);
                }
                out.push_str(" }");
            }
            17 | 18 => {
                let candidates: Vec<usize> = (0..self.fragments.len())
                    .filter(|&i| {
                        self.chaos
                            || (i >= self.spreadable_from && self.fragments[i].1 == type_name)
                    })
                    .collect();
                match self.tape.select(&candidates).copied() {
                    Some(i) => {
                        self.spread[i] = true;
                        let _ = write!(out, " ...{}", self.fragments[i].0);
                        self.directives(out, "FRAGMENT_SPREAD");
                    }
                    None => out.push_str(" __typename"),
                }
            }
            _ if depth == 1 && type_name == "Query" => match self.tape.pick(3) {
                0 => out.push_str(" __schema { queryType { name } types { name kind } }"),
                _ => {
                    let name = self
                        .tape
                        .select(&self.model.types)
                        .cloned()
                        .unwrap_or_default();
                    let key = format!("t{}", keys.len());
                    keys.push(key.clone());
                    let _ = write!(
                        out,
                        " {key}: __type(name: \"{name}\") {{ name kind fields {{ name }} }}"
                    );
                }
            },
            _ if self.chaos => match self.tape.pick(3) {
                0 => out.push_str(" ...Missing"),
                1 => out.push_str(" __schema { types { name } }"),
                _ => out.push_str(" notAField"),
            },
            _ => out.push_str(" __typename"),
        }
    }

    fn field(&mut self, out: &mut String, type_name: &str, depth: usize, keys: &mut Vec<String>) {
        let fields = self.model.composites.get(type_name);
        let Some(field) = fields.and_then(|fields| {
            let index = self.tape.pick(fields.len());
            fields.get(index)
        }) else {
            // Unions have no fields but `__typename`.
            out.push_str(" __typename");
            return;
        };
        let mut key = field.name.clone();
        if self.tape.chance(10) || (!self.chaos && keys.contains(&key)) {
            self.aliases += 1;
            key = if self.chaotic(30) {
                "same".to_owned()
            } else {
                format!("a{}", self.aliases)
            };
            let _ = write!(out, " {key}:");
        }
        keys.push(key);
        let _ = write!(out, " {}", field.name);
        let mut arguments: Vec<(String, TypeRef)> = Vec::new();
        for (name, ty) in &field.arguments {
            let required = matches!(ty, TypeRef::NonNull(_));
            if (required && !self.chaotic(10)) || self.tape.chance(30) {
                arguments.push((name.clone(), ty.clone()));
            }
        }
        if self.chaotic(5) {
            arguments.push(("bogus".to_owned(), TypeRef::Named("Int".to_owned())));
        }
        if !arguments.is_empty() {
            out.push('(');
            for (name, ty) in &arguments {
                let _ = write!(out, "{name}: ");
                self.value(out, ty, 0, true);
                out.push(' ');
            }
            out.push(')');
        }
        self.directives(out, "FIELD");
        let type_name = field.type_name.clone();
        let is_composite = self.model.composites.contains_key(&type_name)
            || self.model.possible.contains_key(&type_name);
        if is_composite && depth < self.max_depth {
            self.selection_set(out, &type_name, depth + 1);
        } else if is_composite {
            out.push_str(" { __typename }");
        } else if self.chaotic(3) {
            out.push_str(" { id }");
        }
    }

    fn directives(&mut self, out: &mut String, location: &str) {
        let count = if self.tape.chance(88) {
            0
        } else {
            1 + self.tape.pick(2)
        };
        for _ in 0..count {
            let name = match self.tape.pick(4) {
                _ if self.chaotic(20) => {
                    if location == "FIELD" {
                        "deprecated"
                    } else {
                        "nope"
                    }
                }
                0 | 1 => "skip",
                _ => "include",
            };
            // A clean document has no directives on operations and fragment definitions.
            if !self.chaos && matches!(location, "QUERY" | "FRAGMENT_DEFINITION") {
                return;
            }
            let _ = write!(out, " @{name}");
            if !self.chaotic(10) {
                out.push_str("(if: ");
                let boolean = TypeRef::NonNull(Box::new(TypeRef::Named("Boolean".to_owned())));
                self.value(out, &boolean, 0, true);
                out.push(')');
            }
        }
    }

    /// A value for `ty`: a literal of the right shape, or (where `variables` allows) a
    /// variable declared with exactly that type; in a chaotic document sometimes an
    /// undeclared variable or a literal of the wrong type.
    fn value(&mut self, out: &mut String, ty: &TypeRef, depth: usize, variables: bool) {
        if self.chaotic(8) {
            let literal = *self
                .tape
                .select(&[
                    "null",
                    "1",
                    "-2147483649",
                    "1.5",
                    "\"x\"",
                    "true",
                    "[]",
                    "{}",
                    "ENUM",
                    "$undeclared",
                ])
                .unwrap_or(&"null");
            out.push_str(literal);
            return;
        }
        if variables && self.tape.chance(25) {
            let rendered = ty.render();
            let name = match self
                .declared
                .iter()
                .find(|(_, declared)| *declared == rendered)
            {
                Some((name, _)) if self.tape.chance(50) => name.clone(),
                _ => {
                    let base = VARIABLE_NAMES[self.tape.pick(VARIABLE_NAMES.len())];
                    let taken = |name: &str| self.declared.iter().any(|(taken, _)| taken == name);
                    let mut name = base.to_owned();
                    let mut n = 1;
                    while taken(&name) {
                        name = format!("{base}{n}");
                        n += 1;
                    }
                    self.declared.push((name.clone(), rendered));
                    name
                }
            };
            let _ = write!(out, "${name}");
            return;
        }
        match ty {
            TypeRef::NonNull(inner) => self.value(out, inner, depth, variables),
            TypeRef::List(_) | TypeRef::Named(_) if depth > 3 => out.push_str("null"),
            TypeRef::List(inner) => {
                out.push('[');
                for _ in 0..self.tape.pick(3) {
                    self.value(out, inner, depth + 1, variables);
                    out.push(' ');
                }
                out.push(']');
            }
            TypeRef::Named(name) => self.named_value(out, name, depth, variables),
        }
    }

    fn named_value(&mut self, out: &mut String, name: &str, depth: usize, variables: bool) {
        if let Some(values) = self.model.enums.get(name) {
            let value = self.tape.select(values).cloned().unwrap_or_default();
            out.push_str(&value);
        } else if let Some(fields) = self.model.inputs.get(name) {
            out.push('{');
            for (field, ty) in fields {
                let required = matches!(ty, TypeRef::NonNull(_));
                if required || self.tape.chance(50) {
                    let _ = write!(out, "{field}: ");
                    self.value(out, ty, depth + 1, variables);
                    out.push(' ');
                }
            }
            out.push('}');
        } else {
            let literal = match name {
                "Int" => ["0", "20", "-1", "3"][self.tape.pick(4)],
                "Float" => ["0.5", "1e10", "-0"][self.tape.pick(3)],
                "Boolean" => ["true", "false"][self.tape.pick(2)],
                "ID" => ["\"u1\"", "\"p1\"", "7"][self.tape.pick(3)],
                _ => ["\"u1\"", "\"\"", "\"\\u00e9\"", "\"\"\"x\"\"\""][self.tape.pick(4)],
            };
            out.push_str(literal);
        }
    }
}

/// A variable type as written, read back (`[ID!]!` → `NonNull(List(NonNull(ID)))`).
fn parse_type(text: &str) -> TypeRef {
    if let Some(inner) = text.strip_suffix('!') {
        TypeRef::NonNull(Box::new(parse_type(inner)))
    } else if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        TypeRef::List(Box::new(parse_type(inner)))
    } else {
        TypeRef::Named(text.to_owned())
    }
}

/// Breaks a document: a character removed, a span repeated, or a stray punctuator, to
/// probe the parser near valid input.
fn mutate(tape: &mut Tape, text: &mut String) {
    let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    let Some(&at) = tape.select(&boundaries) else {
        return;
    };
    match tape.pick(3) {
        0 => {
            text.remove(at);
        }
        1 => {
            let length = tape.pick(40);
            let end = boundaries
                .iter()
                .copied()
                .find(|&i| i > at + length)
                .unwrap_or(text.len());
            let span = text[at..end].to_owned();
            text.insert_str(at, &span);
        }
        _ => {
            let stray = ["{", "}", "(", ")", "...", "$", "@", "\"", ":"][tape.pick(9)];
            text.insert_str(at, stray);
        }
    }
}

/// A schema-shaped document, the operation name to run, and arbitrary variables.
fn shaped_request(
    model: Arc<Model>,
) -> impl Strategy<Value = (String, Option<String>, Option<Map<String, Value>>)> {
    (
        any::<bool>(),
        proptest::collection::vec(any::<u32>(), 0..600),
        variables(),
    )
        .prop_map(move |(chaos, choices, variables)| {
            let writer = Writer {
                model: &model,
                tape: Tape { choices, next: 0 },
                chaos,
                max_depth: 0,
                fragments: Vec::new(),
                spread: Vec::new(),
                spreadable_from: 0,
                declared: Vec::new(),
                aliases: 0,
            };
            let (document, operation_name) = writer.document();
            (document, operation_name, variables)
        })
}
