//! Sessions: one per login, the family that its refresh tokens and access tokens share.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::IntoCondition;
use sea_orm::{ActiveValue::Set, Condition, ConnectionTrait, QueryFilter};

/// A session row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "session")]
pub struct Model {
    /// The session id, the `sid` claim of its access tokens.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Whose session it is.
    pub account_id: Uuid,
    /// When the login happened.
    pub created_at: DateTime<Utc>,
    /// Set when the session was ended (logout, reuse detection, password change).
    pub revoked_at: Option<DateTime<Utc>>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Starts a session for an account.
#[tracing::instrument(skip_all)]
pub async fn start(conn: &impl ConnectionTrait, account_id: Uuid) -> Result<Uuid, DbErr> {
    let id = Uuid::now_v7();
    ActiveModel {
        id: Set(id),
        account_id: Set(account_id),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(id)
}

/// Whether a session exists and has not been revoked.
#[tracing::instrument(skip_all)]
pub async fn is_active(conn: &impl ConnectionTrait, id: Uuid) -> Result<bool, DbErr> {
    let session = Entity::find_by_id(id).one(conn).await?;
    Ok(session.is_some_and(|s| s.revoked_at.is_none()))
}

/// Revokes one session.
#[tracing::instrument(skip_all)]
pub async fn revoke(conn: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    revoke_where(conn, Column::Id.eq(id)).await
}

/// Revokes every session of an account, except `keep` when given.
#[tracing::instrument(skip_all)]
pub async fn revoke_all(
    conn: &impl ConnectionTrait,
    account_id: Uuid,
    keep: Option<Uuid>,
) -> Result<(), DbErr> {
    let mut filter = Condition::all().add(Column::AccountId.eq(account_id));
    if let Some(keep) = keep {
        filter = filter.add(Column::Id.ne(keep));
    }
    revoke_where(conn, filter).await
}

/// Deletes every session of an account, and with them (cascade) their refresh tokens:
/// what remains of an erased account must not hold its sessions.
#[tracing::instrument(skip_all)]
pub async fn delete_all(conn: &impl ConnectionTrait, account_id: Uuid) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::AccountId.eq(account_id))
        .exec(conn)
        .await?;
    Ok(())
}

async fn revoke_where(
    conn: &impl ConnectionTrait,
    filter: impl IntoCondition,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(Utc::now()))
        .filter(filter)
        .filter(Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}
