//! DataLoaders over the keyset reads, one statement per distinct list (and page) in a
//! batch, whichever requests the keys come from, and the helpers resolvers load through.
//!
//! Install them with [`crate::graphql::loader`] (a longer `delay` than the default if a
//! level resolves more than 32 items; see [`crate::graphql::BATCH_WINDOW`]).

use std::collections::{HashMap, HashSet};
use std::marker::PhantomData;
use std::sync::Arc;

use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::{DatabaseConnection, DbErr};
use uuid::Uuid;

use super::keyset::{self, List, Page};
use super::request::PageRequest;
use crate::graphql::internal;

/// A page of one parent's list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageKey<L> {
    /// Which list.
    pub list: L,
    /// Whose.
    pub parent: Uuid,
    /// Which page.
    pub request: PageRequest,
}

/// The length of one parent's list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CountKey<L> {
    /// Which list.
    pub list: L,
    /// Whose.
    pub parent: Uuid,
}

/// Whether `node` is in `parent`'s list (the viewer follows a user, likes a post).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemberKey<L> {
    /// Which list.
    pub list: L,
    /// Whose list (the viewer).
    pub parent: Uuid,
    /// The user or post asked about.
    pub node: Uuid,
}

/// Loads pages of the lists `L`: one statement per distinct (list, page request).
pub struct PageLoader<L>(DatabaseConnection, PhantomData<fn() -> L>);

/// Loads list lengths: one `GROUP BY` per list.
pub struct CountLoader<L>(DatabaseConnection, PhantomData<fn() -> L>);

/// Loads memberships: one statement per list, whoever's lists they are.
pub struct MemberLoader<L>(DatabaseConnection, PhantomData<fn() -> L>);

macro_rules! new {
    ($($loader:ident),*) => {$(
        impl<L: List> $loader<L> {
            /// A loader reading `db`.
            pub fn new(db: DatabaseConnection) -> Self {
                Self(db, PhantomData)
            }
        }
    )*};
}

new!(PageLoader, CountLoader, MemberLoader);

impl<L: List> Loader<PageKey<L>> for PageLoader<L> {
    type Value = Page;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[PageKey<L>]) -> Result<HashMap<PageKey<L>, Page>, Self::Error> {
        let mut groups: HashMap<(L, PageRequest), Vec<Uuid>> = HashMap::new();
        for key in keys {
            groups
                .entry((key.list, key.request))
                .or_default()
                .push(key.parent);
        }
        let mut loaded = HashMap::new();
        for ((list, request), parents) in groups {
            let pages = keyset::pages(&self.0, list, &parents, request)
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

impl<L: List> Loader<CountKey<L>> for CountLoader<L> {
    type Value = i64;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[CountKey<L>]) -> Result<HashMap<CountKey<L>, i64>, Self::Error> {
        let mut groups: HashMap<L, Vec<Uuid>> = HashMap::new();
        for key in keys {
            groups.entry(key.list).or_default().push(key.parent);
        }
        let mut loaded = HashMap::new();
        for (list, parents) in groups {
            let counts = keyset::counts(&self.0, list, &parents)
                .await
                .map_err(Arc::new)?;
            for (parent, count) in counts {
                loaded.insert(CountKey { list, parent }, count);
            }
        }
        Ok(loaded)
    }
}

impl<L: List> Loader<MemberKey<L>> for MemberLoader<L> {
    type Value = ();
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[MemberKey<L>]) -> Result<HashMap<MemberKey<L>, ()>, Self::Error> {
        let mut groups: HashMap<L, (HashSet<Uuid>, HashSet<Uuid>)> = HashMap::new();
        for key in keys {
            let (parents, nodes) = groups.entry(key.list).or_default();
            parents.insert(key.parent);
            nodes.insert(key.node);
        }
        let asked: HashSet<&MemberKey<L>> = keys.iter().collect();
        let mut loaded = HashMap::new();
        for (list, (parents, nodes)) in groups {
            let parents: Vec<Uuid> = parents.into_iter().collect();
            let nodes: Vec<Uuid> = nodes.into_iter().collect();
            let members = keyset::members(&self.0, list, &parents, &nodes)
                .await
                .map_err(Arc::new)?;
            for (parent, node) in members {
                let key = MemberKey { list, parent, node };
                if asked.contains(&key) {
                    loaded.insert(key, ());
                }
            }
        }
        Ok(loaded)
    }
}

/// Loads one page through the schema's [`PageLoader`]; an empty page for an empty list.
pub async fn load_page<L: List>(ctx: &Context<'_>, key: PageKey<L>) -> async_graphql::Result<Page> {
    let loader = ctx.data_unchecked::<DataLoader<PageLoader<L>>>();
    let page = loader.load_one(key).await.map_err(|e| internal(&e))?;
    Ok(page.unwrap_or_default())
}

/// Loads one list's length through the schema's [`CountLoader`], as a GraphQL `Int`.
pub async fn load_count<L: List>(
    ctx: &Context<'_>,
    list: L,
    parent: Uuid,
) -> async_graphql::Result<i32> {
    let loader = ctx.data_unchecked::<DataLoader<CountLoader<L>>>();
    let count = loader
        .load_one(CountKey { list, parent })
        .await
        .map_err(|e| internal(&e))?;
    Ok(count.map_or(0, |n| i32::try_from(n).unwrap_or(i32::MAX)))
}

/// Loads one membership through the schema's [`MemberLoader`].
pub async fn load_member<L: List>(
    ctx: &Context<'_>,
    key: MemberKey<L>,
) -> async_graphql::Result<bool> {
    let loader = ctx.data_unchecked::<DataLoader<MemberLoader<L>>>();
    let member = loader.load_one(key).await.map_err(|e| internal(&e))?;
    Ok(member.is_some())
}
