//! Parsing and validating client documents against the public schema, with the
//! validation rules of `graphql-tools` (the planner's own parser and AST).
//!
//! Fragment cycles are looked for first, by the router itself: `graphql-tools` 0.5's
//! `NoFragmentsCycle` only sees spreads at most one field deep, and its
//! `OverlappingFieldsCanBeMerged` then follows a deeper cycle until the stack overflows,
//! which aborts the process. A document with a cycle never reaches its rules. And its
//! `FieldsOnCorrectType` lets every `__` name through, so [`KnownMetaFields`] checks
//! those.

use std::collections::HashMap;

use graphql_tools::ast::{OperationVisitor, OperationVisitorContext};
use graphql_tools::parser::Pos;
use graphql_tools::static_graphql::query::{
    Definition, Document, Field, FragmentSpread, Selection, SelectionSet,
};
use graphql_tools::static_graphql::schema::Document as SchemaDocument;
use graphql_tools::validation::rules::{
    ValidationRule, ValidationVisitor, default_rules_validation_plan,
};
use graphql_tools::validation::utils::{ValidationError, ValidationErrorContext};
use graphql_tools::validation::validate::{ValidationPlan, validate};

use crate::error::ErrorCode;
use crate::response::{GraphQLError, Location, Rejection};

/// The validation rules, built once.
pub(crate) struct Validator {
    rules: ValidationPlan,
}

impl Validator {
    pub fn new() -> Self {
        let mut rules = default_rules_validation_plan();
        rules.add_rule(Box::new(KnownMetaFields));
        Self { rules }
    }

    /// Parses a document; syntax errors are `GRAPHQL_PARSE_FAILED`.
    pub fn parse(&self, query: &str) -> Result<Document, Rejection> {
        graphql_tools::parser::parse_query::<String>(query)
            .map(|document| document.into_static())
            .map_err(|error| {
                let message = error.to_string();
                let message = message.trim().trim_start_matches("query parse error: ");
                Rejection::new(
                    format!("Syntax Error: {}", message.replace('\n', " ")),
                    ErrorCode::GraphqlParseFailed,
                )
            })
    }

    /// Validates a document; every broken rule is one `GRAPHQL_VALIDATION_FAILED` error.
    pub fn validate(&self, schema: &SchemaDocument, document: &Document) -> Result<(), Rejection> {
        let cycles = fragment_cycles(document);
        if !cycles.is_empty() {
            return Err(Rejection::many(ErrorCode::GraphqlValidationFailed, cycles));
        }
        let errors = validate(schema, document, &self.rules);
        if errors.is_empty() {
            return Ok(());
        }
        Err(Rejection::many(
            ErrorCode::GraphqlValidationFailed,
            errors
                .into_iter()
                .map(|error| {
                    GraphQLError::new(error.message, ErrorCode::GraphqlValidationFailed)
                        .with_locations(error.locations.iter().map(location).collect())
                })
                .collect(),
        ))
    }
}

/// Validates a parsed client document against a public API schema with exactly the
/// router's rules, without a router: `agora schema check` runs the frontends' registered
/// operations through it. Each error is its message and `(line:column)` locations; none
/// means the router would accept the document.
pub fn validation_errors(schema: &SchemaDocument, document: &Document) -> Vec<String> {
    let Err(rejection) = Validator::new().validate(schema, document) else {
        return Vec::new();
    };
    rejection
        .errors
        .into_iter()
        .map(|error| {
            let at: Vec<String> = error
                .locations
                .iter()
                .map(|l| format!("{}:{}", l.line, l.column))
                .collect();
            if at.is_empty() {
                error.message
            } else {
                format!("{} ({})", error.message, at.join(", "))
            }
        })
        .collect()
}

/// `__typename` anywhere (without a selection), `__schema` and `__type` on the query
/// type, and no other field whose name starts with `__` (the planner fails on them,
/// which would make a client's mistake an internal error).
struct KnownMetaFields;

impl<'doc> OperationVisitor<'doc, ValidationErrorContext> for KnownMetaFields {
    fn enter_field(
        &mut self,
        context: &mut OperationVisitorContext,
        errors: &mut ValidationErrorContext,
        field: &Field,
    ) {
        let Some(parent) = context.current_parent_type() else {
            return;
        };
        let known = match field.name.as_str() {
            "__typename" if !field.selection_set.items.is_empty() => {
                errors.report_error(ValidationError {
                    error_code: "KnownMetaFields",
                    locations: vec![field.position],
                    message: "Field \"__typename\" must not have a selection since type \
                              \"String!\" has no subfields."
                        .to_owned(),
                });
                true
            }
            "__typename" => true,
            // On the subscription type, `SingleFieldSubscriptions` already refuses them.
            "__schema" | "__type" => [
                context.schema.query_type_name(),
                context.schema.subscription_type_name(),
            ]
            .into_iter()
            .flatten()
            .any(|root| root == parent.name()),
            name => !name.starts_with("__"),
        };
        if !known {
            errors.report_error(ValidationError {
                error_code: "KnownMetaFields",
                locations: vec![field.position],
                message: format!(
                    "Cannot query field \"{}\" on type \"{}\".",
                    field.name,
                    parent.name()
                ),
            });
        }
    }
}

impl ValidationRule for KnownMetaFields {
    fn visitor<'doc>(&self) -> ValidationVisitor<'doc> {
        Box::new(KnownMetaFields)
    }

    fn error_code(&self) -> &'static str {
        "KnownMetaFields"
    }
}

/// One error per spread that closes a cycle of fragment spreads, at any depth.
fn fragment_cycles(document: &Document) -> Vec<GraphQLError> {
    let mut spreads: HashMap<&str, Vec<&FragmentSpread>> = HashMap::new();
    for definition in &document.definitions {
        if let Definition::Fragment(fragment) = definition {
            let mut found = Vec::new();
            collect_spreads(&fragment.selection_set, &mut found);
            spreads.insert(fragment.name.as_str(), found);
        }
    }

    // Iterative depth-first search: fragments on the current path are `InProgress`, and a
    // spread of one of them closes a cycle.
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        InProgress,
        Done,
    }
    let mut states: HashMap<&str, State> = HashMap::new();
    let mut errors = Vec::new();
    let mut names: Vec<&str> = spreads.keys().copied().collect();
    names.sort_unstable();
    for root in names {
        if states.contains_key(root) {
            continue;
        }
        states.insert(root, State::InProgress);
        // (fragment, index of its next spread to follow)
        let mut stack = vec![(root, 0)];
        while let Some((fragment, next)) = stack.last_mut() {
            let Some(spread) = spreads.get(fragment).and_then(|found| found.get(*next)) else {
                states.insert(fragment, State::Done);
                stack.pop();
                continue;
            };
            *next += 1;
            let target = spread.fragment_name.as_str();
            match states.get(target) {
                Some(State::InProgress) => errors.push(
                    GraphQLError::new(
                        format!("Cannot spread fragment \"{target}\" within itself."),
                        ErrorCode::GraphqlValidationFailed,
                    )
                    .with_locations(vec![location(&spread.position)]),
                ),
                Some(State::Done) => {}
                // Unknown fragments are left to `KnownFragmentNames`.
                None if !spreads.contains_key(target) => {}
                None => {
                    states.insert(target, State::InProgress);
                    stack.push((target, 0));
                }
            }
        }
    }
    errors
}

/// Every fragment spread in a selection set, however deep. Nesting is bounded by the
/// token check that runs before parsing, so recursion is safe here.
fn collect_spreads<'a>(selection_set: &'a SelectionSet, found: &mut Vec<&'a FragmentSpread>) {
    for selection in &selection_set.items {
        match selection {
            Selection::Field(field) => collect_spreads(&field.selection_set, found),
            Selection::InlineFragment(fragment) => collect_spreads(&fragment.selection_set, found),
            Selection::FragmentSpread(spread) => found.push(spread),
        }
    }
}

fn location(pos: &Pos) -> Location {
    Location {
        line: pos.line,
        column: pos.column,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = "type Query { me: User } type User { id: ID friend: User }";

    fn validate(query: &str) -> Result<(), Rejection> {
        let schema = graphql_tools::parser::parse_schema::<String>(SCHEMA)
            .expect("the schema parses")
            .into_static();
        let validator = Validator::new();
        let document = validator.parse(query)?;
        validator.validate(&schema, &document)
    }

    #[test]
    fn a_fragment_spreading_itself_two_fields_deep_is_refused_as_a_cycle() {
        // Found by tests/fuzz.rs: graphql-tools missed this cycle, and its
        // overlapping-fields rule then followed it until the stack overflowed.
        let rejection = validate(
            "{ me { ...F } } fragment F on User { friend { friend { ...F } } friend { id } }",
        )
        .expect_err("a cycle is invalid");

        let messages: Vec<&str> = rejection
            .errors
            .iter()
            .map(|e| e.message.as_str())
            .collect();
        assert_eq!(messages, ["Cannot spread fragment \"F\" within itself."]);
    }

    #[test]
    fn a_cycle_through_two_fragments_is_refused_once() {
        let rejection = validate(
            "{ me { ...A } } fragment A on User { friend { ...B } } \
             fragment B on User { friend { friend { ...A } } }",
        )
        .expect_err("a cycle is invalid");

        assert_eq!(rejection.errors.len(), 1);
    }

    #[test]
    fn fragments_spread_twice_without_a_cycle_are_valid() {
        assert!(
            validate(
                "{ me { ...A ...B } } fragment A on User { friend { ...B } } \
                 fragment B on User { friend { id } }"
            )
            .is_ok()
        );
    }

    #[test]
    fn unknown_meta_fields_are_refused_and_known_ones_pass() {
        let rejection = validate("{ __tpename me { __schema { types { name } } } }")
            .expect_err("unknown meta fields are invalid");

        let messages: Vec<&str> = rejection
            .errors
            .iter()
            .map(|e| e.message.as_str())
            .collect();
        assert_eq!(
            messages,
            [
                "Cannot query field \"__tpename\" on type \"Query\".",
                "Cannot query field \"__schema\" on type \"User\".",
            ]
        );
        assert!(
            validate("{ __typename __type(name: \"User\") { name } me { __typename } }").is_ok()
        );

        let rejection = validate("{ __typename { id } }").expect_err("`__typename` is a leaf");
        assert_eq!(rejection.errors.len(), 1);
    }
}
