//! Full-text search over post bodies, one index per backend behind one store function
//! (`store::search`):
//!
//! - **SQLite**: an FTS5 table `post_search` (body, and the post id unindexed), kept in
//!   step with `post` by triggers, so every writer — including bulk erasure — keeps it
//!   right. Ranked with `bm25`.
//! - **Postgres**: a stored generated `tsvector` column `post.search` with a GIN index.
//!   Ranked with `ts_rank`.
//!
//! Both tokenize without stemming (`unicode61`, and the `simple` configuration), so a
//! query finds the same posts on either backend.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE: &[&str] = &[
    "CREATE VIRTUAL TABLE post_search USING fts5(post_id UNINDEXED, body, tokenize = 'unicode61 remove_diacritics 2')",
    "CREATE TRIGGER post_search_insert AFTER INSERT ON post BEGIN
        INSERT INTO post_search (post_id, body) VALUES (new.id, new.body);
    END",
    "CREATE TRIGGER post_search_update AFTER UPDATE OF body ON post BEGIN
        UPDATE post_search SET body = new.body WHERE post_id = old.id;
    END",
    "CREATE TRIGGER post_search_delete AFTER DELETE ON post BEGIN
        DELETE FROM post_search WHERE post_id = old.id;
    END",
    "INSERT INTO post_search (post_id, body) SELECT id, body FROM post",
];

const POSTGRES: &[&str] = &[
    "ALTER TABLE post ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED",
    "CREATE INDEX post_search_idx ON post USING GIN (search)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let statements = match db.get_database_backend() {
            DatabaseBackend::Sqlite => SQLITE,
            DatabaseBackend::Postgres => POSTGRES,
            other => {
                return Err(DbErr::Migration(format!(
                    "post search is not built for {other:?}"
                )));
            }
        };
        for statement in statements {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }
}
