//! Social's mutations: follow (and follow requests), like, save, block and mute, each
//! idempotent.

use std::sync::Arc;

use agora_kit::auth::viewer;
use async_graphql::{Context, Object, Result, ResultExt};

use super::types::{
    FollowInput, FollowPayload, FollowRequestInput, FollowRequestPayload, LikePostPayload, Post,
    PostInput, RestrictUserPayload, SavePostPayload, UnfollowPayload, UnlikePostPayload,
    UnsavePostPayload, User, UserInput,
};
use crate::social::{Followed, Social, parse_id};

/// Social's root mutation fields.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Follows a user (not yourself); their recent posts join your feed. A private
    /// user must approve: the follow is then a request (`requested: true`) until they
    /// accept it. Following again changes nothing; `NOT_FOUND` when a block stands
    /// between you.
    async fn follow(&self, ctx: &Context<'_>, input: FollowInput) -> Result<FollowPayload> {
        let viewer = viewer(ctx).extend()?;
        let target = parse_id("userId", &input.user_id).extend()?;
        let social = ctx.data_unchecked::<Arc<Social>>();
        let followed = social.follow(viewer.user_id, target).await.extend()?;
        Ok(FollowPayload {
            user: User::new(target),
            requested: followed == Followed::Requested,
        })
    }

    /// Approves a user's request to follow you: they follow you from now on. Accepting
    /// again changes nothing; `NOT_FOUND` when they neither asked nor follow you.
    async fn accept_follow_request(
        &self,
        ctx: &Context<'_>,
        input: FollowRequestInput,
    ) -> Result<FollowRequestPayload> {
        let viewer = viewer(ctx).extend()?;
        let requester = parse_id("userId", &input.user_id).extend()?;
        let social = ctx.data_unchecked::<Arc<Social>>();
        social
            .accept_request(viewer.user_id, requester)
            .await
            .extend()?;
        Ok(FollowRequestPayload {
            user: User::new(requester),
        })
    }

    /// Declines a user's request to follow you; they are not told. Declining again, or
    /// a request never made, changes nothing.
    async fn decline_follow_request(
        &self,
        ctx: &Context<'_>,
        input: FollowRequestInput,
    ) -> Result<FollowRequestPayload> {
        let viewer = viewer(ctx).extend()?;
        let requester = parse_id("userId", &input.user_id).extend()?;
        let social = ctx.data_unchecked::<Arc<Social>>();
        social
            .decline_request(viewer.user_id, requester)
            .await
            .extend()?;
        Ok(FollowRequestPayload {
            user: User::new(requester),
        })
    }

    /// Stops following a user, or withdraws a request to follow them; their posts leave
    /// your feed. Unfollowing again changes nothing.
    async fn unfollow(&self, ctx: &Context<'_>, input: FollowInput) -> Result<UnfollowPayload> {
        let viewer = viewer(ctx).extend()?;
        let target = parse_id("userId", &input.user_id).extend()?;
        let social = ctx.data_unchecked::<Arc<Social>>();
        social.unfollow(viewer.user_id, target).await.extend()?;
        Ok(UnfollowPayload {
            user: User::new(target),
        })
    }

    /// Blocks a user (not yourself): follows both ways end, and neither of you sees the
    /// other's posts, comments, profile details or follows, nor can follow, like, comment,
    /// mention or message the other (`NOT_FOUND`, as if the other did not exist).
    /// Blocking again changes nothing.
    async fn block_user(&self, ctx: &Context<'_>, input: UserInput) -> Result<RestrictUserPayload> {
        let viewer = viewer(ctx).extend()?;
        let target = parse_id("userId", &input.user_id).extend()?;
        let social = ctx.data_unchecked::<Arc<Social>>();
        social.block(viewer.user_id, target).await.extend()?;
        Ok(RestrictUserPayload {
            user: User::new(target),
        })
    }

    /// Lifts a block (follows it ended stay ended); unblocking again changes nothing.
    async fn unblock_user(
        &self,
        ctx: &Context<'_>,
        input: UserInput,
    ) -> Result<RestrictUserPayload> {
        let viewer = viewer(ctx).extend()?;
        let target = parse_id("userId", &input.user_id).extend()?;
        let social = ctx.data_unchecked::<Arc<Social>>();
        social.unblock(viewer.user_id, target).await.extend()?;
        Ok(RestrictUserPayload {
            user: User::new(target),
        })
    }

    /// Mutes a user (not yourself): their posts leave your feed and their actions your
    /// notifications; they are not told. Muting again changes nothing.
    async fn mute_user(&self, ctx: &Context<'_>, input: UserInput) -> Result<RestrictUserPayload> {
        let viewer = viewer(ctx).extend()?;
        let target = parse_id("userId", &input.user_id).extend()?;
        let social = ctx.data_unchecked::<Arc<Social>>();
        social.mute(viewer.user_id, target).await.extend()?;
        Ok(RestrictUserPayload {
            user: User::new(target),
        })
    }

    /// Lifts a mute; the user's recent posts come back to your feed if you follow them.
    async fn unmute_user(
        &self,
        ctx: &Context<'_>,
        input: UserInput,
    ) -> Result<RestrictUserPayload> {
        let viewer = viewer(ctx).extend()?;
        let target = parse_id("userId", &input.user_id).extend()?;
        let social = ctx.data_unchecked::<Arc<Social>>();
        social.unmute(viewer.user_id, target).await.extend()?;
        Ok(RestrictUserPayload {
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
