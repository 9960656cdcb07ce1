//! Media's GraphQL schema: `Media` (an entity other subgraphs point to from `Post.media`
//! and `User.avatar`), `Query.media`, `createUpload` and `deleteMedia`.
//!
//! Media rows and their variants load through DataLoaders, so the media of a feed page
//! cost two statements whatever the page size.

mod mutation;
mod query;
mod types;

use std::sync::Arc;

use agora_kit::graphql::{BATCH_WINDOW, RowLoader, loader};
use async_graphql::{EmptySubscription, Schema, SchemaBuilder};

use crate::media::MediaService;
use crate::store::loaders::VariantLoader;
use crate::store::media;

pub use mutation::Mutation;
pub use query::Query;
pub use types::{Media, MediaStatus, MediaVariant, User};

/// Media's executable schema.
pub type MediaSchema = Schema<Query, Mutation, EmptySubscription>;

/// Builds the schema around the media operations, with its loaders on the kit's
/// [`BATCH_WINDOW`].
pub fn build(service: Arc<MediaService>) -> MediaSchema {
    let db = service.db.clone();
    builder()
        .data(service)
        .data(loader(RowLoader::<media::Entity>::new(db.clone())).delay(BATCH_WINDOW))
        .data(loader(VariantLoader(db)).delay(BATCH_WINDOW))
        .finish()
}

/// The federation SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    agora_kit::graphql::federation_sdl(&builder().finish())
}

fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    agora_kit::graphql::federated(Query, Mutation, EmptySubscription)
}
