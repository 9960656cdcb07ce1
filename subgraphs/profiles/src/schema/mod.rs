//! Profiles' GraphQL schema: profile fields on `User`, `Query.user`, `updateProfile`.

mod mutation;
mod query;
mod types;

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use async_graphql::{EmptySubscription, Schema, SchemaBuilder};
use uuid::Uuid;

use crate::profiles::Profiles;
use crate::store::profile;

pub use mutation::Mutation;
pub use query::Query;

/// Profiles' executable schema.
pub type ProfilesSchema = Schema<Query, Mutation, EmptySubscription>;

/// Builds the schema around the profile operations.
pub fn build(profiles: Arc<Profiles>) -> ProfilesSchema {
    let loader = agora_kit::graphql::loader(ProfileLoader(profiles.db.clone()));
    builder().data(profiles).data(loader).finish()
}

/// The federation SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    agora_kit::graphql::federation_sdl(&builder().finish())
}

fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    agora_kit::graphql::federated(Query, Mutation, EmptySubscription)
}

/// Loads profiles by user id in one query per batch.
pub struct ProfileLoader(sea_orm::DatabaseConnection);

impl Loader<Uuid> for ProfileLoader {
    type Value = profile::Model;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, profile::Model>, Self::Error> {
        let rows = profile::find_many(&self.0, ids).await.map_err(Arc::new)?;
        Ok(rows.into_iter().map(|row| (row.user_id, row)).collect())
    }
}
