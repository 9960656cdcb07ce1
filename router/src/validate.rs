//! Parsing and validating client documents against the public schema, with the
//! validation rules of `graphql-tools` (the planner's own parser and AST).

use graphql_tools::parser::Pos;
use graphql_tools::static_graphql::query::Document;
use graphql_tools::static_graphql::schema::Document as SchemaDocument;
use graphql_tools::validation::rules::default_rules_validation_plan;
use graphql_tools::validation::validate::{ValidationPlan, validate};

use crate::error::ErrorCode;
use crate::response::{GraphQLError, Location, Rejection};

/// The validation rules, built once.
pub(crate) struct Validator {
    rules: ValidationPlan,
}

impl Validator {
    pub fn new() -> Self {
        Self {
            rules: default_rules_validation_plan(),
        }
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

fn location(pos: &Pos) -> Location {
    Location {
        line: pos.line,
        column: pos.column,
    }
}
