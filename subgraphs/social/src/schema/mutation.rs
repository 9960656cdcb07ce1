//! Social's mutations: follow, like and save, each idempotent.

use std::sync::Arc;

use agora_kit::auth::viewer;
use async_graphql::{Context, Object, Result, ResultExt};

use super::types::{
    FollowInput, FollowPayload, LikePostPayload, Post, PostInput, SavePostPayload, UnfollowPayload,
    UnlikePostPayload, UnsavePostPayload, User,
};
use crate::social::{Social, parse_id};

/// Social's root mutation fields.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Follows a user (not yourself); their recent posts join your feed. Following again
    /// changes nothing.
    async fn follow(&self, ctx: &Context<'_>, input: FollowInput) -> Result<FollowPayload> {
        let viewer = viewer(ctx).extend()?;
        let target = parse_id("userId", &input.user_id).extend()?;
        let social = ctx.data_unchecked::<Arc<Social>>();
        social.follow(viewer.user_id, target).await.extend()?;
        Ok(FollowPayload {
            user: User::new(target),
        })
    }

    /// Stops following a user; their posts leave your feed. Unfollowing again changes
    /// nothing.
    async fn unfollow(&self, ctx: &Context<'_>, input: FollowInput) -> Result<UnfollowPayload> {
        let viewer = viewer(ctx).extend()?;
        let target = parse_id("userId", &input.user_id).extend()?;
        let social = ctx.data_unchecked::<Arc<Social>>();
        social.unfollow(viewer.user_id, target).await.extend()?;
        Ok(UnfollowPayload {
            user: User::new(target),
        })
    }

    /// Likes a post (`NOT_FOUND` if it does not exist); liking again changes nothing.
    async fn like_post(&self, ctx: &Context<'_>, input: PostInput) -> Result<LikePostPayload> {
        let viewer = viewer(ctx).extend()?;
        let post = parse_id("postId", &input.post_id).extend()?;
        let social = ctx.data_unchecked::<Arc<Social>>();
        social.like(viewer.user_id, post).await.extend()?;
        Ok(LikePostPayload {
            post: Post::new(post),
        })
    }

    /// Takes back a like; unliking again changes nothing.
    async fn unlike_post(&self, ctx: &Context<'_>, input: PostInput) -> Result<UnlikePostPayload> {
        let viewer = viewer(ctx).extend()?;
        let post = parse_id("postId", &input.post_id).extend()?;
        let social = ctx.data_unchecked::<Arc<Social>>();
        social.unlike(viewer.user_id, post).await.extend()?;
        Ok(UnlikePostPayload {
            post: Post::new(post),
        })
    }

    /// Saves a post to your private bookmarks; saving again changes nothing.
    async fn save_post(&self, ctx: &Context<'_>, input: PostInput) -> Result<SavePostPayload> {
        let viewer = viewer(ctx).extend()?;
        let post = parse_id("postId", &input.post_id).extend()?;
        let social = ctx.data_unchecked::<Arc<Social>>();
        social.save(viewer.user_id, post).await.extend()?;
        Ok(SavePostPayload {
            post: Post::new(post),
        })
    }

    /// Removes a post from your bookmarks; removing again changes nothing.
    async fn unsave_post(&self, ctx: &Context<'_>, input: PostInput) -> Result<UnsavePostPayload> {
        let viewer = viewer(ctx).extend()?;
        let post = parse_id("postId", &input.post_id).extend()?;
        let social = ctx.data_unchecked::<Arc<Social>>();
        social.unsave(viewer.user_id, post).await.extend()?;
        Ok(UnsavePostPayload {
            post: Post::new(post),
        })
    }
}
