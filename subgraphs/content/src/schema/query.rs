//! Content's queries and its `Post`, `Comment` and `User` entity resolvers.

use agora_kit::ServiceError;
use async_graphql::{Context, ID, Object, Result, ResultExt};
use uuid::Uuid;

use super::types::{Comment, Post, PostConnection, User, page_request, post_connection};
use super::{load_comment, load_post};
use crate::content::Content;
use crate::content::normalize_tag;
use crate::store::tag;

/// Content's root query fields.
pub struct Query;

#[Object]
impl Query {
    /// A post by id; null if there is no such post (or it was deleted).
    async fn post(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Post>> {
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        Ok(load_post(ctx, id).await?.map(Post))
    }

    /// The posts carrying a hashtag, newest first (`tag` with or without `#`, any case;
    /// `first` at most 100, default 20).
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
        let page = tag::page(&content.db, &tag, request)
            .await
            .map_err(|e| ServiceError::internal(&e))
            .extend()?;
        post_connection(ctx, request, page).await
    }

    /// Resolves `Post` representations in one batch; null for a post that is gone.
    #[graphql(entity)]
    async fn find_post_by_id(
        &self,
        ctx: &Context<'_>,
        #[graphql(key)] id: ID,
    ) -> Result<Option<Post>> {
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        Ok(load_post(ctx, id).await?.map(Post))
    }

    /// Resolves `Comment` representations in one batch; null for a comment that is gone.
    #[graphql(entity)]
    async fn find_comment_by_id(
        &self,
        ctx: &Context<'_>,
        #[graphql(key)] id: ID,
    ) -> Result<Option<Comment>> {
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        Ok(load_comment(ctx, id).await?.map(Comment))
    }

    /// Resolves `User` representations; the content fields load in batches.
    #[graphql(entity)]
    async fn find_user_by_id(&self, #[graphql(key)] id: ID) -> User {
        User::from_key(id)
    }
}
