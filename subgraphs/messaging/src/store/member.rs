//! The replica of identity's accounts: enough to resolve `@handle` mentions and to know
//! whether a participant exists. An erased account stays as a tombstone without handle.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, QueryFilter};

/// A replicated account.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "member")]
pub struct Model {
    /// Identity's account id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The handle, lower-cased; `None` once the account is erased.
    pub handle: Option<String>,
    /// Set when the account was erased.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Records a new account; an account already known (alive or erased) is left as it is.
#[tracing::instrument(skip_all)]
pub async fn insert(conn: &impl ConnectionTrait, id: Uuid, handle: &str) -> Result<(), DbErr> {
    let row = ActiveModel {
        id: Set(id),
        handle: Set(Some(handle.to_lowercase())),
        deleted_at: Set(None),
    };
    Entity::insert(row)
        .on_conflict_do_nothing_on([Column::Id])
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Replicates a live account's new handle (an erased account keeps none).
#[tracing::instrument(skip_all)]
pub async fn set_handle(conn: &impl ConnectionTrait, id: Uuid, handle: &str) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Handle, Expr::value(handle.to_lowercase()))
        .filter(Column::Id.eq(id))
        .filter(Column::DeletedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Turns an account into a tombstone (creating it if it was never seen).
#[tracing::instrument(skip_all)]
pub async fn mark_deleted(
    conn: &impl ConnectionTrait,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = ActiveModel {
        id: Set(id),
        handle: Set(None),
        deleted_at: Set(Some(agora_kit::db::micros(at))),
    };
    Entity::insert(row)
        .on_conflict(
            OnConflict::column(Column::Id)
                .update_columns([Column::Handle, Column::DeletedAt])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The live accounts with these handles (lower-cased).
#[tracing::instrument(skip_all)]
pub async fn ids_by_handles(
    conn: &impl ConnectionTrait,
    handles: &[String],
) -> Result<Vec<Uuid>, DbErr> {
    if handles.is_empty() {
        return Ok(Vec::new());
    }
    let rows = Entity::find()
        .filter(Column::Handle.is_in(handles.iter().cloned()))
        .filter(Column::DeletedAt.is_null())
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(|row| row.id).collect())
}

/// Which of `ids` are live accounts.
#[tracing::instrument(skip_all)]
pub async fn live(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<Uuid>, DbErr> {
    let rows = Entity::find()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .filter(Column::DeletedAt.is_null())
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(|row| row.id).collect())
}

/// Which of `ids` are erased accounts.
#[tracing::instrument(skip_all)]
pub async fn erased(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<Uuid>, DbErr> {
    let rows = Entity::find()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .filter(Column::DeletedAt.is_not_null())
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(|row| row.id).collect())
}
