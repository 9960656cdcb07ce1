//! The lists social serves — followers, following, likers, saved posts, timelines — read
//! the same way: newest first by (`created_at`, node id), for many parents in one
//! statement so that a DataLoader can batch them.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Cond, Expr, ExprTrait, Func, Order, Query, WindowStatement};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use uuid::Uuid;

/// One of social's lists: a table read as "nodes of a parent".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum List {
    /// A user's followers: `follow` by followee.
    Followers,
    /// Whom a user follows: `follow` by follower.
    Following,
    /// Who liked a post: `post_like` by post.
    Likers,
    /// Which posts a user liked: `post_like` by user.
    Liked,
    /// A user's saved posts: `saved_post` by user.
    Saved,
    /// A user's home timeline: `timeline_entry` by owner.
    Timeline,
}

impl List {
    fn table(self) -> &'static str {
        match self {
            List::Followers | List::Following => "follow",
            List::Likers | List::Liked => "post_like",
            List::Saved => "saved_post",
            List::Timeline => "timeline_entry",
        }
    }

    fn parent(self) -> &'static str {
        match self {
            List::Followers => "followee_id",
            List::Following => "follower_id",
            List::Likers => "post_id",
            List::Liked | List::Saved => "user_id",
            List::Timeline => "owner_id",
        }
    }

    fn node(self) -> &'static str {
        match self {
            List::Followers => "follower_id",
            List::Following => "followee_id",
            List::Likers => "user_id",
            List::Liked | List::Saved | List::Timeline => "post_id",
        }
    }
}

/// Every list orders by this column.
const AT: &str = "created_at";

/// A place in a list: the (time, node) of an entry. Pages continue strictly after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Position {
    /// The entry's `created_at`.
    pub at: DateTime<Utc>,
    /// The entry's node id, breaking ties between equal times.
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

/// One entry of a list.
#[derive(Clone, Debug, PartialEq, Eq, FromQueryResult)]
pub struct Entry {
    /// Whose list.
    pub parent: Uuid,
    /// The user or post listed.
    pub node: Uuid,
    /// When it entered the list.
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
    /// Newest first.
    pub entries: Vec<Entry>,
    /// Whether entries follow this page.
    pub has_next: bool,
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
    let (parent, node) = (Alias::new(list.parent()), Alias::new(list.node()));
    let mut window = WindowStatement::partition_by(parent.clone());
    window
        .order_by(Alias::new(AT), Order::Desc)
        .order_by(node.clone(), Order::Desc);
    let mut inner = Query::select();
    inner
        .expr_as(Expr::col(parent.clone()), Alias::new("parent"))
        .expr_as(Expr::col(node.clone()), Alias::new("node"))
        .expr_as(Expr::col(Alias::new(AT)), Alias::new("at"))
        .expr_window_as(
            Func::cust(Alias::new("ROW_NUMBER")),
            window,
            Alias::new("rn"),
        )
        .from(Alias::new(list.table()))
        .and_where(Expr::col(parent).is_in(parents.iter().copied()));
    if let Some(after) = request.after {
        inner.cond_where(
            Cond::any().add(Expr::col(Alias::new(AT)).lt(after.at)).add(
                Cond::all()
                    .add(Expr::col(Alias::new(AT)).eq(after.at))
                    .add(Expr::col(node).lt(after.id)),
            ),
        );
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
    let rows = Entry::find_by_statement(statement).all(conn).await?;
    let mut pages: HashMap<Uuid, Page> = HashMap::new();
    for row in rows {
        let page = pages.entry(row.parent).or_default();
        if page.entries.len() as u64 == request.first {
            page.has_next = true;
        } else {
            page.entries.push(row);
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

#[derive(FromQueryResult)]
struct Node {
    node: Uuid,
}

/// Which of `nodes` are in `parent`'s list (does the viewer follow them, like them).
#[tracing::instrument(skip_all, fields(list = ?list, nodes = nodes.len()))]
pub async fn members(
    conn: &impl ConnectionTrait,
    list: List,
    parent: Uuid,
    nodes: &[Uuid],
) -> Result<HashSet<Uuid>, DbErr> {
    let node = Alias::new(list.node());
    let select = Query::select()
        .expr_as(Expr::col(node.clone()), Alias::new("node"))
        .from(Alias::new(list.table()))
        .and_where(Expr::col(Alias::new(list.parent())).eq(parent))
        .and_where(Expr::col(node).is_in(nodes.iter().copied()))
        .to_owned();
    let statement = conn.get_database_backend().build(&select);
    let rows = Node::find_by_statement(statement).all(conn).await?;
    Ok(rows.into_iter().map(|row| row.node).collect())
}
