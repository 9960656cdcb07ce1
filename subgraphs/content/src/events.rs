//! The events content speaks: what it publishes about posts and comments, and what it
//! consumes: identity's account deletions, to erase what the account wrote, media's
//! ready and deleted media, to know what posts may show, social's blocks and follows
//! ([`OnSocialEvent`], into the kit's [`restriction`] and [`privacy`] replicas) and
//! profiles' privacy changes (the kit's [`privacy::Replica`]).
//!
//! Each published envelope's subject is the post or comment it is about; comment events
//! carry the post's author so that consumers (notifications) need not ask content whom
//! to tell.

use agora_kit::events::erasure::Eraser;
use agora_kit::events::{Envelope, Handler, HandlerError};
use agora_kit::{privacy, restriction};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::{comment, media, post, post_media, tag};

/// The source attribute of content's events, and the name of its stream.
pub const SOURCE: &str = "content";

/// Published when a post is created.
pub const POST_CREATED: &str = "content.post.created";
/// Published when a post's body is edited.
pub const POST_UPDATED: &str = "content.post.updated";
/// Published when a post (and with it its comments) is deleted.
pub const POST_DELETED: &str = "content.post.deleted";
/// Published when a comment is added to a post.
pub const COMMENT_CREATED: &str = "content.comment.created";
/// Published when a comment is deleted on its own (not with its post).
pub const COMMENT_DELETED: &str = "content.comment.deleted";

/// The publishing domain of accounts.
pub const IDENTITY: &str = "identity";
/// Consumed: an account is gone; erase its posts and comments, and confirm.
pub use agora_kit::events::erasure::USER_DELETED;

/// Consumed from social: blocks, to hide each side from the other, and follows, to know
/// who may see a private account's posts and comments.
pub const SOCIAL_EVENTS: &[&str] = &[
    restriction::USER_BLOCKED,
    restriction::USER_UNBLOCKED,
    privacy::USER_FOLLOWED,
    privacy::USER_UNFOLLOWED,
];

/// The publishing domain of media.
pub const MEDIA: &str = "media";
/// Consumed: a media object can be attached by its owner.
pub const MEDIA_READY: &str = "media.media.ready";
/// Consumed: a media object is gone; it leaves every post.
pub const MEDIA_DELETED: &str = "media.media.deleted";

/// Payload of [`POST_CREATED`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostCreated {
    /// The post.
    pub id: Uuid,
    /// Who wrote it; whose followers see it.
    pub author_id: Uuid,
    /// The text as stored.
    pub body: String,
    /// Its hashtags, lower-cased, in order of first appearance.
    pub tags: Vec<String>,
    /// The media it shows, in order.
    pub media_ids: Vec<Uuid>,
    /// When it was created; orders timelines.
    pub created_at: DateTime<Utc>,
}

/// Payload of [`POST_UPDATED`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostUpdated {
    /// The post.
    pub id: Uuid,
    /// Its author.
    pub author_id: Uuid,
    /// The text after the edit.
    pub body: String,
    /// Its hashtags after the edit.
    pub tags: Vec<String>,
    /// When it was edited.
    pub edited_at: DateTime<Utc>,
}

/// Payload of [`POST_DELETED`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostDeleted {
    /// The post, now gone with its comments.
    pub id: Uuid,
    /// Its author.
    pub author_id: Uuid,
}

/// Payload of [`COMMENT_CREATED`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentCreated {
    /// The comment.
    pub id: Uuid,
    /// The post it is under.
    pub post_id: Uuid,
    /// The post's author, the one to notify.
    pub post_author_id: Uuid,
    /// Who commented.
    pub author_id: Uuid,
    /// The comment's text.
    pub body: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Payload of [`COMMENT_DELETED`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentDeleted {
    /// The comment, now gone.
    pub id: Uuid,
    /// The post it was under.
    pub post_id: Uuid,
    /// The post's author.
    pub post_author_id: Uuid,
    /// Who had written the comment.
    pub author_id: Uuid,
    /// Who deleted it: its author or the post's author.
    pub deleted_by: Uuid,
}

/// What content holds of an erased account: its posts with every comment under them,
/// its tags, and its comments on other people's posts, its media replica, the replica of
/// its blocks both ways and that of its privacy and follows both ways. No `post.deleted`
/// or `comment.deleted` follow: every other domain hears `user.deleted` itself and erases
/// its own copies.
pub struct AccountEraser;

#[async_trait]
impl Eraser for AccountEraser {
    async fn erase(
        &self,
        txn: &DatabaseTransaction,
        user: Uuid,
        _at: DateTime<Utc>,
    ) -> Result<(), HandlerError> {
        let posts = post::ids_by_author(txn, user).await?;
        for chunk in posts.chunks(500) {
            comment::delete_for_posts(txn, chunk).await?;
            tag::delete_for_posts(txn, chunk).await?;
            post_media::delete_for_posts(txn, chunk).await?;
        }
        comment::delete_by_author(txn, user).await?;
        post::delete_by_author(txn, user).await?;
        media::delete_by_owner(txn, user).await?;
        restriction::delete_user(txn, user).await?;
        privacy::delete_user(txn, user).await?;
        Ok(())
    }
}

/// Keeps the kit's replicas of social's blocks and follows: a block both hides and ends
/// the follows between the two.
pub struct OnSocialEvent;

#[async_trait]
impl Handler for OnSocialEvent {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Envelope,
    ) -> Result<(), HandlerError> {
        restriction::apply(txn, event).await?;
        privacy::apply(txn, event).await
    }
}

/// The part of media's `media.ready` and `media.deleted` payloads that content reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaChanged {
    /// The media object.
    pub id: Uuid,
    /// Who uploaded it.
    pub owner_id: Uuid,
}

/// Keeps the replica of ready media; a deleted one leaves every post.
pub struct OnMediaEvent;

#[async_trait]
impl Handler for OnMediaEvent {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Envelope,
    ) -> Result<(), HandlerError> {
        let changed: MediaChanged = event.data_as()?;
        match event.event_type.as_str() {
            MEDIA_READY => media::insert(txn, changed.id, changed.owner_id).await?,
            MEDIA_DELETED => {
                media::delete(txn, changed.id).await?;
                post_media::delete_media(txn, changed.id).await?;
            }
            // The consumer filters to the types above; anything else is not ours to act on.
            _ => {}
        }
        Ok(())
    }
}
