//! Chaos on real JetStream: events published by three domains through their outboxes
//! while one of four consumer tasks is killed every second and NATS is stopped for a
//! while mid-run; afterwards each consumer's state must equal the state computed from
//! the publishers' event logs: nothing lost, nothing applied twice, and every entity's
//! events applied in order.
//!
//! Runs only in real mode (`AGORA_TEST_NATS_URL` set; Postgres too when
//! `AGORA_TEST_POSTGRES_URL` is), on a `nats-server` of its own (`AGORA_NATS_SERVER`, by
//! default `/usr/sbin/nats-server`, on a free port and a temporary store), since it stops
//! that server. By default the full run: 10 000 events, NATS down 30 s (about 55 s on
//! this machine); `AGORA_CHAOS_EVENTS` and `AGORA_CHAOS_OUTAGE_SECS` make it smaller or
//! larger.

use std::collections::HashMap;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agora_kit::events::{
    Backoff, BusConfig, BusTuning, Consumer, ConsumerSpec, Envelope, EventBus,
    EventTablesMigration, Handler, HandlerError, OutboxRelay, OutboxUnsentIndexMigration,
    connect_admin, connect_with, enqueue,
};
use anyhow::{Context as _, bail};
use async_trait::async_trait;
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, Statement, TransactionTrait,
};
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The publishing domains and the entities each one's events are about.
const PUBLISHERS: [&str; 3] = ["identity", "content", "social"];
const ENTITIES: u32 = 200;

/// Events published back to back before a pause.
const BURST: u32 = 50;

/// What a handler's own work costs, so that batches take a while to apply.
const WORK: Duration = Duration::from_millis(1);

/// The consumers: (subgraph, domain it reads).
const CONSUMERS: [(&str, &str); 4] = [
    ("profiles", "identity"),
    ("social", "content"),
    ("messaging", "social"),
    ("messaging", "content"),
];

/// The payload: the entity's `n`-th change, setting its value.
#[derive(Debug, Serialize, Deserialize)]
struct Changed {
    entity: String,
    n: i64,
    value: i64,
}

/// How big a run is.
struct Plan {
    events: u32,
    outage: Duration,
    /// When NATS stops, after the start of publishing.
    outage_at: Duration,
    /// How long publishing takes (the outage falls inside it).
    publishing: Duration,
}

impl Plan {
    fn from_env() -> Plan {
        let number = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        let events = number("AGORA_CHAOS_EVENTS", 10_000) as u32;
        let outage = Duration::from_secs(number("AGORA_CHAOS_OUTAGE_SECS", 30));
        let outage_at = Duration::from_secs(3);
        Plan {
            events,
            outage,
            outage_at,
            publishing: outage_at + outage + Duration::from_secs(5),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_event_is_lost_or_applied_twice_or_out_of_order_while_consumers_crash_and_nats_goes_down()
-> anyhow::Result<()> {
    if std::env::var("AGORA_TEST_NATS_URL").is_err() {
        eprintln!("AGORA_TEST_NATS_URL is not set; skipping the chaos run");
        return Ok(());
    }
    let plan = Plan::from_env();
    let started = Instant::now();
    let mut nats = NatsServer::start()?;
    let world = World::create(&nats.url()).await?;

    let stop = CancellationToken::new();
    let relays: Vec<JoinHandle<()>> = world
        .publishers
        .iter()
        .map(|p| {
            let relay = OutboxRelay::new(p.db.clone(), world.bus.clone()).with_retry_backoff(
                Backoff::new(Duration::from_millis(50), Duration::from_millis(500)),
            );
            tokio::spawn(relay.run(stop.clone()))
        })
        .collect();
    let mut consumers: Vec<JoinHandle<()>> = (0..CONSUMERS.len())
        .map(|i| world.spawn_consumer(i, stop.clone()))
        .collect();

    // Publish, paced over the plan, from one task per domain.
    let publishing: Vec<JoinHandle<anyhow::Result<()>>> = world
        .publishers
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (db, domain) = (p.db.clone(), p.domain);
            let events = plan.events / 3 + u32::from((i as u32) < plan.events % 3);
            let spacing = plan.publishing / events.max(1);
            tokio::spawn(publish(db, domain, events, spacing, i as u64))
        })
        .collect();

    // Kill a consumer task every second; stop NATS for the outage.
    let mut kills = 0;
    let mut outage = None;
    let publish_start = Instant::now();
    while publishing.iter().any(|p| !p.is_finished()) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let i = kills % consumers.len();
        consumers[i].abort();
        consumers[i] = world.spawn_consumer(i, stop.clone());
        kills += 1;
        let elapsed = publish_start.elapsed();
        if outage.is_none() && elapsed >= plan.outage_at {
            nats.stop()?;
            outage = Some(Instant::now());
        }
        if let Some(down) = outage
            && !nats.running()
            && down.elapsed() >= plan.outage
        {
            nats.restart()?;
        }
    }
    if !nats.running() {
        let down = outage.context("stopped without an outage")?;
        tokio::time::sleep(plan.outage.saturating_sub(down.elapsed())).await;
        nats.restart()?;
    }
    for p in publishing {
        p.await??;
    }
    let published_at = started.elapsed();

    // Drain: every consumer catches up with what its domain published.
    let expected = world.expected().await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut behind = 0;
        for (i, want) in expected.iter().enumerate() {
            let have = world.distinct_applied(i).await?;
            behind += want.events.saturating_sub(have);
        }
        if behind == 0 {
            break;
        }
        if Instant::now() > deadline {
            bail!("consumers still {behind} events behind after 120 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let drained_at = started.elapsed();

    // Every consumer's state equals the state computed from its domain's event log.
    let admin = connect_admin(&world.config).await?;
    let specs: Vec<ConsumerSpec> = (0..CONSUMERS.len()).map(spec).collect();
    let stats = admin.stats(&specs).await?;
    assert!(stats.iter().all(|s| s.pending == 0), "{stats:?}");
    let dead_letters = admin.dead_letters().await?;
    for (domain, disorder) in world.stream_disorder(&nats.url()).await? {
        assert_eq!(disorder, 0, "{domain}: events published out of order");
    }
    for (i, want) in expected.iter().enumerate() {
        let have = world.state(i).await?;
        let (applied, distinct, violations) = world.effects(i).await?;
        let name = &stats[i].consumer;
        assert_eq!(applied, distinct, "{name}: events applied twice");
        assert_eq!(distinct, want.events, "{name}: events lost");
        assert_eq!(violations, 0, "{name}: events applied out of order");
        assert_eq!(
            have, want.state,
            "{name}: state differs from the event log's"
        );
    }
    assert!(dead_letters.is_empty(), "{dead_letters:?}");
    eprintln!(
        "chaos: {} events, {} consumer kills, NATS down {:?}; published in {:.1?}, drained at \
         {:.1?}; 0 lost, 0 applied twice, 0 out of order, 0 dead letters",
        plan.events, kills, plan.outage, published_at, drained_at,
    );

    stop.cancel();
    for task in consumers.into_iter().chain(relays) {
        task.abort();
    }
    world.finish().await
}

/// Publishes `events` changes of random entities of `domain`, one transaction each
/// (state change and outbox row), in bursts of [`BURST`] every `BURST` × `spacing`, so
/// that consumers are often killed with a batch in hand.
async fn publish(
    db: DatabaseConnection,
    domain: &'static str,
    events: u32,
    spacing: Duration,
    seed: u64,
) -> anyhow::Result<()> {
    let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut next = tokio::time::Instant::now();
    let mut published = 0;
    for _ in 0..events {
        let entity = format!("{domain}-{}", rng.next() % u64::from(ENTITIES));
        let value = (rng.next() % 1_000_000) as i64;
        let txn = db.begin().await?;
        let backend = txn.get_database_backend();
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO thing (entity, n, value) VALUES ($1, 1, $2) \
             ON CONFLICT (entity) DO UPDATE SET n = thing.n + 1, value = excluded.value",
            [entity.clone().into(), value.into()],
        ))
        .await?;
        let row = txn
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                "SELECT n FROM thing WHERE entity = $1",
                [entity.clone().into()],
            ))
            .await?
            .context("the thing")?;
        let n: i64 = row.try_get_by_index(0)?;
        let payload = Changed {
            entity: entity.clone(),
            n,
            value,
        };
        let envelope = Envelope::new(
            domain,
            &format!("{domain}.thing.changed"),
            &entity,
            &payload,
        );
        enqueue(&txn, &envelope).await?;
        txn.commit().await?;
        published += 1;
        if published % BURST == 0 {
            next += spacing * BURST;
            tokio::time::sleep_until(next).await;
        }
    }
    Ok(())
}

/// A small deterministic generator (xorshift64), enough to pick entities and values.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The consumers' effect: per entity, how many changes arrived and the last value; an
/// effect row per application; a violation when a change is not the entity's next.
struct Track;

#[async_trait]
impl Handler for Track {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Envelope,
    ) -> Result<(), HandlerError> {
        let change: Changed = event.data_as()?;
        tokio::time::sleep(WORK).await;
        let backend = txn.get_database_backend();
        let last = txn
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                "SELECT last_n FROM seen WHERE consumer = $1 AND entity = $2",
                [event.source.clone().into(), change.entity.clone().into()],
            ))
            .await?
            .map(|row| row.try_get_by_index::<i64>(0))
            .transpose()?
            .unwrap_or(0);
        let in_order = change.n == last + 1;
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO seen (consumer, entity, count, last_n, value) VALUES ($1, $2, 1, $3, $4) \
             ON CONFLICT (consumer, entity) DO UPDATE SET count = seen.count + 1, \
             last_n = excluded.last_n, value = excluded.value",
            [
                event.source.clone().into(),
                change.entity.clone().into(),
                change.n.into(),
                change.value.into(),
            ],
        ))
        .await?;
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO effect (consumer, event_id, in_order) VALUES ($1, $2, $3)",
            [
                event.source.clone().into(),
                event.id.to_string().into(),
                i32::from(in_order).into(),
            ],
        ))
        .await?;
        Ok(())
    }
}

/// The durable consumer number `i` of [`CONSUMERS`].
fn spec(i: usize) -> ConsumerSpec {
    let (name, domain) = CONSUMERS[i];
    let event_type = format!("{domain}.thing.changed");
    ConsumerSpec::new(name, domain, &[event_type.as_str()])
}

/// A domain's database.
struct Publisher {
    domain: &'static str,
    db: DatabaseConnection,
}

/// What a consumer should hold at the end, computed from its domain's event log.
struct Expected {
    events: u64,
    /// entity → (count, last n, value)
    state: HashMap<String, (i64, i64, i64)>,
}

/// The run's databases and bus.
struct World {
    config: BusConfig,
    bus: Arc<dyn EventBus>,
    publishers: Vec<Publisher>,
    /// One database per consuming subgraph, by name.
    subscribers: HashMap<&'static str, DatabaseConnection>,
    /// Postgres server and databases to drop, if on Postgres.
    postgres: Option<(String, Vec<String>)>,
    _dir: tempfile::TempDir,
}

impl World {
    async fn create(nats_url: &str) -> anyhow::Result<World> {
        let dir = tempfile::tempdir()?;
        let run = Uuid::now_v7().simple().to_string();
        let config = BusConfig {
            nats_url: Some(nats_url.to_owned()),
            namespace: format!("c{run}"),
            embedded_db_url: String::new(),
        };
        let tuning = BusTuning {
            ack_wait: Duration::from_secs(1),
            poll_interval: Duration::from_millis(50),
        };
        let bus = connect_with(&config, tuning).await?;
        let server = std::env::var("AGORA_TEST_POSTGRES_URL")
            .ok()
            .map(|s| s.trim_end_matches('/').to_owned());
        let mut names = Vec::new();
        let mut open = async |name: &str| -> anyhow::Result<DatabaseConnection> {
            let url = match &server {
                Some(server) => {
                    let db = format!("chaos_{run}_{name}");
                    let admin = Database::connect(format!("{server}/postgres")).await?;
                    admin
                        .execute_unprepared(&format!("CREATE DATABASE \"{db}\""))
                        .await?;
                    admin.close().await?;
                    names.push(db.clone());
                    format!("{server}/{db}")
                }
                None => format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join(format!("{name}.sqlite")).display()
                ),
            };
            let db = Database::connect(url).await?;
            Migrator::up(&db, None).await?;
            for table in [
                "CREATE TABLE thing (entity TEXT PRIMARY KEY, n BIGINT NOT NULL, value BIGINT NOT NULL)",
                "CREATE TABLE seen (consumer TEXT NOT NULL, entity TEXT NOT NULL, count BIGINT NOT NULL, \
                 last_n BIGINT NOT NULL, value BIGINT NOT NULL, PRIMARY KEY (consumer, entity))",
                "CREATE TABLE effect (consumer TEXT NOT NULL, event_id TEXT NOT NULL, in_order INTEGER NOT NULL)",
            ] {
                db.execute_unprepared(table).await?;
            }
            Ok(db)
        };
        let mut publishers = Vec::new();
        for domain in PUBLISHERS {
            bus.ensure_stream(domain).await?;
            publishers.push(Publisher {
                domain,
                db: open(domain).await?,
            });
        }
        let mut subscribers = HashMap::new();
        for (name, _) in CONSUMERS {
            if !subscribers.contains_key(name) {
                subscribers.insert(name, open(&format!("{name}_sub")).await?);
            }
        }
        Ok(World {
            config,
            bus,
            publishers,
            subscribers,
            postgres: server.map(|s| (s, names)),
            _dir: dir,
        })
    }

    /// Opens consumer `i` (retrying while NATS is down) and runs it until killed.
    fn spawn_consumer(&self, i: usize, stop: CancellationToken) -> JoinHandle<()> {
        let db = self.subscribers[CONSUMERS[i].0].clone();
        let bus = self.bus.clone();
        tokio::spawn(async move {
            loop {
                match Consumer::open(db.clone(), &bus, spec(i), Arc::new(Track)).await {
                    Ok(consumer) => {
                        let consumer = consumer.with_retry_backoff(Backoff::new(
                            Duration::from_millis(50),
                            Duration::from_millis(500),
                        ));
                        return consumer.run(stop).await;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        })
    }

    /// Consumer `i`'s database and the `source` its effects are keyed by.
    fn of(&self, i: usize) -> (&DatabaseConnection, &'static str) {
        let (name, domain) = CONSUMERS[i];
        (&self.subscribers[name], domain)
    }

    /// What each consumer should hold: its domain's things, from the publisher's state,
    /// which the outbox rows (the event log) produced.
    async fn expected(&self) -> anyhow::Result<Vec<Expected>> {
        let mut all = Vec::new();
        for (_, domain) in CONSUMERS {
            let publisher = self
                .publishers
                .iter()
                .find(|p| p.domain == domain)
                .context("publisher")?;
            let log = publisher
                .db
                .query_all_raw(Statement::from_string(
                    publisher.db.get_database_backend(),
                    "SELECT envelope FROM outbox ORDER BY seq",
                ))
                .await?;
            let mut state: HashMap<String, (i64, i64, i64)> = HashMap::new();
            for row in &log {
                let envelope: Envelope = serde_json::from_str(&row.try_get_by_index::<String>(0)?)?;
                let change: Changed = envelope.data_as()?;
                let entry = state.entry(change.entity).or_default();
                *entry = (entry.0 + 1, change.n, change.value);
            }
            all.push(Expected {
                events: log.len() as u64,
                state,
            });
        }
        Ok(all)
    }

    /// Per publishing domain, how many messages of its stream are not their entity's
    /// next change: order lost before any consumer saw the events.
    async fn stream_disorder(&self, nats_url: &str) -> anyhow::Result<Vec<(&'static str, u64)>> {
        let js = async_nats::jetstream::new(async_nats::connect(nats_url).await?);
        let mut disorder = Vec::new();
        for domain in PUBLISHERS {
            let name = format!(
                "{}_{}",
                domain.to_uppercase(),
                self.config.namespace.to_uppercase()
            );
            let mut stream = js.get_stream(&name).await?;
            let last = stream.info().await?.state.last_sequence;
            let mut latest: HashMap<String, i64> = HashMap::new();
            let mut misplaced = 0;
            for seq in 1..=last {
                let message = stream.get_raw_message(seq).await?;
                let change: Changed =
                    serde_json::from_slice::<Envelope>(&message.payload)?.data_as()?;
                let n = latest.entry(change.entity).or_default();
                misplaced += u64::from(change.n != *n + 1);
                *n = change.n;
            }
            disorder.push((domain, misplaced));
        }
        Ok(disorder)
    }

    /// How many distinct events consumer `i` applied.
    async fn distinct_applied(&self, i: usize) -> anyhow::Result<u64> {
        Ok(self.effects(i).await?.1)
    }

    /// Consumer `i`'s effect rows: (all, distinct events, out of order).
    async fn effects(&self, i: usize) -> anyhow::Result<(u64, u64, u64)> {
        let (db, source) = self.of(i);
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT COUNT(*), COUNT(DISTINCT event_id), COUNT(*) - COALESCE(SUM(in_order), 0) \
                 FROM effect WHERE consumer = $1",
                [source.into()],
            ))
            .await?
            .context("counts")?;
        let get =
            |n| -> anyhow::Result<u64> { Ok(u64::try_from(row.try_get_by_index::<i64>(n)?)?) };
        Ok((get(0)?, get(1)?, get(2)?))
    }

    /// Consumer `i`'s state: entity → (count, last n, value).
    async fn state(&self, i: usize) -> anyhow::Result<HashMap<String, (i64, i64, i64)>> {
        let (db, source) = self.of(i);
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT entity, count, last_n, value FROM seen WHERE consumer = $1",
                [source.into()],
            ))
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get_by_index::<String>(0)?,
                    (
                        r.try_get_by_index(1)?,
                        r.try_get_by_index(2)?,
                        r.try_get_by_index(3)?,
                    ),
                ))
            })
            .collect()
    }

    async fn finish(self) -> anyhow::Result<()> {
        for p in self.publishers {
            p.db.close().await?;
        }
        for (_, db) in self.subscribers {
            db.close().await?;
        }
        if let Some((server, names)) = self.postgres {
            let admin = Database::connect(format!("{server}/postgres")).await?;
            for name in names {
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await?;
            }
        }
        Ok(())
    }
}

/// The kit's event tables.
struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(EventTablesMigration),
            Box::new(OutboxUnsentIndexMigration),
        ]
    }
}

/// A `nats-server` of the test's own, which it may stop and start again.
struct NatsServer {
    binary: String,
    port: u16,
    store: tempfile::TempDir,
    child: Option<Child>,
}

impl NatsServer {
    fn start() -> anyhow::Result<NatsServer> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut server = NatsServer {
            binary: std::env::var("AGORA_NATS_SERVER")
                .unwrap_or_else(|_| "/usr/sbin/nats-server".into()),
            port,
            store: tempfile::tempdir()?,
            child: None,
        };
        server.restart()?;
        Ok(server)
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the server on its port and store, and waits until it accepts connections.
    fn restart(&mut self) -> anyhow::Result<()> {
        let child = Command::new(&self.binary)
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(self.store.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", self.binary))?;
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("nats-server did not listen on {}", self.port)
    }

    /// Stops the server cleanly (SIGTERM: JetStream flushes its store) and waits for it.
    fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()?;
            child.wait()?;
        }
        Ok(())
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
