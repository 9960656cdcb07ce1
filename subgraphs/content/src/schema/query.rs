//! Content's queries and its `Post`, `Comment` and `User` entity resolvers.

use agora_kit::ServiceError;
use agora_kit::auth::optional_viewer;
use agora_kit::graphql::load_row;
use agora_kit::paging::{OffsetCursor, page_request, page_size};
use async_graphql::connection::CursorType;
use async_graphql::{Context, ID, Object, Result, ResultExt};
use uuid::Uuid;

use super::types::{
    Comment, Media, Post, PostConnection, PostSearchConnection, User, hidden_from_viewer,
    post_connection, private_to_viewer, search_connection,
};
use crate::content::{Content, normalize_tag, search_terms};
use crate::store::{comment, post, search, tag};

/// Content's root query fields.
pub struct Query;

#[Object]
impl Query {
    /// A post by id; null if there is no such post (or it was deleted), and, as if
    /// there were none, if its author and the viewer have a block between them.
    async fn post(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Post>> {
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        let Some(post) = load_row::<post::Entity>(ctx, id).await? else {
            return Ok(None);
        };
        if hidden_from_viewer(ctx, post.author_id).await? {
            return Ok(None);
        }
        Ok(Some(Post(post)))
    }

    /// The posts carrying a hashtag, newest first (`tag` with or without `#`, any case;
    /// `first` at most 100, default 20); none by anyone with a block between them and
    /// the viewer.
    async fn posts_by_tag(
        &self,
        ctx: &Context<'_>,
        tag: String,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<PostConnection> {
        let tag = normalize_tag(&tag)
            .ok_or_else(|| ServiceError::bad_input("tag", "tag is not a hashtag"))
            .extend()?;
        let request = page_request(first, after).extend()?;
        let content = ctx.data_unchecked::<std::sync::Arc<Content>>();
        let viewer = optional_viewer(ctx).map(|viewer| viewer.user_id);
        let page = tag::page(&content.db, &tag, viewer, request)
            .await
            .map_err(|e| ServiceError::internal(&e))
            .extend()?;
        post_connection(ctx, request, page).await
    }

    /// Posts containing every word of `query`, best match first (`query` at most 200
    /// characters; `first` at most 100, default 20); none by anyone with a block between
    /// them and the viewer.
    async fn search_posts(
        &self,
        ctx: &Context<'_>,
        query: String,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<PostSearchConnection> {
        let terms = search_terms(&query).extend()?;
        let first = page_size(first).extend()?;
        let offset = after
            .map(|cursor| OffsetCursor::decode_cursor(&cursor))
            .transpose()
            .map_err(|_| ServiceError::bad_input("after", "after is not a cursor from this search"))
            .extend()?
            .map_or(0, |cursor| cursor.0);
        let content = ctx.data_unchecked::<std::sync::Arc<Content>>();
        let viewer = optional_viewer(ctx).map(|viewer| viewer.user_id);
        let hits = search::search(&content.db, &terms, viewer, first, offset)
            .await
            .map_err(|e| ServiceError::internal(&e))
            .extend()?;
        search_connection(ctx, offset, hits).await
    }

    /// Resolves `Post` representations in one batch; null for a post that is gone, and,
    /// as if gone, for one by a private account the viewer does not follow.
    #[graphql(entity)]
    async fn find_post_by_id(
        &self,
        ctx: &Context<'_>,
        #[graphql(key)] id: ID,
    ) -> Result<Option<Post>> {
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        let Some(post) = load_row::<post::Entity>(ctx, id).await? else {
            return Ok(None);
        };
        if !private_to_viewer(ctx, [post.author_id]).await?.is_empty() {
            return Ok(None);
        }
        Ok(Some(Post(post)))
    }

    /// Resolves `Comment` representations in one batch; null for a comment that is gone,
    /// and, as if gone, for one by (or under a post by) a private account the viewer does
    /// not follow.
    #[graphql(entity)]
    async fn find_comment_by_id(
        &self,
        ctx: &Context<'_>,
        #[graphql(key)] id: ID,
    ) -> Result<Option<Comment>> {
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        let Some(comment) = load_row::<comment::Entity>(ctx, id).await? else {
            return Ok(None);
        };
        let Some(parent) = load_row::<post::Entity>(ctx, comment.post_id).await? else {
            return Ok(None);
        };
        let authors = [comment.author_id, parent.author_id];
        if !private_to_viewer(ctx, authors).await?.is_empty() {
            return Ok(None);
        }
        Ok(Some(Comment(comment)))
    }

    /// Resolves `Media` references (content adds no fields of its own).
    #[graphql(entity)]
    async fn find_media_by_id(&self, #[graphql(key)] id: ID) -> Media {
        Media::from_key(id)
    }

    /// Resolves `User` representations; the content fields load in batches.
    #[graphql(entity)]
    async fn find_user_by_id(&self, #[graphql(key)] id: ID) -> User {
        User::from_key(id)
    }
}
