//! Content's mutations: posts and comments, each checked against its owner.

use std::sync::Arc;

use agora_kit::auth::viewer;
use async_graphql::{Context, ID, Object, Result, ResultExt};

use super::types::{
    AddCommentInput, AddCommentPayload, Comment, CreatePostInput, CreatePostPayload,
    DeleteCommentInput, DeleteCommentPayload, DeletePostInput, DeletePostPayload, EditPostInput,
    EditPostPayload, Post,
};
use crate::content::{Content, parse_id};

/// Content's root mutation fields.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Posts a text, showing up to 10 of your ready media; its `#hashtags` become its
    /// tags.
    async fn create_post(
        &self,
        ctx: &Context<'_>,
        input: CreatePostInput,
    ) -> Result<CreatePostPayload> {
        let viewer = viewer(ctx).extend()?;
        let media = input
            .media_ids
            .unwrap_or_default()
            .iter()
            .map(|id| parse_id("mediaIds", id))
            .collect::<Result<Vec<_>, _>>()
            .extend()?;
        let content = ctx.data_unchecked::<Arc<Content>>();
        let post = content
            .create_post(viewer.user_id, &input.body, &media)
            .await
            .extend()?;
        Ok(CreatePostPayload { post: Post(post) })
    }

    /// Replaces the text of your own post (`FORBIDDEN` for anyone else's).
    async fn edit_post(&self, ctx: &Context<'_>, input: EditPostInput) -> Result<EditPostPayload> {
        let viewer = viewer(ctx).extend()?;
        let post_id = parse_id("postId", &input.post_id).extend()?;
        let content = ctx.data_unchecked::<Arc<Content>>();
        let post = content
            .edit_post(viewer.user_id, post_id, &input.body)
            .await
            .extend()?;
        Ok(EditPostPayload { post: Post(post) })
    }

    /// Deletes your own post and its comments (`FORBIDDEN` for anyone else's).
    async fn delete_post(
        &self,
        ctx: &Context<'_>,
        input: DeletePostInput,
    ) -> Result<DeletePostPayload> {
        let viewer = viewer(ctx).extend()?;
        let post_id = parse_id("postId", &input.post_id).extend()?;
        let content = ctx.data_unchecked::<Arc<Content>>();
        content
            .delete_post(viewer.user_id, post_id)
            .await
            .extend()?;
        Ok(DeletePostPayload {
            deleted_post_id: ID(post_id.to_string()),
        })
    }

    /// Comments on a post.
    async fn add_comment(
        &self,
        ctx: &Context<'_>,
        input: AddCommentInput,
    ) -> Result<AddCommentPayload> {
        let viewer = viewer(ctx).extend()?;
        let post_id = parse_id("postId", &input.post_id).extend()?;
        let content = ctx.data_unchecked::<Arc<Content>>();
        let comment = content
            .add_comment(viewer.user_id, post_id, &input.body)
            .await
            .extend()?;
        Ok(AddCommentPayload {
            comment: Comment(comment),
        })
    }

    /// Deletes a comment you wrote, or one under your post (`FORBIDDEN` otherwise).
    async fn delete_comment(
        &self,
        ctx: &Context<'_>,
        input: DeleteCommentInput,
    ) -> Result<DeleteCommentPayload> {
        let viewer = viewer(ctx).extend()?;
        let comment_id = parse_id("commentId", &input.comment_id).extend()?;
        let content = ctx.data_unchecked::<Arc<Content>>();
        let post = content
            .delete_comment(viewer.user_id, comment_id)
            .await
            .extend()?;
        Ok(DeleteCommentPayload {
            deleted_comment_id: ID(comment_id.to_string()),
            post: Post(post),
        })
    }
}
