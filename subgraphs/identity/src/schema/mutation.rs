//! Identity's mutations: thin wrappers over the account flows.

use std::sync::Arc;

use agora_kit::auth::viewer;
use async_graphql::{Context, Object, Result, ResultExt};

use super::types::{
    AuthPayload, ChangePasswordInput, ChangePasswordPayload, LoginInput, LogoutPayload,
    RefreshSessionInput, RegisterInput,
};
use crate::accounts::{Identity, Registration};

/// Identity's root mutation fields.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Creates an account and signs it in.
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> Result<AuthPayload> {
        let registration = Registration {
            email: input.email,
            handle: input.handle,
            password: input.password,
        };
        Ok(identity(ctx).register(registration).await.extend()?.into())
    }

    /// Signs in with email or handle. Failures never say which part was wrong; repeated
    /// failures lock the login for a growing time (`TOO_MANY_REQUESTS`, `retryAfter`).
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> Result<AuthPayload> {
        Ok(identity(ctx)
            .login(&input.login, input.password)
            .await
            .extend()?
            .into())
    }

    /// Exchanges a refresh token for new tokens. Reusing a spent one ends the session.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        input: RefreshSessionInput,
    ) -> Result<AuthPayload> {
        Ok(identity(ctx)
            .refresh(&input.refresh_token)
            .await
            .extend()?
            .into())
    }

    /// Ends the current session.
    async fn logout(&self, ctx: &Context<'_>) -> Result<LogoutPayload> {
        let viewer = viewer(ctx).extend()?;
        identity(ctx)
            .logout(viewer.user_id, viewer.session_id, false)
            .await
            .extend()?;
        Ok(LogoutPayload { ok: true })
    }

    /// Ends every session of the signed-in user, on every device.
    async fn logout_everywhere(&self, ctx: &Context<'_>) -> Result<LogoutPayload> {
        let viewer = viewer(ctx).extend()?;
        identity(ctx)
            .logout(viewer.user_id, viewer.session_id, true)
            .await
            .extend()?;
        Ok(LogoutPayload { ok: true })
    }

    /// Changes the password; every other session ends.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        input: ChangePasswordInput,
    ) -> Result<ChangePasswordPayload> {
        let viewer = viewer(ctx).extend()?;
        let account = identity(ctx)
            .change_password(
                viewer.user_id,
                viewer.session_id,
                input.current_password,
                input.new_password,
            )
            .await
            .extend()?;
        Ok(ChangePasswordPayload {
            user: account.into(),
        })
    }
}

fn identity<'a>(ctx: &Context<'a>) -> &'a Identity {
    ctx.data_unchecked::<Arc<Identity>>()
}
