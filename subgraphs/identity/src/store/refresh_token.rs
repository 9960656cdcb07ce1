//! Refresh tokens: opaque, stored only as hashes, rotated on every use.
//!
//! A token that was already rotated and is presented again means it leaked: the whole
//! session (every token of the family) is revoked.

use chrono::{DateTime, Duration, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, ConnectionTrait, QueryFilter};

use super::session;

/// A refresh token lives this long unless rotated first.
pub const TTL_DAYS: i64 = 30;

/// A refresh token row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_token")]
pub struct Model {
    /// Row id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The session (family) it renews.
    pub session_id: Uuid,
    /// SHA-256 of the token, hex; the token itself is never stored.
    pub token_hash: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
    /// When it was exchanged for its successor.
    pub used_at: Option<DateTime<Utc>>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Stores the hash of a newly issued token for a session.
#[tracing::instrument(skip_all)]
pub async fn insert(
    conn: &impl ConnectionTrait,
    session_id: Uuid,
    token_hash: String,
) -> Result<(), DbErr> {
    let now = Utc::now();
    ActiveModel {
        id: Set(Uuid::now_v7()),
        session_id: Set(session_id),
        token_hash: Set(token_hash),
        created_at: Set(now),
        expires_at: Set(now + Duration::days(TTL_DAYS)),
        used_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// What presenting a refresh token led to.
#[derive(Debug, PartialEq, Eq)]
pub enum Exchange {
    /// The token was valid and is now used; issue its successor in `session_id`.
    Rotated { account_id: Uuid, session_id: Uuid },
    /// The token had been rotated before: the session was revoked.
    Reused { account_id: Uuid, session_id: Uuid },
    /// Unknown, expired, or of a revoked session.
    Refused,
}

/// Marks the token with `token_hash` used, detecting reuse. Run it in a transaction with
/// the insertion of the successor.
#[tracing::instrument(skip_all)]
pub async fn exchange(conn: &impl ConnectionTrait, token_hash: &str) -> Result<Exchange, DbErr> {
    let Some(token) = Entity::find()
        .filter(Column::TokenHash.eq(token_hash))
        .one(conn)
        .await?
    else {
        return Ok(Exchange::Refused);
    };
    let Some(session) = session::Entity::find_by_id(token.session_id)
        .one(conn)
        .await?
    else {
        return Ok(Exchange::Refused);
    };
    let (account_id, session_id) = (session.account_id, session.id);
    if session.revoked_at.is_some() || token.expires_at <= Utc::now() {
        return Ok(Exchange::Refused);
    }
    // Conditional update: of two concurrent uses of one token, exactly one wins.
    let claimed = Entity::update_many()
        .col_expr(Column::UsedAt, Expr::value(Utc::now()))
        .filter(Column::Id.eq(token.id))
        .filter(Column::UsedAt.is_null())
        .exec(conn)
        .await?
        .rows_affected
        == 1;
    if claimed {
        Ok(Exchange::Rotated {
            account_id,
            session_id,
        })
    } else {
        session::revoke(conn, session_id).await?;
        Ok(Exchange::Reused {
            account_id,
            session_id,
        })
    }
}
