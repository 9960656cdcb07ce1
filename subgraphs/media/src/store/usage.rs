//! Uses of media: which post or avatar shows which media object, as content and profiles
//! announce them. A media object a deleted post used is deleted with it unless something
//! else still uses it.

use sea_orm::entity::prelude::*;
use sea_orm::{ConnectionTrait, QueryFilter, QuerySelect};

/// A post shows the media.
pub const POST: &str = "post";
/// A user's avatar is the media.
pub const AVATAR: &str = "avatar";

/// A use row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "media_use")]
pub struct Model {
    /// The media object used.
    #[sea_orm(primary_key, auto_increment = false)]
    pub media_id: Uuid,
    /// [`POST`] or [`AVATAR`].
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: String,
    /// The post, or the user whose avatar it is.
    #[sea_orm(primary_key, auto_increment = false)]
    pub holder_id: Uuid,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Makes `media` the uses of `kind` by `holder` (replacing the ones it had); returns the
/// media it used before.
#[tracing::instrument(skip_all, fields(media = media.len()))]
pub async fn replace(
    conn: &impl ConnectionTrait,
    kind: &str,
    holder: Uuid,
    media: &[Uuid],
) -> Result<Vec<Uuid>, DbErr> {
    let before = release(conn, kind, holder).await?;
    if !media.is_empty() {
        let rows = media.iter().map(|&media_id| {
            ActiveModel::from(Model {
                media_id,
                kind: kind.to_owned(),
                holder_id: holder,
            })
        });
        Entity::insert_many(rows)
            .on_conflict_do_nothing()
            .exec_without_returning(conn)
            .await?;
    }
    Ok(before)
}

/// Removes the uses of `kind` by `holder`; returns the media they were of.
#[tracing::instrument(skip_all)]
pub async fn release(
    conn: &impl ConnectionTrait,
    kind: &str,
    holder: Uuid,
) -> Result<Vec<Uuid>, DbErr> {
    let used: Vec<Uuid> = Entity::find()
        .select_only()
        .column(Column::MediaId)
        .filter(Column::Kind.eq(kind))
        .filter(Column::HolderId.eq(holder))
        .into_tuple()
        .all(conn)
        .await?;
    Entity::delete_many()
        .filter(Column::Kind.eq(kind))
        .filter(Column::HolderId.eq(holder))
        .exec(conn)
        .await?;
    Ok(used)
}

/// Those of `media` that nothing uses any more.
#[tracing::instrument(skip_all, fields(media = media.len()))]
pub async fn unused(conn: &impl ConnectionTrait, media: &[Uuid]) -> Result<Vec<Uuid>, DbErr> {
    if media.is_empty() {
        return Ok(Vec::new());
    }
    let used: Vec<Uuid> = Entity::find()
        .select_only()
        .column(Column::MediaId)
        .filter(Column::MediaId.is_in(media.iter().copied()))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(media
        .iter()
        .copied()
        .filter(|id| !used.contains(id))
        .collect())
}

/// Removes every use of a media object.
#[tracing::instrument(skip_all)]
pub async fn delete_for_media(conn: &impl ConnectionTrait, media_id: Uuid) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::MediaId.eq(media_id))
        .exec(conn)
        .await?;
    Ok(())
}
