//! Projection: the merged subgraph data shaped into exactly what the client asked for.
//!
//! A [`Projection`] is compiled once per operation (and cached with its plan) from the
//! normalized operation, with every field's type looked up in the public schema. At
//! request time it walks the merged data and writes the response JSON straight into a
//! buffer: aliases, `__typename`, fragments by runtime type, `@skip`/`@include` by
//! variable, and null propagation (a null in a non-null position nulls the nearest
//! nullable parent, which is done by truncating the buffer back to where it started).

use graphql_tools::static_graphql::schema::{Type, TypeDefinition};
use hive_router_query_planner::ast::selection_item::SelectionItem;
use hive_router_query_planner::ast::selection_set::SelectionSet;
use serde_json::{Map, Value as JsonValue};

use crate::response::{GraphQLError, PathSegment};
use crate::schema::SchemaIndex;
use crate::value::{Object, Value, write_str, write_value};
use crate::variables::selection_included;

/// The client's selection, compiled against the schema.
#[derive(Debug)]
pub(crate) struct Projection {
    root_type: String,
    root: Selection,
}

#[derive(Debug, Default)]
struct Selection {
    items: Vec<Item>,
    /// Fragments can select a response key twice; only then do writes need de-duplicating.
    has_fragments: bool,
}

#[derive(Debug)]
enum Item {
    Field(FieldPlan),
    Fragment(FragmentPlan),
}

#[derive(Debug)]
struct FragmentPlan {
    type_condition: String,
    skip_if: Option<String>,
    include_if: Option<String>,
    selection: Selection,
}

#[derive(Debug)]
struct FieldPlan {
    response_key: String,
    /// `"responseKey":`, written before the field's value.
    key_prefix: Box<[u8]>,
    skip_if: Option<String>,
    include_if: Option<String>,
    output: Output,
}

#[derive(Debug)]
enum Output {
    /// `__typename`: the runtime type's name.
    Typename,
    /// A value the router resolved itself (introspection), already shaped; copied as is.
    Verbatim,
    /// A schema field.
    Value(ValuePlan),
}

#[derive(Debug)]
struct ValuePlan {
    /// `Type.field`, for error messages.
    coordinate: String,
    shape: Shape,
    named_type: String,
    /// `None` for leaves (scalars and enums), which are copied as they are.
    selection: Option<Selection>,
    /// For enums, the values the public schema has: a subgraph may return one that is
    /// `@inaccessible` or unknown to the API, which must not reach the client.
    enum_values: Option<Vec<String>>,
}

/// The list and non-null wrappers around a field's named type.
#[derive(Debug)]
struct Shape {
    nullable: bool,
    list_of: Option<Box<Shape>>,
}

impl Shape {
    fn from_type(ty: &Type) -> Self {
        match ty {
            Type::NamedType(_) => Self {
                nullable: true,
                list_of: None,
            },
            Type::ListType(item) => Self {
                nullable: true,
                list_of: Some(Box::new(Self::from_type(item))),
            },
            Type::NonNullType(inner) => Self {
                nullable: false,
                ..Self::from_type(inner)
            },
        }
    }
}

fn named_type(ty: &Type) -> &str {
    match ty {
        Type::NamedType(name) => name,
        Type::ListType(inner) | Type::NonNullType(inner) => named_type(inner),
    }
}

impl Projection {
    /// Compiles a normalized selection on the root type. `verbatim_root_keys` are root
    /// response keys the router fills in itself (introspection); they come first.
    pub fn new(
        schema: &SchemaIndex,
        root_type: &str,
        selection: Option<&SelectionSet>,
        verbatim_root_keys: &[String],
    ) -> Self {
        let mut root = selection
            .map(|selection| compile(schema, root_type, selection))
            .unwrap_or_default();
        let verbatim = verbatim_root_keys.iter().map(|key| {
            Item::Field(FieldPlan {
                response_key: key.clone(),
                key_prefix: key_prefix(key),
                skip_if: None,
                include_if: None,
                output: Output::Verbatim,
            })
        });
        root.items.splice(0..0, verbatim);
        Self {
            root_type: root_type.to_owned(),
            root,
        }
    }

    /// Writes the `data` value for `data` (the merged subgraph responses) into `out`.
    /// Non-null violations not already explained by an error in `errors` add one.
    pub fn write_data(
        &self,
        schema: &SchemaIndex,
        data: &Value,
        variables: &Map<String, JsonValue>,
        errors: &mut Vec<GraphQLError>,
        out: &mut Vec<u8>,
    ) {
        let mut writer = Writer {
            schema,
            variables,
            errors,
            out,
            path: Vec::new(),
        };
        let empty = Object::new();
        let root = match data {
            Value::Object(root) => root,
            _ => &empty,
        };
        let start = writer.out.len();
        if writer.object(&self.root, root, &self.root_type).is_err() {
            writer.out.truncate(start);
            writer.out.extend_from_slice(b"null");
        }
    }
}

fn compile(schema: &SchemaIndex, parent_type: &str, selection: &SelectionSet) -> Selection {
    let mut compiled = Selection::default();
    for item in &selection.items {
        match item {
            SelectionItem::Field(field) if field.omit_from_response => {}
            SelectionItem::Field(field) => {
                let output = if field.name == "__typename" {
                    Output::Typename
                } else if let Some(definition) = schema.field(parent_type, &field.name) {
                    let named = named_type(&definition.field_type);
                    Output::Value(ValuePlan {
                        coordinate: format!("{parent_type}.{}", field.name),
                        shape: Shape::from_type(&definition.field_type),
                        named_type: named.to_owned(),
                        selection: (!field.selections.items.is_empty())
                            .then(|| compile(schema, named, &field.selections)),
                        enum_values: match schema.type_definition(named) {
                            Some(TypeDefinition::Enum(definition)) => Some(
                                definition
                                    .values
                                    .iter()
                                    .map(|value| value.name.clone())
                                    .collect(),
                            ),
                            _ => None,
                        },
                    })
                } else {
                    Output::Verbatim
                };
                compiled.items.push(Item::Field(FieldPlan {
                    response_key: field.selection_identifier().to_owned(),
                    key_prefix: key_prefix(field.selection_identifier()),
                    skip_if: field.skip_if.clone(),
                    include_if: field.include_if.clone(),
                    output,
                }));
            }
            SelectionItem::InlineFragment(fragment) => {
                compiled.has_fragments = true;
                compiled.items.push(Item::Fragment(FragmentPlan {
                    type_condition: fragment.type_condition.clone(),
                    skip_if: fragment.skip_if.clone(),
                    include_if: fragment.include_if.clone(),
                    selection: compile(schema, &fragment.type_condition, &fragment.selections),
                }));
            }
            // Normalization inlines every named fragment.
            SelectionItem::FragmentSpread(_) => {}
        }
    }
    compiled
}

fn key_prefix(response_key: &str) -> Box<[u8]> {
    let mut prefix = Vec::with_capacity(response_key.len() + 3);
    write_str(&mut prefix, response_key);
    prefix.push(b':');
    prefix.into()
}

/// Marks a null that must propagate to the nearest nullable parent.
struct NullBubble;

#[derive(Clone, Copy)]
enum PathStep<'a> {
    Key(&'a str),
    Index(usize),
}

struct Writer<'a> {
    schema: &'a SchemaIndex,
    variables: &'a Map<String, JsonValue>,
    errors: &'a mut Vec<GraphQLError>,
    out: &'a mut Vec<u8>,
    path: Vec<PathStep<'a>>,
}

impl<'a> Writer<'a> {
    fn object(
        &mut self,
        selection: &'a Selection,
        object: &'a Object,
        type_name: &'a str,
    ) -> Result<(), NullBubble> {
        self.out.push(b'{');
        let mut written = selection.has_fragments.then(Vec::new);
        let mut cursor = 0;
        self.fields(selection, object, type_name, &mut written, &mut cursor)?;
        self.out.push(b'}');
        Ok(())
    }

    fn fields(
        &mut self,
        selection: &'a Selection,
        object: &'a Object,
        type_name: &'a str,
        written: &mut Option<Vec<&'a str>>,
        cursor: &mut usize,
    ) -> Result<(), NullBubble> {
        for item in &selection.items {
            match item {
                Item::Field(field) => {
                    if !selection_included(
                        field.skip_if.as_deref(),
                        field.include_if.as_deref(),
                        self.variables,
                    ) {
                        continue;
                    }
                    let key = field.response_key.as_str();
                    if let Some(written) = written {
                        if written.contains(&key) {
                            continue;
                        }
                        written.push(key);
                    }
                    if self.out.last() != Some(&b'{') {
                        self.out.push(b',');
                    }
                    self.out.extend_from_slice(&field.key_prefix);
                    match &field.output {
                        Output::Typename => write_str(self.out, type_name),
                        Output::Verbatim => match object.get_from(key, cursor) {
                            Some(value) => write_value(self.out, value),
                            None => self.out.extend_from_slice(b"null"),
                        },
                        Output::Value(plan) => {
                            self.path.push(PathStep::Key(key));
                            let result =
                                self.value(plan, &plan.shape, object.get_from(key, cursor));
                            self.path.pop();
                            result?;
                        }
                    }
                }
                Item::Fragment(fragment) => {
                    if selection_included(
                        fragment.skip_if.as_deref(),
                        fragment.include_if.as_deref(),
                        self.variables,
                    ) && self.schema.satisfies(type_name, &fragment.type_condition)
                    {
                        self.fields(&fragment.selection, object, type_name, written, cursor)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn value(
        &mut self,
        plan: &'a ValuePlan,
        shape: &'a Shape,
        value: Option<&'a Value>,
    ) -> Result<(), NullBubble> {
        let value = match value {
            None | Some(Value::Null) => {
                if !shape.nullable {
                    self.report_null(plan);
                }
                return self.null(shape);
            }
            Some(value) => value,
        };
        let start = self.out.len();
        let written = match (&shape.list_of, &plan.selection, value) {
            (Some(item_shape), _, Value::List(items)) => self.list(plan, item_shape, items),
            (None, None, leaf) => match &plan.enum_values {
                Some(values) if !leaf.as_str().is_some_and(|v| values.iter().any(|x| x == v)) => {
                    self.report_invalid_enum(plan, leaf);
                    Err(NullBubble)
                }
                _ => {
                    write_value(self.out, leaf);
                    Ok(())
                }
            },
            (None, Some(selection), Value::Object(object)) => {
                let type_name = object
                    .get("__typename")
                    .and_then(Value::as_str)
                    .unwrap_or(&plan.named_type);
                self.object(selection, object, type_name)
            }
            // A value of the wrong shape is treated as missing.
            _ => Err(NullBubble),
        };
        match written {
            Ok(()) => Ok(()),
            Err(NullBubble) => {
                self.out.truncate(start);
                self.null(shape)
            }
        }
    }

    fn list(
        &mut self,
        plan: &'a ValuePlan,
        item_shape: &'a Shape,
        items: &'a [Value],
    ) -> Result<(), NullBubble> {
        self.out.push(b'[');
        for (index, item) in items.iter().enumerate() {
            if index > 0 {
                self.out.push(b',');
            }
            self.path.push(PathStep::Index(index));
            let result = self.value(plan, item_shape, Some(item));
            self.path.pop();
            result?;
        }
        self.out.push(b']');
        Ok(())
    }

    /// Writes `null` where the shape allows it, or bubbles the null up.
    fn null(&mut self, shape: &Shape) -> Result<(), NullBubble> {
        if shape.nullable {
            self.out.extend_from_slice(b"null");
            Ok(())
        } else {
            Err(NullBubble)
        }
    }

    fn current_path(&self) -> Vec<PathSegment> {
        self.path
            .iter()
            .map(|step| match step {
                PathStep::Key(key) => PathSegment::Key((*key).to_owned()),
                PathStep::Index(index) => PathSegment::Index(*index),
            })
            .collect()
    }

    /// Records an enum value the public schema does not have; the value becomes null.
    fn report_invalid_enum(&mut self, plan: &ValuePlan, value: &Value) {
        let path = self.current_path();
        self.errors.push(GraphQLError {
            message: format!(
                "Enum \"{}\" cannot represent value: {value}",
                plan.named_type
            ),
            locations: Vec::new(),
            path: Some(path),
            extensions: Map::new(),
        });
    }

    /// Records a non-null violation unless an error at or below this path explains it.
    fn report_null(&mut self, plan: &ValuePlan) {
        let path = self.current_path();
        let explained = self.errors.iter().any(|error| {
            error
                .path
                .as_ref()
                .is_some_and(|error_path| error_path.starts_with(&path))
        });
        if !explained {
            self.errors.push(GraphQLError {
                message: format!(
                    "Cannot return null for non-nullable field {}.",
                    plan.coordinate
                ),
                locations: Vec::new(),
                path: Some(path),
                extensions: Map::new(),
            });
        }
    }
}
