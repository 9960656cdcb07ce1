//! The security audit log: who did what to an account, and when.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, ConnectionTrait};

/// An audit log row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    /// Row id (UUIDv7, so ids sort by time).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The account concerned, when one is known.
    pub account_id: Option<Uuid>,
    /// What happened, e.g. `login.failed`.
    pub action: String,
    /// Free-form detail, never a secret.
    pub detail: String,
    /// When it happened.
    pub created_at: DateTime<Utc>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The security-relevant actions that are recorded.
#[derive(Clone, Copy, Debug)]
pub enum Action {
    /// An account was created.
    Registered,
    /// A login succeeded.
    LoginSucceeded,
    /// A login failed (wrong password, or locked out).
    LoginFailed,
    /// A rotated refresh token was presented again: the session family was revoked.
    RefreshReuseDetected,
    /// A session was ended by its owner.
    LoggedOut,
    /// Every session of an account was ended by its owner.
    LoggedOutEverywhere,
    /// The password was changed.
    PasswordChanged,
    /// A password reset link was sent.
    PasswordResetRequested,
    /// The password was set through a reset link.
    PasswordReset,
    /// An email verification link was sent.
    EmailVerificationRequested,
    /// The email was proven through a verification link.
    EmailVerified,
    /// The email was changed.
    EmailChanged,
    /// The handle was changed.
    HandleChanged,
    /// The account was deleted by its owner; its erasure began.
    AccountDeleted,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Registered => "account.registered",
            Action::LoginSucceeded => "login.succeeded",
            Action::LoginFailed => "login.failed",
            Action::RefreshReuseDetected => "refresh.reuse_detected",
            Action::LoggedOut => "session.logged_out",
            Action::LoggedOutEverywhere => "session.logged_out_everywhere",
            Action::PasswordChanged => "password.changed",
            Action::PasswordResetRequested => "password.reset_requested",
            Action::PasswordReset => "password.reset",
            Action::EmailVerificationRequested => "email.verification_requested",
            Action::EmailVerified => "email.verified",
            Action::EmailChanged => "email.changed",
            Action::HandleChanged => "handle.changed",
            Action::AccountDeleted => "account.deleted",
        }
    }
}

/// Appends one entry to the audit log.
#[tracing::instrument(skip_all)]
pub async fn record(
    conn: &impl ConnectionTrait,
    account_id: Option<Uuid>,
    action: Action,
    detail: impl Into<String>,
) -> Result<(), DbErr> {
    ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account_id),
        action: Set(action.as_str().to_owned()),
        detail: Set(detail.into()),
        created_at: Set(Utc::now()),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// The actions recorded for an account, oldest first (for tests and support tooling).
#[tracing::instrument(skip_all)]
pub async fn actions_of(
    conn: &impl ConnectionTrait,
    account_id: Uuid,
) -> Result<Vec<String>, DbErr> {
    use sea_orm::{QueryFilter, QueryOrder};
    let rows = Entity::find()
        .filter(Column::AccountId.eq(account_id))
        .order_by_asc(Column::Id)
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(|row| row.action).collect())
}
