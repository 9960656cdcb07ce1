//! Messages: what was said in a conversation, by whom (nobody, once the sender's account
//! is erased), and when.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ConnectionTrait, QueryFilter};

/// A message row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "message")]
pub struct Model {
    /// Its id (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The conversation it belongs to.
    pub conversation_id: Uuid,
    /// Who sent it; `None` once their account is erased ("deleted user").
    pub sender_id: Option<Uuid>,
    /// The text, 1 to 2 000 characters.
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// When it was sent; messages list newest first.
    pub created_at: DateTime<Utc>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Stores a message.
#[tracing::instrument(skip_all)]
pub async fn insert(conn: &impl ConnectionTrait, message: &Model) -> Result<(), DbErr> {
    let row = ActiveModel {
        id: Set(message.id),
        conversation_id: Set(message.conversation_id),
        sender_id: Set(message.sender_id),
        body: Set(message.body.clone()),
        created_at: Set(message.created_at),
    };
    Entity::insert(row).exec_without_returning(conn).await?;
    Ok(())
}

/// Makes an erased user's messages anonymous: they stay, from a "deleted user".
#[tracing::instrument(skip_all)]
pub async fn anonymize_sender(conn: &impl ConnectionTrait, user: Uuid) -> Result<u64, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::SenderId, Expr::value(Option::<Uuid>::None))
        .filter(Column::SenderId.eq(user))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
