//! Walking the response along a plan path, and merging fetched data into it.

use super::rewrites;
use crate::response::PathSegment;
use crate::schema::SchemaIndex;
use crate::value::{Object, Value};
use hive_router_query_planner::planner::plan_nodes::{
    FetchRewrite, FlattenNodePath, FlattenNodePathSegment,
};

/// One step of a response path while walking: a key from the plan, or a list index.
#[derive(Debug, Clone, Copy)]
pub(super) enum Step<'p> {
    Key(&'p str),
    Index(usize),
}

/// Calls `visit` for every entity object found at `path` below `value`, in a stable
/// order, with the response path that leads to it. Lists are walked through wherever
/// they appear (with or without an explicit `@` segment); type conditions keep only
/// objects whose `__typename` satisfies them; nulls and missing fields end the walk.
pub(super) fn for_each_entity<'p, F>(
    value: &mut Value,
    path: &'p [FlattenNodePathSegment],
    schema: &SchemaIndex,
    trail: &mut Vec<Step<'p>>,
    visit: &mut F,
) where
    F: FnMut(&mut Object, &[Step<'p>]),
{
    if let Value::List(items) = value {
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
            let matches = object
                .get("__typename")
                .and_then(Value::as_str)
                .is_some_and(|typename| {
                    types
                        .iter()
                        .any(|condition| schema.satisfies(typename, condition))
                });
            if matches {
                for_each_entity(value, rest, schema, trail, visit);
            }
        }
    }
}

/// Merges each returned entity into every response object it stands for, and returns
/// (when asked) the response path of the first object per representation, for errors.
pub(super) fn merge_entities(
    data: &mut Value,
    paths: &[FlattenNodePath],
    output_rewrites: Option<&[FetchRewrite]>,
    slots: &[Option<usize>],
    entities: Vec<Value>,
    schema: &SchemaIndex,
    record_paths: bool,
) -> Vec<Option<Vec<PathSegment>>> {
    let mut remaining_uses = vec![0usize; entities.len()];
    for slot in slots.iter().flatten() {
        if let Some(uses) = remaining_uses.get_mut(*slot) {
            *uses += 1;
        }
    }
    let mut entities: Vec<Option<Value>> = entities.into_iter().map(Some).collect();
    let mut first_paths: Vec<Option<Vec<PathSegment>>> = if record_paths {
        vec![None; entities.len()]
    } else {
        Vec::new()
    };
    let mut visited = 0usize;
    for path in paths {
        for_each_entity(
            data,
            path.as_slice(),
            schema,
            &mut Vec::new(),
            &mut |target, trail| {
                let slot = slots.get(visited).copied().flatten();
                visited += 1;
                let Some(slot) = slot else {
                    return;
                };
                if let Some(first) = first_paths.get_mut(slot)
                    && first.is_none()
                {
                    *first = Some(trail.iter().map(to_segment).collect());
                }
                let Some(uses) = remaining_uses.get_mut(slot) else {
                    return;
                };
                *uses -= 1;
                // The last object to use an entity takes it; earlier ones get a copy.
                let entity = if *uses == 0 {
                    entities.get_mut(slot).and_then(Option::take)
                } else {
                    entities.get(slot).cloned().flatten()
                };
                let Some(mut entity) = entity else {
                    return;
                };
                if let Some(rewrites) = output_rewrites {
                    rewrites::apply(rewrites, &mut entity, schema);
                }
                if let Value::Object(entity) = entity {
                    target.merge(entity);
                }
            },
        );
    }
    first_paths
}

fn to_segment(step: &Step<'_>) -> PathSegment {
    match step {
        Step::Key(key) => PathSegment::Key((*key).to_owned()),
        Step::Index(index) => PathSegment::Index(*index),
    }
}
