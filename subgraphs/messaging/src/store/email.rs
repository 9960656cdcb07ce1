//! The email outbox: one mail per event that asked for one, kept with its delivery
//! attempts until it is sent. Mails are claimed for an attempt with a conditional update,
//! so two messaging instances never send the same mail at once.

use chrono::{DateTime, Duration, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ConnectionTrait, QueryFilter, QueryOrder, QuerySelect};

/// A mail row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email")]
pub struct Model {
    /// Row id (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The event that asked for the mail: a redelivery finds the mail already there.
    #[sea_orm(unique)]
    pub event_id: Uuid,
    /// The account it is about; its unsent mails go when it is erased.
    pub user_id: Uuid,
    /// What it is, e.g. `password_reset`.
    pub kind: String,
    /// The address it goes to.
    pub recipient: String,
    /// Its subject line.
    pub subject: String,
    /// Its plain-text body.
    pub body: String,
    /// The link it carries, logged by the dev mailbox.
    pub link: String,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// Failed attempts so far.
    pub attempts: i32,
    /// Not tried again before then (also a claim's lease while an attempt runs).
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the mail was handed over; never sent again after.
    pub sent_at: Option<DateTime<Utc>>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Queues a mail, due now; a mail for the same event already queued is left as it is.
#[tracing::instrument(skip_all)]
pub async fn insert(conn: &impl ConnectionTrait, mail: Model) -> Result<(), DbErr> {
    Entity::insert(ActiveModel::from(mail))
        .on_conflict_do_nothing_on([Column::EventId])
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Up to `limit` unsent mails due at `now`, longest waiting first.
#[tracing::instrument(skip_all)]
pub async fn due(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::SentAt.is_null())
        .filter(Column::NextAttemptAt.lte(now))
        .order_by_asc(Column::NextAttemptAt)
        .limit(limit)
        .all(conn)
        .await
}

/// When the next unsent mail is due, if there is one.
#[tracing::instrument(skip_all)]
pub async fn next_due(conn: &impl ConnectionTrait) -> Result<Option<DateTime<Utc>>, DbErr> {
    let next = Entity::find()
        .filter(Column::SentAt.is_null())
        .order_by_asc(Column::NextAttemptAt)
        .one(conn)
        .await?;
    Ok(next.map(|mail| mail.next_attempt_at))
}

/// Claims a due mail for one attempt of at most `lease`; false if another instance
/// claimed or sent it first.
#[tracing::instrument(skip_all)]
pub async fn claim(
    conn: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
    lease: Duration,
) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::NextAttemptAt, Expr::value(now + lease))
        .filter(Column::Id.eq(id))
        .filter(Column::SentAt.is_null())
        .filter(Column::NextAttemptAt.lte(now))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Records that a mail was handed over.
#[tracing::instrument(skip_all)]
pub async fn mark_sent(
    conn: &impl ConnectionTrait,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::SentAt, Expr::value(at))
        .col_expr(Column::LastError, Expr::value(Option::<String>::None))
        .filter(Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Records a failed attempt and when to try again.
#[tracing::instrument(skip_all)]
pub async fn mark_failed(
    conn: &impl ConnectionTrait,
    id: Uuid,
    attempts: i32,
    retry_at: DateTime<Utc>,
    error: &str,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Attempts, Expr::value(attempts))
        .col_expr(Column::NextAttemptAt, Expr::value(retry_at))
        .col_expr(Column::LastError, Expr::value(error))
        .filter(Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Drops every mail to an erased account: unsent ones are not sent, sent ones keep its
/// address and links no longer.
#[tracing::instrument(skip_all)]
pub async fn delete_for(conn: &impl ConnectionTrait, user: Uuid) -> Result<u64, DbErr> {
    let result = Entity::delete_many()
        .filter(Column::UserId.eq(user))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
