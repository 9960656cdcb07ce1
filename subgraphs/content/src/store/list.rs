//! The per-parent lists content serves — an author's posts (newest first) and a post's
//! comments (oldest first) — read by keyset on (`created_at`, id), for many parents in one
//! statement so that a DataLoader can batch them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Cond, Expr, ExprTrait, Func, Order, Query, WindowStatement};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use uuid::Uuid;

/// One of content's per-parent lists: a table read as "rows of a parent".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum List {
    /// An author's posts, newest first: `post` by `author_id`.
    AuthorPosts,
    /// A post's comments, oldest first (conversation order): `comment` by `post_id`.
    PostComments,
}

impl List {
    fn table(self) -> &'static str {
        match self {
            List::AuthorPosts => "post",
            List::PostComments => "comment",
        }
    }

    fn parent(self) -> &'static str {
        match self {
            List::AuthorPosts => "author_id",
            List::PostComments => "post_id",
        }
    }

    fn newest_first(self) -> bool {
        matches!(self, List::AuthorPosts)
    }
}

/// Every list orders by this column, then by the row's id.
const AT: &str = "created_at";
/// The row id of every list.
const ID: &str = "id";

/// A place in a list: the (time, id) of an entry. Pages continue strictly after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Position {
    /// The entry's `created_at`.
    pub at: DateTime<Utc>,
    /// The entry's id, breaking ties between equal times.
    pub id: Uuid,
}

/// Which page of a list: at most `first` entries after `after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageRequest {
    /// Page size.
    pub first: u64,
    /// Continue after this entry; the start when `None`.
    pub after: Option<Position>,
}

/// One entry of a page: a post or comment id and its time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The post or comment.
    pub node: Uuid,
    /// Its `created_at`.
    pub at: DateTime<Utc>,
}

impl Entry {
    /// This entry's place, for a cursor.
    pub fn position(&self) -> Position {
        Position {
            at: self.at,
            id: self.node,
        }
    }
}

/// A page of one parent's list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// In the list's order.
    pub entries: Vec<Entry>,
    /// Whether entries follow this page.
    pub has_next: bool,
}

#[derive(FromQueryResult)]
struct Row {
    parent: Uuid,
    node: Uuid,
    at: DateTime<Utc>,
}

/// The same page of `list` for each of `parents`, in one statement: a window function
/// numbers each parent's entries and keeps the first `first + 1` (the extra one only tells
/// whether a next page exists). Parents with empty lists are absent from the map.
#[tracing::instrument(skip_all, fields(list = ?list, parents = parents.len()))]
pub async fn pages(
    conn: &impl ConnectionTrait,
    list: List,
    parents: &[Uuid],
    request: PageRequest,
) -> Result<HashMap<Uuid, Page>, DbErr> {
    let (parent, id, at) = (Alias::new(list.parent()), Alias::new(ID), Alias::new(AT));
    let order = if list.newest_first() {
        Order::Desc
    } else {
        Order::Asc
    };
    let mut window = WindowStatement::partition_by(parent.clone());
    window
        .order_by(at.clone(), order.clone())
        .order_by(id.clone(), order);
    let mut inner = Query::select();
    inner
        .expr_as(Expr::col(parent.clone()), Alias::new("parent"))
        .expr_as(Expr::col(id.clone()), Alias::new("node"))
        .expr_as(Expr::col(at.clone()), Alias::new("at"))
        .expr_window_as(
            Func::cust(Alias::new("ROW_NUMBER")),
            window,
            Alias::new("rn"),
        )
        .from(Alias::new(list.table()))
        .and_where(Expr::col(parent).is_in(parents.iter().copied()));
    if let Some(after) = request.after {
        let beyond = if list.newest_first() {
            Cond::any().add(Expr::col(at.clone()).lt(after.at)).add(
                Cond::all()
                    .add(Expr::col(at).eq(after.at))
                    .add(Expr::col(id).lt(after.id)),
            )
        } else {
            Cond::any().add(Expr::col(at.clone()).gt(after.at)).add(
                Cond::all()
                    .add(Expr::col(at).eq(after.at))
                    .add(Expr::col(id).gt(after.id)),
            )
        };
        inner.cond_where(beyond);
    }
    let keep = i64::try_from(request.first.saturating_add(1)).unwrap_or(i64::MAX);
    let outer = Query::select()
        .columns([Alias::new("parent"), Alias::new("node"), Alias::new("at")])
        .from_subquery(inner, Alias::new("page"))
        .and_where(Expr::col(Alias::new("rn")).lte(keep))
        .order_by(Alias::new("parent"), Order::Asc)
        .order_by(Alias::new("rn"), Order::Asc)
        .to_owned();
    let statement = conn.get_database_backend().build(&outer);
    let rows = Row::find_by_statement(statement).all(conn).await?;
    let mut pages: HashMap<Uuid, Page> = HashMap::new();
    for row in rows {
        let page = pages.entry(row.parent).or_default();
        if page.entries.len() as u64 == request.first {
            page.has_next = true;
        } else {
            page.entries.push(Entry {
                node: row.node,
                at: row.at,
            });
        }
    }
    Ok(pages)
}

#[derive(FromQueryResult)]
struct Count {
    parent: Uuid,
    count: i64,
}

/// The length of `list` for each of `parents`, in one `GROUP BY`; empty lists are absent.
#[tracing::instrument(skip_all, fields(list = ?list, parents = parents.len()))]
pub async fn counts(
    conn: &impl ConnectionTrait,
    list: List,
    parents: &[Uuid],
) -> Result<HashMap<Uuid, i64>, DbErr> {
    let parent = Alias::new(list.parent());
    let select = Query::select()
        .expr_as(Expr::col(parent.clone()), Alias::new("parent"))
        .expr_as(Expr::col(parent.clone()).count(), Alias::new("count"))
        .from(Alias::new(list.table()))
        .and_where(Expr::col(parent.clone()).is_in(parents.iter().copied()))
        .group_by_col(parent)
        .to_owned();
    let statement = conn.get_database_backend().build(&select);
    let rows = Count::find_by_statement(statement).all(conn).await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.parent, row.count))
        .collect())
}
