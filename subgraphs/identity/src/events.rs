//! The events identity publishes. Consumers keep their own copies of these shapes.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// The source attribute of identity's events.
pub const SOURCE: &str = "identity";

/// A new account exists: profiles creates its profile, messaging may welcome it.
pub const USER_REGISTERED: &str = "identity.user.registered";

/// Payload of [`USER_REGISTERED`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRegistered {
    /// The new user's id.
    pub id: Uuid,
    /// The chosen handle.
    pub handle: String,
    /// The account email, for the welcome and verification mails.
    pub email: String,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}
