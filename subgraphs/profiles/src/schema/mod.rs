//! Profiles' GraphQL schema: profile fields on `User`, `Query.user`, `Query.searchUsers`,
//! `updateProfile`.

mod mutation;
mod query;
mod types;

use std::sync::Arc;

use agora_kit::graphql::{RowLoader, loader};
use agora_kit::restriction::BlockLoader;
use async_graphql::{EmptySubscription, Schema, SchemaBuilder};

use crate::profiles::Profiles;
use crate::store::profile;

pub use mutation::Mutation;
pub use query::Query;

/// Profiles' executable schema.
pub type ProfilesSchema = Schema<Query, Mutation, EmptySubscription>;

/// Builds the schema around the profile operations.
pub fn build(profiles: Arc<Profiles>) -> ProfilesSchema {
    let rows = loader(RowLoader::<profile::Entity>::new(profiles.db.clone()));
    let blocks = loader(BlockLoader(profiles.db.clone()));
    builder().data(profiles).data(rows).data(blocks).finish()
}

/// The federation SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    agora_kit::graphql::federation_sdl(&builder().finish())
}

fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    agora_kit::graphql::federated(Query, Mutation, EmptySubscription)
}
