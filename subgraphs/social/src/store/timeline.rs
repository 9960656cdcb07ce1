//! Home timelines, materialised: one row per post per reader, written when the post is
//! created (fan-out on write) so that reading a feed is one indexed range scan.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ActiveValue::Set, Condition, ConnectionTrait, QueryFilter};

use super::{follow, post, restriction};

/// A timeline row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "timeline_entry")]
pub struct Model {
    /// Whose home timeline.
    #[sea_orm(primary_key, auto_increment = false)]
    pub owner_id: Uuid,
    /// The post shown.
    #[sea_orm(primary_key, auto_increment = false)]
    pub post_id: Uuid,
    /// The post's author, so an unfollow can remove their posts.
    pub author_id: Uuid,
    /// The post's creation time; timelines read newest first.
    pub created_at: DateTime<Utc>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Puts a new post into its author's timeline and every follower's who has not muted
/// the author, in two statements however many followers there are.
#[tracing::instrument(skip_all)]
pub async fn fan_out(conn: &impl ConnectionTrait, post: &post::Model) -> Result<(), DbErr> {
    let own = ActiveModel {
        owner_id: Set(post.author_id),
        post_id: Set(post.id),
        author_id: Set(post.author_id),
        created_at: Set(post.created_at),
    };
    Entity::insert(own)
        .on_conflict_do_nothing_on([Column::OwnerId, Column::PostId])
        .exec_without_returning(conn)
        .await?;
    let followers = Query::select()
        .column(follow::Column::FollowerId)
        .expr(Expr::val(post.id))
        .expr(Expr::val(post.author_id))
        .expr(Expr::val(post.created_at))
        .from(follow::Entity)
        .and_where(Expr::col(follow::Column::FolloweeId).eq(post.author_id))
        .and_where(
            Expr::col(follow::Column::FollowerId)
                .not_in_subquery(restriction::muters_of(post.author_id)),
        )
        .to_owned();
    let insert = Query::insert()
        .into_table(Entity)
        .columns([
            Column::OwnerId,
            Column::PostId,
            Column::AuthorId,
            Column::CreatedAt,
        ])
        .select_from(followers)
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .on_conflict(
            OnConflict::columns([Column::OwnerId, Column::PostId])
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    conn.execute(&insert).await?;
    Ok(())
}

/// Adds an author's posts to one reader's timeline (the back-fill of a new follow).
#[tracing::instrument(skip_all)]
pub async fn add_posts(
    conn: &impl ConnectionTrait,
    owner: Uuid,
    posts: &[post::Model],
) -> Result<(), DbErr> {
    let rows = posts.iter().map(|post| ActiveModel {
        owner_id: Set(owner),
        post_id: Set(post.id),
        author_id: Set(post.author_id),
        created_at: Set(post.created_at),
    });
    Entity::insert_many(rows)
        .on_conflict_do_nothing_on([Column::OwnerId, Column::PostId])
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Removes an author's posts from one reader's timeline (after an unfollow).
#[tracing::instrument(skip_all)]
pub async fn remove_author(
    conn: &impl ConnectionTrait,
    owner: Uuid,
    author: Uuid,
) -> Result<u64, DbErr> {
    let result = Entity::delete_many()
        .filter(Column::OwnerId.eq(owner))
        .filter(Column::AuthorId.eq(author))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

/// Removes a deleted post from every timeline.
#[tracing::instrument(skip_all)]
pub async fn remove_post(conn: &impl ConnectionTrait, post: Uuid) -> Result<u64, DbErr> {
    let result = Entity::delete_many()
        .filter(Column::PostId.eq(post))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

/// Removes an erased user's timeline and their posts from everyone else's.
#[tracing::instrument(skip_all)]
pub async fn remove_user(conn: &impl ConnectionTrait, user: Uuid) -> Result<u64, DbErr> {
    let result = Entity::delete_many()
        .filter(
            Condition::any()
                .add(Column::OwnerId.eq(user))
                .add(Column::AuthorId.eq(user)),
        )
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
