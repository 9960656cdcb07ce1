//! Likes: one row per (post, user).

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Query;
use sea_orm::{ActiveValue::Set, Condition, ConnectionTrait, QueryFilter};

/// A like row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "post_like")]
pub struct Model {
    /// The liked post (content's id).
    #[sea_orm(primary_key, auto_increment = false)]
    pub post_id: Uuid,
    /// Who liked it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// When; orders `likedBy`.
    pub created_at: DateTime<Utc>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Records the like; false if the user had liked the post already.
#[tracing::instrument(skip_all)]
pub async fn insert(
    conn: &impl ConnectionTrait,
    post: Uuid,
    user: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let row = ActiveModel {
        post_id: Set(post),
        user_id: Set(user),
        created_at: Set(super::micros(at)),
    };
    let result = Entity::insert(row)
        .on_conflict_do_nothing_on([Column::PostId, Column::UserId])
        .exec_without_returning(conn)
        .await?;
    Ok(super::inserted(result))
}

/// Removes the like; false if there was none.
#[tracing::instrument(skip_all)]
pub async fn delete(conn: &impl ConnectionTrait, post: Uuid, user: Uuid) -> Result<bool, DbErr> {
    let result = Entity::delete_many()
        .filter(Column::PostId.eq(post))
        .filter(Column::UserId.eq(user))
        .exec(conn)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Removes every like of a deleted post.
#[tracing::instrument(skip_all)]
pub async fn delete_for_post(conn: &impl ConnectionTrait, post: Uuid) -> Result<u64, DbErr> {
    let result = Entity::delete_many()
        .filter(Column::PostId.eq(post))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

/// Removes every like an erased user made, and every like of their posts.
#[tracing::instrument(skip_all)]
pub async fn delete_user(conn: &impl ConnectionTrait, user: Uuid) -> Result<u64, DbErr> {
    let their_posts = Query::select()
        .column(super::post::Column::Id)
        .from(super::post::Entity)
        .and_where(super::post::Column::AuthorId.eq(user))
        .to_owned();
    let result = Entity::delete_many()
        .filter(
            Condition::any()
                .add(Column::UserId.eq(user))
                .add(Column::PostId.in_subquery(their_posts)),
        )
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
