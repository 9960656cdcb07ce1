//! Posts: a body of text by one author. Hashtags are derived from the body (see
//! [`crate::content::extract_tags`]) and indexed in [`super::tag`].

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, ConnectionTrait, QueryFilter, QuerySelect};

/// A post row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "post")]
pub struct Model {
    /// UUIDv7, so ids sort by creation.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Who wrote it (identity's account id); the only one who may edit or delete it.
    pub author_id: Uuid,
    /// The text, 1–5 000 characters, trimmed.
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// When it was created (microseconds).
    pub created_at: DateTime<Utc>,
    /// When its body last changed; `None` if never edited.
    pub edited_at: Option<DateTime<Utc>>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Writes a new post.
#[tracing::instrument(skip_all)]
pub async fn insert(conn: &impl ConnectionTrait, post: &Model) -> Result<(), DbErr> {
    let row = ActiveModel {
        id: Set(post.id),
        author_id: Set(post.author_id),
        body: Set(post.body.clone()),
        created_at: Set(post.created_at),
        edited_at: Set(post.edited_at),
    };
    Entity::insert(row).exec_without_returning(conn).await?;
    Ok(())
}

/// One post by id.
#[tracing::instrument(skip_all)]
pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(conn).await
}

/// One post by id, locked until the transaction ends: `exclusive` for a change to the
/// post itself (so concurrent edits and deletions queue up), shared for a change under it
/// (so a comment cannot land beside a deletion and outlive the post). Postgres only;
/// SQLite has a single writer anyway.
#[tracing::instrument(skip_all)]
pub async fn find_locked(
    conn: &impl ConnectionTrait,
    id: Uuid,
    exclusive: bool,
) -> Result<Option<Model>, DbErr> {
    let query = Entity::find_by_id(id);
    let query = if exclusive {
        query.lock_exclusive()
    } else {
        query.lock_shared()
    };
    query.one(conn).await
}

/// Replaces a post's body and marks it edited at `at`; returns the post as it is now.
#[tracing::instrument(skip_all)]
pub async fn update_body(
    conn: &impl ConnectionTrait,
    current: Model,
    body: String,
    at: DateTime<Utc>,
) -> Result<Model, DbErr> {
    let mut row: ActiveModel = current.into();
    row.body = Set(body);
    row.edited_at = Set(Some(super::micros(at)));
    row.update(conn).await
}

/// Deletes a post row (its comments and tags are deleted by their own modules).
#[tracing::instrument(skip_all)]
pub async fn delete(conn: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    Entity::delete_by_id(id).exec(conn).await?;
    Ok(())
}

/// The ids of every post by `author`.
#[tracing::instrument(skip_all)]
pub async fn ids_by_author(conn: &impl ConnectionTrait, author: Uuid) -> Result<Vec<Uuid>, DbErr> {
    Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::AuthorId.eq(author))
        .into_tuple()
        .all(conn)
        .await
}

/// Deletes every post by `author` (their comments and tags first, by their modules).
#[tracing::instrument(skip_all)]
pub async fn delete_by_author(conn: &impl ConnectionTrait, author: Uuid) -> Result<u64, DbErr> {
    let result = Entity::delete_many()
        .filter(Column::AuthorId.eq(author))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
