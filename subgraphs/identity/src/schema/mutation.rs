//! Identity's mutations: thin wrappers over the account flows.

use std::sync::Arc;

use agora_kit::auth::viewer;
use async_graphql::{Context, Object, Result, ResultExt};

use super::types::{
    AuthPayload, ChangeEmailInput, ChangeEmailPayload, ChangePasswordInput, ChangePasswordPayload,
    LoginInput, LogoutPayload, RefreshSessionInput, RegisterInput, RequestEmailVerificationPayload,
    RequestPasswordResetInput, RequestPasswordResetPayload, ResetPasswordInput,
    ResetPasswordPayload, VerifyEmailInput, VerifyEmailPayload,
};
use super::types::{ChangeHandleInput, ChangeHandlePayload};
use super::types::{DeleteAccountInput, DeleteAccountPayload};
use crate::accounts::{Identity, Registration};

/// Identity's root mutation fields; no answer of theirs may be cached (some carry tokens).
pub struct Mutation;

#[Object(cache_control(no_cache))]
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

    /// Mails a link to set a new password (valid 30 minutes, once) if the email has an
    /// account. Answers the same either way, so it reveals no account.
    async fn request_password_reset(
        &self,
        ctx: &Context<'_>,
        input: RequestPasswordResetInput,
    ) -> Result<RequestPasswordResetPayload> {
        identity(ctx)
            .request_password_reset(&input.email)
            .await
            .extend()?;
        Ok(RequestPasswordResetPayload { ok: true })
    }

    /// Sets a new password with the token of a reset link; every session ends. An unknown,
    /// used or expired token is `BAD_USER_INPUT` on `token`.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        input: ResetPasswordInput,
    ) -> Result<ResetPasswordPayload> {
        identity(ctx)
            .reset_password(&input.token, input.new_password)
            .await
            .extend()?;
        Ok(ResetPasswordPayload { ok: true })
    }

    /// Proves the account email with the token of a verification link. An unknown, used or
    /// expired token, or one sent to an address since changed, is `BAD_USER_INPUT` on
    /// `token`.
    async fn verify_email(
        &self,
        ctx: &Context<'_>,
        input: VerifyEmailInput,
    ) -> Result<VerifyEmailPayload> {
        let account = identity(ctx).verify_email(&input.token).await.extend()?;
        Ok(VerifyEmailPayload {
            ok: true,
            user: account.into(),
        })
    }

    /// Mails a new verification link to the signed-in user's email (earlier links stop
    /// working); does nothing if it is verified already.
    async fn request_email_verification(
        &self,
        ctx: &Context<'_>,
    ) -> Result<RequestEmailVerificationPayload> {
        let viewer = viewer(ctx).extend()?;
        identity(ctx)
            .request_email_verification(viewer.user_id, viewer.session_id)
            .await
            .extend()?;
        Ok(RequestEmailVerificationPayload { ok: true })
    }

    /// Changes the signed-in user's handle (same rules as `register`), at most once in 30
    /// days (`BAD_USER_INPUT` on `handle` saying when it is possible again). The old handle
    /// is free for anyone at once.
    async fn change_handle(
        &self,
        ctx: &Context<'_>,
        input: ChangeHandleInput,
    ) -> Result<ChangeHandlePayload> {
        let viewer = viewer(ctx).extend()?;
        let account = identity(ctx)
            .change_handle(viewer.user_id, viewer.session_id, &input.handle)
            .await
            .extend()?;
        Ok(ChangeHandlePayload {
            user: account.into(),
        })
    }

    /// Changes the email after checking the password; a verification link goes to the
    /// new address, which is unverified until then.
    async fn change_email(
        &self,
        ctx: &Context<'_>,
        input: ChangeEmailInput,
    ) -> Result<ChangeEmailPayload> {
        let viewer = viewer(ctx).extend()?;
        let account = identity(ctx)
            .change_email(
                viewer.user_id,
                viewer.session_id,
                &input.new_email,
                input.password,
            )
            .await
            .extend()?;
        Ok(ChangeEmailPayload {
            user: account.into(),
        })
    }

    /// Deletes the signed-in user's account after checking the password (a wrong one is
    /// `BAD_USER_INPUT` on `password`): every session ends, the email is free again, the
    /// handle stays reserved for 30 days, and every subgraph erases the user's data.
    /// Returns the erasure's receipt, with which `erasureStatus` follows it.
    async fn delete_account(
        &self,
        ctx: &Context<'_>,
        input: DeleteAccountInput,
    ) -> Result<DeleteAccountPayload> {
        let viewer = viewer(ctx).extend()?;
        let status = identity(ctx)
            .delete_account(viewer.user_id, viewer.session_id, input.password)
            .await
            .extend()?;
        Ok(DeleteAccountPayload {
            erasure: status.into(),
        })
    }
}

fn identity<'a>(ctx: &Context<'a>) -> &'a Identity {
    ctx.data_unchecked::<Arc<Identity>>()
}
