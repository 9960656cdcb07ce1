//! Identity's GraphQL types, written by hand so tables and API can change apart.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use agora_kit::auth::optional_viewer;

use crate::accounts::Tokens;
use crate::store::account;

/// A person on Agora. Other subgraphs add their fields to it through its `id` key.
pub struct User {
    id: Uuid,
    handle: String,
    email: String,
    created_at: DateTime<Utc>,
}

impl From<account::Model> for User {
    fn from(account: account::Model) -> Self {
        Self {
            id: account.id,
            handle: account.handle,
            email: account.email,
            created_at: account.created_at,
        }
    }
}

#[Object]
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
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        let own = optional_viewer(ctx).is_some_and(|viewer| viewer.user_id == self.id);
        own.then_some(self.email.as_str())
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
