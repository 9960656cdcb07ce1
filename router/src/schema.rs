//! An index over the public (consumer) schema: type and field look-ups and the possible
//! types of interfaces and unions, shared by projection and introspection.

use std::collections::HashMap;
use std::sync::Arc;

use graphql_tools::static_graphql::schema::{Definition, Document, Field, TypeDefinition};

/// The public schema, indexed by type name.
pub(crate) struct SchemaIndex {
    document: Arc<Document>,
    /// Type name → position in `document.definitions`.
    types: HashMap<String, usize>,
    /// Interface or union name → the object types that can appear in its place, sorted.
    possible_types: HashMap<String, Vec<String>>,
    pub query_type: String,
    pub mutation_type: Option<String>,
    pub subscription_type: Option<String>,
}

impl SchemaIndex {
    pub fn new(
        document: Arc<Document>,
        query_type: String,
        mutation_type: Option<String>,
        subscription_type: Option<String>,
    ) -> Self {
        let mut types = HashMap::new();
        let mut possible_types: HashMap<String, Vec<String>> = HashMap::new();
        for (position, definition) in document.definitions.iter().enumerate() {
            let Definition::TypeDefinition(definition) = definition else {
                continue;
            };
            types.insert(type_name(definition).to_owned(), position);
            match definition {
                TypeDefinition::Object(object) => {
                    for interface in &object.implements_interfaces {
                        possible_types
                            .entry(interface.clone())
                            .or_default()
                            .push(object.name.clone());
                    }
                }
                TypeDefinition::Union(union) => {
                    possible_types
                        .entry(union.name.clone())
                        .or_default()
                        .extend(union.types.iter().cloned());
                }
                _ => {}
            }
        }
        for members in possible_types.values_mut() {
            members.sort();
            members.dedup();
        }
        Self {
            document,
            types,
            possible_types,
            query_type,
            mutation_type,
            subscription_type,
        }
    }

    /// Every type definition, in schema order.
    pub fn types(&self) -> impl Iterator<Item = &TypeDefinition> {
        self.document
            .definitions
            .iter()
            .filter_map(|definition| match definition {
                Definition::TypeDefinition(definition) => Some(definition),
                _ => None,
            })
    }

    /// The schema document itself (for directive definitions).
    pub fn document(&self) -> &Document {
        &self.document
    }

    pub fn type_definition(&self, name: &str) -> Option<&TypeDefinition> {
        let position = *self.types.get(name)?;
        match self.document.definitions.get(position)? {
            Definition::TypeDefinition(definition) => Some(definition),
            _ => None,
        }
    }

    /// A field of an object or interface type.
    pub fn field(&self, type_name: &str, field_name: &str) -> Option<&Field> {
        let fields = match self.type_definition(type_name)? {
            TypeDefinition::Object(object) => &object.fields,
            TypeDefinition::Interface(interface) => &interface.fields,
            _ => return None,
        };
        fields.iter().find(|field| field.name == field_name)
    }

    /// The object types that can stand in for an interface or union.
    pub fn possible_types(&self, name: &str) -> &[String] {
        self.possible_types.get(name).map_or(&[], Vec::as_slice)
    }

    /// Whether an object of type `object_type` matches a fragment on `condition`.
    pub fn satisfies(&self, object_type: &str, condition: &str) -> bool {
        object_type == condition
            || self
                .possible_types(condition)
                .iter()
                .any(|member| member == object_type)
    }
}

/// The name of any type definition.
pub(crate) fn type_name(definition: &TypeDefinition) -> &str {
    match definition {
        TypeDefinition::Scalar(t) => &t.name,
        TypeDefinition::Object(t) => &t.name,
        TypeDefinition::Interface(t) => &t.name,
        TypeDefinition::Union(t) => &t.name,
        TypeDefinition::Enum(t) => &t.name,
        TypeDefinition::InputObject(t) => &t.name,
    }
}
