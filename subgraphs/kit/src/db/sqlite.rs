//! How SQLite is set up: once for the process ([`configure_library`]), then for each
//! connection ([`pragmas`], [`stable_plans`]).

use std::ffi::{c_int, c_void};
use std::sync::Once;
use std::time::Duration;

use libsqlite3_sys as ffi;
use sea_orm::sqlx;
use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous,
};

/// Prepared statements each SQLite connection keeps (sqlx keeps 100): every query shape
/// times the sizes of its `IN` lists (see [`super::in_list`]) fits.
const STATEMENT_CACHE: usize = 500;

/// Rows a connection's worker thread may read ahead of the task consuming them (sqlx
/// allows 50): a DataLoader batch often returns a few hundred, and at 50 the worker
/// stopped and waited to be woken for every further 50.
const ROW_BUFFER: usize = 1024;

/// Process-wide SQLite settings, made once before the first connection opens (SQLite
/// takes them only before it initialises). Allocation statistics are off: with them on,
/// every allocation and free in SQLite takes one global mutex, which all connections'
/// worker threads and the async threads dropping rows contend for. And SQLite allocates
/// through mimalloc, as the rest of the process does: rows are allocated on a
/// connection's worker thread and freed on another, which glibc's malloc serialises on
/// the allocating arena's lock. Under the feed bench these locks cost a tenth of
/// `agora dev`'s CPU. If something opened a SQLite database before, SQLite refuses both
/// and keeps its defaults, which work the same, only slower.
pub(super) fn configure_library() {
    static CONFIGURED: Once = Once::new();
    CONFIGURED.call_once(|| {
        let methods = ffi::sqlite3_mem_methods {
            xMalloc: Some(mi_malloc),
            xFree: Some(mi_free),
            xRealloc: Some(mi_realloc),
            xSize: Some(mi_size),
            xRoundup: Some(mi_roundup),
            xInit: Some(mi_init),
            xShutdown: Some(mi_shutdown),
            pAppData: std::ptr::null_mut(),
        };
        // SAFETY: both options are valid before sqlite3_initialize (otherwise SQLite
        // returns SQLITE_MISUSE and changes nothing); MEMSTATUS takes an int, MALLOC a
        // pointer to methods that SQLite copies before returning.
        let rc = unsafe {
            [
                ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int),
                ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &methods),
            ]
        };
        if rc != [ffi::SQLITE_OK; 2] {
            tracing::warn!(?rc, "SQLite was initialised before Agora configured it");
        }
    });
}

// SQLite's allocator interface over mimalloc. SQLite never asks for zero or negative
// sizes, and every pointer it passes back came from these functions.

unsafe extern "C" fn mi_malloc(size: c_int) -> *mut c_void {
    // SAFETY: plain allocation; SQLite checks for null.
    unsafe { libmimalloc_sys::mi_malloc(size as usize) }
}

unsafe extern "C" fn mi_free(block: *mut c_void) {
    // SAFETY: `block` came from `mi_malloc` or `mi_realloc`.
    unsafe { libmimalloc_sys::mi_free(block) }
}

unsafe extern "C" fn mi_realloc(block: *mut c_void, size: c_int) -> *mut c_void {
    // SAFETY: as for `mi_free`; SQLite checks for null.
    unsafe { libmimalloc_sys::mi_realloc(block, size as usize) }
}

unsafe extern "C" fn mi_size(block: *mut c_void) -> c_int {
    // SAFETY: as for `mi_free`; SQLite's blocks are far below 2 GiB.
    unsafe { libmimalloc_sys::mi_usable_size(block) as c_int }
}

unsafe extern "C" fn mi_roundup(size: c_int) -> c_int {
    // SAFETY: a pure size computation.
    unsafe { libmimalloc_sys::mi_good_size(size as usize) as c_int }
}

unsafe extern "C" fn mi_init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn mi_shutdown(_: *mut c_void) {}

/// How every SQLite database of Agora is opened: WAL, so readers never wait for the
/// writer; a busy timeout, so concurrent writers wait for each other instead of failing;
/// and `synchronous = NORMAL`, which in WAL mode keeps the database consistent and every
/// commit durable across crashes of the process (only an OS crash or power loss can undo
/// the last commits), at one fsync per checkpoint instead of one per commit: `FULL` made
/// each event cost three fsyncs and held the embedded bus to a dozen events a second.
pub(super) fn pragmas(options: SqliteConnectOptions) -> SqliteConnectOptions {
    options
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
        .statement_cache_capacity(STATEMENT_CACHE)
        .row_buffer_size(ROW_BUFFER)
}

/// Turns on SQLite's query planner stability guarantee for a new connection. Without it,
/// SQLite (3.51) plans a statement with the value bound to its `LIMIT ?`, and so compiles
/// the statement again each time that parameter is bound: every page read (each arm of a
/// per-parent `UNION ALL` has a limit) and every single-row read was parsed and planned on
/// every run instead of coming from the statement cache, a seventh of `agora dev`'s CPU
/// under the feed bench. The plans no longer depend on bound values; the results do not
/// change.
pub(super) async fn stable_plans(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
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
