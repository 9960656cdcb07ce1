//! The event plumbing end to end: envelope, outbox and relay, bus, consumer and inbox.
//!
//! Every scenario runs on the embedded bus (a temporary SQLite log) and, when
//! `AGORA_TEST_NATS_URL` is set, on JetStream under a namespace of its own. The
//! subgraph database is a temporary SQLite file, or a fresh Postgres database named by
//! UUID when `AGORA_TEST_POSTGRES_URL` is set. Background work is driven step by step
//! (`publish_pending`, `process_one`); the only waits are for redeliveries.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering as AtomicOrdering};
use std::time::Duration;

use agora_kit::events::erasure::{Eraser, USER_DELETED};
use agora_kit::events::{
    Backoff, BusConfig, BusTuning, Consumer, ConsumerSpec, Envelope, EventBus, EventError,
    EventStream, EventTablesMigration, Handler, HandlerError, LiveHub, LocalHub, OutboxRelay,
    OutboxUnsentIndexMigration, Outcome, connect_with, enqueue, tables::outbox,
};
use agora_kit::events::{ErasedUsersMigration, EventAdmin, ReplaySelection, connect_admin};
use anyhow::Context as _;
use async_trait::async_trait;
use futures::StreamExt;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, Table};
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryOrder,
    TransactionTrait,
};
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use serde::{Deserialize, Serialize};
use serde_json::json;
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
    a_poison_event_is_dead_lettered_after_max_deliver_without_holding_up_later_events_and_replayed_once_fixed,
    a_failing_event_is_retried_in_place_so_the_events_behind_it_stay_in_order,
    an_event_whose_deliveries_run_out_unsettled_is_listed_as_a_dead_letter,
    a_consumer_restarted_after_a_crash_applies_the_unsettled_events_before_newer_ones,
    sent_outbox_rows_are_pruned_after_the_retention_period_and_pending_ones_kept,
    applying_the_topology_twice_changes_nothing_the_second_time,
    stats_count_a_consumer_s_pending_and_dead_lettered_events,
    a_rejected_event_is_dead_lettered_at_once_without_retries,
    a_consumer_receives_only_the_event_types_it_asked_for,
    a_consumer_idle_over_unwanted_events_still_receives_the_next_wanted_one,
    a_failed_publish_leaves_the_row_pending_until_the_bus_is_back,
    the_running_relay_publishes_when_woken_and_stops_on_shutdown,
);

/// Two instances of a service over one Postgres database and one JetStream: both write
/// events, both relays and both consumers run at once, and still every event is published
/// once and applied once. (Several instances are a Postgres deployment: over one SQLite
/// file there is only ever one.)
#[tokio::test]
async fn a_closed_embedded_bus_leaves_its_log_checkpointed_and_closed() -> anyhow::Result<()> {
    let h = Harness::start(BusKind::Embedded)
        .await?
        .context("the embedded bus needs no server")?;
    h.bus.publish(&registered("ada")).await?;
    let wal = h.dir.path().join("events.sqlite-wal");
    assert!(wal.exists(), "the publish went to the write-ahead log");
    h.bus.close().await;
    assert!(!wal.exists(), "the log was checkpointed and removed");
    let published = h.bus.publish(&registered("grace")).await;
    assert!(published.is_err(), "a closed bus takes no more events");
    h.finish().await
}

#[tokio::test]
async fn two_instances_over_one_database_and_bus_publish_and_apply_each_event_once()
-> anyhow::Result<()> {
    let Some(h) = Harness::start(BusKind::JetStream).await? else {
        return Ok(());
    };
    let Some((server, name)) = h.postgres.clone() else {
        eprintln!("AGORA_TEST_POSTGRES_URL is not set; skipping");
        return h.finish().await;
    };
    let other_db = Database::connect(format!("{server}/{name}")).await?;
    let other_bus = connect_with(&h.config, BusTuning::default()).await?;
    let events: Vec<Envelope> = (0..200).map(|n| registered(&format!("u{n}"))).collect();
    for (n, event) in events.iter().enumerate() {
        let db = if n % 2 == 0 { &h.db } else { &other_db };
        let txn = db.begin().await?;
        enqueue(&txn, event).await?;
        txn.commit().await?;
    }

    let buses = [
        Arc::new(Counting::new(h.bus.clone())),
        Arc::new(Counting::new(other_bus.clone())),
    ];
    let stop = CancellationToken::new();
    let relays = [(&h.db, &buses[0]), (&other_db, &buses[1])].map(|(db, bus)| {
        let relay = OutboxRelay::new(db.clone(), bus.clone() as Arc<dyn EventBus>);
        tokio::spawn(relay.run(stop.clone()))
    });
    let first = h.consumer(Arc::new(Recorder), 5).await?;
    let second =
        Consumer::open(other_db.clone(), &other_bus, h.spec(5), Arc::new(Recorder)).await?;
    let consumers = [h.run(first), h.run(second)];
    h.wait_applied(&events.iter().collect::<Vec<_>>()).await?;
    stop.cancel();
    for relay in relays {
        relay.await?;
    }
    for consumer in consumers {
        consumer.stop().await?;
    }

    let mut published: Vec<Uuid> = buses.iter().flat_map(|bus| bus.published()).collect();
    published.sort();
    let mut expected: Vec<Uuid> = events.iter().map(|e| e.id).collect();
    expected.sort();
    assert_eq!(
        published, expected,
        "each event published once, by one relay"
    );
    let mut applied = h.applied().await?;
    applied.sort();
    assert_eq!(
        applied, expected,
        "each event applied once, by one consumer"
    );
    other_db.close().await?;
    h.finish().await
}

/// The relay and a consumer wait out an outage of their database (its connections cut
/// and refused for two seconds) and then publish and apply everything once, in order.
/// Postgres only: the outage is the server refusing the test database.
#[tokio::test]
async fn a_database_outage_is_waited_out_and_everything_is_applied_once_in_order()
-> anyhow::Result<()> {
    let Some(h) = Harness::start(BusKind::JetStream).await? else {
        return Ok(());
    };
    let Some((server, name)) = h.postgres.clone() else {
        eprintln!("AGORA_TEST_POSTGRES_URL is not set; skipping");
        return h.finish().await;
    };
    let before: Vec<Envelope> = (0..20).map(|n| registered(&format!("b{n}"))).collect();
    for event in &before {
        let txn = h.db.begin().await?;
        enqueue(&txn, event).await?;
        txn.commit().await?;
    }
    let stop = CancellationToken::new();
    let relay = OutboxRelay::new(h.db.clone(), h.bus.clone()).with_retry_backoff(Backoff::new(
        Duration::from_millis(10),
        Duration::from_millis(200),
    ));
    let relay = tokio::spawn(relay.run(stop.clone()));
    let consumer = h.run(h.consumer(Arc::new(Recorder), 5).await?);
    h.wait_applied(&before.iter().collect::<Vec<_>>()).await?;

    let admin = Database::connect(&server).await?;
    admin
        .execute_unprepared(&format!(
            "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .await?;
    let during: Vec<Envelope> = (0..20).map(|n| registered(&format!("d{n}"))).collect();
    for event in &during {
        h.bus.publish(event).await?;
    }
    // The outage lasts a while: the consumer fails and backs off meanwhile.
    tokio::time::sleep(Duration::from_secs(2)).await;
    admin
        .execute_unprepared(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"))
        .await?;
    admin.close().await?;
    // The relay, which failed to poll meanwhile, publishes what is written after.
    let after: Vec<Envelope> = (0..5).map(|n| registered(&format!("a{n}"))).collect();
    for event in &after {
        let txn = h.db.begin().await?;
        enqueue(&txn, event).await?;
        txn.commit().await?;
    }

    let everything: Vec<&Envelope> = before.iter().chain(&during).chain(&after).collect();
    h.wait_applied(&everything).await?;
    assert_eq!(
        h.applied().await?,
        everything.iter().map(|e| e.id).collect::<Vec<_>>(),
        "each applied once, in order"
    );
    consumer.stop().await?;
    stop.cancel();
    relay.await?;
    h.finish().await
}

/// The real bus, counting what goes through `publish` and `publish_all`.
struct Counting {
    bus: Arc<dyn EventBus>,
    published: std::sync::Mutex<Vec<Uuid>>,
}

impl Counting {
    fn new(bus: Arc<dyn EventBus>) -> Self {
        Self {
            bus,
            published: std::sync::Mutex::default(),
        }
    }

    /// The ids of the events acknowledged through this bus.
    fn published(&self) -> Vec<Uuid> {
        self.published.lock().unwrap().clone()
    }
}

#[async_trait]
impl EventBus for Counting {
    async fn publish(&self, envelope: &Envelope) -> Result<(), EventError> {
        self.bus.publish(envelope).await?;
        self.published.lock().unwrap().push(envelope.id);
        Ok(())
    }

    async fn publish_all(&self, envelopes: &[Envelope]) -> (usize, Option<EventError>) {
        let (sent, failure) = self.bus.publish_all(envelopes).await;
        let mut published = self.published.lock().unwrap();
        published.extend(envelopes[..sent].iter().map(|e| e.id));
        (sent, failure)
    }

    async fn subscribe(&self, spec: &ConsumerSpec) -> Result<Box<dyn EventStream>, EventError> {
        self.bus.subscribe(spec).await
    }

    async fn ensure_stream(&self, domain: &str) -> Result<(), EventError> {
        self.bus.ensure_stream(domain).await
    }

    fn live(&self) -> Arc<dyn LiveHub> {
        self.bus.live()
    }
}

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

async fn a_poison_event_is_dead_lettered_after_max_deliver_without_holding_up_later_events_and_replayed_once_fixed(
    kind: BusKind,
) -> anyhow::Result<()> {
    let Some(h) = Harness::start(kind).await? else {
        return Ok(());
    };
    let (poison, healthy) = (registered("poison"), registered("healthy"));
    h.bus.publish(&poison).await?;
    h.bus.publish(&healthy).await?;

    let handler = Arc::new(Flaky::new("poison", u32::MAX));
    let running = h.run(h.consumer(handler.clone(), 3).await?);
    h.wait_applied(&[&healthy]).await?;
    assert_eq!(
        h.effects(poison.id).await?,
        0,
        "failed attempts left no effect"
    );

    let admin = h.admin().await?;
    let letters = admin.dead_letters().await?;
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0];
    assert_eq!(letter.consumer, h.durable());
    assert_eq!(letter.attempts, 3);
    assert!(
        letter.error.contains("downstream unavailable"),
        "{}",
        letter.error
    );
    assert_eq!(letter.event.as_ref().map(|e| e.id), Some(poison.id));
    let stats = admin.stats(&[h.spec(3)]).await?;
    assert_eq!((stats[0].dead_lettered, stats[0].pending), (1, 0));

    handler.fix();
    assert_eq!(admin.replay(&ReplaySelection::Id(letter.id)).await?, 1);
    h.wait_applied(&[&poison]).await?;
    assert_eq!(h.applied().await?, [healthy.id, poison.id]);
    assert!(admin.dead_letters().await?.is_empty());
    running.stop().await?;
    h.finish().await
}

async fn an_event_whose_deliveries_run_out_unsettled_is_listed_as_a_dead_letter(
    kind: BusKind,
) -> anyhow::Result<()> {
    let Some(h) = Harness::start(kind).await? else {
        return Ok(());
    };
    let doomed = registered("doomed");
    h.bus.publish(&doomed).await?;
    // Two runs die holding it (a handler that crashes the process, say).
    for _ in 0..2 {
        let mut stream = h.bus.subscribe(&h.spec(2)).await?;
        let delivery = stream.next().await?;
        assert_eq!(delivery.envelope.id, doomed.id);
    }
    // The next run finds the bus gave up on it, and goes on with the next event.
    let next = registered("next");
    h.bus.publish(&next).await?;
    let running = h.run(h.consumer(Arc::new(Recorder), 2).await?);
    h.wait_applied(&[&next]).await?;

    let admin = h.admin().await?;
    let mut letters = admin.dead_letters().await?;
    for _ in 0..100 {
        if !letters.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        letters = admin.dead_letters().await?;
    }
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].consumer, h.durable());
    assert_eq!(letters[0].attempts, 2);
    assert_eq!(letters[0].event.as_ref().map(|e| e.id), Some(doomed.id));
    assert_eq!(h.applied().await?, [next.id]);
    running.stop().await?;
    h.finish().await
}

async fn a_failing_event_is_retried_in_place_so_the_events_behind_it_stay_in_order(
    kind: BusKind,
) -> anyhow::Result<()> {
    let Some(h) = Harness::start(kind).await? else {
        return Ok(());
    };
    let events = [registered("flaky"), registered("a"), registered("b")];
    for event in &events {
        h.bus.publish(event).await?;
    }
    let running = h.run(h.consumer(Arc::new(Flaky::new("flaky", 2)), 5).await?);
    h.wait_applied(&events.iter().collect::<Vec<_>>()).await?;
    assert_eq!(
        h.applied().await?,
        events.iter().map(|e| e.id).collect::<Vec<_>>()
    );
    running.stop().await?;
    h.finish().await
}

async fn a_consumer_restarted_after_a_crash_applies_the_unsettled_events_before_newer_ones(
    kind: BusKind,
) -> anyhow::Result<()> {
    let Some(h) = Harness::start(kind).await? else {
        return Ok(());
    };
    let events: Vec<Envelope> = (0..5).map(|n| registered(&format!("u{n}"))).collect();
    for event in &events[..3] {
        h.bus.publish(event).await?;
    }
    // The first run takes a batch and dies with it unsettled.
    let mut crashed = h.bus.subscribe(&h.spec(5)).await?;
    let batch = crashed.next_batch(10).await?;
    assert_eq!(batch[0].envelope.id, events[0].id);
    drop(batch);
    drop(crashed);
    for event in &events[3..] {
        h.bus.publish(event).await?;
    }

    h.applies_in_order(
        h.consumer(Arc::new(Recorder), 5).await?,
        &events,
        "the crashed batch first, in order",
    )
    .await?;
    h.finish().await
}

/// The server hands a crashed run's deliveries out again each after its own delay (here
/// the first one was put off, the others just expire), so they come back out of order;
/// the next run still applies them, and what came after, in stream order.
#[tokio::test]
async fn a_crashed_run_s_events_coming_back_out_of_order_are_applied_in_stream_order()
-> anyhow::Result<()> {
    let Some(h) = Harness::start(BusKind::JetStream).await? else {
        return Ok(());
    };
    let events: Vec<Envelope> = (0..5).map(|n| registered(&format!("u{n}"))).collect();
    for event in &events[..4] {
        h.bus.publish(event).await?;
    }
    let mut crashed = h.bus.subscribe(&h.spec(5)).await?;
    let mut batch = crashed.next_batch(10).await?.into_iter();
    let first = batch.next().context("the first event")?;
    assert_eq!(first.envelope.id, events[0].id);
    first.nak(Duration::from_secs(3)).await?;
    drop(batch);
    drop(crashed);
    h.bus.publish(&events[4]).await?;

    h.applies_in_order(
        h.consumer(Arc::new(Recorder), 5).await?,
        &events,
        "in stream order",
    )
    .await?;
    h.finish().await
}

/// A delivery can go elsewhere while a run is open (to a dropped run's pull request the
/// server still served, or lost with a connection); it comes back only after its ack
/// wait. The run that sees the skipped delivery applies it before what came after.
#[tokio::test]
async fn a_delivery_that_went_elsewhere_is_applied_before_the_events_after_it() -> anyhow::Result<()>
{
    let Some(h) = Harness::start(BusKind::JetStream).await? else {
        return Ok(());
    };
    let events: Vec<Envelope> = (0..3).map(|n| registered(&format!("u{n}"))).collect();
    let consumer = h.consumer(Arc::new(Recorder), 5).await?;
    let mut elsewhere = h.bus.subscribe(&h.spec(5)).await?;
    h.bus.publish(&events[0]).await?;
    let taken = elsewhere.next_batch(1).await?;
    assert_eq!(taken[0].envelope.id, events[0].id);
    drop((taken, elsewhere));
    for event in &events[1..] {
        h.bus.publish(event).await?;
    }

    h.applies_in_order(consumer, &events, "in stream order")
        .await?;
    h.finish().await
}

/// A consumer given the subgraph's eraser erases and confirms a deleted account; an event
/// about the account applied after that (it was in flight on another stream) is followed,
/// in its transaction, by the erasure again; other accounts' rows stay.
#[tokio::test]
async fn an_event_naming_an_erased_account_does_not_bring_its_data_back() -> anyhow::Result<()> {
    let Some(h) = Harness::start(BusKind::Embedded).await? else {
        return Ok(());
    };
    let mut consumer = h
        .consumer(Arc::new(Authors), 5)
        .await?
        .with_eraser(Arc::new(Forget));
    let (erased, other) = (Uuid::now_v7(), Uuid::now_v7());
    consumer.apply(&authored(erased)).await?;
    let deleted = Envelope::new("identity", USER_DELETED, erased, &json!({ "id": erased }));
    consumer.apply(&deleted).await?;
    assert_eq!(h.rows_of(erased).await?, 0, "erased");
    let confirmations: Vec<String> = outbox::Entity::find()
        .all(&h.db)
        .await?
        .into_iter()
        .map(|row| row.event_type)
        .collect();
    assert_eq!(confirmations, [format!("{}.user.erased", h.spec(5).name)]);

    consumer.apply(&authored(erased)).await?;
    consumer.apply(&authored(other)).await?;
    assert_eq!(
        h.rows_of(erased).await?,
        0,
        "a late event did not bring it back"
    );
    assert_eq!(h.rows_of(other).await?, 1, "another account's row stays");
    h.finish().await
}

/// A post by `author`, who is named in the payload only.
fn authored(author: Uuid) -> Envelope {
    Envelope::new(
        "content",
        "content.post.created",
        Uuid::now_v7(),
        &json!({ "post": { "author": author.to_string() } }),
    )
}

/// Keeps a row per post naming its author.
struct Authors;

#[async_trait]
impl Handler for Authors {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Envelope,
    ) -> Result<(), HandlerError> {
        if event.event_type == USER_DELETED {
            return Ok(()); // the consumer's eraser's part
        }
        let author = event.data["post"]["author"].as_str().unwrap_or_default();
        let insert = Query::insert()
            .into_table(Alias::new("effect"))
            .columns([Alias::new("event_id")])
            .values([author.into()])
            .map_err(HandlerError::reject)?
            .to_owned();
        txn.execute(&insert).await?;
        Ok(())
    }
}

/// [`Authors`]'s erasure: the account's rows go.
struct Forget;

#[async_trait]
impl Eraser for Forget {
    async fn erase(
        &self,
        txn: &DatabaseTransaction,
        user: Uuid,
        _at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), HandlerError> {
        let delete = Query::delete()
            .from_table(Alias::new("effect"))
            .and_where(Expr::col(Alias::new("event_id")).eq(user.to_string()))
            .to_owned();
        txn.execute(&delete).await?;
        Ok(())
    }
}

async fn sent_outbox_rows_are_pruned_after_the_retention_period_and_pending_ones_kept(
    kind: BusKind,
) -> anyhow::Result<()> {
    let Some(h) = Harness::start(kind).await? else {
        return Ok(());
    };
    let (sent, pending) = (registered("sent"), registered("pending"));
    enqueue(&h.db, &sent).await?;
    let relay = OutboxRelay::new(h.db.clone(), h.bus.clone());
    assert_eq!(relay.publish_pending().await?, 1);
    enqueue(&h.db, &pending).await?;

    assert_eq!(relay.prune().await?, 0, "sent a moment ago: kept");
    let relay = relay.with_retention(Duration::ZERO);
    assert_eq!(relay.prune().await?, 1);
    let left: Vec<Uuid> = outbox::Entity::find()
        .all(&h.db)
        .await?
        .into_iter()
        .map(|row| row.id)
        .collect();
    assert_eq!(left, [pending.id]);
    h.finish().await
}

async fn applying_the_topology_twice_changes_nothing_the_second_time(
    kind: BusKind,
) -> anyhow::Result<()> {
    let Some(h) = Harness::start(kind).await? else {
        return Ok(());
    };
    let admin = h.admin().await?;
    let first = admin.apply(&[h.spec(5)]).await?;
    assert!(
        first
            .iter()
            .any(|a| a.object.starts_with("consumer ") && a.outcome == "created"),
        "{first:?}"
    );
    let second = admin.apply(&[h.spec(5)]).await?;
    assert!(
        second.iter().all(|a| a.outcome.starts_with("unchanged")),
        "{second:?}"
    );
    h.finish().await
}

async fn stats_count_a_consumer_s_pending_and_dead_lettered_events(
    kind: BusKind,
) -> anyhow::Result<()> {
    let Some(h) = Harness::start(kind).await? else {
        return Ok(());
    };
    let mut consumer = h.consumer(Arc::new(Flaky::new("nobody", 0)), 5).await?;
    let malformed = Envelope::new(
        "identity",
        "identity.user.registered",
        "u1",
        &"not an object",
    );
    h.bus.publish(&malformed).await?;
    h.bus.publish(&registered("a")).await?;
    h.bus.publish(&registered("b")).await?;
    assert_eq!(consumer.process_one().await?, Outcome::DeadLettered);

    let stats = h.admin().await?.stats(&[h.spec(5)]).await?;
    let stats = &stats[0];
    assert_eq!(stats.consumer, h.durable());
    assert_eq!((stats.pending, stats.dead_lettered), (2, 1), "{stats:?}");
    assert!(stats.lag > Duration::ZERO);
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

    let mut consumer = h.consumer(Arc::new(Flaky::new("nobody", 0)), 5).await?;
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
        max_ack_pending: 100,
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
        max_ack_pending: 100,
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

/// Fails retryably on events whose handle is `handle`, `failures` times (then applies
/// them), or until [`Flaky::fix`]ed.
struct Flaky {
    handle: &'static str,
    failures: AtomicU32,
}

impl Flaky {
    fn new(handle: &'static str, failures: u32) -> Self {
        Flaky {
            handle,
            failures: AtomicU32::new(failures),
        }
    }

    /// The bug is fixed: apply from now on.
    fn fix(&self) {
        self.failures.store(0, AtomicOrdering::SeqCst);
    }
}

#[async_trait]
impl Handler for Flaky {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Envelope,
    ) -> Result<(), HandlerError> {
        Recorder.handle(txn, event).await?;
        if event.data_as::<Registered>()?.handle == self.handle
            && self
                .failures
                .fetch_update(AtomicOrdering::SeqCst, AtomicOrdering::SeqCst, |n| {
                    n.checked_sub(1)
                })
                .is_ok()
        {
            return Err(HandlerError::retry("downstream unavailable"));
        }
        Ok(())
    }
}

/// A consumer's runner in a task of its own.
struct Running {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops the runner and waits (bounded) for it to finish its step.
    async fn stop(self) -> anyhow::Result<()> {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .context("the runner stopped within 10 s")??;
        Ok(())
    }
}

/// The test's migrations: the kit's event tables, then a table the handlers write to.
struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(EventTablesMigration),
            Box::new(OutboxUnsentIndexMigration),
            Box::new(ErasedUsersMigration),
        ]
    }
}

/// One scenario's world: its own subgraph database, bus and namespace.
struct Harness {
    kind: BusKind,
    db: DatabaseConnection,
    bus: Arc<dyn EventBus>,
    /// The bus's configuration, for the admin side (`agora events`).
    config: BusConfig,
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
                sea_orm::sea_query::ColumnDef::new(Alias::new("seq"))
                    .big_integer()
                    .not_null()
                    .auto_increment()
                    .primary_key(),
            )
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
            config,
            namespace,
            postgres,
            dir,
        }))
    }

    /// The scenario's consumer of identity's registrations.
    fn spec(&self, max_deliver: u32) -> ConsumerSpec {
        ConsumerSpec {
            max_deliver,
            ..ConsumerSpec::new("profiles", "identity", &["identity.user.registered"])
        }
    }

    /// Its durable name in the scenario's namespace.
    fn durable(&self) -> String {
        format!("profiles-IDENTITY_{}", self.namespace.to_uppercase())
    }

    /// Starts `consumer`'s runner.
    fn run(&self, consumer: Consumer) -> Running {
        let stop = CancellationToken::new();
        let task = tokio::spawn(consumer.run(stop.clone()));
        Running { stop, task }
    }

    /// Opens the scenario's consumer of identity events with tiny retry delays.
    async fn consumer(
        &self,
        handler: Arc<dyn Handler>,
        max_deliver: u32,
    ) -> anyhow::Result<Consumer> {
        let spec = self.spec(max_deliver);
        Ok(Consumer::open(self.db.clone(), &self.bus, spec, handler)
            .await?
            .with_retry_backoff(Backoff::new(
                Duration::from_millis(10),
                Duration::from_millis(50),
            )))
    }

    /// The admin side of the scenario's bus, as `agora events` opens it.
    async fn admin(&self) -> anyhow::Result<Arc<dyn EventAdmin>> {
        Ok(connect_admin(&self.config).await?)
    }

    /// The events whose effects were committed, in commit order.
    async fn applied(&self) -> anyhow::Result<Vec<Uuid>> {
        let select = Query::select()
            .column(Alias::new("event_id"))
            .from(Alias::new("effect"))
            .order_by(Alias::new("seq"), sea_orm::sea_query::Order::Asc)
            .to_owned();
        let rows = self.db.query_all(&select).await?;
        rows.iter()
            .map(|row| Ok(row.try_get_by_index::<String>(0)?.parse()?))
            .collect()
    }

    /// Runs `consumer` until it has applied `events`, asserts that it applied them in
    /// that order (`why` says which order that is), and stops it.
    async fn applies_in_order(
        &self,
        consumer: Consumer,
        events: &[Envelope],
        why: &str,
    ) -> anyhow::Result<()> {
        let running = self.run(consumer);
        self.wait_applied(&events.iter().collect::<Vec<_>>())
            .await?;
        assert_eq!(
            self.applied().await?,
            events.iter().map(|e| e.id).collect::<Vec<_>>(),
            "{why}"
        );
        running.stop().await
    }

    /// How many effect rows hold `id` (as [`Authors`] writes them).
    async fn rows_of(&self, id: Uuid) -> anyhow::Result<usize> {
        let select = Query::select()
            .column(Alias::new("seq"))
            .from(Alias::new("effect"))
            .and_where(Expr::col(Alias::new("event_id")).eq(id.to_string()))
            .to_owned();
        Ok(self.db.query_all(&select).await?.len())
    }

    /// Waits (bounded) until the effects of `events` are committed.
    async fn wait_applied(&self, events: &[&Envelope]) -> anyhow::Result<()> {
        for _ in 0..500 {
            let applied = self.applied().await?;
            if events.iter().all(|e| applied.contains(&e.id)) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        anyhow::bail!("events were not applied within 10 s")
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
            let names: Vec<String> = js
                .stream_names()
                .filter_map(|n| async { n.ok() })
                .collect()
                .await;
            for name in names.into_iter().filter(|n| n.ends_with(&suffix)) {
                js.delete_stream(&name).await?;
            }
        }
        Ok(())
    }
}
