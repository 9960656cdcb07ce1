//! The event plumbing end to end: envelope, outbox and relay, bus, consumer and inbox.
//!
//! Every scenario runs on the embedded bus (a temporary SQLite log) and, when
//! `AGORA_TEST_NATS_URL` is set, on JetStream under a namespace of its own. The
//! subgraph database is a temporary SQLite file, or a fresh Postgres database named by
//! UUID when `AGORA_TEST_POSTGRES_URL` is set. Background work is driven step by step
//! (`publish_pending`, `process_one`); the only waits are for redeliveries.

use std::sync::Arc;
use std::time::Duration;

use agora_kit::events::{
    Backoff, BusConfig, BusTuning, Consumer, ConsumerSpec, Envelope, EventBus, EventError,
    EventStream, EventTablesMigration, Handler, HandlerError, LiveHub, LocalHub, OutboxRelay,
    Outcome, connect_with, enqueue, tables::outbox,
};
use anyhow::Context as _;
use async_trait::async_trait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, Table};
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryOrder,
    TransactionTrait,
};
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Which bus a scenario runs on.
#[derive(Clone, Copy, Debug)]
enum BusKind {
    Embedded,
    JetStream,
}

/// Runs a scenario `async fn name(kind: BusKind) -> anyhow::Result<()>` on both buses, as
/// `name::on_the_embedded_bus` and `name::on_jetstream`.
macro_rules! on_both_buses {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn on_the_embedded_bus() -> anyhow::Result<()> {
                super::$name(super::BusKind::Embedded).await
            }

            #[tokio::test]
            async fn on_jetstream() -> anyhow::Result<()> {
                super::$name(super::BusKind::JetStream).await
            }
        }
    )*};
}

on_both_buses!(
    an_outbox_row_enqueued_in_a_rolled_back_transaction_is_never_published,
    the_relay_publishes_pending_rows_in_order_and_marks_them_sent,
    publishing_the_same_envelope_twice_delivers_it_once,
    the_consumer_applies_the_effect_once_when_the_same_event_is_delivered_twice,
    a_delivery_received_but_never_acked_is_redelivered_to_the_reopened_consumer_and_applied_once,
    an_event_whose_handler_always_fails_is_dead_lettered_and_the_next_one_still_processed,
    a_rejected_event_is_dead_lettered_at_once_without_retries,
    a_consumer_receives_only_the_event_types_it_asked_for,
    a_consumer_idle_over_unwanted_events_still_receives_the_next_wanted_one,
    a_failed_publish_leaves_the_row_pending_until_the_bus_is_back,
    the_running_relay_publishes_when_woken_and_stops_on_shutdown,
);

/// The payload of the test events.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Registered {
    handle: String,
}

fn registered(handle: &str) -> Envelope {
    Envelope::new(
        "identity",
        "identity.user.registered",
        Uuid::now_v7(),
        &Registered {
            handle: handle.to_owned(),
        },
    )
}

#[test]
fn the_envelope_round_trips_through_json_with_cloudevents_attribute_names() -> anyhow::Result<()> {
    let envelope = registered("ada");
    let json = serde_json::to_value(&envelope)?;
    let object = json.as_object().context("envelope is a JSON object")?;
    let mut names: Vec<&str> = object.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "data",
            "datacontenttype",
            "id",
            "source",
            "specversion",
            "subject",
            "time",
            "type"
        ]
    );
    assert_eq!(json["specversion"], "1.0");
    assert_eq!(json["type"], "identity.user.registered");
    assert_eq!(json["datacontenttype"], "application/json");
    assert_eq!(json["id"], envelope.id.to_string());
    assert_eq!(envelope.id.get_version_num(), 7);
    let time = json["time"].as_str().context("time is a string")?;
    assert!(time.ends_with('Z'), "time {time} is RFC 3339 UTC");

    let back: Envelope = serde_json::from_value(json)?;
    assert_eq!(back, envelope);
    assert_eq!(
        back.data_as::<Registered>()?,
        Registered {
            handle: "ada".into()
        }
    );
    Ok(())
}

async fn an_outbox_row_enqueued_in_a_rolled_back_transaction_is_never_published(
    kind: BusKind,
) -> anyhow::Result<()> {
    let Some(h) = Harness::start(kind).await? else {
        return Ok(());
    };
    let (rolled_back, committed) = (registered("ghost"), registered("ada"));
    let txn = h.db.begin().await?;
    enqueue(&txn, &rolled_back).await?;
    txn.rollback().await?;
    let txn = h.db.begin().await?;
    enqueue(&txn, &committed).await?;
    txn.commit().await?;

    let relay = OutboxRelay::new(h.db.clone(), h.bus.clone());
    assert_eq!(relay.publish_pending().await?, 1);
    // Published first, the rolled-back event would be delivered first.
    let mut consumer = h.consumer(Arc::new(Recorder), 5).await?;
    let first = consumer.receive().await?;
    assert_eq!(first.envelope.id, committed.id);
    first.ack().await?;
    assert_eq!(outbox::Entity::find().all(&h.db).await?.len(), 1);
    h.finish().await
}

async fn the_relay_publishes_pending_rows_in_order_and_marks_them_sent(
    kind: BusKind,
) -> anyhow::Result<()> {
    let Some(h) = Harness::start(kind).await? else {
        return Ok(());
    };
    let events = [registered("a"), registered("b"), registered("c")];
    for event in &events {
        let txn = h.db.begin().await?;
        enqueue(&txn, event).await?;
        txn.commit().await?;
    }

    let relay = OutboxRelay::new(h.db.clone(), h.bus.clone());
    assert_eq!(relay.publish_pending().await?, 3);
    let rows = outbox::Entity::find()
        .order_by_asc(outbox::Column::Seq)
        .all(&h.db)
        .await?;
    assert_eq!(
        rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        events.iter().map(|e| e.id).collect::<Vec<_>>()
    );
    assert!(rows.iter().all(|r| r.sent_at.is_some()), "all marked sent");
    assert_eq!(relay.publish_pending().await?, 0, "nothing is sent twice");

    let mut consumer = h.consumer(Arc::new(Recorder), 5).await?;
    for event in &events {
        let delivery = consumer.receive().await?;
        assert_eq!(delivery.envelope.id, event.id);
        delivery.ack().await?;
    }
    h.finish().await
}

async fn publishing_the_same_envelope_twice_delivers_it_once(kind: BusKind) -> anyhow::Result<()> {
    let Some(h) = Harness::start(kind).await? else {
        return Ok(());
    };
    let (twice, after) = (registered("twice"), registered("after"));
    h.bus.publish(&twice).await?;
    h.bus.publish(&twice).await?;
    h.bus.publish(&after).await?;

    let mut consumer = h.consumer(Arc::new(Recorder), 5).await?;
    let first = consumer.receive().await?;
    assert_eq!(first.envelope.id, twice.id);
    first.ack().await?;
    let second = consumer.receive().await?;
    assert_eq!(second.envelope.id, after.id, "the duplicate was dropped");
    second.ack().await?;
    h.finish().await
}

async fn the_consumer_applies_the_effect_once_when_the_same_event_is_delivered_twice(
    kind: BusKind,
) -> anyhow::Result<()> {
    let Some(h) = Harness::start(kind).await? else {
        return Ok(());
    };
    let event = registered("slow");
    h.bus.publish(&event).await?;

    // Two instances of one consumer; the first is too slow to ack within the ack wait,
    // so the bus hands the event to the second as well.
    let mut slow = h.consumer(Arc::new(Recorder), 5).await?;
    let mut fast = h.consumer(Arc::new(Recorder), 5).await?;
    let first = slow.receive().await?;
    let second = fast.receive().await?;
    assert_eq!(second.envelope.id, first.envelope.id);
    assert!(second.attempt > first.attempt);

    assert_eq!(fast.process_delivery(second).await?, Outcome::Applied);
    assert_eq!(slow.process_delivery(first).await?, Outcome::Duplicate);
    assert_eq!(h.effects(event.id).await?, 1);
    h.finish().await
}

async fn a_delivery_received_but_never_acked_is_redelivered_to_the_reopened_consumer_and_applied_once(
    kind: BusKind,
) -> anyhow::Result<()> {
    let Some(h) = Harness::start(kind).await? else {
        return Ok(());
    };
    let event = registered("crash");
    h.bus.publish(&event).await?;

    let mut consumer = h.consumer(Arc::new(Recorder), 5).await?;
    let lost = consumer.receive().await?;
    assert_eq!(lost.envelope.id, event.id);
    // The process dies between receipt and ack.
    drop(lost);
    drop(consumer);

    let mut reopened = h.consumer(Arc::new(Recorder), 5).await?;
    assert_eq!(reopened.process_one().await?, Outcome::Applied);
    assert_eq!(h.effects(event.id).await?, 1);

    // Nothing else is pending: the next delivery is a new event, not the old one again.
    let next = registered("next");
    h.bus.publish(&next).await?;
    assert_eq!(reopened.process_one().await?, Outcome::Applied);
    assert_eq!(h.effects(event.id).await?, 1);
    assert_eq!(h.effects(next.id).await?, 1);
    h.finish().await
}

async fn an_event_whose_handler_always_fails_is_dead_lettered_and_the_next_one_still_processed(
    kind: BusKind,
) -> anyhow::Result<()> {
    let Some(h) = Harness::start(kind).await? else {
        return Ok(());
    };
    let (poison, healthy) = (registered("poison"), registered("healthy"));
    h.bus.publish(&poison).await?;
    h.bus.publish(&healthy).await?;

    let max_deliver = 3;
    let mut consumer = h.consumer(Arc::new(FailOn("poison")), max_deliver).await?;
    for _ in 1..max_deliver {
        assert_eq!(consumer.process_one().await?, Outcome::Retried);
    }
    assert_eq!(consumer.process_one().await?, Outcome::DeadLettered);
    assert_eq!(
        h.effects(poison.id).await?,
        0,
        "failed attempts left no effect"
    );

    assert_eq!(consumer.process_one().await?, Outcome::Applied);
    assert_eq!(h.effects(healthy.id).await?, 1);
    h.finish().await
}

async fn a_rejected_event_is_dead_lettered_at_once_without_retries(
    kind: BusKind,
) -> anyhow::Result<()> {
    let Some(h) = Harness::start(kind).await? else {
        return Ok(());
    };
    let (malformed, healthy) = (
        Envelope::new(
            "identity",
            "identity.user.registered",
            "u1",
            &"not an object",
        ),
        registered("healthy"),
    );
    h.bus.publish(&malformed).await?;
    h.bus.publish(&healthy).await?;

    let mut consumer = h.consumer(Arc::new(FailOn("nobody")), 5).await?;
    assert_eq!(consumer.process_one().await?, Outcome::DeadLettered);
    assert_eq!(h.dead_letters().await?, 1);
    let next = consumer.receive().await?;
    assert_eq!(next.envelope.id, healthy.id);
    assert_eq!(next.attempt, 1);
    h.finish().await
}

async fn a_consumer_receives_only_the_event_types_it_asked_for(
    kind: BusKind,
) -> anyhow::Result<()> {
    let Some(h) = Harness::start(kind).await? else {
        return Ok(());
    };
    let wanted = registered("wanted");
    let renamed = Envelope::new("identity", "identity.user.renamed", "u1", &"x");
    let deleted = Envelope::new("identity", "identity.user.deleted", "u1", &"x");
    for event in [&wanted, &renamed, &deleted] {
        h.bus.publish(event).await?;
    }

    let spec = ConsumerSpec {
        name: "profiles".into(),
        domain: "identity".into(),
        event_types: vec![
            "identity.user.registered".into(),
            "identity.user.deleted".into(),
        ],
        max_deliver: 5,
    };
    let mut stream = h.bus.subscribe(&spec).await?;
    for expected in [&wanted, &deleted] {
        let delivery = stream.next().await?;
        assert_eq!(delivery.envelope.id, expected.id);
        delivery.ack().await?;
    }
    h.finish().await
}

async fn a_consumer_idle_over_unwanted_events_still_receives_the_next_wanted_one(
    kind: BusKind,
) -> anyhow::Result<()> {
    let Some(h) = Harness::start(kind).await? else {
        return Ok(());
    };
    let spec = ConsumerSpec {
        name: "content".into(),
        domain: "identity".into(),
        event_types: vec!["identity.user.deleted".into()],
        max_deliver: 5,
    };
    let mut stream = h.bus.subscribe(&spec).await?;
    for handle in ["ada", "bob", "cy"] {
        h.bus.publish(&registered(handle)).await?;
    }
    let idle = tokio::time::timeout(Duration::from_millis(300), stream.next()).await;
    assert!(idle.is_err(), "nothing it asked for was published");

    let deleted = Envelope::new("identity", "identity.user.deleted", "u1", &"x");
    h.bus.publish(&registered("dee")).await?;
    h.bus.publish(&deleted).await?;
    let delivery = stream.next().await?;
    assert_eq!(delivery.envelope.id, deleted.id);
    delivery.ack().await?;
    h.finish().await
}

async fn a_failed_publish_leaves_the_row_pending_until_the_bus_is_back(
    kind: BusKind,
) -> anyhow::Result<()> {
    let Some(h) = Harness::start(kind).await? else {
        return Ok(());
    };
    let event = registered("patient");
    let txn = h.db.begin().await?;
    enqueue(&txn, &event).await?;
    txn.commit().await?;

    let down = OutboxRelay::new(h.db.clone(), Arc::new(DownBus));
    assert!(down.publish_pending().await.is_err());
    let row = outbox::Entity::find()
        .one(&h.db)
        .await?
        .context("the row")?;
    assert_eq!((row.sent_at, row.attempts), (None, 1));

    let up = OutboxRelay::new(h.db.clone(), h.bus.clone());
    assert_eq!(up.publish_pending().await?, 1);
    let mut consumer = h.consumer(Arc::new(Recorder), 5).await?;
    assert_eq!(consumer.process_one().await?, Outcome::Applied);
    assert_eq!(h.effects(event.id).await?, 1);
    h.finish().await
}

async fn the_running_relay_publishes_when_woken_and_stops_on_shutdown(
    kind: BusKind,
) -> anyhow::Result<()> {
    let Some(h) = Harness::start(kind).await? else {
        return Ok(());
    };
    let relay = OutboxRelay::new(h.db.clone(), h.bus.clone());
    let waker = relay.waker();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(relay.run(shutdown.clone()));

    let event = registered("live");
    let txn = h.db.begin().await?;
    enqueue(&txn, &event).await?;
    txn.commit().await?;
    waker.notify_one();

    let mut consumer = h.consumer(Arc::new(Recorder), 5).await?;
    let delivered = tokio::time::timeout(Duration::from_secs(10), consumer.process_one())
        .await
        .context("the relay published within 10 s")??;
    assert_eq!(delivered, Outcome::Applied);
    assert_eq!(h.effects(event.id).await?, 1);

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .context("the relay stopped within 10 s")??;
    h.finish().await
}

/// A bus whose broker is unreachable.
struct DownBus;

#[async_trait]
impl EventBus for DownBus {
    async fn publish(&self, _: &Envelope) -> Result<(), EventError> {
        Err(EventError::Bus("connection refused".into()))
    }

    async fn subscribe(&self, _: &ConsumerSpec) -> Result<Box<dyn EventStream>, EventError> {
        Err(EventError::Bus("connection refused".into()))
    }

    async fn ensure_stream(&self, _: &str) -> Result<(), EventError> {
        Err(EventError::Bus("connection refused".into()))
    }

    fn live(&self) -> Arc<dyn LiveHub> {
        Arc::new(LocalHub::new())
    }
}

/// Records each event it handles as a row of `effect`.
struct Recorder;

#[async_trait]
impl Handler for Recorder {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Envelope,
    ) -> Result<(), HandlerError> {
        let insert = Query::insert()
            .into_table(Alias::new("effect"))
            .columns([Alias::new("event_id")])
            .values([event.id.to_string().into()])
            .map_err(HandlerError::reject)?
            .to_owned();
        txn.execute(&insert).await?;
        Ok(())
    }
}

/// Fails retryably on events whose handle is `.0`, records the others.
struct FailOn(&'static str);

#[async_trait]
impl Handler for FailOn {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Envelope,
    ) -> Result<(), HandlerError> {
        // Record first so that a missing rollback would show as an effect.
        Recorder.handle(txn, event).await?;
        if event.data_as::<Registered>()?.handle == self.0 {
            return Err(HandlerError::retry("downstream unavailable"));
        }
        Ok(())
    }
}

/// The test's migrations: the kit's event tables, then a table the handlers write to.
struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(EventTablesMigration)]
    }
}

/// One scenario's world: its own subgraph database, bus and namespace.
struct Harness {
    kind: BusKind,
    db: DatabaseConnection,
    bus: Arc<dyn EventBus>,
    namespace: String,
    /// The Postgres server URL and database name to drop at the end, if on Postgres.
    postgres: Option<(String, String)>,
    /// Holds the SQLite files until the end.
    dir: tempfile::TempDir,
}

impl Harness {
    /// Sets up, or returns `None` for a JetStream scenario without `AGORA_TEST_NATS_URL`.
    async fn start(kind: BusKind) -> anyhow::Result<Option<Harness>> {
        let nats_url = match kind {
            BusKind::Embedded => None,
            BusKind::JetStream => match std::env::var("AGORA_TEST_NATS_URL") {
                Ok(url) => Some(url),
                Err(_) => {
                    eprintln!("AGORA_TEST_NATS_URL is not set; skipping the JetStream run");
                    return Ok(None);
                }
            },
        };
        let dir = tempfile::tempdir()?;
        let namespace = format!("t{}", Uuid::now_v7().simple());
        let config = BusConfig {
            nats_url,
            namespace: namespace.clone(),
            embedded_db_url: format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("events.sqlite").display()
            ),
        };
        let tuning = BusTuning {
            ack_wait: Duration::from_secs(1),
            poll_interval: Duration::from_millis(50),
        };
        let bus = connect_with(&config, tuning).await?;
        bus.ensure_stream("identity").await?;

        let (db, postgres) = match std::env::var("AGORA_TEST_POSTGRES_URL") {
            Ok(server) => {
                let server = server.trim_end_matches('/').to_owned();
                let name = format!("test_{}", Uuid::now_v7().simple());
                let admin = Database::connect(&server).await?;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await?;
                admin.close().await?;
                let db = Database::connect(format!("{server}/{name}")).await?;
                (db, Some((server, name)))
            }
            Err(_) => {
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("subgraph.sqlite").display()
                );
                (Database::connect(url).await?, None)
            }
        };
        Migrator::up(&db, None).await?;
        let effect = Table::create()
            .table(Alias::new("effect"))
            .col(
                sea_orm::sea_query::ColumnDef::new(Alias::new("event_id"))
                    .string()
                    .not_null(),
            )
            .to_owned();
        db.execute(&effect).await?;

        Ok(Some(Harness {
            kind,
            db,
            bus,
            namespace,
            postgres,
            dir,
        }))
    }

    /// Opens the scenario's consumer of identity events with tiny retry delays.
    async fn consumer(
        &self,
        handler: Arc<dyn Handler>,
        max_deliver: u32,
    ) -> anyhow::Result<Consumer> {
        let spec = ConsumerSpec {
            name: "profiles".into(),
            domain: "identity".into(),
            event_types: vec!["identity.user.registered".into()],
            max_deliver,
        };
        Ok(Consumer::open(self.db.clone(), &self.bus, spec, handler)
            .await?
            .with_retry_backoff(Backoff::new(
                Duration::from_millis(10),
                Duration::from_millis(50),
            )))
    }

    /// How many times the effect of `event_id` was committed.
    async fn effects(&self, event_id: Uuid) -> anyhow::Result<i64> {
        let count = Query::select()
            .expr(Expr::col(Alias::new("event_id")).count())
            .from(Alias::new("effect"))
            .and_where(Expr::col(Alias::new("event_id")).eq(event_id.to_string()))
            .to_owned();
        let row = self.db.query_one(&count).await?.context("a count row")?;
        Ok(row.try_get_by_index::<i64>(0)?)
    }

    /// How many dead letters the bus holds (read from its storage, as `agora events` would).
    async fn dead_letters(&self) -> anyhow::Result<u64> {
        match self.kind {
            BusKind::Embedded => {
                let url = format!(
                    "sqlite://{}?mode=ro",
                    self.dir.path().join("events.sqlite").display()
                );
                let log = Database::connect(url).await?;
                let count = Query::select()
                    .expr(Expr::col(Alias::new("seq")).count())
                    .from(Alias::new("dead_letter"))
                    .to_owned();
                let row = log.query_one(&count).await?.context("a count row")?;
                Ok(u64::try_from(row.try_get_by_index::<i64>(0)?)?)
            }
            BusKind::JetStream => {
                let url = std::env::var("AGORA_TEST_NATS_URL")?;
                let js = async_nats::jetstream::new(async_nats::connect(url).await?);
                let name = format!("DEADLETTER_{}", self.namespace.to_uppercase());
                let mut stream = js.get_stream(name).await?;
                Ok(stream.info().await?.state.messages)
            }
        }
    }

    /// Deletes what the scenario created outside its temporary directory.
    async fn finish(self) -> anyhow::Result<()> {
        self.db.close().await?;
        if let Some((server, name)) = self.postgres {
            let admin = Database::connect(&server).await?;
            admin
                .execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
                .await?;
            admin.close().await?;
        }
        if let (BusKind::JetStream, Ok(url)) = (self.kind, std::env::var("AGORA_TEST_NATS_URL")) {
            let js = async_nats::jetstream::new(async_nats::connect(url).await?);
            let suffix = format!("_{}", self.namespace.to_uppercase());
            for domain in ["IDENTITY", "DEADLETTER"] {
                // Absent streams (no dead letters) are fine.
                let _ = js.delete_stream(format!("{domain}{suffix}")).await;
            }
        }
        Ok(())
    }
}
