//! The hashtag index: one row per (tag, post), with the post's creation time so that a
//! tag's posts page newest first from one index range.

use agora_kit::paging::{Entry, Page, PageRequest, beyond, split_page};
use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseBackend, QueryFilter, QueryOrder, QuerySelect,
};

use super::visible::post_visible;

/// A (tag, post) row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "post_tag")]
pub struct Model {
    /// The tag, lower-cased, without `#`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tag: String,
    /// A post whose body carries the tag.
    #[sea_orm(primary_key, auto_increment = false)]
    pub post_id: Uuid,
    /// The post's creation time (copied), ordering the tag's posts.
    pub created_at: DateTime<Utc>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Makes `tags` the post's tags: removes the old rows and writes the new ones.
#[tracing::instrument(skip_all, fields(tags = tags.len()))]
pub async fn replace(
    conn: &impl ConnectionTrait,
    post_id: Uuid,
    created_at: DateTime<Utc>,
    tags: &[String],
) -> Result<(), DbErr> {
    delete_for_post(conn, post_id).await?;
    if tags.is_empty() {
        return Ok(());
    }
    let rows = tags.iter().map(|tag| ActiveModel {
        tag: Set(tag.clone()),
        post_id: Set(post_id),
        created_at: Set(created_at),
    });
    Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Removes a post from the index.
#[tracing::instrument(skip_all)]
pub async fn delete_for_post(conn: &impl ConnectionTrait, post_id: Uuid) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::PostId.eq(post_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Removes the given posts from the index.
#[tracing::instrument(skip_all, fields(posts = posts.len()))]
pub async fn delete_for_posts(conn: &impl ConnectionTrait, posts: &[Uuid]) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::PostId.is_in(posts.iter().copied()))
        .exec(conn)
        .await?;
    Ok(())
}

/// A page of the posts tagged `tag`, newest first; as `viewer` (none when signed out)
/// sees it: without the posts of anyone with a block between them, nor of a private
/// account they do not follow.
#[tracing::instrument(skip_all)]
pub async fn page(
    conn: &impl ConnectionTrait,
    tag: &str,
    viewer: Option<Uuid>,
    request: PageRequest,
) -> Result<Page, DbErr> {
    // Nobody has the nil id: a signed-out viewer sees public posts only.
    let viewer = viewer.unwrap_or(Uuid::nil());
    // A custom expression's placeholders are `$N` on Postgres; elsewhere each `?` takes
    // the next value, so the viewer is given once per use (Postgres reads only the first).
    let placeholder = match conn.get_database_backend() {
        DatabaseBackend::Postgres => "$1",
        _ => "?",
    };
    let visible = post_visible("post_tag.post_id", placeholder);
    let uses = visible.matches(placeholder).count();
    let mut query = Entity::find()
        .filter(Column::Tag.eq(tag))
        .filter(Expr::cust_with_values(visible, vec![viewer; uses]));
    if let Some(after) = request.after {
        query = query.filter(beyond(Column::CreatedAt, Column::PostId, after, true));
    }
    let rows = query
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::PostId)
        .limit(request.first.saturating_add(1))
        .all(conn)
        .await?;
    let (rows, has_next) = split_page(rows, request.first);
    let entries = rows
        .into_iter()
        .map(|row| Entry {
            node: row.post_id,
            at: row.created_at,
        })
        .collect();
    Ok(Page { entries, has_next })
}
