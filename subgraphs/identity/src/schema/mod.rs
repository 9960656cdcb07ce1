//! Identity's GraphQL schema: `User @key(fields: "id")`, `me`, and the account mutations.

mod mutation;
mod query;
mod types;

use std::sync::Arc;

use async_graphql::dataloader::DataLoader;
use async_graphql::{EmptySubscription, Schema};

use crate::accounts::Identity;
use crate::store::account;

pub use mutation::Mutation;
pub use query::Query;

/// Identity's executable schema.
pub type IdentitySchema = Schema<Query, Mutation, EmptySubscription>;

/// Builds the schema around the account flows.
pub fn build(identity: Arc<Identity>) -> IdentitySchema {
    let accounts = DataLoader::new(AccountLoader(identity.db.clone()), tokio::spawn);
    Schema::build(Query, Mutation, EmptySubscription)
        .enable_federation()
        .data(identity)
        .data(accounts)
        .finish()
}

/// The federation SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query, Mutation, EmptySubscription)
        .enable_federation()
        .finish()
        .sdl_with_options(async_graphql::SDLExportOptions::new().federation())
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
