//! Subgraph errors from `_entities` calls, moved to the paths the client knows.

use crate::response::{GraphQLError, PathSegment};
use crate::value::Value;

/// Whether an error's path starts at the response key of an `_entities` field.
pub(super) fn starts_with_key(error: &GraphQLError, response_key: &str) -> bool {
    matches!(error.path.as_deref(), Some([PathSegment::Key(key), ..]) if key == response_key)
}

/// An error whose path points into an `_entities` list, waiting to be moved to the
/// client's paths of the entities it concerns.
pub(super) struct EntityError {
    error: GraphQLError,
    /// The representations the error is about.
    targets: Vec<usize>,
    /// The path below the entity.
    rest: Vec<PathSegment>,
}

impl EntityError {
    /// `[_entities, i, rest..]` names its entity. Some subgraphs (async-graphql among
    /// them) leave the index out, `[_entities, rest..]`; then the error concerns every
    /// entity whose value at `rest` is null.
    pub(super) fn new(mut error: GraphQLError, entities: &[Value]) -> Self {
        let path = error.path.take().unwrap_or_default();
        let (targets, rest) = match path.as_slice() {
            [_, PathSegment::Index(index), rest @ ..] => (vec![*index], rest.to_vec()),
            [_, rest @ ..] => (
                (0..entities.len())
                    .filter(|&index| is_null_at(&entities[index], rest))
                    .collect(),
                rest.to_vec(),
            ),
            [] => (Vec::new(), Vec::new()),
        };
        Self {
            error,
            targets,
            rest,
        }
    }

    /// One error per concerned entity, at the client's path; or the error without a path
    /// if no entity can be located.
    pub(super) fn relocate(self, first_paths: &[Option<Vec<PathSegment>>]) -> Vec<GraphQLError> {
        let mut relocated: Vec<GraphQLError> = self
            .targets
            .iter()
            .filter_map(|&target| first_paths.get(target).cloned().flatten())
            .map(|mut path| {
                path.extend(self.rest.iter().cloned());
                let mut error = self.error.clone();
                error.path = Some(path);
                error
            })
            .collect();
        if relocated.is_empty() {
            relocated.push(self.error);
        }
        relocated
    }
}

/// Whether `value` is null (or absent) at `path`.
fn is_null_at(value: &Value, path: &[PathSegment]) -> bool {
    let mut current = value;
    for segment in path {
        let next = match (segment, current) {
            (PathSegment::Key(key), Value::Object(object)) => object.get(key),
            (PathSegment::Index(index), Value::List(items)) => items.get(*index),
            _ => None,
        };
        match next {
            Some(next) => current = next,
            None => return true,
        }
    }
    current.is_null()
}
