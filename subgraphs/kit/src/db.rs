//! The database connection of a subgraph: SQLite embedded or Postgres, migrated on start.

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use sea_orm_migration::MigratorTrait;

/// Connects to `url` and brings the schema up to date with migrator `M`.
///
/// For SQLite the file and its directory are created, and each connection runs in WAL
/// mode with `synchronous = NORMAL` and a busy timeout (see `sqlite_pragmas`).
#[tracing::instrument(skip_all, fields(backend = url.split(':').next()))]
pub async fn connect<M: MigratorTrait>(url: &str) -> Result<DatabaseConnection, DbErr> {
    if let Some(dir) = sqlite_path(url).and_then(|path| std::path::Path::new(path).parent()) {
        std::fs::create_dir_all(dir).map_err(|e| DbErr::Custom(e.to_string()))?;
    }
    let mut options = ConnectOptions::new(url);
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .map_sqlx_sqlite_opts(|o| sqlite_pragmas(o).foreign_keys(true));
    let db = Database::connect(options).await?;
    M::up(&db, None).await?;
    Ok(db)
}

/// Time as stored: to the microsecond, the finest both SQLite and Postgres keep, so that
/// a cursor made from a row read back compares equal to the row.
pub fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// How every SQLite database of Agora is opened: WAL, so readers never wait for the
/// writer; a busy timeout, so concurrent writers wait for each other instead of failing;
/// and `synchronous = NORMAL`, which in WAL mode keeps the database consistent and every
/// commit durable across crashes of the process (only an OS crash or power loss can undo
/// the last commits), at one fsync per checkpoint instead of one per commit: `FULL` made
/// each event cost three fsyncs and held the embedded bus to a dozen events a second.
pub(crate) fn sqlite_pragmas(options: SqliteConnectOptions) -> SqliteConnectOptions {
    options
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
}

/// The file path of a `sqlite://` URL, without its query.
fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://")?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then_some(path)
}

#[cfg(test)]
mod tests {
    use super::sqlite_path;

    #[test]
    fn sqlite_path_drops_the_query_and_ignores_other_backends() {
        assert_eq!(
            sqlite_path("sqlite://data/a.sqlite?mode=rwc"),
            Some("data/a.sqlite")
        );
        assert_eq!(sqlite_path("postgres://localhost/a"), None);
        assert_eq!(sqlite_path("sqlite://:memory:"), None);
    }
}
