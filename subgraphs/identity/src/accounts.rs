//! The account flows: register, login, refresh, logout, change password.
//!
//! Each flow writes its state change, its audit entry and its outbox event in one
//! transaction, and wakes the outbox relay after committing.

use std::sync::Arc;

use agora_kit::events::{self, Envelope};
use agora_kit::{Code, ServiceError};
use sea_orm::{DatabaseConnection, DatabaseTransaction, SqlErr, TransactionTrait};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::error::IdentityError;
use crate::events::{SOURCE, USER_REGISTERED, UserRegistered};
use crate::store::audit::{self, Action};
use crate::store::refresh_token::{self, Exchange};
use crate::store::{account, lockout, session};
use crate::tokens::{self, Keys};
use crate::{password, validate};

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
        let exchange =
            refresh_token::exchange(&txn, &tokens::hash_refresh_token(refresh_token)).await?;
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
        if !self.session_is_active(session_id).await? {
            return Err(ServiceError::unauthenticated().into());
        }
        let account = account::find_many(&self.db, &[account_id]).await?.pop();
        let account = account.ok_or_else(ServiceError::unauthenticated)?;
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
        let (refresh_token, hash) = tokens::refresh_token()?;
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
