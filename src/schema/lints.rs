//! Lints of the public API schema: warnings, never failures.
//!
//! - `MISSING_DESCRIPTION`: a type, field or input field without a description (root
//!   operation types and built-in scalars are exempt: their role is their description).
//! - `UNPAGINATED_LIST`: a field of an entity type returning a list of objects without
//!   a `first`/`last`/`limit` argument; entity lists grow without bound, and the API's
//!   convention is Relay connections. Lists of scalars and enums (a post's tags) are
//!   values, not relations, and exempt.
//! - `DEPRECATED_WITHOUT_REASON`: `@deprecated` without `reason:`, which leaves clients
//!   guessing what to use instead.

use graphql_tools::static_graphql::schema::{
    Definition, Directive, InputValue, Type, TypeDefinition,
};
use serde::Serialize;

use super::api::{ApiSchema, description, fields, input_fields};

/// The lint rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Rule {
    /// A type or field without a description.
    MissingDescription,
    /// A list of objects on an entity type without pagination arguments.
    UnpaginatedList,
    /// `@deprecated` without a reason.
    DeprecatedWithoutReason,
}

/// One warning.
#[derive(Debug, Clone, Serialize)]
pub struct Lint {
    /// Which rule.
    pub rule: Rule,
    /// Where: a schema coordinate.
    pub coordinate: String,
    /// A sentence for people.
    pub message: String,
}

const BUILT_IN_SCALARS: [&str; 5] = ["String", "Int", "Float", "Boolean", "ID"];
const PAGINATION_ARGUMENTS: [&str; 3] = ["first", "last", "limit"];

/// Every lint of `api`, by type in name order.
pub fn lint(api: &ApiSchema) -> Vec<Lint> {
    let roots = root_types(api);
    let types = api.types();
    let mut lints = Vec::new();
    let mut warn = |rule, coordinate: String, message: String| {
        lints.push(Lint {
            rule,
            coordinate,
            message,
        });
    };
    for (name, definition) in &types {
        let exempt = BUILT_IN_SCALARS.contains(name) || roots.iter().any(|r| r == name);
        if !exempt && description(definition).is_none_or(|d| d.trim().is_empty()) {
            warn(
                Rule::MissingDescription,
                (*name).to_owned(),
                format!("Type `{name}` has no description"),
            );
        }
        for field in fields(definition) {
            let coordinate = format!("{name}.{}", field.name);
            if field
                .description
                .as_deref()
                .is_none_or(|d| d.trim().is_empty())
            {
                warn(
                    Rule::MissingDescription,
                    coordinate.clone(),
                    format!("Field `{coordinate}` has no description"),
                );
            }
            let of_objects = list_item(&field.field_type).is_some_and(|item| {
                types.get(item).is_some_and(|t| {
                    !matches!(t, TypeDefinition::Scalar(_) | TypeDefinition::Enum(_))
                })
            });
            let paginated = field
                .arguments
                .iter()
                .any(|a| PAGINATION_ARGUMENTS.contains(&a.name.as_str()));
            if api.entities.contains(*name) && of_objects && !paginated {
                warn(
                    Rule::UnpaginatedList,
                    coordinate.clone(),
                    format!(
                        "`{coordinate}` returns `{}` on entity `{name}` without `first`: use a connection",
                        field.field_type
                    ),
                );
            }
            if !has_reason(&field.directives) {
                warn(
                    Rule::DeprecatedWithoutReason,
                    coordinate.clone(),
                    format!("`{coordinate}` is deprecated without a reason"),
                );
            }
            for argument in &field.arguments {
                deprecated_input(
                    &format!("{coordinate}({}:)", argument.name),
                    argument,
                    &mut warn,
                );
            }
        }
        for field in input_fields(definition) {
            let coordinate = format!("{name}.{}", field.name);
            if field
                .description
                .as_deref()
                .is_none_or(|d| d.trim().is_empty())
            {
                warn(
                    Rule::MissingDescription,
                    coordinate.clone(),
                    format!("Input field `{coordinate}` has no description"),
                );
            }
            deprecated_input(&coordinate, field, &mut warn);
        }
        if let TypeDefinition::Enum(enum_type) = definition {
            for value in &enum_type.values {
                if !has_reason(&value.directives) {
                    let coordinate = format!("{name}.{}", value.name);
                    warn(
                        Rule::DeprecatedWithoutReason,
                        coordinate.clone(),
                        format!("`{coordinate}` is deprecated without a reason"),
                    );
                }
            }
        }
    }
    lints
}

fn deprecated_input(
    coordinate: &str,
    value: &InputValue,
    warn: &mut impl FnMut(Rule, String, String),
) {
    if !has_reason(&value.directives) {
        warn(
            Rule::DeprecatedWithoutReason,
            coordinate.to_owned(),
            format!("`{coordinate}` is deprecated without a reason"),
        );
    }
}

/// False only for `@deprecated` without a non-empty `reason`.
fn has_reason(directives: &[Directive]) -> bool {
    directives
        .iter()
        .filter(|d| d.name == "deprecated")
        .all(|d| {
            d.arguments.iter().any(|(name, value)| {
                name == "reason" && !value.to_string().trim_matches('"').trim().is_empty()
            })
        })
}

/// The named item type of a list type (through non-null wrappers).
fn list_item(field_type: &Type) -> Option<&str> {
    match field_type {
        Type::NonNullType(inner) => list_item(inner),
        Type::ListType(item) => Some(item.inner_type()),
        Type::NamedType(_) => None,
    }
}

/// The root operation type names.
fn root_types(api: &ApiSchema) -> Vec<String> {
    let declared = api.document.definitions.iter().find_map(|d| match d {
        Definition::SchemaDefinition(schema) => Some(
            [&schema.query, &schema.mutation, &schema.subscription]
                .into_iter()
                .flatten()
                .cloned()
                .collect(),
        ),
        _ => None,
    });
    declared.unwrap_or_else(|| {
        ["Query", "Mutation", "Subscription"]
            .map(str::to_owned)
            .to_vec()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undocumented_unpaginated_and_unexplained_deprecations_warn() {
        let supergraph = r#"
            directive @join__type(graph: String, key: String) repeatable on OBJECT
            type Query { "The viewer." me: User }
            "A person." type User @join__type(graph: "a", key: "id") {
                "Id." id: ID!
                "Posts." posts(first: Int): [Post!]!
                "Friends." friends: [User!]!
                "Tags." tags: [String!]!
                old: String @deprecated
                "Why not." older: String @deprecated(reason: "use `name`")
            }
            type Post { "Id." id: ID! }
        "#;
        let api = ApiSchema::from_supergraph(supergraph).unwrap();

        let found: Vec<String> = lint(&api)
            .iter()
            .map(|l| format!("{:?} {}", l.rule, l.coordinate))
            .collect();
        assert_eq!(
            found,
            [
                "MissingDescription Post",
                "UnpaginatedList User.friends",
                "MissingDescription User.old",
                "DeprecatedWithoutReason User.old",
            ]
        );
    }
}
