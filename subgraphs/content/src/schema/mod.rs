//! Content's GraphQL schema: `Post`, `Comment`, content's fields on `User`, `post`,
//! `postsByTag`, `Post.media` (references to media's `Media`), and the post and comment
//! mutations.
//!
//! Every per-parent field and every entity resolver loads through a DataLoader — rows of
//! `post` and `comment` by id, pages and counts of the [`List`]s, pages of comments as
//! whole rows ([`CommentPageLoader`]), blocks between the viewer and authors
//! ([`BlockLoader`]) and private authors the viewer does not follow ([`PrivacyLoader`]) —
//! so a page of 50 posts costs the same number of SQL statements as a page of 5.
//!
//! A block either way between the viewer and an author hides the author's posts and
//! comments as if they did not exist: `post` is null, `User.posts` is empty and
//! `User.postCount` 0, `postsByTag` and `searchPosts` leave them out (in their statement,
//! so pages stay full), and `Post.comments` leaves out their comments (after the page is
//! read, so such a page may hold fewer than `first`). Counts of comments stay everyone's.
//! Entities resolved for other subgraphs (a post in social's feed) are not hidden here
//! for a block: the list that names them is its owner's to filter.
//!
//! A private account's posts and comments are for itself and its approved followers
//! only; to anyone else (signed out too) they are hidden in the same places as across a
//! block, and also when resolved as `Post` or `Comment` entities (null, as if gone),
//! since another subgraph's list may name a post from before its author went private.
//! `User.postCount` stays public, as social keeps follower counts public.

mod mutation;
mod query;
mod types;

use std::sync::Arc;

use agora_kit::graphql::{BATCH_WINDOW, RowLoader, loader};
use agora_kit::paging::{CountLoader, PageLoader};
use agora_kit::privacy::PrivacyLoader;
use agora_kit::restriction::BlockLoader;
use async_graphql::{EmptySubscription, Schema, SchemaBuilder};

use crate::content::Content;
use crate::store::comment_page::CommentPageLoader;
use crate::store::list::List;
use crate::store::post_media::PostMediaLoader;
use crate::store::{comment, post};

pub use mutation::Mutation;
pub use query::Query;
pub use types::{Comment, Media, Post, User};

/// Content's executable schema.
pub type ContentSchema = Schema<Query, Mutation, EmptySubscription>;

/// Builds the schema around the content operations, with its loaders on the kit's
/// [`BATCH_WINDOW`] (a page of 50 resolves in slices that the default window may split).
pub fn build(content: Arc<Content>) -> ContentSchema {
    let db = content.db.clone();
    builder()
        .data(content)
        .data(loader(RowLoader::<post::Entity>::new(db.clone())).delay(BATCH_WINDOW))
        .data(loader(RowLoader::<comment::Entity>::new(db.clone())).delay(BATCH_WINDOW))
        .data(loader(PageLoader::<List>::new(db.clone())).delay(BATCH_WINDOW))
        .data(loader(CommentPageLoader(db.clone())).delay(BATCH_WINDOW))
        .data(loader(CountLoader::<List>::new(db.clone())).delay(BATCH_WINDOW))
        .data(loader(PostMediaLoader(db.clone())).delay(BATCH_WINDOW))
        .data(loader(BlockLoader(db.clone())).delay(BATCH_WINDOW))
        .data(loader(PrivacyLoader(db)).delay(BATCH_WINDOW))
        .finish()
}

/// The federation SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    agora_kit::graphql::federation_sdl(&builder().finish())
}

fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    agora_kit::graphql::federated(Query, Mutation, EmptySubscription)
}
