//! The events profiles speaks: what it consumes from identity (accounts, their handles
//! and their deletion) and media (ready and deleted media, for avatars), and what it publishes.

use agora_kit::events::erasure::Eraser;
use agora_kit::events::{Envelope, Handler, HandlerError};
use agora_kit::restriction;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::{media, profile};

/// The source attribute of profiles' events.
pub const SOURCE: &str = "profiles";

/// Published when a user changes their profile.
pub const PROFILE_UPDATED: &str = "profiles.profile.updated";
/// Published when a user makes their account private or public again (besides
/// [`PROFILE_UPDATED`]): social and content decide alone who sees a private account.
pub const PRIVACY_CHANGED: &str = "profiles.profile.privacy_changed";

/// Consumed: a new account exists and needs its profile.
pub const USER_REGISTERED: &str = "identity.user.registered";
/// Consumed: an account's handle changed; replicate it.
pub const USER_HANDLE_CHANGED: &str = "identity.user.handle_changed";
/// Consumed: an account is gone; erase its profile, and confirm.
pub use agora_kit::events::erasure::USER_DELETED;

/// The publishing domain of media.
pub const MEDIA: &str = "media";
/// Consumed: a media object can be made an avatar by its owner.
pub const MEDIA_READY: &str = "media.media.ready";
/// Consumed: a media object is gone; it is nobody's avatar any more.
pub const MEDIA_DELETED: &str = "media.media.deleted";

/// Payload of [`PROFILE_UPDATED`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileUpdated {
    /// Whose profile.
    pub user_id: Uuid,
    /// The display name after the change.
    pub display_name: String,
    /// The avatar after the change (media's id).
    pub avatar_media_id: Option<Uuid>,
    /// When it changed.
    pub updated_at: DateTime<Utc>,
}

/// Payload of [`PRIVACY_CHANGED`]; the envelope's subject is the user.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivacyChanged {
    /// Whose account.
    pub user_id: Uuid,
    /// Whether it is private now.
    pub is_private: bool,
    /// When it changed: replicas keep the newest change, whatever order they hear of them.
    pub changed_at: DateTime<Utc>,
}

/// The part of identity's `user.registered` payload that profiles reads.
#[derive(Debug, Deserialize)]
pub struct UserRegistered {
    /// The new user's id.
    pub id: Uuid,
    /// Their handle, the default display name.
    pub handle: String,
}

/// Creates the default profile of each newly registered user, follows handle changes,
/// and erases deleted accounts.
pub struct OnIdentityEvent;

#[async_trait]
impl Handler for OnIdentityEvent {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Envelope,
    ) -> Result<(), HandlerError> {
        match event.event_type.as_str() {
            USER_REGISTERED => {
                let user: UserRegistered = event.data_as()?;
                profile::create_if_absent(txn, user.id, &user.handle).await?;
                Ok(())
            }
            USER_HANDLE_CHANGED => handle_changed(txn, &event.data_as()?).await,
            // The consumer filters to the types above; anything else is not ours to act on.
            _ => Ok(()),
        }
    }
}

/// What profiles holds of an erased account: its profile, the replica of its media and
/// of its blocks both ways. No `profile.updated` follows: media hears `user.deleted`
/// itself.
pub struct AccountEraser;

#[async_trait]
impl Eraser for AccountEraser {
    async fn erase(
        &self,
        txn: &DatabaseTransaction,
        user: Uuid,
        _at: DateTime<Utc>,
    ) -> Result<(), HandlerError> {
        profile::delete(txn, user).await?;
        media::delete_by_owner(txn, user).await?;
        restriction::delete_user(txn, user).await?;
        Ok(())
    }
}

/// The part of identity's `user.handle_changed` payload that profiles reads.
#[derive(Debug, Deserialize)]
pub struct HandleChanged {
    /// The account.
    pub id: Uuid,
    /// Its new handle.
    pub handle: String,
    /// The handle it replaces.
    pub previous: String,
}

/// Replicates a new handle; a display name still showing the old handle (the default,
/// never changed) follows it.
pub async fn handle_changed(
    txn: &DatabaseTransaction,
    changed: &HandleChanged,
) -> Result<(), HandlerError> {
    profile::set_handle(txn, changed.id, &changed.handle, &changed.previous).await?;
    Ok(())
}

/// The part of media's `media.ready` and `media.deleted` payloads that profiles reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaChanged {
    /// The media object.
    pub id: Uuid,
    /// Who uploaded it.
    pub owner_id: Uuid,
}

/// Keeps the replica of ready media; a deleted one stops being an avatar.
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
                profile::clear_avatar(txn, changed.id).await?;
            }
            // The consumer filters to the types above; anything else is not ours to act on.
            _ => {}
        }
        Ok(())
    }
}
