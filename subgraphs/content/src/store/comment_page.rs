//! Pages of posts' comments as whole rows, oldest first, for every post of a DataLoader
//! batch in one statement: the rows come with the page, so no second read by id.

use std::collections::HashMap;
use std::sync::Arc;

use agora_kit::paging::{PageRequest, beyond, per_parent};
use async_graphql::dataloader::Loader;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Iterable};
use uuid::Uuid;

use super::comment::{self, Column, Entity};

/// A page of one post's comments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CommentPageKey {
    /// Whose comments.
    pub post: Uuid,
    /// Which page.
    pub request: PageRequest,
}

/// What a [`CommentPageKey`] finds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommentPage {
    /// Oldest first.
    pub comments: Vec<comment::Model>,
    /// Whether comments follow this page.
    pub has_next: bool,
}

/// The page `request` of each of `posts`' comments ([`per_parent`]): an index range cut
/// at `first + 1` per post (the extra row only tells that a next page exists). Posts
/// without comments are absent from the map.
#[tracing::instrument(skip_all, fields(posts = posts.len()))]
pub async fn read(
    conn: &impl ConnectionTrait,
    posts: &[Uuid],
    request: PageRequest,
) -> Result<HashMap<Uuid, CommentPage>, DbErr> {
    let mut rows: Vec<comment::Model> = per_parent(conn, posts, |post| {
        let mut read = Query::select();
        read.columns(Column::iter())
            .from(Entity)
            .and_where(Expr::col(Column::PostId).eq(post));
        if let Some(after) = request.after {
            read.cond_where(beyond(Column::CreatedAt, Column::Id, after, false));
        }
        read.order_by(Column::CreatedAt, Order::Asc)
            .order_by(Column::Id, Order::Asc)
            .limit(request.first.saturating_add(1));
        read
    })
    .await?;
    // Each page's rows oldest first.
    rows.sort_by_key(|c| (c.post_id, c.created_at, c.id));
    let mut found: HashMap<Uuid, CommentPage> = HashMap::new();
    for comment in rows {
        let page = found.entry(comment.post_id).or_default();
        if page.comments.len() as u64 == request.first {
            page.has_next = true;
        } else {
            page.comments.push(comment);
        }
    }
    Ok(found)
}

/// Loads comment pages: one statement per distinct page request in a batch.
pub struct CommentPageLoader(pub DatabaseConnection);

impl Loader<CommentPageKey> for CommentPageLoader {
    type Value = CommentPage;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[CommentPageKey],
    ) -> Result<HashMap<CommentPageKey, CommentPage>, Self::Error> {
        let mut groups: HashMap<PageRequest, Vec<Uuid>> = HashMap::new();
        for key in keys {
            groups.entry(key.request).or_default().push(key.post);
        }
        let mut loaded = HashMap::new();
        for (request, posts) in groups {
            let found = read(&self.0, &posts, request).await.map_err(Arc::new)?;
            for (post, page) in found {
                loaded.insert(CommentPageKey { post, request }, page);
            }
        }
        Ok(loaded)
    }
}
