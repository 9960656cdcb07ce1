//! The executor's JSON value: subgraph data parsed once, merged by the executor and read
//! by projection.
//!
//! `serde_json::Value` is an IndexMap per object here (graphql-composition turns on
//! `preserve_order` for the whole workspace), so every object costs two allocations, a
//! SipHash per key and per look-up. Objects in GraphQL responses have a handful of
//! fields, so [`Object`] keeps them in one vector in arrival order and looks keys up by
//! scanning; keys and short strings are stored inline ([`CompactString`]). Parsing a
//! response then allocates once per object, list and long string.

mod parse;
mod write;

use compact_str::CompactString;
use serde_json::Number;
pub(crate) use write::{write_str, write_value};

/// A JSON value of response data.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(CompactString),
    List(Vec<Value>),
    Object(Object),
}

impl Value {
    /// The text of a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(text) => Some(text),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }
}

impl From<serde_json::Value> for Value {
    fn from(value: serde_json::Value) -> Self {
        match value {
            serde_json::Value::Null => Self::Null,
            serde_json::Value::Bool(flag) => Self::Bool(flag),
            serde_json::Value::Number(number) => Self::Number(number),
            serde_json::Value::String(text) => Self::String(text.into()),
            serde_json::Value::Array(items) => {
                Self::List(items.into_iter().map(Self::from).collect())
            }
            serde_json::Value::Object(fields) => Self::Object(Object::from(fields)),
        }
    }
}

/// A JSON object: fields in arrival order, looked up by scanning.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Object {
    fields: Vec<(CompactString, Value)>,
}

impl Object {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.fields.iter().position(|(name, _)| name == key)
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.fields
            .iter_mut()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value)
    }

    /// Like [`Object::get`], but starts scanning at `*cursor` (and wraps around), then
    /// leaves the cursor after the field found. Reading fields in the order they were
    /// written, as projection mostly does, finds each at the first try.
    pub fn get_from(&self, key: &str, cursor: &mut usize) -> Option<&Value> {
        let start = (*cursor).min(self.fields.len());
        let (before, after) = self.fields.split_at(start);
        let found = after
            .iter()
            .position(|(name, _)| name == key)
            .map(|offset| start + offset)
            .or_else(|| before.iter().position(|(name, _)| name == key))?;
        *cursor = found + 1;
        self.fields.get(found).map(|(_, value)| value)
    }

    /// Sets `key` to `value`, in place if the key exists, else at the end.
    pub fn insert(&mut self, key: impl Into<CompactString> + AsRef<str>, value: Value) {
        match self.get_mut(key.as_ref()) {
            Some(existing) => *existing = value,
            None => self.fields.push((key.into(), value)),
        }
    }

    /// Removes `key`, keeping the order of the other fields.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let position = self.position(key)?;
        Some(self.fields.remove(position).1)
    }

    /// Deep-merges the fields of `source` into this object: objects key by key, lists
    /// item by item, anything else replaced.
    pub fn merge(&mut self, source: Object) {
        self.fields.reserve(source.fields.len());
        for (key, value) in source.fields {
            match self.position(&key) {
                Some(position) => {
                    if let Some((_, existing)) = self.fields.get_mut(position) {
                        existing.merge(value);
                    }
                }
                None => self.fields.push((key, value)),
            }
        }
    }
}

impl Value {
    /// Deep-merges `source` into this value: objects key by key, lists of the same
    /// length item by item, anything else replaced.
    pub fn merge(&mut self, source: Value) {
        match (self, source) {
            (Value::Object(target), Value::Object(source)) => target.merge(source),
            (Value::List(target), Value::List(source)) if target.len() == source.len() => {
                for (target, source) in target.iter_mut().zip(source) {
                    target.merge(source);
                }
            }
            (target, source) => *target = source,
        }
    }
}

impl From<serde_json::Map<String, serde_json::Value>> for Object {
    fn from(fields: serde_json::Map<String, serde_json::Value>) -> Self {
        Self {
            fields: fields
                .into_iter()
                .map(|(key, value)| (key.into(), Value::from(value)))
                .collect(),
        }
    }
}
