//! Reactions of a user to a post — likes (public, counted) and saves (private bookmarks)
//! — one row per (user, post) in the table of each kind. Both tables have the same
//! columns, so one set of functions serves both.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Cond, Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use super::post;

/// What a reaction row means; each kind has its own table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reaction {
    /// The user likes the post (`post_like`; orders `likedBy`).
    Like,
    /// The user bookmarked the post (`saved_post`; orders `savedPosts`).
    Save,
}

impl Reaction {
    /// Every kind, for erasing a post or a user everywhere.
    pub const ALL: [Reaction; 2] = [Reaction::Like, Reaction::Save];

    fn table(self) -> Alias {
        Alias::new(match self {
            Reaction::Like => "post_like",
            Reaction::Save => "saved_post",
        })
    }
}

const POST_ID: &str = "post_id";
const USER_ID: &str = "user_id";
const CREATED_AT: &str = "created_at";

/// Records `user`'s reaction to `post`; false if it was there already.
#[tracing::instrument(skip_all, fields(reaction = ?reaction))]
pub async fn insert(
    conn: &impl ConnectionTrait,
    reaction: Reaction,
    user: Uuid,
    post: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let insert = Query::insert()
        .into_table(reaction.table())
        .columns([
            Alias::new(POST_ID),
            Alias::new(USER_ID),
            Alias::new(CREATED_AT),
        ])
        .values_panic([post.into(), user.into(), super::micros(at).into()])
        .on_conflict(
            OnConflict::columns([Alias::new(POST_ID), Alias::new(USER_ID)])
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    let result = conn.execute(&insert).await?;
    Ok(result.rows_affected() > 0)
}

/// Removes `user`'s reaction to `post`; false if there was none.
#[tracing::instrument(skip_all, fields(reaction = ?reaction))]
pub async fn delete(
    conn: &impl ConnectionTrait,
    reaction: Reaction,
    user: Uuid,
    post: Uuid,
) -> Result<bool, DbErr> {
    let delete = Query::delete()
        .from_table(reaction.table())
        .and_where(Expr::col(Alias::new(POST_ID)).eq(post))
        .and_where(Expr::col(Alias::new(USER_ID)).eq(user))
        .to_owned();
    let result = conn.execute(&delete).await?;
    Ok(result.rows_affected() > 0)
}

/// Removes every reaction of every kind to a deleted post.
#[tracing::instrument(skip_all)]
pub async fn delete_for_post(conn: &impl ConnectionTrait, post: Uuid) -> Result<u64, DbErr> {
    let mut removed = 0;
    for reaction in Reaction::ALL {
        let delete = Query::delete()
            .from_table(reaction.table())
            .and_where(Expr::col(Alias::new(POST_ID)).eq(post))
            .to_owned();
        removed += conn.execute(&delete).await?.rows_affected();
    }
    Ok(removed)
}

/// Removes every reaction an erased user made, and every reaction to their posts.
#[tracing::instrument(skip_all)]
pub async fn delete_user(conn: &impl ConnectionTrait, user: Uuid) -> Result<u64, DbErr> {
    let mut removed = 0;
    for reaction in Reaction::ALL {
        let their_posts = Query::select()
            .column(post::Column::Id)
            .from(post::Entity)
            .and_where(Expr::col(post::Column::AuthorId).eq(user))
            .to_owned();
        let delete = Query::delete()
            .from_table(reaction.table())
            .cond_where(
                Cond::any()
                    .add(Expr::col(Alias::new(USER_ID)).eq(user))
                    .add(Expr::col(Alias::new(POST_ID)).in_subquery(their_posts)),
            )
            .to_owned();
        removed += conn.execute(&delete).await?.rows_affected();
    }
    Ok(removed)
}
