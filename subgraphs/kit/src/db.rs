//! The database connection of a subgraph: SQLite embedded or Postgres, migrated on start.

use std::ffi::c_int;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use libsqlite3_sys as ffi;
use sea_orm::sqlx;
use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous,
};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use sea_orm_migration::MigratorTrait;

/// A pooled connection idle for this long is pinged before it is handed out again.
const PING_AFTER_IDLE: Duration = Duration::from_secs(30);

/// Connects to `url` and brings the schema up to date with migrator `M`.
///
/// For SQLite the file and its directory are created (see [`options`] for how it is
/// opened).
#[tracing::instrument(skip_all, fields(backend = url.split(':').next()))]
pub async fn connect<M: MigratorTrait>(url: &str) -> Result<DatabaseConnection, DbErr> {
    if let Some(dir) = sqlite_path(url).and_then(|path| std::path::Path::new(path).parent()) {
        std::fs::create_dir_all(dir).map_err(|e| DbErr::Custom(e.to_string()))?;
    }
    let db = Database::connect(options(url)).await?;
    M::up(&db, None).await?;
    Ok(db)
}

/// How every database of Agora is opened. A pooled connection is pinged before use only
/// once it has sat idle for [`PING_AFTER_IDLE`]: sqlx pings on every checkout by default,
/// which for SQLite is one more round trip to the connection's worker thread per statement
/// and for Postgres one more to the server. SQLite connections get [`sqlite_pragmas`] and
/// [`stable_plans`].
pub(crate) fn options(url: &str) -> ConnectOptions {
    let mut options = ConnectOptions::new(url);
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .test_before_acquire_if_idle_for(PING_AFTER_IDLE)
        .map_sqlx_sqlite_opts(sqlite_pragmas)
        .map_sqlx_sqlite_pool_opts(|pool| {
            pool.after_connect(|conn, _| Box::pin(stable_plans(conn)))
        });
    options
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
fn sqlite_pragmas(options: SqliteConnectOptions) -> SqliteConnectOptions {
    options
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
}

/// Turns on SQLite's query planner stability guarantee for a new connection. Without it,
/// SQLite (3.51) plans a statement with the value bound to its `LIMIT ?`, and so compiles
/// the statement again each time that parameter is bound: every page read (each arm of a
/// per-parent `UNION ALL` has a limit) and every single-row read was parsed and planned on
/// every run instead of coming from the statement cache, a seventh of `agora dev`'s CPU
/// under the feed bench. The plans no longer depend on bound values; the results do not
/// change.
async fn stable_plans(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let mut enabled: c_int = 0;
    // SAFETY: the handle is this connection's open database, locked to us while `handle`
    // lives; SQLITE_DBCONFIG_ENABLE_QPSG takes an int (1: on) and an int* that receives
    // the setting now in force.
    let rc = unsafe {
        ffi::sqlite3_db_config(
            handle.as_raw_handle().as_ptr(),
            ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as c_int,
            &mut enabled as *mut c_int,
        )
    };
    if rc != ffi::SQLITE_OK || enabled != 1 {
        return Err(sqlx::Error::Configuration(
            format!("SQLite refused the query planner stability guarantee ({rc})").into(),
        ));
    }
    Ok(())
}

/// The file path of a `sqlite://` URL, without its query.
fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://")?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then_some(path)
}

#[cfg(test)]
mod tests {
    use std::ffi::c_int;

    use libsqlite3_sys as ffi;
    use sea_orm_migration::{MigrationTrait, MigratorTrait};

    use super::{connect, sqlite_path};

    struct NoMigrations;

    impl MigratorTrait for NoMigrations {
        fn migrations() -> Vec<Box<dyn MigrationTrait>> {
            Vec::new()
        }
    }

    #[tokio::test]
    async fn sqlite_connections_plan_without_looking_at_bound_values() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}/plans.sqlite?mode=rwc", dir.path().display());
        let db = connect::<NoMigrations>(&url).await.expect("connect");
        let mut conn = db
            .get_sqlite_connection_pool()
            .acquire()
            .await
            .expect("conn");
        let mut handle = conn.lock_handle().await.expect("handle");
        let mut enabled: c_int = 0;
        // SAFETY: an open, locked handle; -1 only reads the setting into `enabled`.
        let rc = unsafe {
            ffi::sqlite3_db_config(
                handle.as_raw_handle().as_ptr(),
                ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
                -1 as c_int,
                &mut enabled as *mut c_int,
            )
        };
        assert_eq!(rc, ffi::SQLITE_OK);
        assert_eq!(enabled, 1, "the query planner stability guarantee is on");
    }

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
