//! Keyset reads of per-parent lists: a table read as "nodes of a parent", ordered by
//! (`created_at`, node id), for many parents in one statement so that a DataLoader can
//! batch them.

use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::hash::Hash;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{
    Alias, Asterisk, Cond, Expr, ExprTrait, IntoColumnRef, Order, Query, SelectStatement, UnionType,
};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use uuid::Uuid;

use super::cursor::Position;
use super::request::PageRequest;
use crate::db::{arm_parents, in_list};

/// Every list orders by this column, then by its node column.
const AT: &str = "created_at";

/// One of a domain's lists: which table, whose rows (`parent`), what they list (`node`),
/// and in which direction. Implemented by a small domain enum; the kit reads only names.
pub trait List: Copy + Eq + Hash + Debug + Send + Sync + 'static {
    /// The table holding the list's rows.
    fn table(self) -> &'static str;
    /// The column naming whose list a row is in (a UUID).
    fn parent(self) -> &'static str;
    /// The column naming what a row lists (a UUID); it breaks ties between equal times.
    fn node(self) -> &'static str;
    /// Newest first (the default), or oldest first (conversation order).
    fn newest_first(self) -> bool {
        true
    }
}

/// One entry of a page: the node listed and its time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The user, post or comment listed.
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
    /// In the list's order.
    pub entries: Vec<Entry>,
    /// Whether entries follow this page.
    pub has_next: bool,
}

/// Rows read one beyond the page size: the first `first` of them, and whether there was
/// the extra one (that is, whether a next page exists).
pub fn split_page<T>(mut rows: Vec<T>, first: u64) -> (Vec<T>, bool) {
    let keep = usize::try_from(first).unwrap_or(usize::MAX);
    let has_next = rows.len() > keep;
    rows.truncate(keep);
    (rows, has_next)
}

/// The rows strictly beyond `after` in (`at`, `id`) order: older ones when the list is
/// newest first, newer ones otherwise.
pub fn beyond<C>(at: C, id: C, after: Position, newest_first: bool) -> Cond
where
    C: IntoColumnRef + Clone,
{
    let (at, id) = (Expr::col(at), Expr::col(id));
    if newest_first {
        Cond::any()
            .add(at.clone().lt(after.at))
            .add(Cond::all().add(at.eq(after.at)).add(id.lt(after.id)))
    } else {
        Cond::any()
            .add(at.clone().gt(after.at))
            .add(Cond::all().add(at.eq(after.at)).add(id.gt(after.id)))
    }
}

#[derive(FromQueryResult)]
struct Row {
    parent: Uuid,
    node: Uuid,
    at: DateTime<Utc>,
}

/// Parents read by one statement; beyond it, the next statement (SQLite allows 500 arms
/// in a compound select, and [`arm_parents`] pads these 200 to 256).
const PARENTS_PER_STATEMENT: usize = 200;

/// The rows of `read(parent)` for each of `parents`, in one statement per 200 parents: a
/// `UNION ALL` with one arm per parent, each `read` (a limited, ordered read) wrapped in
/// a sub-select, since SQLite refuses `ORDER BY`/`LIMIT` on an arm itself. A union keeps
/// no order: callers sort the rows.
pub async fn per_parent<R: FromQueryResult>(
    conn: &impl ConnectionTrait,
    parents: &[Uuid],
    read: impl Fn(Uuid) -> SelectStatement,
) -> Result<Vec<R>, DbErr> {
    let mut rows = Vec::new();
    for chunk in parents.chunks(PARENTS_PER_STATEMENT) {
        let mut arms = arm_parents(chunk.iter().copied())
            .into_iter()
            .map(|parent| {
                Query::select()
                    .column(Asterisk)
                    .from_subquery(read(parent), Alias::new("page"))
                    .to_owned()
            });
        let Some(mut union) = arms.next() else {
            continue;
        };
        for arm in arms {
            union.union(UnionType::All, arm);
        }
        let statement = conn.get_database_backend().build(&union);
        rows.extend(R::find_by_statement(statement).all(conn).await?);
    }
    Ok(rows)
}

/// The same page of `list` for each of `parents` ([`per_parent`]): one `ORDER BY … LIMIT
/// first + 1` read per parent, so each parent costs an index range of the page's length
/// however long its list is (a window function over the parents' whole lists read a
/// feed's 400 entries to keep 21). The extra row only tells whether a next page exists.
/// Parents with empty lists are absent from the map.
#[tracing::instrument(skip_all, fields(list = ?list, parents = parents.len()))]
pub async fn pages<L: List>(
    conn: &impl ConnectionTrait,
    list: L,
    parents: &[Uuid],
    request: PageRequest,
) -> Result<HashMap<Uuid, Page>, DbErr> {
    let mut rows: Vec<Row> =
        per_parent(conn, parents, |parent| page_of(list, parent, request)).await?;
    // Each parent's rows in list order.
    if list.newest_first() {
        rows.sort_by_key(|row| (row.parent, std::cmp::Reverse((row.at, row.node))));
    } else {
        rows.sort_by_key(|row| (row.parent, row.at, row.node));
    }
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

/// One parent's page (plus one row), as an arm for [`per_parent`].
fn page_of<L: List>(list: L, parent: Uuid, request: PageRequest) -> SelectStatement {
    let (parent_col, node, at) = (
        Alias::new(list.parent()),
        Alias::new(list.node()),
        Alias::new(AT),
    );
    let order = if list.newest_first() {
        Order::Desc
    } else {
        Order::Asc
    };
    let mut read = Query::select();
    read.expr_as(Expr::col(parent_col.clone()), Alias::new("parent"))
        .expr_as(Expr::col(node.clone()), Alias::new("node"))
        .expr_as(Expr::col(at.clone()), Alias::new("at"))
        .from(Alias::new(list.table()))
        .and_where(Expr::col(parent_col).eq(parent));
    if let Some(after) = request.after {
        read.cond_where(beyond(at.clone(), node.clone(), after, list.newest_first()));
    }
    read.order_by(at, order.clone())
        .order_by(node, order)
        .limit(request.first.saturating_add(1));
    read
}

#[derive(FromQueryResult)]
struct Count {
    parent: Uuid,
    count: i64,
}

/// The length of `list` for each of `parents`, in one `GROUP BY`; empty lists are absent.
#[tracing::instrument(skip_all, fields(list = ?list, parents = parents.len()))]
pub async fn counts<L: List>(
    conn: &impl ConnectionTrait,
    list: L,
    parents: &[Uuid],
) -> Result<HashMap<Uuid, i64>, DbErr> {
    let parent = Alias::new(list.parent());
    let select = Query::select()
        .expr_as(Expr::col(parent.clone()), Alias::new("parent"))
        .expr_as(Expr::col(parent.clone()).count(), Alias::new("count"))
        .from(Alias::new(list.table()))
        .and_where(Expr::col(parent.clone()).is_in(in_list(parents.iter().copied())))
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
struct Member {
    parent: Uuid,
    node: Uuid,
}

/// Which of `nodes` are in which of `parents`' lists (do the viewers follow them, like
/// them), as (parent, node) pairs: one statement for every parent, so that the requests
/// of many viewers share it. Pairs not asked about may come back too; callers keep those
/// they asked for.
#[tracing::instrument(skip_all, fields(list = ?list, parents = parents.len(), nodes = nodes.len()))]
pub async fn members<L: List>(
    conn: &impl ConnectionTrait,
    list: L,
    parents: &[Uuid],
    nodes: &[Uuid],
) -> Result<HashSet<(Uuid, Uuid)>, DbErr> {
    let (parent, node) = (Alias::new(list.parent()), Alias::new(list.node()));
    let select = Query::select()
        .expr_as(Expr::col(parent.clone()), Alias::new("parent"))
        .expr_as(Expr::col(node.clone()), Alias::new("node"))
        .from(Alias::new(list.table()))
        .and_where(Expr::col(parent).is_in(in_list(parents.iter().copied())))
        .and_where(Expr::col(node).is_in(in_list(nodes.iter().copied())))
        .to_owned();
    let statement = conn.get_database_backend().build(&select);
    let rows = Member::find_by_statement(statement).all(conn).await?;
    Ok(rows.into_iter().map(|row| (row.parent, row.node)).collect())
}

#[cfg(test)]
mod tests {
    use super::split_page;

    #[test]
    fn the_extra_row_only_says_that_a_next_page_exists() {
        assert_eq!(split_page(vec![1, 2, 3], 2), (vec![1, 2], true));
        assert_eq!(split_page(vec![1, 2], 2), (vec![1, 2], false));
        assert_eq!(split_page(Vec::<u8>::new(), 0), (vec![], false));
    }
}
