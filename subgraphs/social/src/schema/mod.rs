//! Social's GraphQL schema: follow and like fields on `User` and `Post`, `feed`,
//! `savedPosts`, and the follow, like and save mutations.
//!
//! Every per-parent field loads through one of three DataLoaders over the [`List`]s —
//! pages, counts and memberships — or the one over the privacy replica, so a page of 50
//! users or posts costs the same number of SQL statements as a page of 5.

mod mutation;
mod query;
mod types;

use std::sync::Arc;

use agora_kit::graphql::{BATCH_WINDOW, RowLoader, loader};
use agora_kit::paging::{CountLoader, MemberLoader, PageLoader};
use async_graphql::{EmptySubscription, Schema, SchemaBuilder};

use crate::social::Social;
use crate::store::list::List;
use agora_kit::privacy::account as privacy;

pub use mutation::Mutation;
pub use query::Query;
pub use types::{Post, User};

/// Social's executable schema.
pub type SocialSchema = Schema<Query, Mutation, EmptySubscription>;

/// Builds the schema around the social operations, with its loaders on the kit's
/// [`BATCH_WINDOW`] (the default 1 ms may split a level of more than 32 items in two
/// batches, so that a page of 50 would cost more than a page of 5).
pub fn build(social: Arc<Social>) -> SocialSchema {
    let db = social.db.clone();
    builder()
        .data(social)
        .data(loader(PageLoader::<List>::new(db.clone())).delay(BATCH_WINDOW))
        .data(loader(CountLoader::<List>::new(db.clone())).delay(BATCH_WINDOW))
        .data(loader(MemberLoader::<List>::new(db.clone())).delay(BATCH_WINDOW))
        .data(loader(RowLoader::<privacy::Entity>::new(db)).delay(BATCH_WINDOW))
        .finish()
}

/// The federation SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    agora_kit::graphql::federation_sdl(&builder().finish())
}

fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    agora_kit::graphql::federated(Query, Mutation, EmptySubscription)
}
