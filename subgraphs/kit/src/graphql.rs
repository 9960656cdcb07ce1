//! What every subgraph schema needs the same way: federation, SDL export, DataLoaders.

use async_graphql::dataloader::DataLoader;
use async_graphql::{ObjectType, Schema, SchemaBuilder, SubscriptionType};

/// A schema builder with Federation v2 enabled.
pub fn federated<Q, M, S>(query: Q, mutation: M, subscription: S) -> SchemaBuilder<Q, M, S>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    Schema::build(query, mutation, subscription).enable_federation()
}

/// The federation SDL of a schema, as committed in the subgraph's `schema.graphql`.
pub fn federation_sdl<Q, M, S>(schema: &Schema<Q, M, S>) -> String
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    schema.sdl_with_options(async_graphql::SDLExportOptions::new().federation())
}

/// A DataLoader on the tokio runtime: loads issued while one batch gathers are sent as one.
pub fn loader<T: Send + Sync + 'static>(inner: T) -> DataLoader<T> {
    DataLoader::new(inner, tokio::spawn)
}
