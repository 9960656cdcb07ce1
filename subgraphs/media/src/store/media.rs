//! Media objects: who uploaded what, how far the upload got, and what it turned out to be.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Expr;
use sea_orm::{ConnectionTrait, QueryFilter, QuerySelect};

/// Where a media object is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Created by `createUpload`; waiting for its bytes until the upload URL expires.
    Pending,
    /// Its bytes are being checked and processed (the upload token is claimed).
    Processing,
    /// Stored with its variants; can be attached and served.
    Ready,
    /// Deleted (or abandoned); its files wait for the janitor.
    Deleted,
}

impl Status {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "PENDING",
            Status::Processing => "PROCESSING",
            Status::Ready => "READY",
            Status::Deleted => "DELETED",
        }
    }

    /// The status a stored value names (an unknown value reads as deleted: never served).
    pub fn parse(value: &str) -> Self {
        match value {
            "PENDING" => Status::Pending,
            "PROCESSING" => Status::Processing,
            "READY" => Status::Ready,
            _ => Status::Deleted,
        }
    }
}

/// A media row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "media")]
pub struct Model {
    /// Its id (UUIDv7), also the folder of its files in the store.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Who uploaded it; the only one who may attach or delete it.
    pub owner_id: Uuid,
    /// [`Status`] in its stored form.
    pub status: String,
    /// The client's file name, kept for downloads; never a path in the store.
    pub filename: String,
    /// The declared type until processed, then the type found in the bytes.
    pub content_type: String,
    /// The declared size until processed, then the stored original's size.
    pub byte_size: i64,
    /// Pixel width of an image once processed.
    pub width: Option<i32>,
    /// Pixel height of an image once processed.
    pub height: Option<i32>,
    /// When `createUpload` made it.
    pub created_at: DateTime<Utc>,
    /// When its upload URL stops working; abandoned uploads are purged after it.
    pub expires_at: DateTime<Utc>,
    /// When it became ready.
    pub ready_at: Option<DateTime<Utc>>,
}

impl Model {
    /// Its status.
    pub fn status(&self) -> Status {
        Status::parse(&self.status)
    }
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Stores a new media row.
#[tracing::instrument(skip_all)]
pub async fn insert(conn: &impl ConnectionTrait, media: &Model) -> Result<(), DbErr> {
    let row: ActiveModel = media.clone().into();
    Entity::insert(row).exec_without_returning(conn).await?;
    Ok(())
}

/// One media row by id.
#[tracing::instrument(skip_all)]
pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(conn).await
}

/// Moves `id` from `from` to `to` if it is in `from`; false if it was not (someone else
/// moved it first). This is how an upload token is claimed and released.
#[tracing::instrument(skip_all)]
pub async fn transition(
    conn: &impl ConnectionTrait,
    id: Uuid,
    from: Status,
    to: Status,
) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::Status, Expr::value(to.as_str()))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(from.as_str()))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// What processing found out about an upload.
#[derive(Clone, Debug)]
pub struct Processed {
    /// The type read from the bytes.
    pub content_type: String,
    /// The stored original's size.
    pub byte_size: i64,
    /// Pixel width (images).
    pub width: Option<i32>,
    /// Pixel height (images).
    pub height: Option<i32>,
}

/// Marks a processing upload ready with what processing found; false if it is no longer
/// processing (deleted meanwhile).
#[tracing::instrument(skip_all)]
pub async fn mark_ready(
    conn: &impl ConnectionTrait,
    id: Uuid,
    processed: &Processed,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::Status, Expr::value(Status::Ready.as_str()))
        .col_expr(
            Column::ContentType,
            Expr::value(processed.content_type.clone()),
        )
        .col_expr(Column::ByteSize, Expr::value(processed.byte_size))
        .col_expr(Column::Width, Expr::value(processed.width))
        .col_expr(Column::Height, Expr::value(processed.height))
        .col_expr(Column::ReadyAt, Expr::value(at))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(Status::Processing.as_str()))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Marks media deleted (their files wait for the janitor); returns the rows as they were,
/// for those that were not deleted already.
#[tracing::instrument(skip_all, fields(media = ids.len()))]
pub async fn mark_deleted(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let live = Entity::find()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .filter(Column::Status.ne(Status::Deleted.as_str()))
        .lock_exclusive()
        .all(conn)
        .await?;
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(Status::Deleted.as_str()))
        .filter(Column::Id.is_in(live.iter().map(|m| m.id)))
        .exec(conn)
        .await?;
    Ok(live)
}

/// The ids of every media object of `owner`.
#[tracing::instrument(skip_all)]
pub async fn ids_by_owner(conn: &impl ConnectionTrait, owner: Uuid) -> Result<Vec<Uuid>, DbErr> {
    Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::OwnerId.eq(owner))
        .into_tuple()
        .all(conn)
        .await
}

/// Marks uploads that never completed before `cutoff` (their expiry, plus a grace for
/// one being processed right at its expiry) deleted; returns how many.
#[tracing::instrument(skip_all)]
pub async fn abandon_expired(
    conn: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::Status, Expr::value(Status::Deleted.as_str()))
        .filter(Column::Status.is_in([Status::Pending.as_str(), Status::Processing.as_str()]))
        .filter(Column::ExpiresAt.lt(cutoff))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

/// Up to `limit` deleted media whose files are to be purged.
#[tracing::instrument(skip_all)]
pub async fn deleted(conn: &impl ConnectionTrait, limit: u64) -> Result<Vec<Uuid>, DbErr> {
    Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::Status.eq(Status::Deleted.as_str()))
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await
}

/// Removes the row of a media object whose files are gone (with its variants and uses).
#[tracing::instrument(skip_all)]
pub async fn remove(conn: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    super::variant::delete_for(conn, id).await?;
    super::usage::delete_for_media(conn, id).await?;
    Entity::delete_many()
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(Status::Deleted.as_str()))
        .exec(conn)
        .await?;
    Ok(())
}
