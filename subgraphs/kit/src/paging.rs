//! Paging plumbing shared by every list a subgraph serves: opaque cursors, page
//! requests from `first`/`after`, keyset pages of many parents in one statement, the
//! DataLoaders that batch them, and Relay connections over the result.
//!
//! A domain describes its lists by implementing [`List`] (table and columns); the kit
//! never sees the domain's types.
//!
//! - `cursor`: [`Position`], the keyset [`Cursor`] and the [`OffsetCursor`].
//! - `request`: [`PageRequest`] and its bounds, from GraphQL arguments.
//! - `keyset`: the [`List`] trait and the reads: [`pages`] (over [`per_parent`]),
//!   [`counts`], [`members`].
//! - `loader`: DataLoaders over those reads and the `load_*` helpers for resolvers.
//! - `connection`: Relay connections of a page, and [`connection_names!`](crate::connection_names).

mod connection;
mod cursor;
mod keyset;
mod loader;
mod request;

pub use connection::connection;
pub use cursor::{Cursor, OffsetCursor, Position};
pub use keyset::{Entry, List, Page, beyond, counts, members, pages, per_parent, split_page};
pub use loader::{
    CountKey, CountLoader, MemberKey, MemberLoader, PageKey, PageLoader, load_count, load_member,
    load_page,
};
pub use request::{DEFAULT_PAGE, MAX_PAGE, PageRequest, page_request, page_size};

/// What [`connection_names!`](crate::connection_names) expands to, reachable from any crate.
#[doc(hidden)]
pub use async_graphql as __async_graphql;
