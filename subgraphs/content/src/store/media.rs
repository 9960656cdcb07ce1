//! The replica of media's ready objects (id and owner), kept from media's events, so
//! that `createPost` decides alone which media an author may attach.

use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, ConnectionTrait, QueryFilter};

/// A ready media object.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "media")]
pub struct Model {
    /// Media's id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Who uploaded it: the only one who may attach it.
    pub owner_id: Uuid,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Records a ready media object (a replayed event changes nothing).
#[tracing::instrument(skip_all)]
pub async fn insert(conn: &impl ConnectionTrait, id: Uuid, owner: Uuid) -> Result<(), DbErr> {
    let row = ActiveModel {
        id: Set(id),
        owner_id: Set(owner),
    };
    Entity::insert(row)
        .on_conflict_do_nothing_on([Column::Id])
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The known ones among `ids`.
#[tracing::instrument(skip_all, fields(ids = ids.len()))]
pub async fn find_many(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await
}

/// Forgets a deleted media object.
#[tracing::instrument(skip_all)]
pub async fn delete(conn: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    Entity::delete_by_id(id).exec(conn).await?;
    Ok(())
}

/// Forgets every media object of `owner`.
#[tracing::instrument(skip_all)]
pub async fn delete_by_owner(conn: &impl ConnectionTrait, owner: Uuid) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::OwnerId.eq(owner))
        .exec(conn)
        .await?;
    Ok(())
}
