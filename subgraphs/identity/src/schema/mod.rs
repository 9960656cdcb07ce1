//! Identity's GraphQL schema: `User @key(fields: "id")`, `me`, and the account mutations.

mod mutation;
mod query;
mod types;

use std::sync::Arc;

use async_graphql::{EmptySubscription, Schema, SchemaBuilder};

use crate::accounts::Identity;
use crate::store::account;

pub use mutation::Mutation;
pub use query::Query;

/// Identity's executable schema.
pub type IdentitySchema = Schema<Query, Mutation, EmptySubscription>;

/// Builds the schema around the account flows.
pub fn build(identity: Arc<Identity>) -> IdentitySchema {
    let accounts = agora_kit::graphql::loader(AccountLoader(identity.db.clone()));
    builder().data(identity).data(accounts).finish()
}

/// The federation SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    agora_kit::graphql::federation_sdl(&builder().finish())
}

fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    agora_kit::graphql::federated(Query, Mutation, EmptySubscription)
}

/// Loads accounts by id in one query per batch of entity representations.
pub struct AccountLoader(sea_orm::DatabaseConnection);

impl async_graphql::dataloader::Loader<uuid::Uuid> for AccountLoader {
    type Value = account::Model;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(
        &self,
        ids: &[uuid::Uuid],
    ) -> Result<std::collections::HashMap<uuid::Uuid, account::Model>, Self::Error> {
        let rows = account::find_many(&self.0, ids).await.map_err(Arc::new)?;
        Ok(rows.into_iter().map(|row| (row.id, row)).collect())
    }
}
