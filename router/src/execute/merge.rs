//! Walking the response along a plan path, and merging fetched data into it.

use hive_router_query_planner::planner::plan_nodes::FlattenNodePathSegment;
use serde_json::{Map, Value};

use crate::schema::SchemaIndex;

/// One step of a response path while walking: a key from the plan, or a list index.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step<'p> {
    Key(&'p str),
    Index(usize),
}

/// Calls `visit` for every entity object found at `path` below `value`, in a stable
/// order, with the response path that leads to it. Lists are walked through wherever
/// they appear (with or without an explicit `@` segment); type conditions keep only
/// objects whose `__typename` satisfies them; nulls and missing fields end the walk.
pub(crate) fn for_each_entity<'p, F>(
    value: &mut Value,
    path: &'p [FlattenNodePathSegment],
    schema: &SchemaIndex,
    trail: &mut Vec<Step<'p>>,
    visit: &mut F,
) where
    F: FnMut(&mut Map<String, Value>, &[Step<'p>]),
{
    if let Value::Array(items) = value {
        let path = match path.first() {
            Some(FlattenNodePathSegment::List) => &path[1..],
            _ => path,
        };
        for (index, item) in items.iter_mut().enumerate() {
            trail.push(Step::Index(index));
            for_each_entity(item, path, schema, trail, visit);
            trail.pop();
        }
        return;
    }
    let Value::Object(object) = value else {
        return;
    };
    match path.split_first() {
        None => visit(object, trail),
        Some((FlattenNodePathSegment::Field(key), rest)) => {
            if let Some(child) = object.get_mut(key.as_str()) {
                trail.push(Step::Key(key));
                for_each_entity(child, rest, schema, trail, visit);
                trail.pop();
            }
        }
        Some((FlattenNodePathSegment::List, rest)) => {
            for_each_entity(value, rest, schema, trail, visit);
        }
        Some((FlattenNodePathSegment::TypeCondition(types), rest)) => {
            let matches = match object.get("__typename") {
                Some(Value::String(typename)) => types
                    .iter()
                    .any(|condition| schema.satisfies(typename, condition)),
                _ => false,
            };
            if matches {
                for_each_entity(value, rest, schema, trail, visit);
            }
        }
    }
}

/// Deep-merges `source` into `target`: objects key by key, lists item by item, anything
/// else replaced.
pub(crate) fn deep_merge(target: &mut Value, source: Value) {
    match (target, source) {
        (Value::Object(target), Value::Object(source)) => merge_object(target, source),
        (Value::Array(target), Value::Array(source)) if target.len() == source.len() => {
            for (target, source) in target.iter_mut().zip(source) {
                deep_merge(target, source);
            }
        }
        (target, source) => *target = source,
    }
}

/// Deep-merges the fields of `source` into `target`.
pub(crate) fn merge_object(target: &mut Map<String, Value>, source: Map<String, Value>) {
    for (key, value) in source {
        match target.get_mut(&key) {
            Some(existing) => deep_merge(existing, value),
            None => {
                target.insert(key, value);
            }
        }
    }
}
