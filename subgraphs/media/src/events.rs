//! The events media speaks. It publishes `media.media.ready` (content and profiles keep
//! the id and owner of ready media, to check what posts and avatars attach) and
//! `media.media.deleted`. It consumes content's posts (which media each post shows;
//! deleting a post deletes the media only it used), profiles' updates (which media is
//! whose avatar) and identity's account deletions (all the account's media go).

use std::sync::Arc;

use agora_kit::events::erasure::Eraser;
use agora_kit::events::{Envelope, Handler, HandlerError, enqueue};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::store::{media, usage};

/// The source attribute of media's events, and the name of its stream.
pub const SOURCE: &str = "media";
/// Published when an upload is processed and can be attached.
pub const MEDIA_READY: &str = "media.media.ready";
/// Published when a ready media object is deleted (by its owner, or with the post that
/// alone used it).
pub const MEDIA_DELETED: &str = "media.media.deleted";

/// The publishing domain of accounts.
pub const IDENTITY: &str = "identity";
/// Consumed: an account is gone; so are all its media (confirmed once their rows are).
pub use agora_kit::events::erasure::USER_DELETED;
/// The publishing domain of posts.
pub const CONTENT: &str = "content";
/// Consumed: a post shows these media.
pub const POST_CREATED: &str = "content.post.created";
/// Consumed: a post is gone; the media only it used go too.
pub const POST_DELETED: &str = "content.post.deleted";
/// The publishing domain of profiles.
pub const PROFILES: &str = "profiles";
/// Consumed: a profile's avatar is this media (or none).
pub const PROFILE_UPDATED: &str = "profiles.profile.updated";

/// Payload of [`MEDIA_READY`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaReady {
    /// The media object.
    pub id: Uuid,
    /// Who uploaded it: the only one who may attach it.
    pub owner_id: Uuid,
    /// Its type, read from its bytes.
    pub content_type: String,
    /// Pixel width (images).
    pub width: Option<i32>,
    /// Pixel height (images).
    pub height: Option<i32>,
}

/// Payload of [`MEDIA_DELETED`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaDeleted {
    /// The media object, now gone.
    pub id: Uuid,
    /// Who had uploaded it.
    pub owner_id: Uuid,
}

/// The part of content's `post.created` payload that media reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostCreated {
    /// The post.
    pub id: Uuid,
    /// The media it shows (absent from posts of before media).
    #[serde(default)]
    pub media_ids: Vec<Uuid>,
}

/// The part of content's `post.deleted` payload that media reads.
#[derive(Debug, Deserialize)]
pub struct PostDeleted {
    /// The post, now gone.
    pub id: Uuid,
}

/// The part of profiles' `profile.updated` payload that media reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileUpdated {
    /// Whose profile.
    pub user_id: Uuid,
    /// Their avatar after the change (absent: none).
    #[serde(default)]
    pub avatar_media_id: Option<Uuid>,
}

/// Applies the events of content, profiles and identity; once an effect is committed it
/// wakes the outbox relay and the janitor, which deletes the files.
pub struct OnEvent {
    /// The outbox relay's wake-up.
    pub outbox: Arc<Notify>,
    /// The janitor's wake-up.
    pub janitor: Arc<Notify>,
}

#[async_trait]
impl Handler for OnEvent {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Envelope,
    ) -> Result<(), HandlerError> {
        match event.event_type.as_str() {
            POST_CREATED => post_created(txn, &event.data_as()?).await,
            POST_DELETED => post_deleted(txn, &event.data_as()?).await,
            PROFILE_UPDATED => profile_updated(txn, &event.data_as()?).await,
            // The consumers filter to the types above; anything else is not ours to act on.
            _ => Ok(()),
        }
    }

    async fn committed(&self, _db: &DatabaseConnection, _event: &Envelope) {
        self.outbox.notify_one();
        self.janitor.notify_one();
    }
}

/// Records which media a new post shows.
pub async fn post_created(
    txn: &DatabaseTransaction,
    post: &PostCreated,
) -> Result<(), HandlerError> {
    usage::replace(txn, usage::POST, post.id, &post.media_ids).await?;
    Ok(())
}

/// Forgets a deleted post's uses and deletes the media nothing else uses, announcing each.
pub async fn post_deleted(
    txn: &DatabaseTransaction,
    post: &PostDeleted,
) -> Result<(), HandlerError> {
    let used = usage::release(txn, usage::POST, post.id).await?;
    let orphans = usage::unused(txn, &used).await?;
    for gone in media::mark_deleted(txn, &orphans).await? {
        if gone.status() == media::Status::Ready {
            enqueue(txn, &deleted_event(&gone)).await?;
        }
    }
    Ok(())
}

/// Records which media is a user's avatar.
pub async fn profile_updated(
    txn: &DatabaseTransaction,
    profile: &ProfileUpdated,
) -> Result<(), HandlerError> {
    let avatar: Vec<Uuid> = profile.avatar_media_id.into_iter().collect();
    usage::replace(txn, usage::AVATAR, profile.user_id, &avatar).await?;
    Ok(())
}

/// What media holds of an erased account: every media object it owns (the janitor
/// deletes their files once this commits) and its avatar use. No `media.deleted`
/// follow: every other domain hears `user.deleted` itself and erases its own copies.
pub struct AccountEraser;

#[async_trait]
impl Eraser for AccountEraser {
    async fn erase(
        &self,
        txn: &DatabaseTransaction,
        user: Uuid,
        _at: DateTime<Utc>,
    ) -> Result<(), HandlerError> {
        let owned = media::ids_by_owner(txn, user).await?;
        for chunk in owned.chunks(500) {
            media::mark_deleted(txn, chunk).await?;
        }
        usage::release(txn, usage::AVATAR, user).await?;
        Ok(())
    }
}

/// The [`MEDIA_DELETED`] event of a media row.
pub fn deleted_event(gone: &media::Model) -> Envelope {
    let payload = MediaDeleted {
        id: gone.id,
        owner_id: gone.owner_id,
    };
    Envelope::new(SOURCE, MEDIA_DELETED, gone.id, &payload)
}
