//! Notifications: one row per thing a user is told about, with who did it, the post it
//! concerns (if any), the event that caused it, and whether it was read.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, Condition, ConnectionTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use agora_kit::paging::{PageRequest, beyond, split_page};

/// What a notification is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Someone followed the recipient.
    Followed,
    /// Someone liked the recipient's post.
    Liked,
    /// Someone commented on the recipient's post.
    Commented,
    /// Someone mentioned the recipient in a post or a comment.
    Mentioned,
}

impl Kind {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Followed => "followed",
            Kind::Liked => "liked",
            Kind::Commented => "commented",
            Kind::Mentioned => "mentioned",
        }
    }

    /// The kind of a stored value; `None` for a value this version does not know.
    pub fn parse(stored: &str) -> Option<Self> {
        [
            Kind::Followed,
            Kind::Liked,
            Kind::Commented,
            Kind::Mentioned,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == stored)
    }
}

/// A notification row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification")]
pub struct Model {
    /// Its id (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Who is told.
    pub recipient_id: Uuid,
    /// What about ([`Kind::as_str`]).
    pub kind: String,
    /// Who did it.
    pub actor_id: Uuid,
    /// The post it concerns, if any.
    pub post_id: Option<Uuid>,
    /// The event that caused it: one notification per recipient per event.
    pub event_id: Uuid,
    /// When; notifications list newest first.
    pub created_at: DateTime<Utc>,
    /// When the recipient marked it read.
    pub read_at: Option<DateTime<Utc>>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Writes new notifications; a recipient already told about the same event is skipped.
#[tracing::instrument(skip_all, fields(count = rows.len()))]
pub async fn insert_many(conn: &impl ConnectionTrait, rows: Vec<Model>) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    let rows = rows.into_iter().map(|row| ActiveModel {
        id: Set(row.id),
        recipient_id: Set(row.recipient_id),
        kind: Set(row.kind),
        actor_id: Set(row.actor_id),
        post_id: Set(row.post_id),
        event_id: Set(row.event_id),
        created_at: Set(agora_kit::db::micros(row.created_at)),
        read_at: Set(None),
    });
    Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([Column::EventId, Column::RecipientId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The notifications an event caused.
#[tracing::instrument(skip_all)]
pub async fn by_event(conn: &impl ConnectionTrait, event: Uuid) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::EventId.eq(event))
        .all(conn)
        .await
}

/// A page of `recipient`'s notifications, newest first, and whether more follow.
#[tracing::instrument(skip_all)]
pub async fn page(
    conn: &impl ConnectionTrait,
    recipient: Uuid,
    request: PageRequest,
    unread_only: bool,
) -> Result<(Vec<Model>, bool), DbErr> {
    let mut query = Entity::find().filter(Column::RecipientId.eq(recipient));
    if unread_only {
        query = query.filter(Column::ReadAt.is_null());
    }
    if let Some(after) = request.after {
        query = query.filter(beyond(Column::CreatedAt, Column::Id, after, true));
    }
    let rows = query
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .limit(request.first.saturating_add(1))
        .all(conn)
        .await?;
    Ok(split_page(rows, request.first))
}

/// How many of `recipient`'s notifications are unread.
#[tracing::instrument(skip_all)]
pub async fn unread_count(conn: &impl ConnectionTrait, recipient: Uuid) -> Result<u64, DbErr> {
    Entity::find()
        .filter(Column::RecipientId.eq(recipient))
        .filter(Column::ReadAt.is_null())
        .count(conn)
        .await
}

/// Marks `recipient`'s unread notifications read: those of `ids`, or all of them. Ids of
/// other users' notifications change nothing. Returns how many changed.
#[tracing::instrument(skip_all)]
pub async fn mark_read(
    conn: &impl ConnectionTrait,
    recipient: Uuid,
    ids: Option<&[Uuid]>,
    at: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let mut update = Entity::update_many()
        .col_expr(Column::ReadAt, Expr::value(Some(agora_kit::db::micros(at))))
        .filter(Column::RecipientId.eq(recipient))
        .filter(Column::ReadAt.is_null());
    if let Some(ids) = ids {
        update = update.filter(Column::Id.is_in(ids.iter().copied()));
    }
    Ok(update.exec(conn).await?.rows_affected)
}

/// Erases the notifications an erased user received or caused.
#[tracing::instrument(skip_all)]
pub async fn delete_user(conn: &impl ConnectionTrait, user: Uuid) -> Result<u64, DbErr> {
    let result = Entity::delete_many()
        .filter(
            Condition::any()
                .add(Column::RecipientId.eq(user))
                .add(Column::ActorId.eq(user)),
        )
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
