//! Test support (feature `testing`): a test's own databases and event namespace, and
//! their removal when the test ends, however it ends.
//!
//! By default a test gets SQLite files in a temporary directory and the embedded bus.
//! With `AGORA_TEST_POSTGRES_URL` (a server URL such as `postgres://postgres@127.0.0.1:5432`)
//! each database is a fresh Postgres database named by UUID; with `AGORA_TEST_NATS_URL`
//! the bus is JetStream, with streams named for the test.
//!
//! - [`TestEnv`]: the databases and event namespace themselves.
//! - [`Stack`]: subgraphs started on them over HTTP, events delivered to them, their outbox.
//! - [`Graphql`], [`Member`], [`error_of`]: a client's side of those subgraphs.
//! - [`Socket`]: a graphql-transport-ws client for subscriptions.
//! - [`StatementCounter`]: the SQL statements an operation costs.
//! - [`assert_committed_schema`]: the `schema.graphql` snapshot.

mod client;
mod snapshot;
mod socket;
mod stack;
mod statements;

pub use client::{Graphql, Member, error_of};
pub use snapshot::assert_committed_schema;
pub use socket::{FRAME_WAIT, Refused, Socket};
pub use stack::{Stack, outbox};
pub use statements::StatementCounter;

use sea_orm::{ConnectionTrait, Database};

use crate::events::BusConfig;
use crate::settings::sqlite_url;

/// One test's isolated resources; dropping it deletes them.
pub struct TestEnv {
    /// Unique per test; names databases and the event namespace.
    pub run: String,
    /// Holds the SQLite files and the embedded bus's log.
    pub dir: tempfile::TempDir,
    postgres: Option<String>,
    nats: Option<String>,
    databases: Vec<String>,
}

impl TestEnv {
    /// Reads the test-mode variables and makes a temporary directory.
    pub fn new() -> Self {
        Self {
            run: uuid::Uuid::now_v7().simple().to_string(),
            dir: tempfile::tempdir().expect("a temporary directory"),
            postgres: std::env::var("AGORA_TEST_POSTGRES_URL").ok(),
            nats: std::env::var("AGORA_TEST_NATS_URL").ok(),
            databases: Vec::new(),
        }
    }

    /// A fresh, empty database for `subgraph`: a new Postgres database, or a SQLite file.
    pub async fn database_url(&mut self, subgraph: &str) -> String {
        let Some(server) = &self.postgres else {
            return sqlite_url(self.dir.path(), subgraph);
        };
        let name = format!("agora_test_{}_{subgraph}", self.run);
        let admin = Database::connect(format!("{server}/postgres"))
            .await
            .expect("postgres is reachable");
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("a test database can be created");
        self.databases.push(name.clone());
        format!("{server}/{name}")
    }

    /// The NATS URL when the test runs on JetStream.
    pub fn nats_url(&self) -> Option<&str> {
        self.nats.as_deref()
    }

    /// The event namespace of this test.
    pub fn namespace(&self) -> String {
        format!("t{}", self.run)
    }

    /// The bus of this test: JetStream in its namespace, or the embedded bus in its directory.
    pub fn bus_config(&self) -> BusConfig {
        BusConfig {
            nats_url: self.nats.clone(),
            namespace: self.namespace(),
            embedded_db_url: sqlite_url(self.dir.path(), "events"),
        }
    }
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestEnv {
    /// Deletes the test's Postgres databases and JetStream streams on a thread of its own,
    /// since a test's runtime may be gone (or panicking) by now.
    fn drop(&mut self) {
        let databases = std::mem::take(&mut self.databases);
        let (postgres, nats, suffix) = (
            self.postgres.clone(),
            self.nats.clone(),
            format!("_{}", self.namespace().to_uppercase()),
        );
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                if let (Some(server), false) = (postgres, databases.is_empty()) {
                    let admin = Database::connect(format!("{server}/postgres")).await?;
                    for name in databases {
                        admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await?;
                    }
                }
                if let Some(url) = nats {
                    use futures::StreamExt;
                    let js = async_nats::jetstream::new(async_nats::connect(url).await?);
                    let names: Vec<String> = js
                        .stream_names()
                        .filter_map(|n| async { n.ok() })
                        .collect()
                        .await;
                    for name in names.into_iter().filter(|n| n.ends_with(&suffix)) {
                        let _ = js.delete_stream(&name).await;
                    }
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        });
        if let Ok(Err(e)) = cleanup.join() {
            eprintln!("test clean-up failed: {e}");
        }
    }
}
