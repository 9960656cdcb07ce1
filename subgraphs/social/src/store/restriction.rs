//! Blocks and mutes: one row per (user, target) in the table of each kind. Both tables
//! have the same columns, so one set of functions serves both.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Cond, Expr, ExprTrait, OnConflict, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

/// What a restriction row means; each kind has its own table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restriction {
    /// `user_id` blocked `target_id`: they are invisible to each other (`block`).
    Block,
    /// `user_id` muted `target_id`: the target's posts and actions stay out of the user's
    /// feed and notifications (`mute`).
    Mute,
}

impl Restriction {
    fn table(self) -> Alias {
        Alias::new(match self {
            Restriction::Block => "block",
            Restriction::Mute => "mute",
        })
    }
}

const USER_ID: &str = "user_id";
const TARGET_ID: &str = "target_id";
const CREATED_AT: &str = "created_at";

/// Records that `user` restricts `target`; false if they did already.
#[tracing::instrument(skip_all, fields(restriction = ?restriction))]
pub async fn insert(
    conn: &impl ConnectionTrait,
    restriction: Restriction,
    user: Uuid,
    target: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let insert = Query::insert()
        .into_table(restriction.table())
        .columns([
            Alias::new(USER_ID),
            Alias::new(TARGET_ID),
            Alias::new(CREATED_AT),
        ])
        .values_panic([user.into(), target.into(), super::micros(at).into()])
        .on_conflict(
            OnConflict::columns([Alias::new(USER_ID), Alias::new(TARGET_ID)])
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    Ok(conn.execute(&insert).await?.rows_affected() > 0)
}

/// Lifts `user`'s restriction of `target`; false if there was none.
#[tracing::instrument(skip_all, fields(restriction = ?restriction))]
pub async fn delete(
    conn: &impl ConnectionTrait,
    restriction: Restriction,
    user: Uuid,
    target: Uuid,
) -> Result<bool, DbErr> {
    let delete = Query::delete()
        .from_table(restriction.table())
        .and_where(Expr::col(Alias::new(USER_ID)).eq(user))
        .and_where(Expr::col(Alias::new(TARGET_ID)).eq(target))
        .to_owned();
    Ok(conn.execute(&delete).await?.rows_affected() > 0)
}

/// Whether either of `a` and `b` blocked the other.
#[tracing::instrument(skip_all)]
pub async fn blocked_between(conn: &impl ConnectionTrait, a: Uuid, b: Uuid) -> Result<bool, DbErr> {
    let select = Query::select()
        .expr(Expr::val(1))
        .from(Restriction::Block.table())
        .cond_where(
            Cond::any()
                .add(
                    Cond::all()
                        .add(Expr::col(Alias::new(USER_ID)).eq(a))
                        .add(Expr::col(Alias::new(TARGET_ID)).eq(b)),
                )
                .add(
                    Cond::all()
                        .add(Expr::col(Alias::new(USER_ID)).eq(b))
                        .add(Expr::col(Alias::new(TARGET_ID)).eq(a)),
                ),
        )
        .limit(1)
        .to_owned();
    Ok(conn.query_one(&select).await?.is_some())
}

/// The users who muted `target`, as a subquery (a new post of `target` skips their
/// timelines).
pub fn muters_of(target: Uuid) -> SelectStatement {
    Query::select()
        .column(Alias::new(USER_ID))
        .from(Restriction::Mute.table())
        .and_where(Expr::col(Alias::new(TARGET_ID)).eq(target))
        .to_owned()
}

/// Removes every block and mute by or of an erased user.
#[tracing::instrument(skip_all)]
pub async fn delete_user(conn: &impl ConnectionTrait, user: Uuid) -> Result<u64, DbErr> {
    let mut removed = 0;
    for restriction in [Restriction::Block, Restriction::Mute] {
        let delete = Query::delete()
            .from_table(restriction.table())
            .cond_where(
                Cond::any()
                    .add(Expr::col(Alias::new(USER_ID)).eq(user))
                    .add(Expr::col(Alias::new(TARGET_ID)).eq(user)),
            )
            .to_owned();
        removed += conn.execute(&delete).await?.rows_affected();
    }
    Ok(removed)
}
