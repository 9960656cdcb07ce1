//! The planner's input and output rewrites: setting `__typename` on representations of
//! interface objects, and renaming the internal aliases the planner gave to conflicting
//! fields back to their response keys.

use crate::schema::SchemaIndex;
use crate::value::{Object, Value};
use hive_router_query_planner::planner::plan_nodes::{FetchNodePathSegment, FetchRewrite};

/// Applies every rewrite, in order, to `value`.
pub(crate) fn apply(rewrites: &[FetchRewrite], value: &mut Value, schema: &SchemaIndex) {
    for rewrite in rewrites {
        match rewrite {
            FetchRewrite::ValueSetter(setter) => {
                walk(value, &setter.path, schema, &mut |object, key| {
                    object.insert(key, Value::String(setter.set_value_to.as_str().into()));
                });
            }
            FetchRewrite::KeyRenamer(renamer) => {
                walk(value, &renamer.path, schema, &mut |object, key| {
                    if let Some(moved) = object.remove(key) {
                        object.insert(renamer.rename_key_to.as_str(), moved);
                    }
                });
            }
        }
    }
}

/// Follows `path` to its last key and calls `at_key` with the object holding it.
fn walk(
    value: &mut Value,
    path: &[FetchNodePathSegment],
    schema: &SchemaIndex,
    at_key: &mut dyn FnMut(&mut Object, &str),
) {
    if let Value::List(items) = value {
        for item in items {
            walk(item, path, schema, at_key);
        }
        return;
    }
    let Value::Object(object) = value else {
        return;
    };
    match path.split_first() {
        None => {}
        Some((FetchNodePathSegment::TypenameEquals(types), rest)) => {
            let matches = object
                .get("__typename")
                .and_then(Value::as_str)
                .is_some_and(|typename| {
                    types
                        .iter()
                        .any(|condition| schema.satisfies(typename, condition))
                });
            if matches {
                walk(value, rest, schema, at_key);
            }
        }
        Some((FetchNodePathSegment::Key(key), [])) => at_key(object, key),
        Some((FetchNodePathSegment::Key(key), rest)) => {
            if let Some(child) = object.get_mut(key.as_str()) {
                walk(child, rest, schema, at_key);
            }
        }
    }
}
