//! The tokens of password reset and email verification links: random, stored only as
//! hashes, single use, expiring.

use chrono::{DateTime, Duration, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, ConnectionTrait, QueryFilter};

/// What a token lets its holder do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Set a new password without the old one (`resetPassword`).
    PasswordReset,
    /// Prove that the address it was sent to reaches the account's owner (`verifyEmail`).
    EmailVerification,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password_reset",
            Purpose::EmailVerification => "email_verification",
        }
    }

    /// How long a link works: a reset link is a password, so it dies soon; a
    /// verification link only proves an address, so it may wait in an inbox for a while.
    pub fn ttl(self) -> Duration {
        match self {
            Purpose::PasswordReset => Duration::minutes(30),
            Purpose::EmailVerification => Duration::hours(48),
        }
    }
}

/// A token row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_token")]
pub struct Model {
    /// Row id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Whose account the token acts on.
    pub account_id: Uuid,
    /// `password_reset` or `email_verification`.
    pub purpose: String,
    /// SHA-256 of the token, hex; the token itself is never stored.
    pub token_hash: String,
    /// The address the link was sent to.
    pub email: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
    /// When it was used (or superseded by a newer one): it is never accepted again.
    pub used_at: Option<DateTime<Utc>>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Stores a new token for `purpose`, retiring the account's earlier unused ones of the
/// same purpose: only the latest link works. Returns when it expires.
#[tracing::instrument(skip_all)]
pub async fn issue(
    conn: &impl ConnectionTrait,
    account_id: Uuid,
    purpose: Purpose,
    email: &str,
    token_hash: String,
) -> Result<DateTime<Utc>, DbErr> {
    let now = Utc::now();
    Entity::update_many()
        .col_expr(Column::UsedAt, Expr::value(now))
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::Purpose.eq(purpose.as_str()))
        .filter(Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    let expires_at = now + purpose.ttl();
    ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account_id),
        purpose: Set(purpose.as_str().to_owned()),
        token_hash: Set(token_hash),
        email: Set(email.to_owned()),
        created_at: Set(now),
        expires_at: Set(expires_at),
        used_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(expires_at)
}

/// Uses up the live token of `purpose` with `token_hash`: returns it if it was unused and
/// unexpired, exactly once even under concurrent use; `None` otherwise.
#[tracing::instrument(skip_all)]
pub async fn consume(
    conn: &impl ConnectionTrait,
    purpose: Purpose,
    token_hash: &str,
) -> Result<Option<Model>, DbErr> {
    let now = Utc::now();
    let Some(token) = Entity::find()
        .filter(Column::TokenHash.eq(token_hash))
        .filter(Column::Purpose.eq(purpose.as_str()))
        .filter(Column::UsedAt.is_null())
        .filter(Column::ExpiresAt.gt(now))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    // Conditional update: of two concurrent uses of one token, exactly one wins.
    let claimed = Entity::update_many()
        .col_expr(Column::UsedAt, Expr::value(now))
        .filter(Column::Id.eq(token.id))
        .filter(Column::UsedAt.is_null())
        .exec(conn)
        .await?
        .rows_affected
        == 1;
    Ok(claimed.then_some(token))
}

/// Deletes every link token of an account (an erased account keeps none).
#[tracing::instrument(skip_all)]
pub async fn delete_all(conn: &impl ConnectionTrait, account_id: Uuid) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::AccountId.eq(account_id))
        .exec(conn)
        .await?;
    Ok(())
}
