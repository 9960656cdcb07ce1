//! Social's GraphQL schema: follow and like fields on `User` and `Post`, `feed`,
//! `savedPosts`, and the follow, like and save mutations.
//!
//! Every per-parent field loads through one of three DataLoaders — [`PageLoader`],
//! [`CountLoader`], [`MemberLoader`] — so a page of 50 users or posts costs the same
//! number of SQL statements as a page of 5.

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

use crate::social::Social;
use crate::store::list::{self, List, Page, PageRequest};

pub use mutation::Mutation;
pub use query::Query;
pub use types::{Post, User};

/// Social's executable schema.
pub type SocialSchema = Schema<Query, Mutation, EmptySubscription>;

/// Builds the schema around the social operations.
pub fn build(social: Arc<Social>) -> SocialSchema {
    let db = social.db.clone();
    builder()
        .data(social)
        .data(agora_kit::graphql::loader(PageLoader(db.clone())).delay(BATCH_WINDOW))
        .data(agora_kit::graphql::loader(CountLoader(db.clone())).delay(BATCH_WINDOW))
        .data(agora_kit::graphql::loader(MemberLoader(db)).delay(BATCH_WINDOW))
        .finish()
}

/// How long a loader gathers keys before it loads them. async-graphql resolves a long
/// list in slices of 32 with a yield in between; the default 1 ms can expire inside that
/// yield and split one level's loads into two statements, so that a page of 50 costs more
/// than a page of 5.
pub const BATCH_WINDOW: std::time::Duration = std::time::Duration::from_millis(3);

/// The federation SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    agora_kit::graphql::federation_sdl(&builder().finish())
}

fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    agora_kit::graphql::federated(Query, Mutation, EmptySubscription)
}

/// A page of one parent's list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageKey {
    /// Which list.
    pub list: List,
    /// Whose.
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
                loaded.insert(
                    PageKey {
                        list,
                        parent,
                        request,
                    },
                    page,
                );
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

/// Whether `node` is in `parent`'s list (the viewer follows a user, likes a post).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemberKey {
    /// Which list.
    pub list: List,
    /// Whose list (the viewer).
    pub parent: Uuid,
    /// The user or post asked about.
    pub node: Uuid,
}

/// Loads memberships: one statement per (list, viewer) in a batch.
pub struct MemberLoader(DatabaseConnection);

impl Loader<MemberKey> for MemberLoader {
    type Value = ();
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[MemberKey]) -> Result<HashMap<MemberKey, ()>, Self::Error> {
        let mut groups: HashMap<(List, Uuid), Vec<Uuid>> = HashMap::new();
        for key in keys {
            groups
                .entry((key.list, key.parent))
                .or_default()
                .push(key.node);
        }
        let mut loaded = HashMap::new();
        for ((list, parent), nodes) in groups {
            let members = list::members(&self.0, list, parent, &nodes)
                .await
                .map_err(Arc::new)?;
            for node in members {
                loaded.insert(MemberKey { list, parent, node }, ());
            }
        }
        Ok(loaded)
    }
}

/// Loads one page through the batching loader.
async fn load_page(ctx: &Context<'_>, key: PageKey) -> async_graphql::Result<Page> {
    let loader = ctx.data_unchecked::<DataLoader<PageLoader>>();
    let page = loader
        .load_one(key)
        .await
        .map_err(|e| ServiceError::internal(e.as_ref()).extend())?;
    Ok(page.unwrap_or_default())
}

/// Loads one count through the batching loader.
async fn load_count(ctx: &Context<'_>, list: List, parent: Uuid) -> async_graphql::Result<i32> {
    let loader = ctx.data_unchecked::<DataLoader<CountLoader>>();
    let count = loader
        .load_one(CountKey { list, parent })
        .await
        .map_err(|e| ServiceError::internal(e.as_ref()).extend())?;
    Ok(count.map_or(0, |n| i32::try_from(n).unwrap_or(i32::MAX)))
}

/// Loads one membership through the batching loader.
async fn load_member(ctx: &Context<'_>, key: MemberKey) -> async_graphql::Result<bool> {
    let loader = ctx.data_unchecked::<DataLoader<MemberLoader>>();
    let member = loader
        .load_one(key)
        .await
        .map_err(|e| ServiceError::internal(e.as_ref()).extend())?;
    Ok(member.is_some())
}
