//! Variants: the resized WebP copies of an image (a thumbnail and a display size).

use sea_orm::entity::prelude::*;
use sea_orm::{ConnectionTrait, QueryFilter, QueryOrder};

/// A variant row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "media_variant")]
pub struct Model {
    /// The media object it was made from.
    #[sea_orm(primary_key, auto_increment = false)]
    pub media_id: Uuid,
    /// `thumbnail` or `display`; also its file name in the media's folder.
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// Always `image/webp` for now; stored so that serving never guesses.
    pub content_type: String,
    /// Pixel width.
    pub width: i32,
    /// Pixel height.
    pub height: i32,
    /// Size of the file.
    pub byte_size: i64,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Stores the variants of a media object.
#[tracing::instrument(skip_all, fields(variants = variants.len()))]
pub async fn insert_many(conn: &impl ConnectionTrait, variants: &[Model]) -> Result<(), DbErr> {
    if variants.is_empty() {
        return Ok(());
    }
    let rows = variants.iter().cloned().map(ActiveModel::from);
    Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// One variant of a media object.
#[tracing::instrument(skip_all)]
pub async fn find(
    conn: &impl ConnectionTrait,
    media_id: Uuid,
    name: &str,
) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id((media_id, name.to_owned()))
        .one(conn)
        .await
}

/// The variants of the given media objects, by name within each.
#[tracing::instrument(skip_all, fields(media = media.len()))]
pub async fn of_media(conn: &impl ConnectionTrait, media: &[Uuid]) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::MediaId.is_in(media.iter().copied()))
        .order_by_asc(Column::MediaId)
        .order_by_asc(Column::Name)
        .all(conn)
        .await
}

/// Removes the variants of a media object.
#[tracing::instrument(skip_all)]
pub async fn delete_for(conn: &impl ConnectionTrait, media_id: Uuid) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::MediaId.eq(media_id))
        .exec(conn)
        .await?;
    Ok(())
}
