//! The account flows: register, login, refresh, logout, change password, password reset,
//! email verification and email change.
//!
//! Each flow writes its state change, its audit entry and its outbox event in one
//! transaction, and wakes the outbox relay after committing. Reset and verification
//! links are mailed by messaging from identity's `*.requested` events.

use std::sync::Arc;

use agora_kit::events::{self, Envelope};
use agora_kit::{Code, ServiceError};
use chrono::{Duration, SecondsFormat, Utc};
use sea_orm::{DatabaseConnection, DatabaseTransaction, SqlErr, TransactionTrait};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::error::IdentityError;
use crate::events::{
    EMAIL_VERIFICATION_REQUESTED, HandleChanged, LinkRequested, PASSWORD_RESET_REQUESTED, SOURCE,
    USER_HANDLE_CHANGED, USER_REGISTERED, UserRegistered,
};
use crate::store::account_token::{self, Purpose};
use crate::store::audit::{self, Action};
use crate::store::refresh_token::{self, Exchange};
use crate::store::{account, lockout, session};
use crate::tokens::{self, Keys};
use crate::{password, validate};

/// A handle can be changed once in this long.
pub const HANDLE_CHANGE_INTERVAL: Duration = Duration::days(30);

/// What the flows need: the database, the signing keys, and the relay's wake-up.
pub struct Identity {
    /// Identity's own database.
    pub db: DatabaseConnection,
    /// Signing keys and token rules.
    pub keys: Keys,
    /// Woken after a commit that enqueued events.
    pub outbox: Arc<Notify>,
}

/// A signed-in session, as returned to the client.
pub struct Tokens {
    /// The short-lived JWT.
    pub access_token: String,
    /// The opaque, single-use refresh token.
    pub refresh_token: String,
    /// Whose tokens they are.
    pub account: account::Model,
}

/// A new account's details.
pub struct Registration {
    /// Email address, unique.
    pub email: String,
    /// Handle, unique regardless of case.
    pub handle: String,
    /// Plain password, hashed here.
    pub password: String,
}

impl Identity {
    /// Creates an account and signs it in.
    pub async fn register(&self, input: Registration) -> Result<Tokens, IdentityError> {
        let email = input.email.trim().to_lowercase();
        validate::email("email", &email)?;
        validate::handle("handle", &input.handle)?;
        password::validate("password", &input.password)?;
        let hash = password::hash(input.password).await?;

        let txn = self.db.begin().await?;
        account::release_held_handle(&txn, &input.handle).await?;
        let (email_taken, handle_taken) = account::taken(&txn, &email, &input.handle).await?;
        if email_taken {
            return Err(ServiceError::bad_input("email", "email is already registered").into());
        }
        if handle_taken {
            return Err(ServiceError::bad_input("handle", "handle is taken").into());
        }
        let account = account::insert(&txn, &email, &input.handle, hash)
            .await
            .map_err(|e| match e.sql_err() {
                // A concurrent registration won the race for the same email or handle.
                Some(SqlErr::UniqueConstraintViolation(_)) => {
                    ServiceError::bad_input("handle", "email or handle is already registered")
                        .into()
                }
                _ => IdentityError::from(e),
            })?;
        audit::record(&txn, Some(account.id), Action::Registered, "").await?;
        let payload = UserRegistered {
            id: account.id,
            handle: account.handle.clone(),
            email: account.email.clone(),
            created_at: account.created_at,
        };
        events::enqueue(
            &txn,
            &Envelope::new(SOURCE, USER_REGISTERED, account.id, &payload),
        )
        .await?;
        send_link(&txn, &account, &account.email, Purpose::EmailVerification).await?;
        let tokens = self.start_session(txn, account).await?;
        self.outbox.notify_one();
        Ok(tokens)
    }

    /// Signs in with an email or handle and a password. Every failure looks the same, and
    /// repeated failures lock the login with a growing delay.
    pub async fn login(&self, login: &str, password: String) -> Result<Tokens, IdentityError> {
        let account = account::find_by_login(&self.db, login).await?;
        let key = match &account {
            Some(account) => format!("account:{}", account.id),
            None => format!("login:{}", login.trim().to_lowercase()),
        };
        if let Some(seconds) = lockout::locked_for(&self.db, &key).await? {
            let mut error = ServiceError::new(
                Code::TooManyRequests,
                "too many failed logins; try again later",
            );
            error.retry_after = Some(seconds);
            return Err(error.into());
        }
        let hash = account.as_ref().map(|a| a.password_hash.clone());
        if !password::verify(password, hash).await? {
            let txn = self.db.begin().await?;
            lockout::record_failure(&txn, &key).await?;
            audit::record(
                &txn,
                account.as_ref().map(|a| a.id),
                Action::LoginFailed,
                "",
            )
            .await?;
            txn.commit().await?;
            return Err(IdentityError::bad_credentials());
        }
        let Some(account) = account else {
            return Err(IdentityError::bad_credentials());
        };
        let txn = self.db.begin().await?;
        lockout::clear(&txn, &key).await?;
        audit::record(&txn, Some(account.id), Action::LoginSucceeded, "").await?;
        self.start_session(txn, account).await
    }

    /// Exchanges a refresh token for a new pair. Presenting an already rotated token ends
    /// its whole session: whoever holds the newer token is signed out too.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Tokens, IdentityError> {
        let txn = self.db.begin().await?;
        let exchange = refresh_token::exchange(&txn, &tokens::hash_token(refresh_token)).await?;
        match exchange {
            Exchange::Rotated {
                account_id,
                session_id,
            } => {
                let account = account::find_many(&txn, &[account_id]).await?.pop();
                let account = account.ok_or_else(ServiceError::unauthenticated)?;
                self.issue(txn, account, session_id).await
            }
            Exchange::Reused {
                account_id,
                session_id,
            } => {
                audit::record(
                    &txn,
                    Some(account_id),
                    Action::RefreshReuseDetected,
                    session_id.to_string(),
                )
                .await?;
                txn.commit().await?;
                tracing::warn!(%account_id, %session_id, "refresh token reuse: session revoked");
                Err(ServiceError::new(Code::Unauthenticated, "invalid refresh token").into())
            }
            Exchange::Refused => {
                Err(ServiceError::new(Code::Unauthenticated, "invalid refresh token").into())
            }
        }
    }

    /// Ends one session, or every session of the account.
    pub async fn logout(
        &self,
        account_id: Uuid,
        session_id: Uuid,
        everywhere: bool,
    ) -> Result<(), IdentityError> {
        let txn = self.db.begin().await?;
        if everywhere {
            session::revoke_all(&txn, account_id, None).await?;
            audit::record(&txn, Some(account_id), Action::LoggedOutEverywhere, "").await?;
        } else {
            session::revoke(&txn, session_id).await?;
            audit::record(
                &txn,
                Some(account_id),
                Action::LoggedOut,
                session_id.to_string(),
            )
            .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Changes the password after checking the current one; every other session ends.
    pub async fn change_password(
        &self,
        account_id: Uuid,
        session_id: Uuid,
        current: String,
        new: String,
    ) -> Result<account::Model, IdentityError> {
        password::validate("newPassword", &new)?;
        let account = self.active_account(account_id, session_id).await?;
        if !password::verify(current, Some(account.password_hash.clone())).await? {
            return Err(
                ServiceError::bad_input("currentPassword", "current password is wrong").into(),
            );
        }
        let hash = password::hash(new).await?;
        let txn = self.db.begin().await?;
        account::set_password(&txn, account_id, hash).await?;
        session::revoke_all(&txn, account_id, Some(session_id)).await?;
        audit::record(&txn, Some(account_id), Action::PasswordChanged, "").await?;
        txn.commit().await?;
        Ok(account)
    }

    /// Mails a password reset link if `email` belongs to an account. The answer is the
    /// same either way, so that nobody learns which addresses have accounts.
    pub async fn request_password_reset(&self, email: &str) -> Result<(), IdentityError> {
        let email = email.trim().to_lowercase();
        validate::email("email", &email)?;
        let Some(account) = account::find_by_login(&self.db, &email).await? else {
            return Ok(());
        };
        let txn = self.db.begin().await?;
        send_link(&txn, &account, &account.email, Purpose::PasswordReset).await?;
        txn.commit().await?;
        self.outbox.notify_one();
        Ok(())
    }

    /// Sets a new password with a reset link's token, which is used up; every session of
    /// the account ends and its login lockout is lifted. The link reached the account's
    /// inbox, so it also proves the address.
    pub async fn reset_password(
        &self,
        token: &str,
        new: String,
    ) -> Result<account::Model, IdentityError> {
        password::validate("newPassword", &new)?;
        let hash = password::hash(new).await?;
        let txn = self.db.begin().await?;
        let token =
            account_token::consume(&txn, Purpose::PasswordReset, &tokens::hash_token(token))
                .await?
                .ok_or_else(invalid_link)?;
        account::set_password(&txn, token.account_id, hash).await?;
        account::mark_email_verified(&txn, token.account_id, &token.email, Utc::now()).await?;
        session::revoke_all(&txn, token.account_id, None).await?;
        lockout::clear(&txn, &format!("account:{}", token.account_id)).await?;
        audit::record(&txn, Some(token.account_id), Action::PasswordReset, "").await?;
        let account = account::find_many(&txn, &[token.account_id]).await?.pop();
        let account = account.ok_or_else(invalid_link)?;
        txn.commit().await?;
        Ok(account)
    }

    /// Proves the account's email with a verification link's token, which is used up. A
    /// link sent to an address the account no longer has is refused.
    pub async fn verify_email(&self, token: &str) -> Result<account::Model, IdentityError> {
        let txn = self.db.begin().await?;
        let token =
            account_token::consume(&txn, Purpose::EmailVerification, &tokens::hash_token(token))
                .await?
                .ok_or_else(invalid_link)?;
        if !account::mark_email_verified(&txn, token.account_id, &token.email, Utc::now()).await? {
            return Err(invalid_link());
        }
        audit::record(&txn, Some(token.account_id), Action::EmailVerified, "").await?;
        let account = account::find_many(&txn, &[token.account_id]).await?.pop();
        let account = account.ok_or_else(invalid_link)?;
        txn.commit().await?;
        Ok(account)
    }

    /// Mails a new verification link to the account's current email, unless it is
    /// verified already.
    pub async fn request_email_verification(
        &self,
        account_id: Uuid,
        session_id: Uuid,
    ) -> Result<(), IdentityError> {
        let account = self.active_account(account_id, session_id).await?;
        if account.email_verified_at.is_some() {
            return Ok(());
        }
        let txn = self.db.begin().await?;
        send_link(&txn, &account, &account.email, Purpose::EmailVerification).await?;
        txn.commit().await?;
        self.outbox.notify_one();
        Ok(())
    }

    /// Changes the email after checking the password; the new address is unverified
    /// until the link mailed to it is followed.
    pub async fn change_email(
        &self,
        account_id: Uuid,
        session_id: Uuid,
        new_email: &str,
        password: String,
    ) -> Result<account::Model, IdentityError> {
        let email = new_email.trim().to_lowercase();
        validate::email("newEmail", &email)?;
        let account = self.active_account(account_id, session_id).await?;
        if !password::verify(password, Some(account.password_hash.clone())).await? {
            return Err(ServiceError::bad_input("password", "password is wrong").into());
        }
        if account.email == email {
            return Err(ServiceError::bad_input("newEmail", "that is already your email").into());
        }
        let txn = self.db.begin().await?;
        if account::taken(&txn, &email, &account.handle).await?.0 {
            return Err(ServiceError::bad_input("newEmail", "email is already registered").into());
        }
        account::set_email(&txn, account_id, &email)
            .await
            .map_err(|e| match e.sql_err() {
                // A concurrent registration or change won the race for the address.
                Some(SqlErr::UniqueConstraintViolation(_)) => {
                    ServiceError::bad_input("newEmail", "email is already registered").into()
                }
                _ => IdentityError::from(e),
            })?;
        audit::record(&txn, Some(account_id), Action::EmailChanged, "").await?;
        let account = account::find_many(&txn, &[account_id]).await?.pop();
        let account = account.ok_or_else(ServiceError::unauthenticated)?;
        send_link(&txn, &account, &email, Purpose::EmailVerification).await?;
        txn.commit().await?;
        self.outbox.notify_one();
        Ok(account)
    }

    /// Gives the account a new handle, under the rules of registration, at most once per
    /// [`HANDLE_CHANGE_INTERVAL`]. The old handle is free for anyone at once (no redirect:
    /// `userByHandle(old)` finds whoever has it now, or nobody); profiles and messaging
    /// learn the new one from `identity.user.handle_changed`.
    pub async fn change_handle(
        &self,
        account_id: Uuid,
        session_id: Uuid,
        handle: &str,
    ) -> Result<account::Model, IdentityError> {
        validate::handle("handle", handle)?;
        let account = self.active_account(account_id, session_id).await?;
        if account.handle == handle {
            return Err(ServiceError::bad_input("handle", "that is already your handle").into());
        }
        let now = Utc::now();
        let too_soon = || {
            let next = account.handle_changed_at.unwrap_or(now) + HANDLE_CHANGE_INTERVAL;
            let next = next.to_rfc3339_opts(SecondsFormat::Secs, true);
            ServiceError::bad_input(
                "handle",
                format!("a handle can be changed once in 30 days; next possible at {next}"),
            )
        };
        if account
            .handle_changed_at
            .is_some_and(|at| at + HANDLE_CHANGE_INTERVAL > now)
        {
            return Err(too_soon().into());
        }
        let txn = self.db.begin().await?;
        let taken = || ServiceError::bad_input("handle", "handle is taken");
        account::release_held_handle(&txn, handle).await?;
        // A change of case only is the account's own handle, not a taken one.
        let (_, handle_taken) = account::taken(&txn, &account.email, handle).await?;
        if handle_taken && handle.to_lowercase() != account.handle_key {
            return Err(taken().into());
        }
        let changed =
            account::set_handle(&txn, account_id, handle, now, now - HANDLE_CHANGE_INTERVAL)
                .await
                .map_err(|e| match e.sql_err() {
                    // A concurrent registration or change won the race for the handle.
                    Some(SqlErr::UniqueConstraintViolation(_)) => taken().into(),
                    _ => IdentityError::from(e),
                })?;
        if !changed {
            // A concurrent change of this account's handle came first.
            return Err(too_soon().into());
        }
        let detail = format!("{} -> {handle}", account.handle);
        audit::record(&txn, Some(account_id), Action::HandleChanged, detail).await?;
        let payload = HandleChanged {
            id: account_id,
            handle: handle.to_owned(),
            previous: account.handle.clone(),
            changed_at: now,
        };
        let envelope = Envelope::new(SOURCE, USER_HANDLE_CHANGED, account_id, &payload);
        events::enqueue(&txn, &envelope).await?;
        let account = account::find_many(&txn, &[account_id]).await?.pop();
        let account = account.ok_or_else(ServiceError::unauthenticated)?;
        txn.commit().await?;
        self.outbox.notify_one();
        Ok(account)
    }

    /// The account of a live session, or `UNAUTHENTICATED`.
    pub(crate) async fn active_account(
        &self,
        account_id: Uuid,
        session_id: Uuid,
    ) -> Result<account::Model, IdentityError> {
        if !self.session_is_active(session_id).await? {
            return Err(ServiceError::unauthenticated().into());
        }
        let account = account::find_many(&self.db, &[account_id]).await?.pop();
        Ok(account.ok_or_else(ServiceError::unauthenticated)?)
    }

    /// Whether the session of an access token is still live (identity alone can tell).
    pub async fn session_is_active(&self, session_id: Uuid) -> Result<bool, IdentityError> {
        Ok(session::is_active(&self.db, session_id).await?)
    }

    async fn start_session(
        &self,
        txn: DatabaseTransaction,
        account: account::Model,
    ) -> Result<Tokens, IdentityError> {
        let session_id = session::start(&txn, account.id).await?;
        self.issue(txn, account, session_id).await
    }

    /// Stores a new refresh token for the session, commits, and signs an access token.
    async fn issue(
        &self,
        txn: DatabaseTransaction,
        account: account::Model,
        session_id: Uuid,
    ) -> Result<Tokens, IdentityError> {
        let (refresh_token, hash) = tokens::random_token()?;
        refresh_token::insert(&txn, session_id, hash).await?;
        txn.commit().await?;
        let access_token = self.keys.access_token(account.id, session_id)?;
        Ok(Tokens {
            access_token,
            refresh_token,
            account,
        })
    }
}

/// Issues a link token of `purpose` for `account`, to be mailed to `email`, and enqueues
/// the event that makes messaging mail it, in the caller's transaction.
async fn send_link(
    txn: &DatabaseTransaction,
    account: &account::Model,
    email: &str,
    purpose: Purpose,
) -> Result<(), IdentityError> {
    let (token, hash) = tokens::random_token()?;
    let expires_at = account_token::issue(txn, account.id, purpose, email, hash).await?;
    let (event_type, action) = match purpose {
        Purpose::PasswordReset => (PASSWORD_RESET_REQUESTED, Action::PasswordResetRequested),
        Purpose::EmailVerification => (
            EMAIL_VERIFICATION_REQUESTED,
            Action::EmailVerificationRequested,
        ),
    };
    audit::record(txn, Some(account.id), action, "").await?;
    let payload = LinkRequested {
        user_id: account.id,
        email: email.to_owned(),
        handle: account.handle.clone(),
        token,
        expires_at,
    };
    events::enqueue(
        txn,
        &Envelope::new(SOURCE, event_type, account.id, &payload),
    )
    .await?;
    Ok(())
}

/// The one answer to a link token that is unknown, used, superseded or expired.
fn invalid_link() -> IdentityError {
    ServiceError::bad_input("token", "this link is invalid or has expired").into()
}
