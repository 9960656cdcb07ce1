//! Erasure requests: one per deleted account, found by the receipt its owner was given,
//! complete once every eraser has confirmed.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, ConnectionTrait, QueryFilter};

/// An erasure request row: a tombstone that outlives the account.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "erasure")]
pub struct Model {
    /// The receipt: 256 random bits, base64url. Its holder may follow the erasure; the
    /// account is gone, so nothing else can say whose erasure it is.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The deleted account.
    #[sea_orm(unique)]
    pub account_id: Uuid,
    /// When the account was deleted.
    pub requested_at: DateTime<Utc>,
    /// When the last eraser confirmed; null until then.
    pub completed_at: Option<DateTime<Utc>>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Records the erasure of `account_id` under receipt `id`.
#[tracing::instrument(skip_all)]
pub async fn insert(
    conn: &impl ConnectionTrait,
    id: String,
    account_id: Uuid,
    at: DateTime<Utc>,
) -> Result<Model, DbErr> {
    ActiveModel {
        id: Set(id),
        account_id: Set(account_id),
        requested_at: Set(at),
        completed_at: Set(None),
    }
    .insert(conn)
    .await
}

/// The erasure with receipt `id`.
#[tracing::instrument(skip_all)]
pub async fn find(conn: &impl ConnectionTrait, id: &str) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id.to_owned()).one(conn).await
}

/// Marks the erasure of `account_id` complete at `at`, unless it is already.
#[tracing::instrument(skip_all)]
pub async fn complete(
    conn: &impl ConnectionTrait,
    account_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::CompletedAt, Expr::value(at))
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::CompletedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}
