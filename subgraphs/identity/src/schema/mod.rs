//! Identity's GraphQL schema: `User @key(fields: "id")`, `me`, and the account mutations.

mod mutation;
mod query;
mod types;

use std::sync::Arc;

use agora_kit::graphql::{RowLoader, loader};
use async_graphql::{EmptySubscription, Schema, SchemaBuilder};

use crate::accounts::Identity;
use crate::store::account;

pub use mutation::Mutation;
pub use query::Query;

/// Identity's executable schema.
pub type IdentitySchema = Schema<Query, Mutation, EmptySubscription>;

/// Builds the schema around the account flows.
pub fn build(identity: Arc<Identity>) -> IdentitySchema {
    let accounts = loader(RowLoader::<account::Entity>::new(identity.db.clone()));
    builder().data(identity).data(accounts).finish()
}

/// The federation SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    agora_kit::graphql::federation_sdl(&builder().finish())
}

fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    agora_kit::graphql::federated(Query, Mutation, EmptySubscription)
}
