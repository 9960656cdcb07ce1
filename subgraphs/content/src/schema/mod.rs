//! Content's GraphQL schema: `Post`, `Comment`, content's fields on `User`, `post`,
//! `postsByTag`, and the post and comment mutations.
//!
//! Every per-parent field and every entity resolver loads through a DataLoader —
//! [`PostLoader`], [`CommentLoader`], [`PageLoader`], [`CountLoader`] — so a page of 50
//! posts costs the same number of SQL statements as a page of 5.

mod mutation;
mod query;
mod types;

use std::collections::HashMap;
use std::sync::Arc;

use agora_kit::ServiceError;
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, EmptySubscription, ErrorExtensions, Schema, SchemaBuilder};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::content::Content;
use crate::store::list::{self, List, Page, PageRequest};
use crate::store::{comment, post};

pub use mutation::Mutation;
pub use query::Query;
pub use types::{Comment, Post, User};

/// Content's executable schema.
pub type ContentSchema = Schema<Query, Mutation, EmptySubscription>;

/// How long a loader gathers keys before it loads them. async-graphql resolves a long
/// list in slices of 32 with a yield in between; the default 1 ms can expire inside that
/// yield and split one level's loads into two statements.
pub const BATCH_WINDOW: std::time::Duration = std::time::Duration::from_millis(3);

/// Builds the schema around the content operations.
pub fn build(content: Arc<Content>) -> ContentSchema {
    let db = content.db.clone();
    builder()
        .data(content)
        .data(agora_kit::graphql::loader(PostLoader(db.clone())).delay(BATCH_WINDOW))
        .data(agora_kit::graphql::loader(CommentLoader(db.clone())).delay(BATCH_WINDOW))
        .data(agora_kit::graphql::loader(PageLoader(db.clone())).delay(BATCH_WINDOW))
        .data(agora_kit::graphql::loader(CountLoader(db)).delay(BATCH_WINDOW))
        .finish()
}

/// The federation SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    agora_kit::graphql::federation_sdl(&builder().finish())
}

fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    agora_kit::graphql::federated(Query, Mutation, EmptySubscription)
}

/// Loads posts by id in one query per batch.
pub struct PostLoader(DatabaseConnection);

impl Loader<Uuid> for PostLoader {
    type Value = post::Model;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, post::Model>, Self::Error> {
        let rows = post::find_many(&self.0, ids).await.map_err(Arc::new)?;
        Ok(rows.into_iter().map(|row| (row.id, row)).collect())
    }
}

/// Loads comments by id in one query per batch.
pub struct CommentLoader(DatabaseConnection);

impl Loader<Uuid> for CommentLoader {
    type Value = comment::Model;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, comment::Model>, Self::Error> {
        let rows = comment::find_many(&self.0, ids).await.map_err(Arc::new)?;
        Ok(rows.into_iter().map(|row| (row.id, row)).collect())
    }
}

/// A page of one parent's list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageKey {
    /// Which list.
    pub list: List,
    /// Whose (an author, a post).
    pub parent: Uuid,
    /// Which page.
    pub request: PageRequest,
}

/// Loads pages: one statement per distinct (list, page request) in a batch.
pub struct PageLoader(DatabaseConnection);

impl Loader<PageKey> for PageLoader {
    type Value = Page;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[PageKey]) -> Result<HashMap<PageKey, Page>, Self::Error> {
        let mut groups: HashMap<(List, PageRequest), Vec<Uuid>> = HashMap::new();
        for key in keys {
            groups
                .entry((key.list, key.request))
                .or_default()
                .push(key.parent);
        }
        let mut loaded = HashMap::new();
        for ((list, request), parents) in groups {
            let pages = list::pages(&self.0, list, &parents, request)
                .await
                .map_err(Arc::new)?;
            for (parent, page) in pages {
                let key = PageKey {
                    list,
                    parent,
                    request,
                };
                loaded.insert(key, page);
            }
        }
        Ok(loaded)
    }
}

/// The length of one parent's list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CountKey {
    /// Which list.
    pub list: List,
    /// Whose.
    pub parent: Uuid,
}

/// Loads counts: one `GROUP BY` per list in a batch.
pub struct CountLoader(DatabaseConnection);

impl Loader<CountKey> for CountLoader {
    type Value = i64;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[CountKey]) -> Result<HashMap<CountKey, i64>, Self::Error> {
        let mut groups: HashMap<List, Vec<Uuid>> = HashMap::new();
        for key in keys {
            groups.entry(key.list).or_default().push(key.parent);
        }
        let mut loaded = HashMap::new();
        for (list, parents) in groups {
            let counts = list::counts(&self.0, list, &parents)
                .await
                .map_err(Arc::new)?;
            for (parent, count) in counts {
                loaded.insert(CountKey { list, parent }, count);
            }
        }
        Ok(loaded)
    }
}

fn internal(error: &Arc<sea_orm::DbErr>) -> async_graphql::Error {
    ServiceError::internal(error.as_ref()).extend()
}

/// Loads one post through the batching loader.
async fn load_post(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Option<post::Model>> {
    let loader = ctx.data_unchecked::<DataLoader<PostLoader>>();
    loader.load_one(id).await.map_err(|e| internal(&e))
}

/// Loads posts through the batching loader, in the order of `ids`, skipping missing ones.
async fn load_posts(ctx: &Context<'_>, ids: &[Uuid]) -> async_graphql::Result<Vec<post::Model>> {
    let loader = ctx.data_unchecked::<DataLoader<PostLoader>>();
    let mut found = loader
        .load_many(ids.iter().copied())
        .await
        .map_err(|e| internal(&e))?;
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// Loads one comment through the batching loader.
async fn load_comment(
    ctx: &Context<'_>,
    id: Uuid,
) -> async_graphql::Result<Option<comment::Model>> {
    let loader = ctx.data_unchecked::<DataLoader<CommentLoader>>();
    loader.load_one(id).await.map_err(|e| internal(&e))
}

/// Loads comments through the batching loader, in the order of `ids`, skipping missing ones.
async fn load_comments(
    ctx: &Context<'_>,
    ids: &[Uuid],
) -> async_graphql::Result<Vec<comment::Model>> {
    let loader = ctx.data_unchecked::<DataLoader<CommentLoader>>();
    let mut found = loader
        .load_many(ids.iter().copied())
        .await
        .map_err(|e| internal(&e))?;
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// Loads one page through the batching loader.
async fn load_page(ctx: &Context<'_>, key: PageKey) -> async_graphql::Result<Page> {
    let loader = ctx.data_unchecked::<DataLoader<PageLoader>>();
    let page = loader.load_one(key).await.map_err(|e| internal(&e))?;
    Ok(page.unwrap_or_default())
}

/// Loads one count through the batching loader.
async fn load_count(ctx: &Context<'_>, list: List, parent: Uuid) -> async_graphql::Result<i32> {
    let loader = ctx.data_unchecked::<DataLoader<CountLoader>>();
    let count = loader
        .load_one(CountKey { list, parent })
        .await
        .map_err(|e| internal(&e))?;
    Ok(count.map_or(0, |n| i32::try_from(n).unwrap_or(i32::MAX)))
}
