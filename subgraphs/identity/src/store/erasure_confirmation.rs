//! Which subgraphs have confirmed erasing an account (from their `*.user.erased`).

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, ConnectionTrait, QueryFilter};

/// A confirmation row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "erasure_confirmation")]
pub struct Model {
    /// The erased account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: Uuid,
    /// The subgraph that erased it, e.g. `content`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub subgraph: String,
    /// When its confirmation was published.
    pub confirmed_at: DateTime<Utc>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Records that `subgraph` erased `account_id`; a second confirmation changes nothing.
#[tracing::instrument(skip_all)]
pub async fn record(
    conn: &impl ConnectionTrait,
    account_id: Uuid,
    subgraph: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = ActiveModel {
        account_id: Set(account_id),
        subgraph: Set(subgraph.to_owned()),
        confirmed_at: Set(at),
    };
    Entity::insert(row)
        .on_conflict_do_nothing_on([Column::AccountId, Column::Subgraph])
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The subgraphs that have confirmed erasing `account_id`.
#[tracing::instrument(skip_all)]
pub async fn subgraphs(
    conn: &impl ConnectionTrait,
    account_id: Uuid,
) -> Result<Vec<String>, DbErr> {
    let rows = Entity::find()
        .filter(Column::AccountId.eq(account_id))
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(|row| row.subgraph).collect())
}
