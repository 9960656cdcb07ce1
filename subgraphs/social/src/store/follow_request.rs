//! Follow requests: one row per (requester, private account) until the account accepts
//! or declines it, or the requester withdraws it.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, Condition, ConnectionTrait, QueryFilter, QueryOrder};

/// A pending follow request.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "follow_request")]
pub struct Model {
    /// Who asks to follow.
    #[sea_orm(primary_key, auto_increment = false)]
    pub requester_id: Uuid,
    /// The private account asked.
    #[sea_orm(primary_key, auto_increment = false)]
    pub target_id: Uuid,
    /// When; orders the account's list of requests.
    pub created_at: DateTime<Utc>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Records `requester`'s request to follow `target`; false if it was pending already.
#[tracing::instrument(skip_all)]
pub async fn insert(
    conn: &impl ConnectionTrait,
    requester: Uuid,
    target: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let row = ActiveModel {
        requester_id: Set(requester),
        target_id: Set(target),
        created_at: Set(super::micros(at)),
    };
    let result = Entity::insert(row)
        .on_conflict_do_nothing_on([Column::RequesterId, Column::TargetId])
        .exec_without_returning(conn)
        .await?;
    Ok(super::inserted(result))
}

/// Removes the request (accepted, declined or withdrawn); false if none was pending.
#[tracing::instrument(skip_all)]
pub async fn delete(
    conn: &impl ConnectionTrait,
    requester: Uuid,
    target: Uuid,
) -> Result<bool, DbErr> {
    let result = Entity::delete_many()
        .filter(Column::RequesterId.eq(requester))
        .filter(Column::TargetId.eq(target))
        .exec(conn)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Removes every request pending for `target` and returns the requesters, oldest
/// request first (an account made public approves them all).
#[tracing::instrument(skip_all)]
pub async fn take_all(conn: &impl ConnectionTrait, target: Uuid) -> Result<Vec<Uuid>, DbErr> {
    let pending = Entity::find()
        .filter(Column::TargetId.eq(target))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::RequesterId)
        .all(conn)
        .await?;
    Entity::delete_many()
        .filter(Column::TargetId.eq(target))
        .exec(conn)
        .await?;
    Ok(pending.into_iter().map(|row| row.requester_id).collect())
}

/// Removes every request from or to an erased user.
#[tracing::instrument(skip_all)]
pub async fn delete_user(conn: &impl ConnectionTrait, user: Uuid) -> Result<u64, DbErr> {
    let result = Entity::delete_many()
        .filter(
            Condition::any()
                .add(Column::RequesterId.eq(user))
                .add(Column::TargetId.eq(user)),
        )
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
