//! Outbox → JetStream → consumer: throughput and publish-to-handled latency, on
//! Postgres and NATS (never a timed test; it prints figures).
//!
//! ```sh
//! cargo bench -p agora-kit --bench events
//! ```
//!
//! Uses `AGORA_BENCH_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432`, one
//! throw-away database per side) and `AGORA_NATS_URL` (default `nats://127.0.0.1:4222`,
//! streams in a namespace of the run's own, deleted at the end). Two phases:
//!
//! 1. Throughput: `AGORA_BENCH_EVENTS` (20 000) committed outbox rows drained by a relay
//!    into JetStream and applied by a consumer (one effect row each, inbox, batches):
//!    events per second end to end, and the relay's rate alone.
//! 2. Latency: `AGORA_BENCH_RATE` (500) events per second for `AGORA_BENCH_SECS` (10),
//!    one transaction each as a mutation would: p50/p99/max from the envelope's time
//!    (taken before the commit) to the consumer's commit of its effect, and to the
//!    moment the stream stored it (seen by a plain NATS subscriber): the relay's share.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agora_kit::events::{
    BusConfig, BusTuning, Consumer, ConsumerSpec, Envelope, EventBus, EventTablesMigration,
    Handler, HandlerError, OutboxRelay, OutboxUnsentIndexMigration, connect_with, enqueue,
};
use async_trait::async_trait;
use chrono::Utc;
use futures::StreamExt;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, Statement,
    TransactionTrait,
};
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Connections each side's pool keeps open.
const WARM_CONNECTIONS: u32 = 5;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let env =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let number = |name: &str, default: u64| env(name, "").parse().unwrap_or(default);
    let postgres = env(
        "AGORA_BENCH_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432",
    );
    let nats = env("AGORA_NATS_URL", "nats://127.0.0.1:4222");
    let events = number("AGORA_BENCH_EVENTS", 20_000);
    let rate = number("AGORA_BENCH_RATE", 500);
    let secs = number("AGORA_BENCH_SECS", 10);

    let run = Uuid::now_v7().simple().to_string();
    let config = BusConfig {
        nats_url: Some(nats.clone()),
        namespace: format!("b{run}"),
        embedded_db_url: String::new(),
    };
    let bus = connect_with(&config, BusTuning::default()).await?;
    bus.ensure_stream("content").await?;
    let databases = [format!("bench_{run}_pub"), format!("bench_{run}_sub")];
    let admin = Database::connect(format!("{postgres}/postgres")).await?;
    for name in &databases {
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await?;
    }
    let publisher = open(&format!("{postgres}/{}", databases[0])).await?;
    let subscriber = open(&format!("{postgres}/{}", databases[1])).await?;

    // A plain NATS subscriber sees each event when the stream stores it: the relay's share.
    let client = async_nats::connect(&nats).await?;
    let relayed = Arc::new(Mutex::new(Vec::new()));
    let mut stored = client
        .subscribe(format!("{}.content.post.created", config.namespace))
        .await?;
    let seen = relayed.clone();
    tokio::spawn(async move {
        while let Some(message) = stored.next().await {
            if let Ok(envelope) = serde_json::from_slice::<Envelope>(&message.payload) {
                let ms = (Utc::now() - envelope.time).num_microseconds().unwrap_or(0) as f64 / 1e3;
                if let Ok(mut seen) = seen.lock() {
                    seen.push(ms);
                }
            }
        }
    });
    let result = phases(&publisher, &subscriber, &bus, &relayed, events, rate, secs).await;

    publisher.close().await?;
    subscriber.close().await?;
    for name in &databases {
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await?;
    }
    let js = async_nats::jetstream::new(async_nats::connect(&nats).await?);
    let suffix = format!("_{}", config.namespace.to_uppercase());
    let names: Vec<String> = js
        .stream_names()
        .filter_map(|n| async { n.ok() })
        .collect()
        .await;
    for name in names.into_iter().filter(|n| n.ends_with(&suffix)) {
        js.delete_stream(&name).await?;
    }
    result
}

async fn phases(
    publisher: &DatabaseConnection,
    subscriber: &DatabaseConnection,
    bus: &Arc<dyn EventBus>,
    stored_times: &Mutex<Vec<f64>>,
    events: u64,
    rate: u64,
    secs: u64,
) -> Result<(), Error> {
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let applied = Arc::new(AtomicU64::new(0));
    let handler = Arc::new(Effect {
        latencies: latencies.clone(),
        applied: applied.clone(),
    });
    let spec = ConsumerSpec::new("bench", "content", &["content.post.created"]);
    let stop = CancellationToken::new();
    let consumer = Consumer::open(subscriber.clone(), bus, spec, handler).await?;
    let consumer = tokio::spawn(consumer.run(stop.clone()));

    // 1. Throughput: a committed backlog, drained end to end.
    let txn = publisher.begin().await?;
    for n in 0..events {
        enqueue(&txn, &event(n)).await?;
    }
    txn.commit().await?;
    let relay = OutboxRelay::new(publisher.clone(), bus.clone());
    let started = Instant::now();
    let relayed = relay.publish_pending().await?;
    let relay_time = started.elapsed();
    let waker = relay.waker();
    let relay = tokio::spawn(relay.run(stop.clone()));
    wait_for(&applied, events).await?;
    let total = started.elapsed();
    println!(
        "throughput: {events} events outbox → JetStream → consumer in {:.2} s: {:.0} events/s end to end \
         (relay alone {relayed} in {:.2} s: {:.0}/s; consumer lag at the end of relaying {:.2} s)",
        total.as_secs_f64(),
        events as f64 / total.as_secs_f64(),
        relay_time.as_secs_f64(),
        relayed as f64 / relay_time.as_secs_f64(),
        (total - relay_time).as_secs_f64(),
    );

    // 2. Latency at a steady rate, one transaction per event.
    latencies.lock().map_err(|_| "poisoned")?.clear();
    stored_times.lock().map_err(|_| "poisoned")?.clear();
    let count = rate * secs;
    let spacing = Duration::from_secs_f64(1.0 / rate as f64);
    let mut next = tokio::time::Instant::now();
    for n in 0..count {
        let txn = publisher.begin().await?;
        enqueue(&txn, &event(n)).await?;
        txn.commit().await?;
        waker.notify_one();
        next += spacing;
        tokio::time::sleep_until(next).await;
    }
    wait_for(&applied, events + count).await?;
    let handled = percentiles(&latencies.lock().map_err(|_| "poisoned")?);
    let stored = percentiles(&stored_times.lock().map_err(|_| "poisoned")?);
    println!(
        "latency at {rate} events/s for {secs} s ({count} events): publish-to-handled {handled}; \
         of which publish-to-stored (outbox and relay) {stored}"
    );

    stop.cancel();
    let _ = relay.await;
    let _ = consumer.await;
    Ok(())
}

/// "p50 … ms, p99 … ms, max … ms" of `samples`.
fn percentiles(samples: &[f64]) -> String {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    if sorted.is_empty() {
        return "no samples".to_owned();
    }
    let at = |q: f64| sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)];
    format!(
        "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        at(0.50),
        at(0.99),
        sorted[sorted.len() - 1]
    )
}

/// A post-created event with a small payload.
fn event(n: u64) -> Envelope {
    let post = Uuid::now_v7();
    Envelope::new(
        "content",
        "content.post.created",
        post,
        &serde_json::json!({ "id": post, "authorId": Uuid::now_v7(), "body": format!("post {n}") }),
    )
}

/// The consumer's effect: one row per event; records each event's latency once committed.
struct Effect {
    latencies: Arc<Mutex<Vec<f64>>>,
    /// Events whose effect committed (counted here: polling the table would load the
    /// database the bench measures).
    applied: Arc<AtomicU64>,
}

#[async_trait]
impl Handler for Effect {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Envelope,
    ) -> Result<(), HandlerError> {
        txn.execute_raw(Statement::from_sql_and_values(
            txn.get_database_backend(),
            "INSERT INTO effect (event_id) VALUES ($1)",
            [event.id.into()],
        ))
        .await?;
        Ok(())
    }

    async fn committed(&self, _db: &DatabaseConnection, event: &Envelope) {
        let ms = (Utc::now() - event.time).num_microseconds().unwrap_or(0) as f64 / 1_000.0;
        self.applied.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut latencies) = self.latencies.lock() {
            latencies.push(ms);
        }
    }
}

/// Waits until the consumer applied `count` events (bounded: 10 minutes).
async fn wait_for(applied: &AtomicU64, count: u64) -> Result<(), Error> {
    let deadline = Instant::now() + Duration::from_secs(600);
    while Instant::now() < deadline {
        if applied.load(Ordering::Relaxed) >= count {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Err("the consumer did not catch up within 10 minutes".into())
}

/// A side's database: the kit's event tables and the effect table. The pool keeps a few
/// connections open, as a service's pool is after its first moments under load: growing
/// it mid-run cost about 90 ms per new connection, which the latency phase measured as
/// the relay's.
async fn open(url: &str) -> Result<DatabaseConnection, Error> {
    let mut options = ConnectOptions::new(url);
    options.min_connections(WARM_CONNECTIONS);
    let db = Database::connect(options).await?;
    Migrator::up(&db, None).await?;
    db.execute_unprepared("CREATE TABLE effect (event_id UUID NOT NULL)")
        .await?;
    Ok(db)
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
