//! Pages of a post's comments as their viewer sees them: whole rows, oldest first,
//! without those whose author the viewer may not see ([`author_visible`]), read for
//! every (post, viewer) of a DataLoader batch in one statement, so that a page stays full
//! and costs no further reads.

use std::collections::HashMap;
use std::sync::Arc;

use agora_kit::db::in_list;
use agora_kit::paging::{PageRequest, beyond};
use async_graphql::dataloader::Loader;
use sea_orm::sea_query::{
    Alias, Asterisk, Expr, ExprTrait, Order, Query, SelectStatement, UnionType,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, EntityName, FromQueryResult, Iterable};
use uuid::Uuid;

use super::comment::{self, Column, Entity};
use super::visible::{author_visible, with_viewer};

/// A page of one post's comments, as one viewer sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CommentPageKey {
    /// Whose comments.
    pub post: Uuid,
    /// Who reads them; the nil id when signed out (nobody has it).
    pub viewer: Uuid,
    /// Which page.
    pub request: PageRequest,
}

/// What a [`CommentPageKey`] finds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommentPage {
    /// Oldest first.
    pub comments: Vec<comment::Model>,
    /// Whether visible comments follow this page.
    pub has_next: bool,
}

/// Pages read by one statement; beyond it, the next statement (SQLite allows 500 arms in
/// a compound select, and [`in_list`] pads these 200 to 256).
const PAGES_PER_STATEMENT: usize = 200;

/// The page `request` of each (post, viewer) in `pages`: one `UNION ALL` arm each, an
/// index range of the post's comments filtered as the viewer sees them and cut at
/// `first + 1` (the extra row only tells that a next page exists). Pages with no
/// visible comment are absent from the map.
#[tracing::instrument(skip_all, fields(pages = pages.len()))]
pub async fn read(
    conn: &impl ConnectionTrait,
    pages: &[(Uuid, Uuid)],
    request: PageRequest,
) -> Result<HashMap<(Uuid, Uuid), CommentPage>, DbErr> {
    let backend = conn.get_database_backend();
    let mut rows = Vec::new();
    for chunk in pages.chunks(PAGES_PER_STATEMENT) {
        let mut arms = in_list(chunk.iter().copied())
            .into_iter()
            .map(|(post, viewer)| arm(backend, post, viewer, request));
        let Some(mut union) = arms.next() else {
            continue;
        };
        for arm in arms {
            union.union(UnionType::All, arm);
        }
        for row in conn.query_all(&union).await? {
            let viewer: Uuid = row.try_get("", "viewer")?;
            rows.push((viewer, comment::Model::from_query_result(&row, "")?));
        }
    }
    // A union keeps no order: each page's rows are sorted oldest first, and the repeats
    // of a padded arm dropped.
    rows.sort_by_key(|(viewer, c)| (c.post_id, *viewer, c.created_at, c.id));
    rows.dedup_by_key(|(viewer, c)| (c.post_id, *viewer, c.id));
    let mut found: HashMap<(Uuid, Uuid), CommentPage> = HashMap::new();
    for (viewer, comment) in rows {
        let page = found.entry((comment.post_id, viewer)).or_default();
        if page.comments.len() as u64 == request.first {
            page.has_next = true;
        } else {
            page.comments.push(comment);
        }
    }
    Ok(found)
}

/// One page (plus one row) as a compound-select arm, with its viewer as a column: the
/// limited read wrapped in a sub-select, since SQLite refuses `ORDER BY`/`LIMIT` on an
/// arm itself.
fn arm(
    backend: sea_orm::DatabaseBackend,
    post: Uuid,
    viewer: Uuid,
    request: PageRequest,
) -> SelectStatement {
    let table = Entity.table_name();
    let mut read = Query::select();
    read.columns(Column::iter())
        .expr_as(Expr::val(viewer), Alias::new("viewer"))
        .from(Entity)
        .and_where(Expr::col(Column::PostId).eq(post))
        .and_where(with_viewer(
            backend,
            |placeholder| author_visible(&format!("{table}.author_id"), placeholder),
            viewer,
        ));
    if let Some(after) = request.after {
        read.cond_where(beyond(Column::CreatedAt, Column::Id, after, false));
    }
    read.order_by(Column::CreatedAt, Order::Asc)
        .order_by(Column::Id, Order::Asc)
        .limit(request.first.saturating_add(1));
    Query::select()
        .column(Asterisk)
        .from_subquery(read, Alias::new("page"))
        .to_owned()
}

/// Loads comment pages: one statement per distinct page request in a batch, whichever
/// posts and viewers its keys name.
pub struct CommentPageLoader(pub DatabaseConnection);

impl Loader<CommentPageKey> for CommentPageLoader {
    type Value = CommentPage;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[CommentPageKey],
    ) -> Result<HashMap<CommentPageKey, CommentPage>, Self::Error> {
        let mut groups: HashMap<PageRequest, Vec<(Uuid, Uuid)>> = HashMap::new();
        for key in keys {
            groups
                .entry(key.request)
                .or_default()
                .push((key.post, key.viewer));
        }
        let mut loaded = HashMap::new();
        for (request, pages) in groups {
            let found = read(&self.0, &pages, request).await.map_err(Arc::new)?;
            for ((post, viewer), page) in found {
                loaded.insert(
                    CommentPageKey {
                        post,
                        viewer,
                        request,
                    },
                    page,
                );
            }
        }
        Ok(loaded)
    }
}
