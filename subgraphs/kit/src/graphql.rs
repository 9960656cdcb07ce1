//! What every subgraph schema needs the same way: federation, SDL export, DataLoaders.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{
    Context, ErrorExtensions, ObjectType, Schema, SchemaBuilder, SubscriptionType,
};
use sea_orm::sea_query::ValueType;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, Iterable, ModelTrait, PrimaryKeyToColumn,
    QueryFilter,
};
use uuid::Uuid;

use crate::db::in_list;
use crate::error::ServiceError;

/// A loader window for schemas that resolve long lists. async-graphql resolves a list in
/// slices of 32 with a yield in between; the default 1 ms window can expire inside that
/// yield and split one level's loads into two statements, so that a page of 50 would
/// cost more than a page of 5. Unoptimised builds (the tests) resolve a slice about ten
/// times slower, and on a loaded CI machine that overran 3 ms, so they wait 15 ms.
///
/// Every request waits out one window per level it loads, so optimised builds keep it
/// short: under the feed bench a 3 ms window left a core partly idle while clients
/// waited (about 850 requests/s, against 1 000–1 100 at 1.5 ms), and where the CPU was
/// the limit anyway, 1.5 ms still took about a tenth off p99.
pub const BATCH_WINDOW: Duration = if cfg!(debug_assertions) {
    Duration::from_millis(15)
} else {
    Duration::from_micros(1500)
};

/// A schema builder with Federation v2 enabled; a subscription root, if any, is part of
/// the federation SDL (the router plans subscriptions from it).
pub fn federated<Q, M, S>(query: Q, mutation: M, subscription: S) -> SchemaBuilder<Q, M, S>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    Schema::build(query, mutation, subscription)
        .enable_federation()
        .enable_subscription_in_federation()
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

/// A loader's database failure as the opaque GraphQL error (logged with its cause).
pub fn internal(error: &Arc<DbErr>) -> async_graphql::Error {
    ServiceError::internal(error.as_ref()).extend()
}

/// Loads rows of table `E` by their UUID primary key, one `IN (..)` query per batch.
pub struct RowLoader<E>(DatabaseConnection, PhantomData<fn() -> E>);

impl<E: EntityTrait> RowLoader<E> {
    /// A loader reading `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self(db, PhantomData)
    }
}

impl<E> Loader<Uuid> for RowLoader<E>
where
    E: EntityTrait,
    E::Model: Sync,
{
    type Value = E::Model;
    type Error = Arc<DbErr>;

    #[tracing::instrument(skip_all, fields(table = E::default().table_name(), ids = ids.len()))]
    async fn load(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, E::Model>, Self::Error> {
        let key = E::PrimaryKey::iter()
            .next()
            .ok_or_else(|| Arc::new(DbErr::Custom("a table without a primary key".into())))?
            .into_column();
        let rows = E::find()
            .filter(key.is_in(in_list(ids.iter().copied())))
            .all(&self.0)
            .await
            .map_err(Arc::new)?;
        rows.into_iter()
            .map(|row| {
                let id = <Uuid as ValueType>::try_from(row.get(key)).map_err(|_| {
                    Arc::new(DbErr::Type("a primary key that is not a UUID".into()))
                })?;
                Ok((id, row))
            })
            .collect()
    }
}

/// Loads one row through the schema's [`RowLoader`] of `E`.
pub async fn load_row<E>(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Option<E::Model>>
where
    E: EntityTrait,
    E::Model: Sync,
{
    let loader = ctx.data_unchecked::<DataLoader<RowLoader<E>>>();
    loader.load_one(id).await.map_err(|e| internal(&e))
}

/// Loads rows through the schema's [`RowLoader`] of `E`, in the order of `ids`, skipping
/// the ones that do not exist.
pub async fn load_rows<E>(ctx: &Context<'_>, ids: &[Uuid]) -> async_graphql::Result<Vec<E::Model>>
where
    E: EntityTrait,
    E::Model: Sync,
{
    let loader = ctx.data_unchecked::<DataLoader<RowLoader<E>>>();
    let mut found = loader
        .load_many(ids.iter().copied())
        .await
        .map_err(|e| internal(&e))?;
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}
