//! Entity representations: what an `_entities` call receives for each entity, cut from
//! the response by the fetch's `requires` selection, serialized once and de-duplicated.

use std::collections::HashMap;

use super::rewrites;
use crate::schema::SchemaIndex;
use crate::value::{Object, Value, write_value};
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
    /// The representation being serialized.
    scratch: Vec<u8>,
}

impl Representations {
    /// Whether no entity had a representation.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// Cuts and records the representation of one entity.
    pub fn push(
        &mut self,
        entity: &Object,
        requires: &SelectionSet,
        input_rewrites: Option<&[FetchRewrite]>,
        schema: &SchemaIndex,
    ) {
        let slot = representation(entity, requires, schema).map(|mut representation| {
            if let Some(rewrites) = input_rewrites {
                rewrites::apply(rewrites, &mut representation, schema);
            }
            self.scratch.clear();
            write_value(&mut self.scratch, &representation);
            match self.positions.get(self.scratch.as_slice()) {
                Some(&position) => position,
                None => {
                    let position = self.positions.len();
                    if position > 0 {
                        self.list.push(b',');
                    }
                    self.list.extend_from_slice(&self.scratch);
                    self.positions
                        .insert(self.scratch.as_slice().into(), position);
                    position
                }
            }
        });
        self.slots.push(slot);
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
