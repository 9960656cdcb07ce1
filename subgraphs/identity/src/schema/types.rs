//! Identity's GraphQL types, written by hand so tables and API can change apart.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use agora_kit::auth::optional_viewer;

use crate::accounts::Tokens;
use crate::erasure::ErasureStatus;
use crate::store::account;

/// A person on Agora. Other subgraphs add their fields to it through its `id` key.
///
/// Anyone may reuse what it answered for 60 s (`Cache-Control: max-age=60`, which the
/// router's entity cache honours), except the owner-only fields, which make the answer
/// private. The router drops its cached users on every identity mutation it sends, so a
/// changed handle or a deleted account shows at once through it, and within 60 s
/// through any other router.
pub struct User {
    id: Uuid,
    handle: String,
    email: String,
    email_verified: bool,
    created_at: DateTime<Utc>,
}

impl From<account::Model> for User {
    fn from(account: account::Model) -> Self {
        Self {
            id: account.id,
            handle: account.handle,
            email: account.email,
            email_verified: account.email_verified_at.is_some(),
            created_at: account.created_at,
        }
    }
}

#[Object(cache_control(max_age = 60))]
impl User {
    /// Opaque, stable id.
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// Unique handle, shown as @handle; unique regardless of case.
    async fn handle(&self) -> &str {
        &self.handle
    }

    /// The account email: only its owner sees it; everyone else gets null.
    #[graphql(cache_control(private))]
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        let own = optional_viewer(ctx).is_some_and(|viewer| viewer.user_id == self.id);
        own.then_some(self.email.as_str())
    }

    /// Whether the account email was proven by its verification link: only its owner
    /// sees it; everyone else gets null.
    #[graphql(cache_control(private))]
    async fn email_verified(&self, ctx: &Context<'_>) -> Option<bool> {
        let own = optional_viewer(ctx).is_some_and(|viewer| viewer.user_id == self.id);
        own.then_some(self.email_verified)
    }

    /// When the account was registered.
    async fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
}

/// A signed-in session's tokens.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// JWT to send as `Authorization: Bearer …`; valid for 15 minutes.
    pub access_token: String,
    /// Single-use token for `refreshSession`; valid for 30 days.
    pub refresh_token: String,
    /// The signed-in user.
    pub user: User,
}

impl From<Tokens> for AuthPayload {
    fn from(tokens: Tokens) -> Self {
        Self {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            user: tokens.account.into(),
        }
    }
}

/// Input of `register`.
#[derive(InputObject)]
pub struct RegisterInput {
    /// Email address (at most 254 characters), unique.
    pub email: String,
    /// 3–30 letters, digits or underscores; unique regardless of case.
    pub handle: String,
    /// 8–128 characters.
    pub password: String,
}

/// Input of `login`.
#[derive(InputObject)]
pub struct LoginInput {
    /// Email or handle.
    pub login: String,
    /// The password.
    pub password: String,
}

/// Input of `refreshSession`.
#[derive(InputObject)]
pub struct RefreshSessionInput {
    /// The refresh token from the last `AuthPayload`; it is used up by this call.
    pub refresh_token: String,
}

/// Input of `changePassword`.
#[derive(InputObject)]
pub struct ChangePasswordInput {
    /// The password now in use.
    pub current_password: String,
    /// The new password, 8–128 characters.
    pub new_password: String,
}

/// Result of `logout` and `logoutEverywhere`.
#[derive(SimpleObject)]
pub struct LogoutPayload {
    /// Always true: the session(s) are over.
    pub ok: bool,
}

/// Result of `changePassword`.
#[derive(SimpleObject)]
pub struct ChangePasswordPayload {
    /// The user whose password changed.
    pub user: User,
}

/// Input of `requestPasswordReset`.
#[derive(InputObject)]
pub struct RequestPasswordResetInput {
    /// The account email the link goes to.
    pub email: String,
}

/// Result of `requestPasswordReset`: the same whether or not the email has an account.
#[derive(SimpleObject)]
pub struct RequestPasswordResetPayload {
    /// Always true.
    pub ok: bool,
}

/// Input of `resetPassword`.
#[derive(InputObject)]
pub struct ResetPasswordInput {
    /// The token of the reset link (valid 30 minutes, once).
    pub token: String,
    /// The new password, 8–128 characters.
    pub new_password: String,
}

/// Result of `resetPassword`.
#[derive(SimpleObject)]
pub struct ResetPasswordPayload {
    /// Always true: the password is set and every session ended; sign in again.
    pub ok: bool,
}

/// Input of `verifyEmail`.
#[derive(InputObject)]
pub struct VerifyEmailInput {
    /// The token of the verification link (valid 48 hours, once).
    pub token: String,
}

/// Result of `verifyEmail`.
#[derive(SimpleObject)]
pub struct VerifyEmailPayload {
    /// Always true: the email is verified.
    pub ok: bool,
    /// The user whose email it is.
    pub user: User,
}

/// Result of `requestEmailVerification`.
#[derive(SimpleObject)]
pub struct RequestEmailVerificationPayload {
    /// Always true: a link is on its way, or the email was verified already.
    pub ok: bool,
}

/// Input of `changeEmail`.
#[derive(InputObject)]
pub struct ChangeEmailInput {
    /// The new address (at most 254 characters), unique; unverified until its link is
    /// followed.
    pub new_email: String,
    /// The current password.
    pub password: String,
}

/// Result of `changeEmail`.
#[derive(SimpleObject)]
pub struct ChangeEmailPayload {
    /// The user, with the new email.
    pub user: User,
}

/// Input of `deleteAccount`.
#[derive(InputObject)]
pub struct DeleteAccountInput {
    /// The current password.
    pub password: String,
}

/// Result of `deleteAccount`.
#[derive(SimpleObject)]
pub struct DeleteAccountPayload {
    /// The erasure the deletion started; keep its `id` to follow it with `erasureStatus`.
    pub erasure: Erasure,
}

/// A deleted account's erasure across the subgraphs that held its data.
#[derive(SimpleObject)]
pub struct Erasure {
    /// The receipt: unguessable, the only way to find this erasure.
    pub id: ID,
    /// When the account was deleted.
    pub requested_at: DateTime<Utc>,
    /// When every subgraph had confirmed; null until then.
    pub completed_at: Option<DateTime<Utc>>,
    /// The subgraphs still erasing the account's data.
    pub pending: Vec<String>,
    /// The subgraphs that have erased it.
    pub confirmed: Vec<String>,
}

impl From<ErasureStatus> for Erasure {
    fn from(status: ErasureStatus) -> Self {
        Self {
            id: ID(status.id),
            requested_at: status.requested_at,
            completed_at: status.completed_at,
            pending: status.pending,
            confirmed: status.confirmed,
        }
    }
}

/// Input of `changeHandle`.
#[derive(InputObject)]
pub struct ChangeHandleInput {
    /// The new handle: 3–30 letters, digits or underscores; unique regardless of case.
    pub handle: String,
}

/// Result of `changeHandle`.
#[derive(SimpleObject)]
pub struct ChangeHandlePayload {
    /// The user, with the new handle.
    pub user: User,
}
