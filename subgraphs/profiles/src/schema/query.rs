//! Profiles' queries and its `User` entity resolver.

use std::sync::Arc;

use agora_kit::ServiceError;
use agora_kit::auth::optional_viewer;
use agora_kit::paging::{OffsetCursor, page_size};
use async_graphql::connection::{CursorType, Edge};
use async_graphql::{Context, ID, Object, Result, ResultExt};
use uuid::Uuid;

use super::types::{Media, User, UserSearchConnection};
use crate::profiles::{Profiles, search_query};
use crate::store::search;

/// Profiles' root query fields.
pub struct Query;

#[Object]
impl Query {
    /// A user by id, if they have a profile; null, as for nobody, across a block either
    /// way with the viewer.
    async fn user(&self, ctx: &Context<'_>, id: ID) -> Result<Option<User>> {
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        let user = User::new(id);
        Ok(user.profile(ctx).await?.map(|_| user))
    }

    /// Users whose handle or display name matches `query` (a leading `@` ignored, any
    /// case, at most 50 characters), best first: the exact handle, handles starting with
    /// it, display names with a word starting with it, then near misses (a typo or two).
    /// Users with a block either way with the viewer are never found. `first` at most
    /// 100, default 20.
    async fn search_users(
        &self,
        ctx: &Context<'_>,
        query: String,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<UserSearchConnection> {
        let query = search_query(&query).extend()?;
        let first = page_size(first).extend()?;
        let offset = after
            .map(|cursor| OffsetCursor::decode_cursor(&cursor))
            .transpose()
            .map_err(|_| ServiceError::bad_input("after", "after is not a cursor from this search"))
            .extend()?
            .map_or(0, |cursor| cursor.0);
        let viewer = optional_viewer(ctx).map(|viewer| viewer.user_id);
        let profiles = ctx.data_unchecked::<Arc<Profiles>>();
        let hits = search::search(&profiles.db, &query, viewer, first, offset)
            .await
            .map_err(|e| ServiceError::internal(&e))
            .extend()?;
        let mut connection = UserSearchConnection::new(offset > 0, hits.has_next);
        connection.edges = hits
            .users
            .into_iter()
            .zip(offset + 1..)
            .map(|(user, after)| Edge::new(OffsetCursor(after), User::new(user)))
            .collect();
        Ok(connection)
    }

    /// Resolves `Media` references (profiles adds no fields of its own).
    #[graphql(entity)]
    async fn find_media_by_id(&self, #[graphql(key)] id: ID) -> Media {
        Media::from_key(id)
    }

    /// Resolves `User` representations; the profile fields load in one batch.
    #[graphql(entity)]
    async fn find_user_by_id(&self, #[graphql(key)] id: ID) -> Option<User> {
        Uuid::parse_str(&id).ok().map(User::new)
    }
}
