//! Follows: one row per (follower, followee).

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, Condition, ConnectionTrait, QueryFilter};

/// A follow row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "follow")]
pub struct Model {
    /// Who follows.
    #[sea_orm(primary_key, auto_increment = false)]
    pub follower_id: Uuid,
    /// Whom they follow.
    #[sea_orm(primary_key, auto_increment = false)]
    pub followee_id: Uuid,
    /// Since when; orders the followers and following lists.
    pub created_at: DateTime<Utc>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Records that `follower` follows `followee`; false if they already did.
#[tracing::instrument(skip_all)]
pub async fn insert(
    conn: &impl ConnectionTrait,
    follower: Uuid,
    followee: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let row = ActiveModel {
        follower_id: Set(follower),
        followee_id: Set(followee),
        created_at: Set(super::micros(at)),
    };
    let result = Entity::insert(row)
        .on_conflict_do_nothing_on([Column::FollowerId, Column::FolloweeId])
        .exec_without_returning(conn)
        .await?;
    Ok(super::inserted(result))
}

/// Removes the follow; false if there was none.
#[tracing::instrument(skip_all)]
pub async fn delete(
    conn: &impl ConnectionTrait,
    follower: Uuid,
    followee: Uuid,
) -> Result<bool, DbErr> {
    let result = Entity::delete_many()
        .filter(Column::FollowerId.eq(follower))
        .filter(Column::FolloweeId.eq(followee))
        .exec(conn)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Whether `follower` follows `followee`.
#[tracing::instrument(skip_all)]
pub async fn exists(
    conn: &impl ConnectionTrait,
    follower: Uuid,
    followee: Uuid,
) -> Result<bool, DbErr> {
    Ok(Entity::find_by_id((follower, followee))
        .one(conn)
        .await?
        .is_some())
}

/// Removes every follow from or to an erased user.
#[tracing::instrument(skip_all)]
pub async fn delete_user(conn: &impl ConnectionTrait, user: Uuid) -> Result<u64, DbErr> {
    let result = Entity::delete_many()
        .filter(
            Condition::any()
                .add(Column::FollowerId.eq(user))
                .add(Column::FolloweeId.eq(user)),
        )
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
