//! Full-text search over post bodies: one function, two indexes (see the
//! `m0002_post_search` migration): SQLite FTS5 ranked by `bm25`, Postgres `tsvector`
//! ranked by `ts_rank`. Ties go to the newer post. A viewer finds no post of anyone with
//! a block between them, nor of a private account they do not follow.

use agora_kit::paging::split_page;
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, FromQueryResult, Statement, Value};
use uuid::Uuid;

use super::visible::{author_visible, post_visible};

/// A ranked page of matching post ids.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hits {
    /// Best match first.
    pub posts: Vec<Uuid>,
    /// Whether more matches follow.
    pub has_next: bool,
}

#[derive(FromQueryResult)]
struct Hit {
    post_id: Uuid,
}

/// The posts whose body contains every one of `terms` (plain words: letters, digits and
/// `_`), best first, skipping `offset` and returning at most `first`; as `viewer` (none
/// when signed out) sees them: without the posts of anyone with a block between them,
/// nor of a private account they do not follow.
#[tracing::instrument(skip_all, fields(terms = terms.len()))]
pub async fn search(
    conn: &impl ConnectionTrait,
    terms: &[String],
    viewer: Option<Uuid>,
    first: u64,
    offset: u64,
) -> Result<Hits, DbErr> {
    if terms.is_empty() {
        return Ok(Hits::default());
    }
    let limit = i64::try_from(first.saturating_add(1)).unwrap_or(i64::MAX);
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    let backend = conn.get_database_backend();
    // Parameters: `$1` the query, `$2` and `$3` limit and offset, `$4` the viewer (nobody
    // has the nil id: a signed-out viewer sees public posts only).
    let viewer = viewer.unwrap_or(Uuid::nil());
    let (text, sql) = match backend {
        DatabaseBackend::Postgres => (
            terms.join(" "),
            format!(
                "SELECT id AS post_id FROM post, plainto_tsquery('simple', $1) AS query \
                 WHERE search @@ query AND {} \
                 ORDER BY ts_rank(search, query) DESC, id DESC LIMIT $2 OFFSET $3",
                author_visible("post.author_id", "$4")
            ),
        ),
        _ => {
            // Each term quoted: FTS5 reads them as words (implicitly AND-ed), never as
            // query syntax. Terms hold no quotes (see `content::search_terms`).
            let query: Vec<String> = terms.iter().map(|term| format!("\"{term}\"")).collect();
            // SQLite's numbered parameters are `?NNN` (its `$NNN` are named).
            let sql = format!(
                "SELECT post_id FROM post_search WHERE post_search MATCH $1 AND {} \
                 ORDER BY bm25(post_search), post_id DESC LIMIT $2 OFFSET $3",
                post_visible("post_search.post_id", "$4")
            );
            (query.join(" "), sql.replace('$', "?"))
        }
    };
    let values: Vec<Value> = vec![text.into(), limit.into(), offset.into(), viewer.into()];
    let statement = Statement::from_sql_and_values(backend, sql, values);
    let rows = Hit::find_by_statement(statement).all(conn).await?;
    let (rows, has_next) = split_page(rows, first);
    let posts = rows.into_iter().map(|hit| hit.post_id).collect();
    Ok(Hits { posts, has_next })
}
