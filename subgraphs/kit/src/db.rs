//! The database connection of a subgraph: SQLite embedded or Postgres, migrated on start.

mod sqlite;

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use sea_orm_migration::MigratorTrait;
use uuid::Uuid;

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
/// and for Postgres one more to the server. SQLite connections get [`sqlite::pragmas`]
/// and [`sqlite::stable_plans`], after [`sqlite::configure_library`].
pub(crate) fn options(url: &str) -> ConnectOptions {
    if url.starts_with("sqlite:") {
        sqlite::configure_library();
    }
    let mut options = ConnectOptions::new(url);
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .test_before_acquire_if_idle_for(PING_AFTER_IDLE)
        .map_sqlx_sqlite_opts(sqlite::pragmas)
        .map_sqlx_sqlite_pool_opts(|pool| {
            pool.after_connect(|conn, _| Box::pin(sqlite::stable_plans(conn)))
        });
    options
}

/// `values` for an `IN (..)` list, the last one repeated up to the next power of two, so
/// that batches of about the same size share one statement text, and with it one prepared
/// statement in the connection's cache. A DataLoader batch holds as many keys as the
/// concurrent requests gave it: unpadded, nearly every batch was a text the database had
/// to parse and plan anew. Repeats do not change what `IN` matches.
pub fn in_list<T: Clone>(values: impl IntoIterator<Item = T>) -> Vec<T> {
    let list: Vec<T> = values.into_iter().collect();
    match list.last().cloned() {
        Some(last) => padded(list, last),
        None => list,
    }
}

/// The parents of a compound select's arms (one `UNION ALL` arm each), padded up to the
/// next power of two with the nil id, for the same reason as [`in_list`]. Each arm is a
/// read of its own, so a pad names no parent: it costs one index probe and finds nothing,
/// where a repeated parent would read its rows again.
pub(crate) fn arm_parents(parents: impl IntoIterator<Item = Uuid>) -> Vec<Uuid> {
    padded(parents, Uuid::nil())
}

/// `values`, then `pad` up to the next power of two of their number.
fn padded<T: Clone>(values: impl IntoIterator<Item = T>, pad: T) -> Vec<T> {
    let mut list: Vec<T> = values.into_iter().collect();
    if !list.is_empty() {
        list.resize(list.len().next_power_of_two(), pad);
    }
    list
}

/// Time as stored: to the microsecond, the finest both SQLite and Postgres keep, so that
/// a cursor made from a row read back compares equal to the row.
pub fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// The file path of a `sqlite://` URL, without its query.
fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://")?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then_some(path)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::ffi::c_int;

    use libsqlite3_sys as ffi;
    use sea_orm_migration::{MigrationTrait, MigratorTrait};

    use uuid::Uuid;

    use super::{connect, sqlite_path};

    /// A migrator with nothing to do, for tests of the connection itself.
    pub(crate) struct NoMigrations;

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

    #[tokio::test]
    async fn sqlite_allocates_from_mimalloc_and_keeps_no_statistics() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}/memory.sqlite?mode=rwc", dir.path().display());
        let _db = connect::<NoMigrations>(&url).await.expect("connect");
        let (mut used, mut highest) = (0i64, 0i64);
        // SAFETY: SQLite is initialised (a connection is open); the block is freed by
        // SQLite's own free, and the status call only writes the two integers.
        let (from_mimalloc, rc) = unsafe {
            let block = ffi::sqlite3_malloc(64);
            let from_mimalloc = libmimalloc_sys::mi_is_in_heap_region(block);
            ffi::sqlite3_free(block);
            let rc =
                ffi::sqlite3_status64(ffi::SQLITE_STATUS_MEMORY_USED, &mut used, &mut highest, 0);
            (from_mimalloc, rc)
        };
        assert!(from_mimalloc, "SQLite allocates through mimalloc");
        assert_eq!((rc, used), (ffi::SQLITE_OK, 0), "no allocation statistics");
    }

    #[test]
    fn in_lists_are_padded_to_a_power_of_two_with_the_last_value() {
        assert_eq!(super::in_list([1, 2, 3]), [1, 2, 3, 3]);
        assert_eq!(super::in_list([1, 2, 3, 4]), [1, 2, 3, 4]);
        assert_eq!(super::in_list([7]), [7]);
        assert_eq!(super::in_list(Vec::<u8>::new()), Vec::<u8>::new());
    }

    #[test]
    fn arm_parents_are_padded_to_a_power_of_two_with_the_nil_id() {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(super::arm_parents([a, b, c]), [a, b, c, Uuid::nil()]);
        assert_eq!(super::arm_parents([a, b]), [a, b]);
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
