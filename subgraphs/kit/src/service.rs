//! One running subgraph: its bound listener, its background tasks, and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Extension;
use futures::future::BoxFuture;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::http::Draining;

/// How long a stopping service waits for its WebSockets to send their close frames.
pub const SOCKETS_GRACE: Duration = Duration::from_secs(5);

/// A background task, started with the service's shutdown token.
type Task = Box<dyn FnOnce(CancellationToken) -> BoxFuture<'static, ()> + Send>;

/// A subgraph whose listener is bound (so its address is known) but not yet serving.
pub struct Service {
    listener: TcpListener,
    router: axum::Router,
    tasks: Vec<Task>,
    db: DatabaseConnection,
}

impl Service {
    /// Binds `addr` (port 0 picks a free port) for `router`, a service over `db`. When
    /// it stops, the service closes `db`, so that its connections end cleanly rather
    /// than vanish with the process: SQLite checkpoints its write-ahead log into the
    /// database file, and Postgres sees each session terminate.
    pub async fn bind(
        addr: SocketAddr,
        router: axum::Router,
        db: DatabaseConnection,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Self {
            listener,
            router,
            tasks: Vec::new(),
            db,
        })
    }

    /// Adds a background task (outbox relay, event consumer) that runs until shutdown.
    pub fn with_task<F, Fut>(mut self, task: F) -> Self
    where
        F: FnOnce(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.tasks
            .push(Box::new(move |token| Box::pin(task(token))));
        self
    }

    /// The address the service listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` is cancelled, then drains in-flight requests, closes open
    /// WebSockets with a close frame (waiting at most [`SOCKETS_GRACE`]), waits for the
    /// background tasks to finish their current step, and closes the database.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> std::io::Result<()> {
        let Self {
            listener,
            router,
            tasks,
            db,
        } = self;
        let tasks: Vec<_> = tasks
            .into_iter()
            .map(|task| tokio::spawn(task(shutdown.clone())))
            .collect();
        let (open, mut closed) = mpsc::channel(1);
        let draining = Draining {
            shutdown: shutdown.clone(),
            _open: open,
        };
        let stop = shutdown.clone();
        axum::serve(listener, router.layer(Extension(draining)))
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await?;
        // Every socket holds a sender: `recv` answers `None` once the last one is closed.
        let _ = tokio::time::timeout(SOCKETS_GRACE, closed.recv()).await;
        for task in tasks {
            let _ = task.await;
        }
        if let Err(error) = db.close().await {
            tracing::warn!(%error, "closing the database");
        }
        Ok(())
    }
}

/// A token cancelled on Ctrl-C or SIGTERM, for binaries.
pub fn shutdown_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("installing a SIGTERM handler");
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
        cancel.cancel();
    });
    token
}

/// Why a subgraph could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Its database was unreachable or would not migrate.
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// Its event streams or consumers could not be set up.
    #[error("events: {0}")]
    Events(#[from] crate::events::EventError),
    /// Its listener could not be bound.
    #[error("listen: {0}")]
    Io(#[from] std::io::Error),
    /// Its settings were unusable.
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    /// Its own set-up failed (keys).
    #[error("{0}")]
    Setup(String),
}

/// Runs subgraph `name` as its own process: settings from the environment, the event bus
/// they name, then `build`, serving until Ctrl-C or SIGTERM.
pub async fn run_standalone<F, Fut>(name: &'static str, build: F) -> Result<(), StartError>
where
    F: FnOnce(crate::Settings, std::sync::Arc<dyn crate::events::EventBus>) -> Fut,
    Fut: Future<Output = Result<Service, StartError>>,
{
    let _telemetry = agora_telemetry::init(name);
    let settings = crate::Settings::from_env(name)?;
    let bus = crate::events::connect(&settings.bus()).await?;
    let service = build(settings, bus.clone()).await?;
    tracing::info!(addr = %service.local_addr(), "{name} listening");
    service.run_until_stopped(shutdown_signal()).await?;
    bus.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use sea_orm::ConnectionTrait;
    use tokio_util::sync::CancellationToken;

    use super::Service;
    use crate::db::tests::NoMigrations;

    #[tokio::test]
    async fn a_stopped_service_leaves_its_sqlite_database_checkpointed_and_closed() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("service.sqlite");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let db = crate::db::connect::<NoMigrations>(&url)
            .await
            .expect("connect");
        db.execute_unprepared("CREATE TABLE note (body TEXT); INSERT INTO note VALUES ('kept')")
            .await
            .expect("write");
        let wal = dir.path().join("service.sqlite-wal");
        assert!(wal.exists(), "the write went to the write-ahead log");

        // The schema's loaders and the consumers hold clones of the connection too; they
        // may outlive the service's stop by the little while a process takes to exit.
        let held = db.clone();
        let address = "127.0.0.1:0".parse().expect("address");
        let service = Service::bind(address, axum::Router::new(), db)
            .await
            .expect("bind");
        let stop = CancellationToken::new();
        stop.cancel();
        service.run_until_stopped(stop).await.expect("stopped");

        assert!(
            !wal.exists(),
            "the last connection checkpointed and removed the log"
        );
        assert!(held.ping().await.is_err(), "every clone of it is closed");
        let reopened = crate::db::connect::<NoMigrations>(&url)
            .await
            .expect("reopen");
        let row = reopened
            .query_one_raw(sea_orm::Statement::from_string(
                reopened.get_database_backend(),
                "SELECT body FROM note",
            ))
            .await
            .expect("read")
            .expect("a row");
        assert_eq!(row.try_get::<String>("", "body").expect("body"), "kept");
    }
}
