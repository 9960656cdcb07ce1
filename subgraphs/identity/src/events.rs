//! The events identity publishes, and the erasure confirmations it consumes. Consumers
//! keep their own copies of these shapes, except the erasure protocol's (`user.deleted`,
//! `*.user.erased`), which every subgraph shares through the kit.

use agora_kit::events::erasure::{ERASERS, UserErased, erased_type};
use agora_kit::events::{Envelope, Handler, HandlerError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;
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

/// An account's handle changed: profiles and messaging update their copies of it.
pub const USER_HANDLE_CHANGED: &str = "identity.user.handle_changed";

/// Payload of [`USER_HANDLE_CHANGED`]; the envelope's subject is the account.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HandleChanged {
    /// The account.
    pub id: Uuid,
    /// The new handle.
    pub handle: String,
    /// The handle it replaces, free for anyone from now on.
    pub previous: String,
    /// When it changed.
    pub changed_at: DateTime<Utc>,
}

/// Someone asked to reset an account's password: messaging mails the link.
pub const PASSWORD_RESET_REQUESTED: &str = "identity.password_reset.requested";

/// An address needs proving (new account, changed email): messaging mails the link.
pub const EMAIL_VERIFICATION_REQUESTED: &str = "identity.email_verification.requested";

/// Payload of [`PASSWORD_RESET_REQUESTED`] and [`EMAIL_VERIFICATION_REQUESTED`]; the
/// envelope's subject is the account.
///
/// It carries the token itself, because the mail must: identity keeps only its hash, and
/// the token dies when used, superseded or expired (`expiresAt`), so an old event on the
/// stream opens nothing.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkRequested {
    /// The account.
    pub user_id: Uuid,
    /// Where the mail goes.
    pub email: String,
    /// The account's handle, to greet its owner.
    pub handle: String,
    /// The single-use token for the link.
    pub token: String,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
}

/// Records each eraser's `<subgraph>.user.erased` against the account's erasure request.
pub struct OnUserErased;

#[async_trait]
impl Handler for OnUserErased {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Envelope,
    ) -> Result<(), HandlerError> {
        let subgraph = event.domain();
        // The consumers filter to the erasers' confirmations; anything else is not ours.
        if !ERASERS.contains(&subgraph) || event.event_type != erased_type(subgraph) {
            return Ok(());
        }
        let erased: UserErased = event.data_as()?;
        crate::erasure::confirmed(txn, subgraph, erased.user_id, event.time).await?;
        Ok(())
    }
}
