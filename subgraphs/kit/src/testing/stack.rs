//! Subgraphs started for one test, on the test's own bus and databases, as a frontend
//! (and the router) would reach them: over HTTP, with identity's tokens.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder};
use sea_orm_migration::MigratorTrait;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::TestEnv;
use super::client::{Graphql, Member};
use crate::Settings;
use crate::events::tables::{inbox, outbox};
use crate::events::{self, BusTuning, Envelope, EventBus};
use crate::service::{Service, StartError};

/// How often, and how many times, [`Stack::deliver`] looks for the consumer's inbox row.
const POLL: Duration = Duration::from_millis(20);
const POLLS: usize = 500;

/// The running subgraphs of one test; dropping it stops them and then deletes the
/// test's databases and streams.
pub struct Stack {
    /// The variables every subgraph's settings are read from (never the process's).
    vars: HashMap<String, String>,
    /// The test's bus, on which a test may also play another domain.
    bus: Arc<dyn EventBus>,
    /// The connections of replicas that have their own (NATS only).
    replica_buses: Vec<Arc<dyn EventBus>>,
    /// Identity's endpoint, once started, for registering members.
    identity: Option<Graphql>,
    /// Cancelled on drop: stops every subgraph.
    stop: CancellationToken,
    /// Declared last so that it is dropped after the subgraphs were told to stop.
    env: TestEnv,
}

impl Stack {
    /// A fresh [`TestEnv`] and its bus, tuned so that redeliveries come within a second.
    pub async fn new() -> Self {
        let env = TestEnv::new();
        let bus = events::connect_with(&env.bus_config(), tuning())
            .await
            .expect("bus");
        let vars = HashMap::from([
            (
                "AGORA_DATA_DIR".to_owned(),
                env.dir.path().display().to_string(),
            ),
            ("AGORA_EVENTS_NAMESPACE".to_owned(), env.namespace()),
        ]);
        Self {
            vars,
            bus,
            replica_buses: Vec::new(),
            identity: None,
            stop: CancellationToken::new(),
            env,
        }
    }

    /// Stops every subgraph of the stack, as SIGTERM stops a service.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// The test's bus.
    pub fn bus(&self) -> &Arc<dyn EventBus> {
        &self.bus
    }

    /// Starts subgraph `name` with `build` (its crate's `build`) on a free port and a
    /// fresh database, and returns its endpoint. Start `identity` first: the subgraphs
    /// started after it verify tokens against its keys, and [`Stack::register`] uses it.
    pub async fn start<F, Fut>(&mut self, name: &str, build: F) -> Graphql
    where
        F: FnOnce(Settings, Arc<dyn EventBus>) -> Fut,
        Fut: Future<Output = Result<Service, StartError>>,
    {
        let upper = name.to_ascii_uppercase();
        let database = self.env.database_url(name).await;
        self.vars
            .insert(format!("AGORA_{upper}_DATABASE_URL"), database);
        self.vars
            .insert(format!("AGORA_{upper}_ADDR"), "127.0.0.1:0".to_owned());
        let api = self.serve(name, build, self.bus.clone()).await;
        if name == "identity" {
            self.vars.insert(
                "AGORA_JWKS_URL".to_owned(),
                api.url.replace("/graphql", "/.well-known/jwks.json"),
            );
            self.identity = Some(api.clone());
        }
        api
    }

    /// Starts one more instance of started subgraph `name` on the same database, as a
    /// scaled-out deployment runs it: on NATS with a connection of its own, as another
    /// process would have; in embedded mode on the shared bus, since the embedded bus
    /// (and its live hub) is one per process. Returns its endpoint.
    pub async fn start_replica<F, Fut>(&mut self, name: &str, build: F) -> Graphql
    where
        F: FnOnce(Settings, Arc<dyn EventBus>) -> Fut,
        Fut: Future<Output = Result<Service, StartError>>,
    {
        let bus = if self.env.nats_url().is_some() {
            let own = events::connect_with(&self.env.bus_config(), tuning())
                .await
                .expect("bus");
            self.replica_buses.push(own.clone());
            own
        } else {
            self.bus.clone()
        };
        self.serve(name, build, bus).await
    }

    /// Builds `name` with the current variables on `bus` and serves it until the stack
    /// stops.
    async fn serve<F, Fut>(&self, name: &str, build: F, bus: Arc<dyn EventBus>) -> Graphql
    where
        F: FnOnce(Settings, Arc<dyn EventBus>) -> Fut,
        Fut: Future<Output = Result<Service, StartError>>,
    {
        let settings =
            Settings::from_lookup(name, |key| self.vars.get(key).cloned()).expect("settings");
        let service = build(settings, bus)
            .await
            .unwrap_or_else(|e| panic!("{name} starts: {e}"));
        let addr = service.local_addr();
        tokio::spawn(service.run_until_stopped(self.stop.clone()));
        Graphql::new(format!("http://{addr}/graphql"))
    }

    /// Waits (bounded) until `count` subscriptions of this test's instances listen on live
    /// `topic`, so that what the test does next is seen by them.
    pub async fn wait_for_listeners(&self, topic: &str, count: usize) {
        let listening = || {
            std::iter::once(&self.bus)
                .chain(&self.replica_buses)
                .map(|bus| bus.live().listeners(topic))
                .sum::<usize>()
        };
        for _ in 0..POLLS {
            if listening() >= count {
                return;
            }
            tokio::time::sleep(POLL).await;
        }
        panic!("{count} listeners of {topic} never came");
    }

    /// A connection of the test's own to the database of started subgraph `name`, to
    /// check what it wrote (`M` is its migrator; the schema is already up to date).
    pub async fn connect<M: MigratorTrait>(&self, name: &str) -> DatabaseConnection {
        let key = format!("AGORA_{}_DATABASE_URL", name.to_ascii_uppercase());
        let url = self
            .vars
            .get(&key)
            .unwrap_or_else(|| panic!("{name} was not started"));
        crate::db::connect::<M>(url).await.expect("database")
    }

    /// Registers a member through identity (started first).
    pub async fn register(&self, handle: &str) -> Member {
        let identity = self.identity.as_ref().expect("identity was started");
        identity.register(handle).await
    }

    /// Publishes `envelope` as its domain would, and waits (bounded) until `consumer`
    /// recorded it in the inbox of `db`, which it does in the transaction of the effect.
    pub async fn deliver(&self, db: &DatabaseConnection, consumer: &str, envelope: Envelope) {
        self.bus.publish(&envelope).await.expect("publish");
        let key = (consumer.to_owned(), envelope.id);
        for _ in 0..POLLS {
            let applied = inbox::Entity::find_by_id(key.clone())
                .one(db)
                .await
                .expect("inbox");
            if applied.is_some() {
                return;
            }
            tokio::time::sleep(POLL).await;
        }
        panic!("{consumer} did not apply {}", envelope.event_type);
    }
}

/// The bus tuning of tests: redeliveries within a second, quick polls.
fn tuning() -> BusTuning {
    BusTuning {
        ack_wait: Duration::from_secs(1),
        poll_interval: POLL,
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The outbox rows in `db`, as (type, payload), oldest first.
pub async fn outbox(db: &DatabaseConnection) -> Vec<(String, Value)> {
    outbox::Entity::find()
        .order_by_asc(outbox::Column::Seq)
        .all(db)
        .await
        .expect("outbox")
        .into_iter()
        .map(|row| {
            let envelope: Envelope = serde_json::from_str(&row.envelope).expect("envelope");
            (row.event_type, envelope.data)
        })
        .collect()
}
