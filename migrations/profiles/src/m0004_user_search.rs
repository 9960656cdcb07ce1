//! User search over handles and display names, prefix and fuzzy, one index per backend
//! behind one store function (`store::search`):
//!
//! - **Postgres**: the `pg_trgm` extension and trigram GIN indexes on the lower-cased
//!   handle and display name, which serve both the prefix `LIKE` and the fuzzy
//!   `word_similarity` (`<%`) matches.
//! - **SQLite**: an FTS5 table `profile_search` with the `trigram` tokenizer (handle and
//!   display name, the user id unindexed), kept in step with `profile` by triggers, from
//!   which the fuzzy candidates (profiles sharing trigrams with the query) are read.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE: &[&str] = &[
    "CREATE VIRTUAL TABLE profile_search USING fts5(user_id UNINDEXED, handle, display_name, tokenize = 'trigram')",
    "CREATE TRIGGER profile_search_insert AFTER INSERT ON profile BEGIN
        INSERT INTO profile_search (user_id, handle, display_name)
        VALUES (new.user_id, new.handle, new.display_name);
    END",
    "CREATE TRIGGER profile_search_update AFTER UPDATE OF handle, display_name ON profile BEGIN
        UPDATE profile_search SET handle = new.handle, display_name = new.display_name
        WHERE user_id = old.user_id;
    END",
    "CREATE TRIGGER profile_search_delete AFTER DELETE ON profile BEGIN
        DELETE FROM profile_search WHERE user_id = old.user_id;
    END",
    "INSERT INTO profile_search (user_id, handle, display_name)
        SELECT user_id, handle, display_name FROM profile",
];

const POSTGRES: &[&str] = &[
    // Trusted since Postgres 13: the database's owner may create it.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX profile_handle_trgm_idx ON profile USING GIN (lower(handle) gin_trgm_ops)",
    "CREATE INDEX profile_display_name_trgm_idx ON profile USING GIN (lower(display_name) gin_trgm_ops)",
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
                    "user search is not built for {other:?}"
                )));
            }
        };
        for statement in statements {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }
}
