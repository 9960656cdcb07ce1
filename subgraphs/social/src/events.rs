//! The events social speaks: what it publishes about follows and likes, and what it
//! consumes: content's post events, to keep its post replica and the home timelines,
//! profiles' privacy changes, to know which accounts are private, and identity's account
//! deletions, to erase the account.

use agora_kit::events::erasure::Eraser;
use agora_kit::events::{Envelope, Handler, HandlerError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::social::start_following;
use crate::store::{follow, follow_request, post, reaction, restriction, timeline};
use agora_kit::privacy::account as privacy;

/// The source attribute of social's events.
pub const SOURCE: &str = "social";

/// Published when a user starts following another.
pub const USER_FOLLOWED: &str = "social.user.followed";
/// Published when a user asks to follow a private account (the one to notify).
pub const FOLLOW_REQUESTED: &str = "social.follow.requested";
/// Published when a user stops following another.
pub const USER_UNFOLLOWED: &str = "social.user.unfollowed";
/// Published when a user likes a post.
pub const POST_LIKED: &str = "social.post.liked";
/// Published when a user takes a like back.
pub const POST_UNLIKED: &str = "social.post.unliked";
/// Published when a user blocks another: subgraphs that must honour blocks replicate it.
pub const USER_BLOCKED: &str = "social.user.blocked";
/// Published when a user lifts a block.
pub const USER_UNBLOCKED: &str = "social.user.unblocked";
/// Published when a user mutes another: messaging keeps their actions out of the muter's
/// notifications.
pub const USER_MUTED: &str = "social.user.muted";
/// Published when a user lifts a mute.
pub const USER_UNMUTED: &str = "social.user.unmuted";

/// The publishing domain of the posts social replicates.
pub const CONTENT: &str = "content";
/// Consumed: a post exists; replicate it and fan it out to timelines.
pub const POST_CREATED: &str = "content.post.created";
/// Consumed: a post is gone; tombstone it and take it out of timelines, likes and saves.
pub const POST_DELETED: &str = "content.post.deleted";

/// The publishing domain of profiles; consumed: an account became private or public
/// ([`PRIVACY_CHANGED`]): replicate it, and approve the pending requests of an account
/// made public.
pub use agora_kit::privacy::{PRIVACY_CHANGED, PROFILES, PrivacyChanged};

/// The publishing domain of accounts.
pub const IDENTITY: &str = "identity";
/// Consumed: an account is gone; erase everything social knows about it, and confirm.
pub use agora_kit::events::erasure::USER_DELETED;

/// Payload of [`USER_FOLLOWED`]; the envelope's subject is the followee.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserFollowed {
    /// Who follows.
    pub follower_id: Uuid,
    /// Whom (the one to notify).
    pub followee_id: Uuid,
    /// When.
    pub followed_at: DateTime<Utc>,
}

/// Payload of [`FOLLOW_REQUESTED`]; the envelope's subject is the private account.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FollowRequested {
    /// Who asks to follow.
    pub requester_id: Uuid,
    /// The private account asked (the one to notify).
    pub target_id: Uuid,
    /// When.
    pub requested_at: DateTime<Utc>,
}

/// Payload of [`USER_UNFOLLOWED`]; the envelope's subject is the followee.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserUnfollowed {
    /// Who stopped following.
    pub follower_id: Uuid,
    /// Whom.
    pub followee_id: Uuid,
}

/// Payload of [`POST_LIKED`]; the envelope's subject is the post.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostLiked {
    /// The liked post.
    pub post_id: Uuid,
    /// Its author (the one to notify), from social's replica.
    pub post_author_id: Uuid,
    /// Who liked it.
    pub user_id: Uuid,
    /// When.
    pub liked_at: DateTime<Utc>,
}

/// Payload of [`POST_UNLIKED`]; the envelope's subject is the post.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostUnliked {
    /// The post.
    pub post_id: Uuid,
    /// Its author.
    pub post_author_id: Uuid,
    /// Who took the like back.
    pub user_id: Uuid,
}

/// Payload of [`USER_BLOCKED`], [`USER_UNBLOCKED`], [`USER_MUTED`] and [`USER_UNMUTED`];
/// the envelope's subject is the user who acted.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRestricted {
    /// Who blocked or muted (or lifted it).
    pub user_id: Uuid,
    /// Whom.
    pub target_id: Uuid,
    /// When.
    pub at: DateTime<Utc>,
}

/// The part of content's `post.created` payload that social reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostCreated {
    /// The post's id.
    pub id: Uuid,
    /// Its author.
    pub author_id: Uuid,
    /// When it was created; orders timelines.
    pub created_at: DateTime<Utc>,
}

/// The part of content's `post.deleted` payload that social reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostDeleted {
    /// The post's id.
    pub id: Uuid,
    /// Its author.
    pub author_id: Uuid,
}

/// Keeps the post replica and the timelines in step with content.
pub struct OnContentEvent;

#[async_trait]
impl Handler for OnContentEvent {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Envelope,
    ) -> Result<(), HandlerError> {
        match event.event_type.as_str() {
            POST_CREATED => post_created(txn, &event.data_as()?).await,
            POST_DELETED => post_deleted(txn, &event.data_as()?, event.time).await,
            // The consumer filters to the types above; anything else is not ours to act on.
            _ => Ok(()),
        }
    }
}

/// Replicates a new post and, the first time it is seen, fans it out to the author's and
/// their followers' timelines. A post already deleted stays deleted.
pub async fn post_created(
    txn: &DatabaseTransaction,
    created: &PostCreated,
) -> Result<(), HandlerError> {
    if post::insert(txn, created.id, created.author_id, created.created_at).await? {
        let replica = post::Model {
            id: created.id,
            author_id: created.author_id,
            created_at: crate::store::micros(created.created_at),
            deleted_at: None,
        };
        timeline::fan_out(txn, &replica).await?;
    }
    Ok(())
}

/// Tombstones a deleted post and removes it from timelines, likes and saves.
pub async fn post_deleted(
    txn: &DatabaseTransaction,
    deleted: &PostDeleted,
    at: DateTime<Utc>,
) -> Result<(), HandlerError> {
    post::mark_deleted(txn, deleted.id, deleted.author_id, at).await?;
    timeline::remove_post(txn, deleted.id).await?;
    reaction::delete_for_post(txn, deleted.id).await?;
    Ok(())
}

/// Keeps the replica of private accounts in step with profiles.
pub struct OnProfilesEvent;

#[async_trait]
impl Handler for OnProfilesEvent {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Envelope,
    ) -> Result<(), HandlerError> {
        match event.event_type.as_str() {
            PRIVACY_CHANGED => privacy_changed(txn, &event.data_as()?).await,
            // The consumer filters to the type above; anything else is not ours to act on.
            _ => Ok(()),
        }
    }
}

/// Replicates an account's privacy. An account made public approves every pending
/// request, as if each requester had followed it (with `social.user.followed` and the
/// back-fill); its followers stay either way.
pub async fn privacy_changed(
    txn: &DatabaseTransaction,
    changed: &PrivacyChanged,
) -> Result<(), HandlerError> {
    let user = changed.user_id;
    let in_force = privacy::set(txn, user, changed.is_private, changed.changed_at).await?;
    if in_force && !changed.is_private {
        let now = Utc::now();
        for requester in follow_request::take_all(txn, user).await? {
            start_following(txn, requester, user, now).await?;
        }
    }
    Ok(())
}

/// What social holds of an erased account: its follows, follow requests, blocks and
/// mutes both ways, its privacy, its likes and bookmarks and those of its posts, its
/// timeline and its posts in other timelines; its replicated posts become tombstones.
/// Counts change silently: no unfollow or unlike events.
pub struct AccountEraser;

#[async_trait]
impl Eraser for AccountEraser {
    async fn erase(
        &self,
        txn: &DatabaseTransaction,
        user: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), HandlerError> {
        follow::delete_user(txn, user).await?;
        follow_request::delete_user(txn, user).await?;
        privacy::delete(txn, user).await?;
        restriction::delete_user(txn, user).await?;
        reaction::delete_user(txn, user).await?;
        timeline::remove_user(txn, user).await?;
        post::mark_author_deleted(txn, user, at).await?;
        Ok(())
    }
}
