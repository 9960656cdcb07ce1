//! The replica of which accounts are private, kept from profiles'
//! `profile.privacy_changed`: the newest change wins, whatever order it arrives in.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ConnectionTrait};

/// An account's privacy as profiles last said it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_privacy")]
pub struct Model {
    /// The account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// Whether only its approved followers see its follows (and posts, in content).
    pub is_private: bool,
    /// When profiles changed it; an older change arriving late is ignored.
    pub changed_at: DateTime<Utc>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Records that `user` became private or public at `at`, unless a newer change is known;
/// true if this change is now the one in force.
#[tracing::instrument(skip_all)]
pub async fn set(
    conn: &impl ConnectionTrait,
    user: Uuid,
    private: bool,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let at = super::micros(at);
    let row = ActiveModel {
        user_id: Set(user),
        is_private: Set(private),
        changed_at: Set(at),
    };
    let newer = Expr::col((Entity, Column::ChangedAt)).lt(at);
    let result = Entity::insert(row)
        .on_conflict(
            OnConflict::column(Column::UserId)
                .update_columns([Column::IsPrivate, Column::ChangedAt])
                .action_and_where(newer)
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(result > 0)
}

/// Whether `user` is private (an account profiles never spoke of is public).
#[tracing::instrument(skip_all)]
pub async fn is_private(conn: &impl ConnectionTrait, user: Uuid) -> Result<bool, DbErr> {
    Ok(Entity::find_by_id(user)
        .one(conn)
        .await?
        .is_some_and(|row| row.is_private))
}

/// Forgets an erased account.
#[tracing::instrument(skip_all)]
pub async fn delete(conn: &impl ConnectionTrait, user: Uuid) -> Result<(), DbErr> {
    Entity::delete_by_id(user).exec(conn).await?;
    Ok(())
}
