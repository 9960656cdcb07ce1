//! The events profiles speaks: what it consumes from identity, and what it publishes.

use agora_kit::events::{Envelope, Handler, HandlerError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::profile;

/// The source attribute of profiles' events.
pub const SOURCE: &str = "profiles";

/// Published when a user changes their profile.
pub const PROFILE_UPDATED: &str = "profiles.profile.updated";

/// Consumed: a new account exists and needs its profile.
pub const USER_REGISTERED: &str = "identity.user.registered";

/// Payload of [`PROFILE_UPDATED`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileUpdated {
    /// Whose profile.
    pub user_id: Uuid,
    /// The display name after the change.
    pub display_name: String,
    /// When it changed.
    pub updated_at: DateTime<Utc>,
}

/// The part of identity's `user.registered` payload that profiles reads.
#[derive(Debug, Deserialize)]
pub struct UserRegistered {
    /// The new user's id.
    pub id: Uuid,
    /// Their handle, the default display name.
    pub handle: String,
}

/// Creates the default profile of each newly registered user.
pub struct OnUserRegistered;

#[async_trait]
impl Handler for OnUserRegistered {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Envelope,
    ) -> Result<(), HandlerError> {
        let user: UserRegistered = event.data_as().map_err(HandlerError::reject)?;
        profile::create_if_absent(txn, user.id, &user.handle)
            .await
            .map_err(HandlerError::retry)
    }
}
