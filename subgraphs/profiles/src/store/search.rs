//! User search over handles and display names: one function, two indexes (see the
//! `m0004_user_search` migration).
//!
//! Both backends rank the same way: the exact handle first, then handles starting with
//! the query, then display names with a word starting with it, then fuzzy matches, best
//! first; ties go to the handle in alphabetical order. Fuzzy means trigrams: on Postgres
//! `pg_trgm`'s `word_similarity` (at least its `<%` threshold, 0.6 by default), on
//! SQLite the share of the query's trigrams found in the handle or the display name (at
//! least half), with the candidates read from the FTS5 trigram index. Users with a block
//! either way with the viewer are never found.

use agora_kit::paging::split_page;
use agora_kit::restriction::not_blocked;
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, FromQueryResult, Statement, Value};
use uuid::Uuid;

/// A ranked page of matching users.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hits {
    /// Best match first.
    pub users: Vec<Uuid>,
    /// Whether more matches follow.
    pub has_next: bool,
}

#[derive(FromQueryResult)]
struct Hit {
    user_id: Uuid,
}

/// The users whose handle or display name matches `query` (lower-case, trimmed, not
/// empty), best first, skipping `offset` and returning at most `first`; none that
/// `viewer` blocked or was blocked by.
#[tracing::instrument(skip_all)]
pub async fn search(
    conn: &impl ConnectionTrait,
    query: &str,
    viewer: Option<Uuid>,
    first: u64,
    offset: u64,
) -> Result<Hits, DbErr> {
    let limit = i64::try_from(first.saturating_add(1)).unwrap_or(i64::MAX);
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    // Nobody has the nil id: a signed-out search excludes no one.
    let viewer = viewer.unwrap_or(Uuid::nil());
    let pattern = like_escape(query);
    let prefix = format!("{pattern}%");
    let word_prefix = format!("% {pattern}%");
    let backend = conn.get_database_backend();
    let statement = match backend {
        DatabaseBackend::Postgres => Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT user_id FROM (
                    SELECT p.user_id, p.handle,
                        {TIER} AS tier,
                        GREATEST(word_similarity($1, lower(p.handle)),
                                 word_similarity($1, lower(p.display_name))) AS score
                    FROM profile p
                    WHERE ({PREFIX} OR $1 <% lower(p.handle) OR $1 <% lower(p.display_name))
                      AND {not_blocked}
                ) hit
                ORDER BY tier, score DESC, handle, user_id LIMIT $5 OFFSET $6",
                not_blocked = unblocked(),
            ),
            [
                query.into(),
                prefix.into(),
                word_prefix.into(),
                viewer.into(),
                limit.into(),
                offset.into(),
            ],
        ),
        _ => sqlite(backend, query, &prefix, &word_prefix, viewer, limit, offset),
    };
    let rows = Hit::find_by_statement(statement).all(conn).await?;
    let (rows, has_next) = split_page(rows, first);
    let users = rows.into_iter().map(|hit| hit.user_id).collect();
    Ok(Hits { users, has_next })
}

/// The rank of a profile before its score: 0 the exact handle, 1 a handle prefix, 2 a
/// display name word prefix, 3 only fuzzy. The parameters of both statements: `$1` the
/// query, `$2` the prefix pattern, `$3` the word prefix pattern, `$4` the viewer, `$5`
/// and `$6` limit and offset.
const TIER: &str = "CASE WHEN lower(p.handle) = $1 THEN 0
    WHEN lower(p.handle) LIKE $2 ESCAPE '\\' THEN 1
    WHEN lower(p.display_name) LIKE $2 ESCAPE '\\' OR lower(p.display_name) LIKE $3 ESCAPE '\\' THEN 2
    ELSE 3 END";

/// A prefix match on the handle or on a word of the display name.
const PREFIX: &str = "(lower(p.handle) LIKE $2 ESCAPE '\\'
    OR lower(p.display_name) LIKE $2 ESCAPE '\\' OR lower(p.display_name) LIKE $3 ESCAPE '\\')";

/// No block either way between the viewer (`$4`) and the profile's user.
fn unblocked() -> String {
    not_blocked("p.user_id", "$4")
}

/// The SQLite statement: the same tiers, a trigram share as the fuzzy score, candidates
/// from the FTS5 index. SQLite's numbered parameters are `?NNN` (its `$NNN` are named, and
/// numbered by first appearance), so the shared fragments have `$` turned into `?`.
fn sqlite(
    backend: DatabaseBackend,
    query: &str,
    prefix: &str,
    word_prefix: &str,
    viewer: Uuid,
    limit: i64,
    offset: i64,
) -> Statement {
    let grams = trigrams(query);
    let mut values: Vec<Value> = vec![
        query.into(),
        prefix.into(),
        word_prefix.into(),
        viewer.into(),
        limit.into(),
        offset.into(),
    ];
    // Each trigram is a parameter of its own, from ?7 on.
    let found_in = |column: &str| {
        if grams.is_empty() {
            return "0".to_owned();
        }
        let terms: Vec<String> = (0..grams.len())
            .map(|i| format!("(instr(lower(p.{column}), ?{}) > 0)", i + 7))
            .collect();
        terms.join(" + ")
    };
    let fuzzy = if grams.is_empty() {
        "0".to_owned()
    } else {
        // Each trigram quoted, so that FTS5 reads it as text, never as query syntax.
        let any: Vec<String> = grams
            .iter()
            .map(|gram| format!("\"{}\"", gram.replace('"', "\"\"")))
            .collect();
        values.extend(grams.iter().map(|gram| Value::from(gram.clone())));
        values.push(any.join(" OR ").into());
        format!(
            "p.user_id IN (SELECT user_id FROM profile_search WHERE profile_search MATCH ?{})",
            grams.len() + 7
        )
    };
    let sql = format!(
        "SELECT user_id FROM (
            SELECT p.user_id AS user_id, p.handle AS handle, {TIER} AS tier,
                max({handle}, {name}) AS shared
            FROM profile p
            WHERE ({PREFIX} OR {fuzzy}) AND {not_blocked}
        )
        WHERE tier < 3 OR shared * 2 >= {count}
        ORDER BY tier, shared DESC, handle, user_id LIMIT $5 OFFSET $6",
        handle = found_in("handle"),
        name = found_in("display_name"),
        count = grams.len(),
        not_blocked = unblocked(),
    )
    .replace('$', "?");
    Statement::from_sql_and_values(backend, sql, values)
}

/// The distinct three-character windows of `query`, in order.
fn trigrams(query: &str) -> Vec<String> {
    let chars: Vec<char> = query.chars().collect();
    let mut grams: Vec<String> = Vec::new();
    for window in chars.windows(3) {
        let gram: String = window.iter().collect();
        if !grams.contains(&gram) {
            grams.push(gram);
        }
    }
    grams
}

/// `text` with `LIKE`'s wildcards (and the escape character) escaped by `\`.
fn like_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigrams_are_distinct_windows_and_short_queries_have_none() {
        assert_eq!(trigrams("adaa"), ["ada", "daa"]);
        assert_eq!(trigrams("aaaa"), ["aaa"]);
        assert!(trigrams("ad").is_empty());
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_escape("ada_l%\\"), "ada\\_l\\%\\\\");
    }
}
