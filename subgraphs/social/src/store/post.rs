//! The replica of content's posts: just enough to validate like and save targets, to
//! know whom a like concerns, and to back-fill a new follower's timeline.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ConnectionTrait, QueryFilter, QueryOrder, QuerySelect};

/// A replicated post.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "post")]
pub struct Model {
    /// Content's post id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Who wrote it: the one to tell about likes, and whose followers see it.
    pub author_id: Uuid,
    /// When content created it; orders timelines.
    pub created_at: DateTime<Utc>,
    /// Set when content deleted it. The row stays as a tombstone so that a replayed
    /// `post.created` cannot resurrect the post.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Records a new post; false if it was known already (alive or deleted).
#[tracing::instrument(skip_all)]
pub async fn insert(
    conn: &impl ConnectionTrait,
    id: Uuid,
    author: Uuid,
    created_at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let row = ActiveModel {
        id: Set(id),
        author_id: Set(author),
        created_at: Set(super::micros(created_at)),
        deleted_at: Set(None),
    };
    let result = Entity::insert(row)
        .on_conflict_do_nothing_on([Column::Id])
        .exec_without_returning(conn)
        .await?;
    Ok(super::inserted(result))
}

/// Marks a post deleted, leaving (or creating) its tombstone.
#[tracing::instrument(skip_all)]
pub async fn mark_deleted(
    conn: &impl ConnectionTrait,
    id: Uuid,
    author: Uuid,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let at = super::micros(at);
    let row = ActiveModel {
        id: Set(id),
        author_id: Set(author),
        created_at: Set(at),
        deleted_at: Set(Some(at)),
    };
    Entity::insert(row)
        .on_conflict(
            OnConflict::column(Column::Id)
                .update_column(Column::DeletedAt)
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The post, unless it is unknown or deleted.
#[tracing::instrument(skip_all)]
pub async fn find_live(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id)
        .filter(Column::DeletedAt.is_null())
        .one(conn)
        .await
}

/// An author's newest live posts, newest first.
#[tracing::instrument(skip_all)]
pub async fn recent_by_author(
    conn: &impl ConnectionTrait,
    author: Uuid,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::AuthorId.eq(author))
        .filter(Column::DeletedAt.is_null())
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(conn)
        .await
}

/// Tombstones every post of an erased user.
#[tracing::instrument(skip_all)]
pub async fn mark_author_deleted(
    conn: &impl ConnectionTrait,
    author: Uuid,
    at: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::DeletedAt, Expr::value(Some(super::micros(at))))
        .filter(Column::AuthorId.eq(author))
        .filter(Column::DeletedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
