//! Participants: who is in which conversation, when it last moved for them (their list
//! of conversations orders by it), and up to when they have read it.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Alias, Cond, Expr, ExprTrait, Func, Query};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
};

use agora_kit::paging::{PageRequest, beyond, split_page};

use super::message;

/// A participant row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "participant")]
pub struct Model {
    /// The conversation.
    #[sea_orm(primary_key, auto_increment = false)]
    pub conversation_id: Uuid,
    /// The participant.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// When they joined (the conversation's start).
    pub created_at: DateTime<Utc>,
    /// The conversation's last message (or start); orders their conversations.
    pub last_activity_at: DateTime<Utc>,
    /// Messages up to this time are read by them.
    pub last_read_at: Option<DateTime<Utc>>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Puts `users` into a conversation started at `at`.
#[tracing::instrument(skip_all)]
pub async fn insert_many(
    conn: &impl ConnectionTrait,
    conversation: Uuid,
    users: &[Uuid],
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let rows = users.iter().map(|user| ActiveModel {
        conversation_id: Set(conversation),
        user_id: Set(*user),
        created_at: Set(at),
        last_activity_at: Set(at),
        last_read_at: Set(None),
    });
    Entity::insert_many(rows)
        .on_conflict_do_nothing_on([Column::ConversationId, Column::UserId])
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// `user`'s place in a conversation, if they are in it.
#[tracing::instrument(skip_all)]
pub async fn find(
    conn: &impl ConnectionTrait,
    conversation: Uuid,
    user: Uuid,
) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id((conversation, user)).one(conn).await
}

/// Marks a conversation read by `user` up to `at`.
#[tracing::instrument(skip_all)]
pub async fn mark_read(
    conn: &impl ConnectionTrait,
    conversation: Uuid,
    user: Uuid,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::LastReadAt, Expr::value(Some(at)))
        .filter(Column::ConversationId.eq(conversation))
        .filter(Column::UserId.eq(user))
        .exec(conn)
        .await?;
    Ok(())
}

/// A page of `user`'s conversations, most recently active first, and whether more follow.
#[tracing::instrument(skip_all)]
pub async fn page(
    conn: &impl ConnectionTrait,
    user: Uuid,
    request: PageRequest,
) -> Result<(Vec<Model>, bool), DbErr> {
    let mut query = Entity::find().filter(Column::UserId.eq(user));
    if let Some(after) = request.after {
        query = query.filter(beyond(
            Column::LastActivityAt,
            Column::ConversationId,
            after,
            true,
        ));
    }
    let rows = query
        .order_by_desc(Column::LastActivityAt)
        .order_by_desc(Column::ConversationId)
        .limit(request.first.saturating_add(1))
        .all(conn)
        .await?;
    Ok(split_page(rows, request.first))
}

/// The participants of each of `conversations`, in the order they joined.
#[tracing::instrument(skip_all, fields(conversations = conversations.len()))]
pub async fn of_conversations(
    conn: &impl ConnectionTrait,
    conversations: &[Uuid],
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::ConversationId.is_in(conversations.iter().copied()))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::UserId)
        .all(conn)
        .await
}

#[derive(FromQueryResult)]
struct Unread {
    conversation_id: Uuid,
    count: i64,
}

/// The messages `user` has not read: not their own, newer than their read mark.
fn unread_of(user: Uuid) -> Cond {
    let sent_at = Expr::col((message::Entity, message::Column::CreatedAt));
    let read_up_to = Expr::col((Entity, Column::LastReadAt));
    Cond::all()
        .add(
            Cond::any()
                .add(Expr::col((message::Entity, message::Column::SenderId)).is_null())
                .add(Expr::col((message::Entity, message::Column::SenderId)).ne(user)),
        )
        .add(
            Cond::any()
                .add(read_up_to.clone().is_null())
                .add(sent_at.gt(read_up_to)),
        )
}

/// `user`'s unread messages in each of `conversations` (absent when none).
#[tracing::instrument(skip_all, fields(conversations = conversations.len()))]
pub async fn unread_counts(
    conn: &impl ConnectionTrait,
    user: Uuid,
    conversations: &[Uuid],
) -> Result<Vec<(Uuid, i64)>, DbErr> {
    let conversation = Expr::col((message::Entity, message::Column::ConversationId));
    let select = Query::select()
        .expr_as(conversation.clone(), Alias::new("conversation_id"))
        .expr_as(
            Func::count(Expr::col((message::Entity, message::Column::Id))),
            Alias::new("count"),
        )
        .from(message::Entity)
        .inner_join(
            Entity,
            Expr::col((Entity, Column::ConversationId))
                .equals((message::Entity, message::Column::ConversationId))
                .and(Expr::col((Entity, Column::UserId)).eq(user)),
        )
        .and_where(conversation.is_in(conversations.iter().copied()))
        .cond_where(unread_of(user))
        .group_by_col((message::Entity, message::Column::ConversationId))
        .to_owned();
    let statement = conn.get_database_backend().build(&select);
    let rows = Unread::find_by_statement(statement).all(conn).await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.conversation_id, row.count))
        .collect())
}

#[derive(FromQueryResult)]
struct Total {
    count: i64,
}

/// `user`'s unread messages across all their conversations.
#[tracing::instrument(skip_all)]
pub async fn unread_total(conn: &impl ConnectionTrait, user: Uuid) -> Result<i64, DbErr> {
    let select = Query::select()
        .expr_as(
            Func::count(Expr::col((message::Entity, message::Column::Id))),
            Alias::new("count"),
        )
        .from(message::Entity)
        .inner_join(
            Entity,
            Expr::col((Entity, Column::ConversationId))
                .equals((message::Entity, message::Column::ConversationId))
                .and(Expr::col((Entity, Column::UserId)).eq(user)),
        )
        .cond_where(unread_of(user))
        .to_owned();
    let statement = conn.get_database_backend().build(&select);
    let total = Total::find_by_statement(statement).one(conn).await?;
    Ok(total.map_or(0, |total| total.count))
}

/// Takes an erased user out of every conversation.
#[tracing::instrument(skip_all)]
pub async fn delete_user(conn: &impl ConnectionTrait, user: Uuid) -> Result<u64, DbErr> {
    let result = Entity::delete_many()
        .filter(Column::UserId.eq(user))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
