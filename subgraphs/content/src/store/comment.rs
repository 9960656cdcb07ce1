//! Comments: a short text by one user under one post.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, ConnectionTrait, QueryFilter, QuerySelect};

/// A comment row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "comment")]
pub struct Model {
    /// UUIDv7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The post it is under; deleted with it.
    pub post_id: Uuid,
    /// Who wrote it.
    pub author_id: Uuid,
    /// The text, 1–2 000 characters, trimmed.
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// When it was written (microseconds); orders a post's comments, oldest first.
    pub created_at: DateTime<Utc>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Writes a new comment.
#[tracing::instrument(skip_all)]
pub async fn insert(conn: &impl ConnectionTrait, comment: &Model) -> Result<(), DbErr> {
    let row = ActiveModel {
        id: Set(comment.id),
        post_id: Set(comment.post_id),
        author_id: Set(comment.author_id),
        body: Set(comment.body.clone()),
        created_at: Set(comment.created_at),
    };
    Entity::insert(row).exec_without_returning(conn).await?;
    Ok(())
}

/// One comment by id.
#[tracing::instrument(skip_all)]
pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(conn).await
}

/// One comment by id, locked until the transaction ends (Postgres; see
/// [`super::post::find_locked`]), so that two deletions cannot both succeed.
#[tracing::instrument(skip_all)]
pub async fn find_for_update(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).lock_exclusive().one(conn).await
}

/// Deletes one comment.
#[tracing::instrument(skip_all)]
pub async fn delete(conn: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    Entity::delete_by_id(id).exec(conn).await?;
    Ok(())
}

/// Deletes every comment under a post.
#[tracing::instrument(skip_all)]
pub async fn delete_for_post(conn: &impl ConnectionTrait, post_id: Uuid) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::PostId.eq(post_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes every comment under any of `posts`.
#[tracing::instrument(skip_all, fields(posts = posts.len()))]
pub async fn delete_for_posts(conn: &impl ConnectionTrait, posts: &[Uuid]) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::PostId.is_in(posts.iter().copied()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes every comment `author` wrote, wherever it is.
#[tracing::instrument(skip_all)]
pub async fn delete_by_author(conn: &impl ConnectionTrait, author: Uuid) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::AuthorId.eq(author))
        .exec(conn)
        .await?;
    Ok(())
}
