//! Entity representations: what an `_entities` call receives for each entity, cut from
//! the response by the fetch's `requires` selection and written as JSON straight from
//! the entity (built as a value first only when input rewrites or overlapping fragments
//! need it), then de-duplicated by their bytes.

use std::collections::HashMap;
use std::ops::Range;

use super::rewrites;
use crate::schema::SchemaIndex;
use crate::value::{Object, Value, write_str, write_value};
use hive_router_query_planner::ast::selection_item::SelectionItem;
use hive_router_query_planner::ast::selection_set::SelectionSet;
use hive_router_query_planner::planner::plan_nodes::FetchRewrite;

/// The unique representations of one `_entities` variable, and for every entity visited
/// (in walk order) which representation stands for it.
#[derive(Debug, Default)]
pub(crate) struct Representations {
    /// The distinct representations as JSON, comma-separated in first-seen order: the
    /// items of the variable's list, ready for the request body.
    pub list: Vec<u8>,
    /// Per visited entity: the position of its representation in `list`, or `None` when
    /// the entity lacks the fields its representation needs (for example because an
    /// earlier fetch failed).
    pub slots: Vec<Option<usize>>,
    /// Each distinct representation's JSON → its position.
    positions: HashMap<Box<[u8]>, usize>,
    /// Where each distinct representation lies in `list`.
    items: Vec<Range<usize>>,
    /// The representation being serialized.
    scratch: Vec<u8>,
}

impl Representations {
    /// Whether no entity had a representation.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many distinct representations there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// The JSON of the distinct representation at `position`.
    pub fn item(&self, position: usize) -> &[u8] {
        &self.list[self.items[position].clone()]
    }

    /// Cuts and records the representation of one entity.
    pub fn push(
        &mut self,
        entity: &Object,
        requires: &SelectionSet,
        input_rewrites: Option<&[FetchRewrite]>,
        schema: &SchemaIndex,
    ) {
        self.scratch.clear();
        let written = match input_rewrites {
            // Most representations are written straight from the entity.
            None => match write_direct(entity, requires, schema, &mut self.scratch) {
                Direct::Written => true,
                Direct::Missing => false,
                Direct::Repeated => self.write_built(entity, requires, None, schema),
            },
            Some(rewrites) => self.write_built(entity, requires, Some(rewrites), schema),
        };
        let slot = written.then(|| match self.positions.get(self.scratch.as_slice()) {
            Some(&position) => position,
            None => {
                let position = self.items.len();
                if position > 0 {
                    self.list.push(b',');
                }
                let start = self.list.len();
                self.list.extend_from_slice(&self.scratch);
                self.items.push(start..self.list.len());
                self.positions
                    .insert(self.scratch.as_slice().into(), position);
                position
            }
        });
        self.slots.push(slot);
    }

    /// Builds the representation as a value (merging repeated keys, applying rewrites)
    /// and writes it into `scratch`; `false` if the entity has none.
    fn write_built(
        &mut self,
        entity: &Object,
        requires: &SelectionSet,
        input_rewrites: Option<&[FetchRewrite]>,
        schema: &SchemaIndex,
    ) -> bool {
        let Some(mut representation) = representation(entity, requires, schema) else {
            return false;
        };
        if let Some(rewrites) = input_rewrites {
            rewrites::apply(rewrites, &mut representation, schema);
        }
        self.scratch.clear();
        write_value(&mut self.scratch, &representation);
        true
    }
}

/// How writing a representation straight from the entity went.
enum Direct {
    Written,
    /// The entity misses a required field: it has no representation.
    Missing,
    /// A response key is selected twice (by overlapping fragments): the values must be
    /// merged, which needs the representation built as a value first.
    Repeated,
}

/// Writes the representation of `entity` into `out` without building it first.
fn write_direct(
    entity: &Object,
    requires: &SelectionSet,
    schema: &SchemaIndex,
    out: &mut Vec<u8>,
) -> Direct {
    let mut keys = Vec::new();
    out.push(b'{');
    let result = write_fields(entity, &requires.items, schema, out, &mut keys, 0);
    out.push(b'}');
    match result {
        Direct::Written if keys.is_empty() => Direct::Missing,
        result => result,
    }
}

/// Writes the selected fields of `source`; `keys[level..]` are the response keys this
/// object already has.
fn write_fields<'s>(
    source: &Object,
    items: &'s [SelectionItem],
    schema: &SchemaIndex,
    out: &mut Vec<u8>,
    keys: &mut Vec<&'s str>,
    level: usize,
) -> Direct {
    for item in items {
        match item {
            SelectionItem::Field(field) => {
                // Read under the field's name, written under its response key (see
                // `select_into`).
                let key = field.selection_identifier();
                if keys[level..].contains(&key) {
                    return Direct::Repeated;
                }
                let Some(value) = source.get(field.name.as_str()) else {
                    return Direct::Missing;
                };
                if keys.len() > level {
                    out.push(b',');
                }
                keys.push(key);
                write_str(out, key);
                out.push(b':');
                if field.selections.items.is_empty() {
                    write_value(out, value);
                } else {
                    match write_selected(value, &field.selections.items, schema, out, keys) {
                        Direct::Written => {}
                        other => return other,
                    }
                }
            }
            SelectionItem::InlineFragment(fragment) => {
                let applies = source
                    .get("__typename")
                    .and_then(Value::as_str)
                    .is_some_and(|typename| schema.satisfies(typename, &fragment.type_condition));
                if applies {
                    match write_fields(source, &fragment.selections.items, schema, out, keys, level)
                    {
                        Direct::Written => {}
                        other => return other,
                    }
                }
            }
            SelectionItem::FragmentSpread(_) => {}
        }
    }
    Direct::Written
}

/// Writes the selection of a field's value, as `select_value` would cut it.
fn write_selected<'s>(
    value: &Value,
    items: &'s [SelectionItem],
    schema: &SchemaIndex,
    out: &mut Vec<u8>,
    keys: &mut Vec<&'s str>,
) -> Direct {
    match value {
        Value::Object(object) => {
            let level = keys.len();
            out.push(b'{');
            let result = write_fields(object, items, schema, out, keys, level);
            out.push(b'}');
            keys.truncate(level);
            result
        }
        Value::List(values) => {
            out.push(b'[');
            for (index, value) in values.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                match write_selected(value, items, schema, out, keys) {
                    Direct::Written => {}
                    other => return other,
                }
            }
            out.push(b']');
            Direct::Written
        }
        Value::Null => {
            out.extend_from_slice(b"null");
            Direct::Written
        }
        _ => Direct::Missing,
    }
}

/// The entity's representation, or `None` if it does not match `requires` or misses a
/// required field.
fn representation(entity: &Object, requires: &SelectionSet, schema: &SchemaIndex) -> Option<Value> {
    let mut out = Object::new();
    select_into(entity, &requires.items, schema, &mut out)?;
    (!out.is_empty()).then_some(Value::Object(out))
}

fn select_into(
    source: &Object,
    items: &[SelectionItem],
    schema: &SchemaIndex,
    out: &mut Object,
) -> Option<()> {
    for item in items {
        match item {
            SelectionItem::Field(field) => {
                // When the planner had to alias a required field in the fetch that
                // provides it (the client selected the same field with other arguments),
                // it patches `requires` to `name: internalAlias`: read the data under
                // the internal alias, send it under the field's own name.
                let key = field.selection_identifier();
                let value = source.get(field.name.as_str())?;
                let value = if field.selections.items.is_empty() {
                    value.clone()
                } else {
                    select_value(value, &field.selections, schema)?
                };
                match out.get_mut(key) {
                    Some(existing) => existing.merge(value),
                    None => out.insert(key, value),
                }
            }
            SelectionItem::InlineFragment(fragment) => {
                let applies = source
                    .get("__typename")
                    .and_then(Value::as_str)
                    .is_some_and(|typename| schema.satisfies(typename, &fragment.type_condition));
                if applies {
                    select_into(source, &fragment.selections.items, schema, out)?;
                }
            }
            SelectionItem::FragmentSpread(_) => {}
        }
    }
    Some(())
}

fn select_value(value: &Value, selection: &SelectionSet, schema: &SchemaIndex) -> Option<Value> {
    match value {
        Value::Object(object) => {
            let mut out = Object::new();
            select_into(object, &selection.items, schema, &mut out)?;
            Some(Value::Object(out))
        }
        Value::List(items) => items
            .iter()
            .map(|item| select_value(item, selection, schema))
            .collect::<Option<Vec<_>>>()
            .map(Value::List),
        Value::Null => Some(Value::Null),
        _ => None,
    }
}
