//! Operation variables: defaults applied, required ones checked, and GraphQL literal
//! values turned into JSON.
//!
//! Type checking of the values themselves is left to the subgraphs, which see the
//! variables they use; the router only needs `Boolean` values for `@skip`/`@include`.

use graphql_tools::static_graphql::query::{Type, Value as AstValue, VariableDefinition};
use serde_json::{Map, Number, Value};

use crate::error::ErrorCode;
use crate::response::{GraphQLError, Rejection};

/// What the router needs to know about one declared variable.
#[derive(Debug)]
pub(crate) struct VariableSpec {
    name: String,
    default: Option<Value>,
    required: bool,
    type_name: String,
}

impl VariableSpec {
    pub fn from_definition(definition: &VariableDefinition) -> Self {
        Self {
            name: definition.name.clone(),
            default: definition
                .default_value
                .as_ref()
                .map(|value| to_json(value, &Map::new())),
            required: matches!(definition.var_type, Type::NonNullType(_)),
            type_name: definition.var_type.to_string(),
        }
    }
}

/// The variables an execution sees: the provided values plus defaults for the missing
/// ones. Rejects a request that leaves a required variable without a value.
pub(crate) fn coerce(
    specs: &[VariableSpec],
    provided: Option<Map<String, Value>>,
) -> Result<Map<String, Value>, Rejection> {
    let mut variables = provided.unwrap_or_default();
    let mut errors = Vec::new();
    for spec in specs {
        let present = variables.get(&spec.name).is_some_and(|v| !v.is_null());
        if present {
            continue;
        }
        if let Some(default) = &spec.default
            && !variables.contains_key(&spec.name)
        {
            variables.insert(spec.name.clone(), default.clone());
        } else if spec.required {
            errors.push(GraphQLError::new(
                format!(
                    "Variable \"${}\" of required type \"{}\" was not provided.",
                    spec.name, spec.type_name
                ),
                ErrorCode::BadUserInput,
            ));
        }
    }
    if errors.is_empty() {
        Ok(variables)
    } else {
        Err(Rejection::many(ErrorCode::BadUserInput, errors))
    }
}

/// A GraphQL literal as JSON, with variables substituted.
pub(crate) fn to_json(value: &AstValue, variables: &Map<String, Value>) -> Value {
    match value {
        AstValue::Variable(name) => variables.get(name).cloned().unwrap_or(Value::Null),
        AstValue::Int(number) => number.as_i64().map_or(Value::Null, Value::from),
        AstValue::Float(number) => Number::from_f64(*number).map_or(Value::Null, Value::Number),
        AstValue::String(text) => Value::String(text.clone()),
        AstValue::Boolean(flag) => Value::Bool(*flag),
        AstValue::Null => Value::Null,
        AstValue::Enum(name) => Value::String(name.clone()),
        AstValue::List(items) => items.iter().map(|item| to_json(item, variables)).collect(),
        AstValue::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, item)| (key.clone(), to_json(item, variables)))
                .collect(),
        ),
    }
}

/// Whether `@skip(if: $name)` / `@include(if: $name)` conditions let a selection through.
pub(crate) fn selection_included(
    skip_if: Option<&str>,
    include_if: Option<&str>,
    variables: &Map<String, Value>,
) -> bool {
    let flag = |name: &str| {
        variables
            .get(name)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    !skip_if.is_some_and(flag) && include_if.is_none_or(flag)
}
