//! Changes between two public API schemas, each classified as graphql-js's
//! `findBreakingChanges` does (its breaking and dangerous change types, same names), with
//! GraphQL Inspector's safe changes (additions, safe type changes, deprecations,
//! descriptions) named in the same style.
//!
//! A change's id is `KIND:coordinate`, the coordinate in schema-coordinate syntax
//! (`Query.feed`, `Query.feed(first:)`, `NotificationKind.LIKED`, `@skip(if:)`), so it
//! is stable across runs and can be approved in `schema-approvals.toml`.

use std::collections::BTreeMap;

use graphql_tools::static_graphql::schema::{
    Directive, DirectiveDefinition, Field, InputValue, Type, TypeDefinition,
};
use serde::{Deserialize, Serialize};

use super::api::{ApiSchema, description, fields, input_fields};

/// How much a change can hurt existing clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Level {
    /// Valid operations may become invalid or get responses they cannot read.
    Breaking,
    /// Operations stay valid but may see values they were not written for.
    Dangerous,
    /// Nothing an existing client does changes.
    Safe,
}

/// What changed. Breaking and dangerous kinds are graphql-js's `BreakingChangeType` and
/// `DangerousChangeType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Kind {
    /// A type is gone.
    TypeRemoved,
    /// A type became another kind (object to interface, …).
    TypeChangedKind,
    /// An object type left a union.
    TypeRemovedFromUnion,
    /// An enum lost a value.
    ValueRemovedFromEnum,
    /// An input object gained a non-null field without a default.
    RequiredInputFieldAdded,
    /// An object or interface no longer implements an interface.
    ImplementedInterfaceRemoved,
    /// A field (output or input) is gone.
    FieldRemoved,
    /// A field's type changed in a way its readers (or writers, for input fields) may
    /// not accept.
    FieldChangedKind,
    /// A field gained a non-null argument without a default.
    RequiredArgAdded,
    /// A field lost an argument.
    ArgRemoved,
    /// An argument's type changed in a way existing values may not fit.
    ArgChangedKind,
    /// A directive is gone.
    DirectiveRemoved,
    /// A directive lost an argument.
    DirectiveArgRemoved,
    /// A directive gained a non-null argument without a default.
    RequiredDirectiveArgAdded,
    /// A directive is no longer repeatable.
    DirectiveRepeatableRemoved,
    /// A directive can no longer be used at a location.
    DirectiveLocationRemoved,
    /// An enum gained a value that clients may receive.
    ValueAddedToEnum,
    /// A union gained a member that clients may receive.
    TypeAddedToUnion,
    /// An input object gained an optional field.
    OptionalInputFieldAdded,
    /// A field gained an optional argument.
    OptionalArgAdded,
    /// An object or interface implements one more interface.
    ImplementedInterfaceAdded,
    /// An argument's default value changed.
    ArgDefaultValueChange,
    /// An input field's default value changed.
    InputFieldDefaultValueChange,
    /// A type was added.
    TypeAdded,
    /// A field was added to an object or interface.
    FieldAdded,
    /// A field's or argument's type changed in a way every client still accepts.
    TypeChangedSafely,
    /// A directive was added.
    DirectiveAdded,
    /// A directive gained an optional argument.
    OptionalDirectiveArgAdded,
    /// A directive can be used at one more location, or became repeatable.
    DirectiveLocationAdded,
    /// Something was marked `@deprecated`.
    DeprecationAdded,
    /// Something is no longer `@deprecated`.
    DeprecationRemoved,
    /// A description changed.
    DescriptionChanged,
}

impl Kind {
    /// The kind's class.
    pub fn level(self) -> Level {
        use Kind::*;
        match self {
            TypeRemoved
            | TypeChangedKind
            | TypeRemovedFromUnion
            | ValueRemovedFromEnum
            | RequiredInputFieldAdded
            | ImplementedInterfaceRemoved
            | FieldRemoved
            | FieldChangedKind
            | RequiredArgAdded
            | ArgRemoved
            | ArgChangedKind
            | DirectiveRemoved
            | DirectiveArgRemoved
            | RequiredDirectiveArgAdded
            | DirectiveRepeatableRemoved
            | DirectiveLocationRemoved => Level::Breaking,
            ValueAddedToEnum
            | TypeAddedToUnion
            | OptionalInputFieldAdded
            | OptionalArgAdded
            | ImplementedInterfaceAdded
            | ArgDefaultValueChange
            | InputFieldDefaultValueChange => Level::Dangerous,
            TypeAdded
            | FieldAdded
            | TypeChangedSafely
            | DirectiveAdded
            | OptionalDirectiveArgAdded
            | DirectiveLocationAdded
            | DeprecationAdded
            | DeprecationRemoved
            | DescriptionChanged => Level::Safe,
        }
    }

    /// The kind as it appears in change ids: `FIELD_REMOVED`.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|value| value.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// One change of the public API schema.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Change {
    /// `KIND:coordinate`, for example `FIELD_REMOVED:Query.feed`.
    pub id: String,
    /// What changed.
    pub kind: Kind,
    /// Where: a schema coordinate.
    pub coordinate: String,
    /// How much it can hurt clients.
    pub level: Level,
    /// A sentence for people.
    pub message: String,
}

/// Every change from `old` to `new`, breaking first, then dangerous, then safe, each
/// class ordered by id.
pub fn diff(old: &ApiSchema, new: &ApiSchema) -> Vec<Change> {
    let mut changes = Changes::default();
    let (old_types, new_types) = (old.types(), new.types());
    for (name, old_type) in &old_types {
        match new_types.get(name) {
            None => changes.push(
                Kind::TypeRemoved,
                name,
                format!("Type `{name}` was removed"),
            ),
            Some(new_type) if kind_of(old_type) != kind_of(new_type) => changes.push(
                Kind::TypeChangedKind,
                name,
                format!(
                    "`{name}` changed from {} to {}",
                    kind_of(old_type),
                    kind_of(new_type)
                ),
            ),
            Some(new_type) => changes.type_contents(old_type, new_type),
        }
    }
    for name in new_types.keys().filter(|n| !old_types.contains_key(*n)) {
        changes.push(Kind::TypeAdded, name, format!("Type `{name}` was added"));
    }
    changes.directives(&old.directives(), &new.directives());
    let mut changes = changes.0;
    changes.sort_by(|a, b| (a.level, &a.id).cmp(&(b.level, &b.id)));
    changes.dedup_by(|a, b| a.id == b.id);
    changes
}

/// The changes found so far.
#[derive(Default)]
struct Changes(Vec<Change>);

impl Changes {
    fn push(&mut self, kind: Kind, coordinate: &str, message: String) {
        self.0.push(Change {
            id: format!("{}:{coordinate}", kind.name()),
            kind,
            coordinate: coordinate.to_owned(),
            level: kind.level(),
            message,
        });
    }

    /// Changes inside a type that kept its name and kind.
    fn type_contents(&mut self, old: &TypeDefinition, new: &TypeDefinition) {
        let name = old.name();
        self.description(name, description(old), description(new));
        match (old, new) {
            (TypeDefinition::Object(o), TypeDefinition::Object(n)) => {
                self.interfaces(name, &o.implements_interfaces, &n.implements_interfaces);
            }
            (TypeDefinition::Interface(o), TypeDefinition::Interface(n)) => {
                self.interfaces(name, &o.implements_interfaces, &n.implements_interfaces);
            }
            (TypeDefinition::Union(o), TypeDefinition::Union(n)) => {
                for member in o.types.iter().filter(|m| !n.types.contains(m)) {
                    self.push(
                        Kind::TypeRemovedFromUnion,
                        &format!("{name}.{member}"),
                        format!("`{member}` was removed from union `{name}`"),
                    );
                }
                for member in n.types.iter().filter(|m| !o.types.contains(m)) {
                    self.push(
                        Kind::TypeAddedToUnion,
                        &format!("{name}.{member}"),
                        format!("`{member}` was added to union `{name}`"),
                    );
                }
            }
            (TypeDefinition::Enum(o), TypeDefinition::Enum(n)) => {
                let new_values: BTreeMap<&str, _> =
                    n.values.iter().map(|v| (v.name.as_str(), v)).collect();
                for value in &o.values {
                    let coordinate = format!("{name}.{}", value.name);
                    let Some(new_value) = new_values.get(value.name.as_str()) else {
                        self.push(
                            Kind::ValueRemovedFromEnum,
                            &coordinate,
                            format!("`{}` was removed from enum `{name}`", value.name),
                        );
                        continue;
                    };
                    self.description(
                        &coordinate,
                        value.description.as_deref(),
                        new_value.description.as_deref(),
                    );
                    self.deprecation(&coordinate, &value.directives, &new_value.directives);
                }
                for value in n
                    .values
                    .iter()
                    .filter(|v| !o.values.iter().any(|o| o.name == v.name))
                {
                    self.push(
                        Kind::ValueAddedToEnum,
                        &format!("{name}.{}", value.name),
                        format!("`{}` was added to enum `{name}`", value.name),
                    );
                }
            }
            _ => {}
        }
        self.fields(name, &fields(old), &fields(new));
        self.input_fields(name, input_fields(old), input_fields(new));
    }

    fn interfaces(&mut self, name: &str, old: &[String], new: &[String]) {
        for interface in old.iter().filter(|i| !new.contains(i)) {
            self.push(
                Kind::ImplementedInterfaceRemoved,
                &format!("{name}.{interface}"),
                format!("`{name}` no longer implements interface `{interface}`"),
            );
        }
        for interface in new.iter().filter(|i| !old.contains(i)) {
            self.push(
                Kind::ImplementedInterfaceAdded,
                &format!("{name}.{interface}"),
                format!("`{name}` now implements interface `{interface}`"),
            );
        }
    }

    /// Output fields of an object or interface.
    fn fields(&mut self, owner: &str, old: &[&Field], new: &[&Field]) {
        for field in old {
            let coordinate = format!("{owner}.{}", field.name);
            let Some(new_field) = new.iter().find(|f| f.name == field.name) else {
                let note = if deprecated(&field.directives) {
                    " (it was deprecated)"
                } else {
                    ""
                };
                self.push(
                    Kind::FieldRemoved,
                    &coordinate,
                    format!("Field `{coordinate}` was removed{note}"),
                );
                continue;
            };
            let (was, is) = (&field.field_type, &new_field.field_type);
            if was != is {
                let kind = if output_change_is_safe(was, is) {
                    Kind::TypeChangedSafely
                } else {
                    Kind::FieldChangedKind
                };
                self.push(
                    kind,
                    &coordinate,
                    format!("`{coordinate}` changed type from `{was}` to `{is}`"),
                );
            }
            self.description(
                &coordinate,
                field.description.as_deref(),
                new_field.description.as_deref(),
            );
            self.deprecation(&coordinate, &field.directives, &new_field.directives);
            self.arguments(&coordinate, &field.arguments, &new_field.arguments);
        }
        for field in new.iter().filter(|f| !old.iter().any(|o| o.name == f.name)) {
            let coordinate = format!("{owner}.{}", field.name);
            self.push(
                Kind::FieldAdded,
                &coordinate,
                format!("Field `{coordinate}` was added"),
            );
        }
    }

    /// Fields of an input object: clients write them, so the rules are the arguments'.
    fn input_fields(&mut self, owner: &str, old: &[InputValue], new: &[InputValue]) {
        for field in old {
            let coordinate = format!("{owner}.{}", field.name);
            let Some(new_field) = new.iter().find(|f| f.name == field.name) else {
                self.push(
                    Kind::FieldRemoved,
                    &coordinate,
                    format!("Input field `{coordinate}` was removed"),
                );
                continue;
            };
            self.input_value_change(
                &coordinate,
                field,
                new_field,
                Kind::FieldChangedKind,
                Kind::InputFieldDefaultValueChange,
            );
        }
        for field in new.iter().filter(|f| !old.iter().any(|o| o.name == f.name)) {
            let coordinate = format!("{owner}.{}", field.name);
            if required(field) {
                self.push(
                    Kind::RequiredInputFieldAdded,
                    &coordinate,
                    format!("Required input field `{coordinate}` was added"),
                );
            } else {
                self.push(
                    Kind::OptionalInputFieldAdded,
                    &coordinate,
                    format!("Optional input field `{coordinate}` was added"),
                );
            }
        }
    }

    /// Arguments of the field (or directive) at `owner`.
    fn arguments(&mut self, owner: &str, old: &[InputValue], new: &[InputValue]) {
        let directive = owner.starts_with('@');
        for argument in old {
            let coordinate = format!("{owner}({}:)", argument.name);
            let Some(new_argument) = new.iter().find(|a| a.name == argument.name) else {
                let kind = if directive {
                    Kind::DirectiveArgRemoved
                } else {
                    Kind::ArgRemoved
                };
                self.push(
                    kind,
                    &coordinate,
                    format!("Argument `{coordinate}` was removed"),
                );
                continue;
            };
            self.input_value_change(
                &coordinate,
                argument,
                new_argument,
                Kind::ArgChangedKind,
                Kind::ArgDefaultValueChange,
            );
        }
        for argument in new.iter().filter(|a| !old.iter().any(|o| o.name == a.name)) {
            let coordinate = format!("{owner}({}:)", argument.name);
            let (kind, what) = match (directive, required(argument)) {
                (true, true) => (Kind::RequiredDirectiveArgAdded, "Required argument"),
                (true, false) => (Kind::OptionalDirectiveArgAdded, "Optional argument"),
                (false, true) => (Kind::RequiredArgAdded, "Required argument"),
                (false, false) => (Kind::OptionalArgAdded, "Optional argument"),
            };
            self.push(
                kind,
                &coordinate,
                format!("{what} `{coordinate}` was added"),
            );
        }
    }

    /// Type, default, description and deprecation of an argument or input field.
    fn input_value_change(
        &mut self,
        coordinate: &str,
        old: &InputValue,
        new: &InputValue,
        unsafe_type: Kind,
        default_changed: Kind,
    ) {
        let (was, is) = (&old.value_type, &new.value_type);
        if was != is {
            let kind = if input_change_is_safe(was, is) {
                Kind::TypeChangedSafely
            } else {
                unsafe_type
            };
            self.push(
                kind,
                coordinate,
                format!("`{coordinate}` changed type from `{was}` to `{is}`"),
            );
        }
        let show = |value: &Option<_>| value.as_ref().map(ToString::to_string);
        let (was, is) = (show(&old.default_value), show(&new.default_value));
        if was != is {
            let show = |value: Option<String>| value.unwrap_or_else(|| "none".to_owned());
            self.push(
                default_changed,
                coordinate,
                format!(
                    "The default of `{coordinate}` changed from {} to {}",
                    show(was),
                    show(is)
                ),
            );
        }
        self.description(
            coordinate,
            old.description.as_deref(),
            new.description.as_deref(),
        );
        self.deprecation(coordinate, &old.directives, &new.directives);
    }

    fn directives(
        &mut self,
        old: &BTreeMap<&str, &DirectiveDefinition>,
        new: &BTreeMap<&str, &DirectiveDefinition>,
    ) {
        for (name, directive) in old {
            let coordinate = format!("@{name}");
            let Some(new_directive) = new.get(name) else {
                self.push(
                    Kind::DirectiveRemoved,
                    &coordinate,
                    format!("Directive `{coordinate}` was removed"),
                );
                continue;
            };
            if directive.repeatable && !new_directive.repeatable {
                self.push(
                    Kind::DirectiveRepeatableRemoved,
                    &coordinate,
                    format!("Directive `{coordinate}` is no longer repeatable"),
                );
            }
            for location in &directive.locations {
                if !new_directive.locations.contains(location) {
                    self.push(
                        Kind::DirectiveLocationRemoved,
                        &format!("{coordinate}.{}", location.as_str()),
                        format!(
                            "Directive `{coordinate}` can no longer be used on {}",
                            location.as_str()
                        ),
                    );
                }
            }
            let added_location = new_directive
                .locations
                .iter()
                .any(|l| !directive.locations.contains(l));
            if added_location || (!directive.repeatable && new_directive.repeatable) {
                self.push(
                    Kind::DirectiveLocationAdded,
                    &coordinate,
                    format!("Directive `{coordinate}` can be used in more places"),
                );
            }
            self.arguments(&coordinate, &directive.arguments, &new_directive.arguments);
        }
        for name in new.keys().filter(|n| !old.contains_key(*n)) {
            self.push(
                Kind::DirectiveAdded,
                &format!("@{name}"),
                format!("Directive `@{name}` was added"),
            );
        }
    }

    fn description(&mut self, coordinate: &str, old: Option<&str>, new: Option<&str>) {
        if old != new {
            self.push(
                Kind::DescriptionChanged,
                coordinate,
                format!("The description of `{coordinate}` changed"),
            );
        }
    }

    fn deprecation(&mut self, coordinate: &str, old: &[Directive], new: &[Directive]) {
        match (deprecated(old), deprecated(new)) {
            (false, true) => self.push(
                Kind::DeprecationAdded,
                coordinate,
                format!("`{coordinate}` was deprecated"),
            ),
            (true, false) => self.push(
                Kind::DeprecationRemoved,
                coordinate,
                format!("`{coordinate}` is no longer deprecated"),
            ),
            _ => {}
        }
    }
}

/// Whether every value a client could read from `old` is still readable from `new`
/// (graphql-js `isChangeSafeForObjectOrInterfaceField`): the same named type, or one
/// that is only more strictly non-null.
fn output_change_is_safe(old: &Type, new: &Type) -> bool {
    match (old, new) {
        (Type::ListType(o), Type::ListType(n)) => output_change_is_safe(o, n),
        (Type::ListType(_), Type::NonNullType(n)) => output_change_is_safe(old, n),
        (Type::ListType(_), Type::NamedType(_)) => false,
        (Type::NonNullType(o), Type::NonNullType(n)) => output_change_is_safe(o, n),
        (Type::NonNullType(_), _) => false,
        (Type::NamedType(o), Type::NamedType(n)) => o == n,
        (Type::NamedType(_), Type::NonNullType(n)) => output_change_is_safe(old, n),
        (Type::NamedType(_), Type::ListType(_)) => false,
    }
}

/// Whether every value a client could send as `old` is still accepted as `new`
/// (graphql-js `isChangeSafeForInputObjectFieldOrFieldArg`): the same named type, or
/// one that is only less strictly non-null.
fn input_change_is_safe(old: &Type, new: &Type) -> bool {
    match (old, new) {
        (Type::ListType(o), Type::ListType(n)) => input_change_is_safe(o, n),
        (Type::ListType(_), _) => false,
        (Type::NonNullType(o), Type::NonNullType(n)) => input_change_is_safe(o, n),
        (Type::NonNullType(o), _) => input_change_is_safe(o, new),
        (Type::NamedType(o), Type::NamedType(n)) => o == n,
        (Type::NamedType(_), _) => false,
    }
}

/// A non-null argument or input field without a default: every client must now send it.
fn required(value: &InputValue) -> bool {
    matches!(value.value_type, Type::NonNullType(_)) && value.default_value.is_none()
}

/// Whether `@deprecated` is among the directives.
pub(super) fn deprecated(directives: &[Directive]) -> bool {
    directives.iter().any(|d| d.name == "deprecated")
}

fn kind_of(definition: &TypeDefinition) -> &'static str {
    match definition {
        TypeDefinition::Scalar(_) => "a scalar",
        TypeDefinition::Object(_) => "an object type",
        TypeDefinition::Interface(_) => "an interface",
        TypeDefinition::Union(_) => "a union",
        TypeDefinition::Enum(_) => "an enum",
        TypeDefinition::InputObject(_) => "an input object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The changes from `old` to `new` (plain SDL with a `Query` type), as
    /// `(id, level)` pairs.
    fn changes(old: &str, new: &str) -> Vec<(String, Level)> {
        let old = ApiSchema::from_supergraph(old).unwrap();
        let new = ApiSchema::from_supergraph(new).unwrap();
        diff(&old, &new)
            .into_iter()
            .map(|c| (c.id, c.level))
            .collect()
    }

    fn one(old: &str, new: &str) -> (String, Level) {
        let found = changes(old, new);
        assert_eq!(found.len(), 1, "{found:?}");
        found.into_iter().next().unwrap()
    }

    fn is(id: &str, level: Level) -> (String, Level) {
        (id.to_owned(), level)
    }

    use Level::{Breaking, Dangerous, Safe};

    #[test]
    fn removing_or_retyping_a_type_is_breaking_and_adding_one_is_safe() {
        let base = "type Query { a: Int } type Post { id: ID }";
        assert_eq!(
            one(base, "type Query { a: Int }"),
            is("TYPE_REMOVED:Post", Breaking)
        );
        assert_eq!(
            one(base, "type Query { a: Int } interface Post { id: ID }"),
            is("TYPE_CHANGED_KIND:Post", Breaking)
        );
        assert_eq!(
            one(
                base,
                "type Query { a: Int } type Post { id: ID } scalar Url"
            ),
            is("TYPE_ADDED:Url", Safe)
        );
    }

    #[test]
    fn output_fields_removed_or_loosened_are_breaking_tightened_or_added_are_safe() {
        let base = "type Query { feed: [String!]! me: String }";
        assert_eq!(
            one(base, "type Query { me: String }"),
            is("FIELD_REMOVED:Query.feed", Breaking)
        );
        assert_eq!(
            one(base, "type Query { feed: [String]! me: String }"),
            is("FIELD_CHANGED_KIND:Query.feed", Breaking)
        );
        assert_eq!(
            one(base, "type Query { feed: [String!]! me: Int }"),
            is("FIELD_CHANGED_KIND:Query.me", Breaking)
        );
        assert_eq!(
            one(base, "type Query { feed: [String!]! me: String! }"),
            is("TYPE_CHANGED_SAFELY:Query.me", Safe)
        );
        assert_eq!(
            one(
                base,
                "type Query { feed: [String!]! me: String you: String }"
            ),
            is("FIELD_ADDED:Query.you", Safe)
        );
    }

    #[test]
    fn arguments_follow_graphql_js() {
        let base = "type Query { feed(first: Int, after: String): Int }";
        assert_eq!(
            one(base, "type Query { feed(first: Int): Int }"),
            is("ARG_REMOVED:Query.feed(after:)", Breaking)
        );
        assert_eq!(
            one(base, "type Query { feed(first: Int!, after: String): Int }"),
            is("ARG_CHANGED_KIND:Query.feed(first:)", Breaking)
        );
        assert_eq!(
            one(
                base,
                "type Query { feed(first: Int, after: String, tag: String!): Int }"
            ),
            is("REQUIRED_ARG_ADDED:Query.feed(tag:)", Breaking)
        );
        assert_eq!(
            one(
                base,
                "type Query { feed(first: Int, after: String, tag: String! = \"x\"): Int }"
            ),
            is("OPTIONAL_ARG_ADDED:Query.feed(tag:)", Dangerous)
        );
        assert_eq!(
            one(
                base,
                "type Query { feed(first: Int = 20, after: String): Int }"
            ),
            is("ARG_DEFAULT_VALUE_CHANGE:Query.feed(first:)", Dangerous)
        );
        // Non-null to nullable accepts every value it accepted before.
        assert_eq!(
            one(
                "type Query { post(id: ID!): Int }",
                "type Query { post(id: ID): Int }"
            ),
            is("TYPE_CHANGED_SAFELY:Query.post(id:)", Safe)
        );
    }

    #[test]
    fn input_fields_follow_the_argument_rules() {
        let base = "type Query { a(i: In): Int } input In { body: String! tag: String }";
        assert_eq!(
            one(
                base,
                "type Query { a(i: In): Int } input In { body: String! }"
            ),
            is("FIELD_REMOVED:In.tag", Breaking)
        );
        assert_eq!(
            one(
                base,
                "type Query { a(i: In): Int } input In { body: Int! tag: String }"
            ),
            is("FIELD_CHANGED_KIND:In.body", Breaking)
        );
        assert_eq!(
            one(
                base,
                "type Query { a(i: In): Int } input In { body: String! tag: String at: Int! }"
            ),
            is("REQUIRED_INPUT_FIELD_ADDED:In.at", Breaking)
        );
        assert_eq!(
            one(
                base,
                "type Query { a(i: In): Int } input In { body: String! tag: String at: Int }"
            ),
            is("OPTIONAL_INPUT_FIELD_ADDED:In.at", Dangerous)
        );
    }

    #[test]
    fn enum_values_and_union_members_removed_are_breaking_and_added_are_dangerous() {
        let base = "type Query { k: Kind s: Hit } enum Kind { LIKED FOLLOWED } \
                    union Hit = A | B type A { a: Int } type B { b: Int }";
        let members = "union Hit = A | B type A { a: Int } type B { b: Int }";
        assert_eq!(
            one(
                base,
                &format!("type Query {{ k: Kind s: Hit }} enum Kind {{ LIKED }} {members}")
            ),
            is("VALUE_REMOVED_FROM_ENUM:Kind.FOLLOWED", Breaking)
        );
        assert_eq!(
            one(
                base,
                &format!(
                    "type Query {{ k: Kind s: Hit }} enum Kind {{ LIKED FOLLOWED SHARED }} {members}"
                )
            ),
            is("VALUE_ADDED_TO_ENUM:Kind.SHARED", Dangerous)
        );
        let kinds = "type Query { k: Kind s: Hit } enum Kind { LIKED FOLLOWED }";
        assert_eq!(
            one(
                base,
                &format!("{kinds} union Hit = A type A {{ a: Int }} type B {{ b: Int }}")
            ),
            is("TYPE_REMOVED_FROM_UNION:Hit.B", Breaking)
        );
        assert_eq!(
            changes(
                base,
                &format!(
                    "{kinds} union Hit = A | B | C {members_c}",
                    members_c = "type A { a: Int } type B { b: Int } type C { c: Int }"
                )
            ),
            [
                is("TYPE_ADDED_TO_UNION:Hit.C", Dangerous),
                is("TYPE_ADDED:C", Safe)
            ]
        );
    }

    #[test]
    fn interfaces_removed_are_breaking_and_added_are_dangerous() {
        let base =
            "type Query { n: Node } interface Node { id: ID } type Post implements Node { id: ID }";
        assert_eq!(
            one(
                base,
                "type Query { n: Node } interface Node { id: ID } type Post { id: ID }"
            ),
            is("IMPLEMENTED_INTERFACE_REMOVED:Post.Node", Breaking)
        );
        assert_eq!(
            one(
                "type Query { n: Node } interface Node { id: ID } type Post { id: ID }",
                base
            ),
            is("IMPLEMENTED_INTERFACE_ADDED:Post.Node", Dangerous)
        );
    }

    #[test]
    fn directives_removed_or_narrowed_are_breaking() {
        let base = "type Query { a: Int } directive @cached(ttl: Int) repeatable on FIELD | QUERY";
        assert_eq!(
            one(base, "type Query { a: Int }"),
            is("DIRECTIVE_REMOVED:@cached", Breaking)
        );
        assert_eq!(
            one(
                base,
                "type Query { a: Int } directive @cached(ttl: Int) on FIELD | QUERY"
            ),
            is("DIRECTIVE_REPEATABLE_REMOVED:@cached", Breaking)
        );
        assert_eq!(
            one(
                base,
                "type Query { a: Int } directive @cached(ttl: Int) repeatable on FIELD"
            ),
            is("DIRECTIVE_LOCATION_REMOVED:@cached.QUERY", Breaking)
        );
        assert_eq!(
            one(
                base,
                "type Query { a: Int } directive @cached repeatable on FIELD | QUERY"
            ),
            is("DIRECTIVE_ARG_REMOVED:@cached(ttl:)", Breaking)
        );
        assert_eq!(
            one(
                base,
                "type Query { a: Int } directive @cached(ttl: Int, scope: String!) repeatable on FIELD | QUERY"
            ),
            is("REQUIRED_DIRECTIVE_ARG_ADDED:@cached(scope:)", Breaking)
        );
    }

    #[test]
    fn deprecations_and_descriptions_are_safe() {
        assert_eq!(
            changes(
                "type Query { a: Int }",
                "type Query { \"The a.\" a: Int @deprecated(reason: \"use b\") }"
            ),
            [
                is("DEPRECATION_ADDED:Query.a", Safe),
                is("DESCRIPTION_CHANGED:Query.a", Safe)
            ]
        );
    }
}
