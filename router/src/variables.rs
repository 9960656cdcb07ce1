//! Operation variables: defaults applied, required ones checked, values checked
//! against their types in the public schema, and GraphQL literal values turned into
//! JSON.
//!
//! Values are checked here rather than left to the subgraphs because a subgraph's own
//! types can be wider than the public ones: an enum value or input field that is
//! `@inaccessible`, or that only one subgraph defines, must not get through.

use graphql_tools::static_graphql::query::{Type, Value as AstValue, VariableDefinition};
use graphql_tools::static_graphql::schema::TypeDefinition;
use serde_json::{Map, Number, Value};

use crate::error::ErrorCode;
use crate::response::{GraphQLError, Rejection};
use crate::schema::SchemaIndex;

/// What the router needs to know about one declared variable.
#[derive(Debug)]
pub(crate) struct VariableSpec {
    name: String,
    default: Option<Value>,
    required: bool,
    type_name: String,
    var_type: Type,
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
            var_type: definition.var_type.clone(),
        }
    }
}

/// The variables an execution sees: the provided values plus defaults for the missing
/// ones. Rejects a request that leaves a required variable without a value, or gives
/// one a value its type in `schema` does not accept.
pub(crate) fn coerce(
    specs: &[VariableSpec],
    provided: Option<Map<String, Value>>,
    schema: &SchemaIndex,
) -> Result<Map<String, Value>, Rejection> {
    let mut variables = provided.unwrap_or_default();
    let mut errors = Vec::new();
    for spec in specs {
        if let Some(value) = variables.get(&spec.name).filter(|v| !v.is_null()) {
            let mut path = spec.name.clone();
            if let Err(reason) = check_value(schema, &spec.var_type, value, &mut path) {
                let at = if path == spec.name {
                    String::new()
                } else {
                    format!(" at \"{path}\"")
                };
                errors.push(GraphQLError::new(
                    format!(
                        "Variable \"${}\" got invalid value {value}{at}; {reason}",
                        spec.name
                    ),
                    ErrorCode::BadUserInput,
                ));
            }
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

/// Checks `value` against `ty`; `path` names the position inside the variable (for
/// example `filter.size`) and is left at the offending value on failure.
fn check_value(
    schema: &SchemaIndex,
    ty: &Type,
    value: &Value,
    path: &mut String,
) -> Result<(), String> {
    match (ty, value) {
        (Type::NonNullType(inner), Value::Null) => Err(format!(
            "Expected non-nullable type \"{}\" not to be null.",
            Type::NonNullType(inner.clone())
        )),
        (_, Value::Null) => Ok(()),
        (Type::NonNullType(inner), value) => check_value(schema, inner, value, path),
        (Type::ListType(item), Value::Array(items)) => {
            for (index, value) in items.iter().enumerate() {
                let length = path.len();
                path.push_str(&format!("[{index}]"));
                check_value(schema, item, value, path)?;
                path.truncate(length);
            }
            Ok(())
        }
        // A single value where a list is expected stands for a list of one.
        (Type::ListType(item), value) => check_value(schema, item, value, path),
        (Type::NamedType(name), value) => check_named(schema, name, value, path),
    }
}

fn check_named(
    schema: &SchemaIndex,
    name: &str,
    value: &Value,
    path: &mut String,
) -> Result<(), String> {
    let valid = match name {
        "Int" => value
            .as_i64()
            .is_some_and(|number| i32::try_from(number).is_ok()),
        "Float" => value.is_number(),
        "String" => value.is_string(),
        "Boolean" => value.is_boolean(),
        "ID" => value.is_string() || value.is_i64() || value.is_u64(),
        _ => match schema.type_definition(name) {
            Some(TypeDefinition::Enum(definition)) => {
                let known = value
                    .as_str()
                    .is_some_and(|text| definition.values.iter().any(|v| v.name == text));
                if !known {
                    return Err(format!("Value {value} does not exist in \"{name}\" enum."));
                }
                true
            }
            Some(TypeDefinition::InputObject(definition)) => {
                let Value::Object(fields) = value else {
                    return Err(format!("Expected type \"{name}\" to be an object."));
                };
                if let Some(unknown) = fields
                    .keys()
                    .find(|key| !definition.fields.iter().any(|field| &field.name == *key))
                {
                    return Err(format!(
                        "Field \"{unknown}\" is not defined by type \"{name}\"."
                    ));
                }
                for field in &definition.fields {
                    let length = path.len();
                    path.push('.');
                    path.push_str(&field.name);
                    match fields.get(&field.name) {
                        Some(value) => check_value(schema, &field.value_type, value, path)?,
                        None if field.default_value.is_none()
                            && matches!(field.value_type, Type::NonNullType(_)) =>
                        {
                            return Err(format!(
                                "Field \"{}\" of required type \"{}\" was not provided.",
                                field.name, field.value_type
                            ));
                        }
                        None => {}
                    }
                    path.truncate(length);
                }
                true
            }
            // Custom scalars accept any JSON; their subgraphs check them.
            _ => true,
        },
    };
    if valid {
        Ok(())
    } else {
        Err(format!("{name} cannot represent value: {value}"))
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;

    const SCHEMA: &str = r#"
        type Query { search(filters: [Filter!]): [String] }
        enum Size { S M }
        scalar JSON
        input Filter { size: Size, tags: [String!], required: Int!, optional: Int! = 1, any: JSON }
    "#;

    fn schema() -> SchemaIndex {
        let document = graphql_tools::parser::parse_schema::<String>(SCHEMA)
            .expect("parses")
            .into_static();
        SchemaIndex::new(Arc::new(document), "Query".to_owned(), None, None)
    }

    fn spec(definition: &str) -> VariableSpec {
        let query = format!("query ({definition}) {{ search }}");
        let document = graphql_tools::parser::parse_query::<String>(&query)
            .expect("parses")
            .into_static();
        let Some(graphql_tools::static_graphql::query::Definition::Operation(
            graphql_tools::static_graphql::query::OperationDefinition::Query(query),
        )) = document.definitions.first()
        else {
            panic!("not a query");
        };
        VariableSpec::from_definition(&query.variable_definitions[0])
    }

    fn message(specs: &[VariableSpec], variables: Value) -> Option<String> {
        let Value::Object(variables) = variables else {
            panic!("not an object");
        };
        coerce(specs, Some(variables), &schema())
            .err()
            .and_then(|rejection| rejection.errors.into_iter().next())
            .map(|error| error.message)
    }

    #[test]
    fn a_bad_value_deep_in_a_list_of_inputs_is_refused_at_its_path() {
        let specs = [spec("$f: [Filter!]")];

        let refused = message(
            &specs,
            json!({ "f": [{ "required": 1 }, { "required": 2, "tags": ["a", 3] }] }),
        );

        assert_eq!(
            refused.as_deref(),
            Some(
                r#"Variable "$f" got invalid value [{"required":1},{"required":2,"tags":["a",3]}] at "f[1].tags[1]"; String cannot represent value: 3"#
            )
        );
    }

    #[test]
    fn a_missing_required_input_field_is_refused_but_one_with_a_default_is_not() {
        let specs = [spec("$f: Filter")];

        assert!(message(&specs, json!({ "f": {} })).is_some_and(|m| {
            m.ends_with(r#"Field "required" of required type "Int!" was not provided."#)
        }));
        assert_eq!(message(&specs, json!({ "f": { "required": 1 } })), None);
    }

    #[test]
    fn a_single_value_stands_for_a_list_and_custom_scalars_take_any_json() {
        let specs = [spec("$f: [Filter!]")];

        let accepted = message(
            &specs,
            json!({ "f": { "required": 1, "size": "S", "any": { "x": [1, true] } } }),
        );

        assert_eq!(accepted, None);
    }

    #[test]
    fn an_explicit_null_for_a_non_null_list_item_is_refused() {
        let specs = [spec("$f: [Filter!]")];

        let refused = message(&specs, json!({ "f": [null] }));

        assert!(refused.is_some_and(|m| {
            m.ends_with(r#"Expected non-nullable type "Filter!" not to be null."#)
        }));
    }
}
