//! Introspection (`__schema`, `__type`) answered by the router from the public schema.
//!
//! Subgraphs never see these fields: the router strips them from the operation before
//! planning and resolves them here over the client's own selection (fragments,
//! aliases and `@skip`/`@include` included), producing values that projection copies
//! into the response as they are.

use std::collections::HashMap;

use graphql_tools::static_graphql::query::{
    Directive as QueryDirective, Field as QueryField, FragmentDefinition, Selection, SelectionSet,
    TypeCondition,
};
use graphql_tools::static_graphql::schema::{
    Definition, Directive, DirectiveDefinition, EnumValue, Field, InputValue, Type, TypeDefinition,
};
use serde_json::{Map, Value};

use crate::schema::{SchemaIndex, type_name};
use crate::variables::to_json;

/// Whether a root field is answered by introspection.
pub(crate) fn is_introspection_field(name: &str) -> bool {
    name == "__schema" || name == "__type"
}

/// Resolves the root introspection fields of an operation.
pub(crate) struct Resolver<'a> {
    schema: &'a SchemaIndex,
    fragments: HashMap<&'a str, &'a FragmentDefinition>,
    variables: &'a Map<String, Value>,
}

/// What an introspection object stands for.
#[derive(Clone, Copy)]
enum Node<'a> {
    Schema,
    Type(TypeRef<'a>),
    Field(&'a Field),
    InputValue(&'a InputValue),
    EnumValue(&'a EnumValue),
    Directive(&'a DirectiveDefinition),
}

#[derive(Clone, Copy)]
enum TypeRef<'a> {
    Named(&'a TypeDefinition),
    List(&'a Type),
    NonNull(&'a Type),
}

impl<'a> Resolver<'a> {
    pub fn new(
        schema: &'a SchemaIndex,
        fragments: impl IntoIterator<Item = &'a FragmentDefinition>,
        variables: &'a Map<String, Value>,
    ) -> Self {
        Self {
            schema,
            fragments: fragments
                .into_iter()
                .map(|f| (f.name.as_str(), f))
                .collect(),
            variables,
        }
    }

    /// Resolves the root `__schema`/`__type` fields of `root`, keyed by response key.
    pub fn resolve_root(&self, root: &'a SelectionSet) -> Map<String, Value> {
        let mut out = Map::new();
        for field in self.collect_fields(root, &self.schema.query_type) {
            let key = response_key(field);
            let value = match field.name.as_str() {
                "__schema" => self.object(Node::Schema, &field.selection_set),
                "__type" => self
                    .argument(field, "name")
                    .and_then(|name| name.as_str().map(str::to_owned))
                    .and_then(|name| self.schema.type_definition(&name))
                    .map_or(Value::Null, |definition| {
                        self.object(Node::Type(TypeRef::Named(definition)), &field.selection_set)
                    }),
                _ => continue,
            };
            out.insert(key.to_owned(), value);
        }
        out
    }

    /// Fields selected on an object of `type_name`, fragments and conditions applied.
    fn collect_fields(&self, selection: &'a SelectionSet, type_name: &str) -> Vec<&'a QueryField> {
        let mut fields = Vec::new();
        self.collect_into(selection, type_name, &mut fields);
        fields
    }

    fn collect_into(
        &self,
        selection: &'a SelectionSet,
        type_name: &str,
        out: &mut Vec<&'a QueryField>,
    ) {
        for item in &selection.items {
            match item {
                Selection::Field(field) if self.included(&field.directives) => out.push(field),
                Selection::InlineFragment(fragment) if self.included(&fragment.directives) => {
                    let applies = match &fragment.type_condition {
                        Some(TypeCondition::On(condition)) => {
                            self.schema.satisfies(type_name, condition)
                        }
                        None => true,
                    };
                    if applies {
                        self.collect_into(&fragment.selection_set, type_name, out);
                    }
                }
                Selection::FragmentSpread(spread) if self.included(&spread.directives) => {
                    if let Some(fragment) = self.fragments.get(spread.fragment_name.as_str()) {
                        let TypeCondition::On(condition) = &fragment.type_condition;
                        if self.schema.satisfies(type_name, condition) {
                            self.collect_into(&fragment.selection_set, type_name, out);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn included(&self, directives: &[QueryDirective]) -> bool {
        directives.iter().all(|directive| {
            let condition = || {
                directive
                    .arguments
                    .iter()
                    .find(|(name, _)| name == "if")
                    .map(|(_, value)| to_json(value, self.variables))
                    .and_then(|value| value.as_bool())
            };
            match directive.name.as_str() {
                "skip" => condition() != Some(true),
                "include" => condition() == Some(true),
                _ => true,
            }
        })
    }

    fn argument(&self, field: &QueryField, name: &str) -> Option<Value> {
        field
            .arguments
            .iter()
            .find(|(argument, _)| argument == name)
            .map(|(_, value)| to_json(value, self.variables))
    }

    fn include_deprecated(&self, field: &QueryField) -> bool {
        self.argument(field, "includeDeprecated")
            .and_then(|value| value.as_bool())
            .unwrap_or(false)
    }

    fn object(&self, node: Node<'a>, selection: &'a SelectionSet) -> Value {
        let type_name = node.type_name();
        let mut out = Map::new();
        for field in self.collect_fields(selection, type_name) {
            let key = response_key(field);
            if out.contains_key(key) {
                continue;
            }
            let value = if field.name == "__typename" {
                Value::from(type_name)
            } else {
                self.field(node, field)
            };
            out.insert(key.to_owned(), value);
        }
        Value::Object(out)
    }

    fn list<I>(&self, nodes: I, selection: &'a SelectionSet) -> Value
    where
        I: IntoIterator<Item = Node<'a>>,
    {
        Value::Array(
            nodes
                .into_iter()
                .map(|node| self.object(node, selection))
                .collect(),
        )
    }

    fn type_ref(&self, ty: &'a Type, selection: &'a SelectionSet) -> Value {
        match ty {
            Type::NamedType(name) => self
                .schema
                .type_definition(name)
                .map_or(Value::Null, |definition| {
                    self.object(Node::Type(TypeRef::Named(definition)), selection)
                }),
            Type::ListType(inner) => self.object(Node::Type(TypeRef::List(inner)), selection),
            Type::NonNullType(inner) => self.object(Node::Type(TypeRef::NonNull(inner)), selection),
        }
    }

    fn named_types<'n>(&self, names: impl IntoIterator<Item = &'n String>) -> Vec<Node<'a>> {
        names
            .into_iter()
            .filter_map(|name| self.schema.type_definition(name))
            .map(|definition| Node::Type(TypeRef::Named(definition)))
            .collect()
    }

    fn field(&self, node: Node<'a>, field: &'a QueryField) -> Value {
        let selection = &field.selection_set;
        match node {
            Node::Schema => match field.name.as_str() {
                "types" => self.list(
                    self.schema.types().map(|t| Node::Type(TypeRef::Named(t))),
                    selection,
                ),
                "queryType" => self.root_type(Some(&self.schema.query_type), selection),
                "mutationType" => self.root_type(self.schema.mutation_type.as_ref(), selection),
                "subscriptionType" => {
                    self.root_type(self.schema.subscription_type.as_ref(), selection)
                }
                "directives" => self.list(
                    self.schema
                        .document()
                        .definitions
                        .iter()
                        .filter_map(|definition| match definition {
                            Definition::DirectiveDefinition(directive) => {
                                Some(Node::Directive(directive))
                            }
                            _ => None,
                        }),
                    selection,
                ),
                _ => Value::Null,
            },
            Node::Type(wrapper @ (TypeRef::List(inner) | TypeRef::NonNull(inner))) => {
                match field.name.as_str() {
                    "kind" => Value::from(type_kind(wrapper)),
                    "ofType" => self.type_ref(inner, selection),
                    _ => Value::Null,
                }
            }
            Node::Type(TypeRef::Named(definition)) => self.named_type_field(definition, field),
            Node::Field(definition) => match field.name.as_str() {
                "name" => Value::from(definition.name.as_str()),
                "description" => description(&definition.description),
                "args" => self.input_values(&definition.arguments, field),
                "type" => self.type_ref(&definition.field_type, selection),
                "isDeprecated" => Value::Bool(deprecation(&definition.directives).is_some()),
                "deprecationReason" => deprecation(&definition.directives).into(),
                _ => Value::Null,
            },
            Node::InputValue(definition) => match field.name.as_str() {
                "name" => Value::from(definition.name.as_str()),
                "description" => description(&definition.description),
                "type" => self.type_ref(&definition.value_type, selection),
                "defaultValue" => definition
                    .default_value
                    .as_ref()
                    .map_or(Value::Null, |value| Value::String(value.to_string())),
                "isDeprecated" => Value::Bool(deprecation(&definition.directives).is_some()),
                "deprecationReason" => deprecation(&definition.directives).into(),
                _ => Value::Null,
            },
            Node::EnumValue(definition) => match field.name.as_str() {
                "name" => Value::from(definition.name.as_str()),
                "description" => description(&definition.description),
                "isDeprecated" => Value::Bool(deprecation(&definition.directives).is_some()),
                "deprecationReason" => deprecation(&definition.directives).into(),
                _ => Value::Null,
            },
            Node::Directive(definition) => match field.name.as_str() {
                "name" => Value::from(definition.name.as_str()),
                "description" => description(&definition.description),
                "locations" => definition
                    .locations
                    .iter()
                    .map(|location| Value::from(location.as_str()))
                    .collect(),
                "args" => self.input_values(&definition.arguments, field),
                "isRepeatable" => Value::Bool(definition.repeatable),
                _ => Value::Null,
            },
        }
    }

    fn root_type(&self, name: Option<&String>, selection: &'a SelectionSet) -> Value {
        name.and_then(|name| self.schema.type_definition(name))
            .map_or(Value::Null, |definition| {
                self.object(Node::Type(TypeRef::Named(definition)), selection)
            })
    }

    fn input_values(&self, values: &'a [InputValue], field: &'a QueryField) -> Value {
        let include_deprecated = self.include_deprecated(field);
        self.list(
            values
                .iter()
                .filter(|value| include_deprecated || deprecation(&value.directives).is_none())
                .map(Node::InputValue),
            &field.selection_set,
        )
    }

    fn named_type_field(&self, definition: &'a TypeDefinition, field: &'a QueryField) -> Value {
        let selection = &field.selection_set;
        let include_deprecated = self.include_deprecated(field);
        let visible_fields = |fields: &'a [Field]| {
            fields
                .iter()
                .filter(move |f| !f.name.starts_with("__"))
                .filter(move |f| include_deprecated || deprecation(&f.directives).is_none())
                .map(Node::Field)
        };
        match (field.name.as_str(), definition) {
            ("kind", _) => Value::from(type_kind(TypeRef::Named(definition))),
            ("name", _) => Value::from(type_name(definition)),
            ("description", _) => description(type_description(definition)),
            ("fields", TypeDefinition::Object(object)) => {
                self.list(visible_fields(&object.fields), selection)
            }
            ("fields", TypeDefinition::Interface(interface)) => {
                self.list(visible_fields(&interface.fields), selection)
            }
            ("interfaces", TypeDefinition::Object(object)) => {
                self.list(self.named_types(&object.implements_interfaces), selection)
            }
            ("interfaces", TypeDefinition::Interface(interface)) => self.list(
                self.named_types(&interface.implements_interfaces),
                selection,
            ),
            ("possibleTypes", TypeDefinition::Interface(_) | TypeDefinition::Union(_)) => self
                .list(
                    self.named_types(self.schema.possible_types(type_name(definition))),
                    selection,
                ),
            ("enumValues", TypeDefinition::Enum(enumeration)) => self.list(
                enumeration
                    .values
                    .iter()
                    .filter(|value| include_deprecated || deprecation(&value.directives).is_none())
                    .map(Node::EnumValue),
                selection,
            ),
            ("inputFields", TypeDefinition::InputObject(input)) => {
                self.input_values(&input.fields, field)
            }
            ("isOneOf", TypeDefinition::InputObject(input)) => {
                Value::Bool(input.directives.iter().any(|d| d.name == "oneOf"))
            }
            _ => Value::Null,
        }
    }
}

impl Node<'_> {
    fn type_name(&self) -> &'static str {
        match self {
            Node::Schema => "__Schema",
            Node::Type(_) => "__Type",
            Node::Field(_) => "__Field",
            Node::InputValue(_) => "__InputValue",
            Node::EnumValue(_) => "__EnumValue",
            Node::Directive(_) => "__Directive",
        }
    }
}

fn type_kind(ty: TypeRef<'_>) -> &'static str {
    match ty {
        TypeRef::List(_) => "LIST",
        TypeRef::NonNull(_) => "NON_NULL",
        TypeRef::Named(definition) => match definition {
            TypeDefinition::Scalar(_) => "SCALAR",
            TypeDefinition::Object(_) => "OBJECT",
            TypeDefinition::Interface(_) => "INTERFACE",
            TypeDefinition::Union(_) => "UNION",
            TypeDefinition::Enum(_) => "ENUM",
            TypeDefinition::InputObject(_) => "INPUT_OBJECT",
        },
    }
}

fn response_key(field: &QueryField) -> &str {
    field.alias.as_deref().unwrap_or(&field.name)
}

fn description(text: &Option<String>) -> Value {
    text.as_deref().map_or(Value::Null, Value::from)
}

fn type_description(definition: &TypeDefinition) -> &Option<String> {
    match definition {
        TypeDefinition::Scalar(t) => &t.description,
        TypeDefinition::Object(t) => &t.description,
        TypeDefinition::Interface(t) => &t.description,
        TypeDefinition::Union(t) => &t.description,
        TypeDefinition::Enum(t) => &t.description,
        TypeDefinition::InputObject(t) => &t.description,
    }
}

/// The deprecation reason, if the element carries `@deprecated`.
fn deprecation(directives: &[Directive]) -> Option<String> {
    let directive = directives.iter().find(|d| d.name == "deprecated")?;
    let reason = directive
        .arguments
        .iter()
        .find(|(name, _)| name == "reason")
        .and_then(|(_, value)| match value {
            graphql_tools::static_graphql::schema::Value::String(reason) => Some(reason.clone()),
            _ => None,
        });
    Some(reason.unwrap_or_else(|| "No longer supported".to_owned()))
}
