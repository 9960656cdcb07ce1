//! The in-process event bus of `agora dev`: JetStream's guarantees on a SQLite log.
//!
//! All subgraphs of one process share one instance. Events are rows of `event` (the
//! unique envelope id deduplicates, like JetStream's duplicate window but forever);
//! each durable consumer has a row in `consumer_cursor` (everything up to `floor` is
//! settled; `pending_seq`/`attempts` count deliveries of the event after it), and
//! given-up events go to `dead_letter`. Delivery is in order, one event in flight per
//! consumer. An unsettled delivery is leased in memory for `ack_wait` (or the nak
//! delay); when the lease lapses, or the process restarts and loses it, the event is
//! delivered again, so a crash between receipt and ack loses nothing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use sea_orm::sea_query::{Expr, Index, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Schema,
};
use tokio::sync::{Mutex, Notify};
use tokio::time::Instant;

use super::bus::{BusTuning, ConsumerSpec, Delivery, EventBus, EventStream, Naming, Settle};
use super::envelope::Envelope;
use super::error::EventError;
use super::live::{LiveHub, LocalHub};

/// The log's tables; private, the bus is the only reader and writer.
mod log {
    /// A published event.
    pub mod event {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "event")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub seq: i64,
            #[sea_orm(unique)]
            pub id: Uuid,
            pub stream: String,
            pub subject: String,
            #[sea_orm(column_type = "Text")]
            pub payload: String,
            pub stored_at: DateTimeUtc,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    /// Where a durable consumer stands.
    pub mod consumer_cursor {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "consumer_cursor")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub durable: String,
            pub stream: String,
            pub floor: i64,
            pub pending_seq: Option<i64>,
            pub attempts: i32,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    /// An event a consumer gave up on.
    pub mod dead_letter {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "dead_letter")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub durable: String,
            #[sea_orm(primary_key, auto_increment = false)]
            pub seq: i64,
            pub event_id: Uuid,
            pub dead_at: DateTimeUtc,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }
}

use log::{consumer_cursor, dead_letter, event};

/// The embedded bus; cheap to share behind `Arc<dyn EventBus>`.
pub struct EmbeddedBus {
    inner: Arc<Inner>,
    /// The process's live hub: in-process, like the log's wake-ups.
    live: Arc<LocalHub>,
}

/// State shared by the bus, its streams and their deliveries.
struct Inner {
    /// The log database.
    db: DatabaseConnection,
    /// Stream and subject names, identical to JetStream's.
    naming: Naming,
    /// Ack wait and poll interval.
    tuning: BusTuning,
    /// Rung on every publish and settlement so waiting consumers look again.
    changed: Notify,
    /// In-flight deliveries by durable name; also serializes claims and settlements.
    leases: Mutex<HashMap<String, Lease>>,
}

/// An event handed out and not yet settled: not to be handed out again before `until`.
#[derive(Clone, Copy, Debug)]
struct Lease {
    seq: i64,
    until: Instant,
}

impl EmbeddedBus {
    /// Opens (creating if needed) the log at `db_url`, a SQLite URL.
    pub async fn open(
        db_url: &str,
        namespace: &str,
        tuning: BusTuning,
    ) -> Result<Self, EventError> {
        create_parent_dir(db_url)?;
        let mut options = ConnectOptions::new(db_url);
        options
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(crate::db::sqlite_pragmas);
        let db = Database::connect(options).await?;
        let schema = Schema::new(db.get_database_backend());
        for mut table in [
            schema.create_table_from_entity(event::Entity),
            schema.create_table_from_entity(consumer_cursor::Entity),
            schema.create_table_from_entity(dead_letter::Entity),
        ] {
            db.execute(table.if_not_exists()).await?;
        }
        // Consumers read one stream in `seq` order; the log interleaves all streams.
        db.execute(
            Index::create()
                .if_not_exists()
                .name("event_stream_seq_idx")
                .table(event::Entity)
                .col(event::Column::Stream)
                .col(event::Column::Seq),
        )
        .await?;
        Ok(EmbeddedBus {
            live: Arc::new(LocalHub::new()),
            inner: Arc::new(Inner {
                db,
                naming: Naming::new(namespace),
                tuning,
                changed: Notify::new(),
                leases: Mutex::new(HashMap::new()),
            }),
        })
    }
}

/// SQLite creates the file but not its folder (`data/` on a fresh checkout).
fn create_parent_dir(db_url: &str) -> Result<(), EventError> {
    let path = db_url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path.starts_with(':') {
        return Ok(());
    }
    match std::path::Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir)
            .map_err(|err| EventError::Bus(format!("creating {}: {err}", dir.display()))),
        _ => Ok(()),
    }
}

#[async_trait]
impl EventBus for EmbeddedBus {
    #[tracing::instrument(skip_all, fields(event_type = %envelope.event_type, event_id = %envelope.id))]
    async fn publish(&self, envelope: &Envelope) -> Result<(), EventError> {
        let row = event::ActiveModel {
            id: Set(envelope.id),
            stream: Set(self.inner.naming.stream_of(&envelope.event_type)),
            subject: Set(self.inner.naming.subject(&envelope.event_type)),
            payload: Set(serde_json::to_string(envelope)?),
            stored_at: Set(Utc::now()),
            ..Default::default()
        };
        event::Entity::insert(row)
            .on_conflict(
                OnConflict::column(event::Column::Id)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&self.inner.db)
            .await?;
        self.inner.changed.notify_waiters();
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(consumer = %spec.name, domain = %spec.domain))]
    async fn subscribe(&self, spec: &ConsumerSpec) -> Result<Box<dyn EventStream>, EventError> {
        let naming = &self.inner.naming;
        let durable = naming.durable(spec);
        let stream = naming.stream(&spec.domain);
        let cursor = consumer_cursor::ActiveModel {
            durable: Set(durable.clone()),
            stream: Set(stream.clone()),
            floor: Set(0),
            pending_seq: Set(None),
            attempts: Set(0),
        };
        consumer_cursor::Entity::insert(cursor)
            .on_conflict(
                OnConflict::column(consumer_cursor::Column::Durable)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&self.inner.db)
            .await?;
        Ok(Box::new(EmbeddedStream {
            inner: self.inner.clone(),
            durable,
            stream,
            subjects: spec.event_types.iter().map(|t| naming.subject(t)).collect(),
            max_deliver: spec.max_deliver.max(1),
        }))
    }

    async fn ensure_stream(&self, _domain: &str) -> Result<(), EventError> {
        // Streams of the embedded log are a column, not an object: nothing to create.
        Ok(())
    }

    fn live(&self) -> Arc<dyn LiveHub> {
        self.live.clone()
    }
}

/// One durable consumer's view of the log.
struct EmbeddedStream {
    inner: Arc<Inner>,
    durable: String,
    stream: String,
    /// Subjects to deliver; empty means the whole stream.
    subjects: Vec<String>,
    max_deliver: u32,
}

/// What a look at the log found.
enum Claim {
    Ready(Box<Delivery>),
    /// The next event is leased until then.
    Leased(Instant),
    /// Nothing to deliver.
    Idle,
}

#[async_trait]
impl EventStream for EmbeddedStream {
    async fn next(&mut self) -> Result<Delivery, EventError> {
        loop {
            // Registered before looking, so a publish between look and wait still wakes us.
            let changed = self.inner.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let mut wake = Instant::now() + self.inner.tuning.poll_interval;
            match self.claim().await? {
                Claim::Ready(delivery) => return Ok(*delivery),
                Claim::Leased(until) => wake = wake.min(until),
                Claim::Idle => {}
            }
            tokio::select! {
                _ = changed => {}
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
    }
}

impl EmbeddedStream {
    /// Finds the next event for this consumer and leases it, dead-lettering on the way
    /// any event whose deliveries are exhausted.
    #[tracing::instrument(skip_all, fields(consumer = %self.durable))]
    async fn claim(&self) -> Result<Claim, EventError> {
        let db = &self.inner.db;
        let mut leases = self.inner.leases.lock().await;
        loop {
            let cursor = consumer_cursor::Entity::find_by_id(self.durable.clone())
                .one(db)
                .await?
                .ok_or_else(|| EventError::Bus(format!("consumer {} vanished", self.durable)))?;
            // The newest event first, then the first match up to it: SQLite has a single
            // writer, so whatever commits later gets a higher `seq`. With no match, the
            // floor moves up to the newest event, so a consumer of rare subjects does not
            // read the stream from its start on every publish.
            let Some(newest) = newest_seq(db, &self.stream).await? else {
                return Ok(Claim::Idle);
            };
            let mut query = event::Entity::find()
                .filter(event::Column::Stream.eq(&self.stream))
                .filter(event::Column::Seq.gt(cursor.floor))
                .filter(event::Column::Seq.lte(newest));
            if !self.subjects.is_empty() {
                query = query.filter(event::Column::Subject.is_in(self.subjects.iter().cloned()));
            }
            let Some(next) = query.order_by_asc(event::Column::Seq).one(db).await? else {
                if cursor.pending_seq.is_none() && newest > cursor.floor {
                    advance(db, &self.durable, newest).await?;
                }
                return Ok(Claim::Idle);
            };
            let now = Instant::now();
            if let Some(lease) = leases.get(&self.durable)
                && lease.seq == next.seq
                && now < lease.until
            {
                return Ok(Claim::Leased(lease.until));
            }
            let attempt = match cursor.pending_seq {
                Some(seq) if seq == next.seq => u32::try_from(cursor.attempts).unwrap_or(0) + 1,
                _ => 1,
            };
            let envelope = match serde_json::from_str::<Envelope>(&next.payload) {
                Ok(envelope) if attempt <= self.max_deliver => envelope,
                Ok(_) => {
                    tracing::error!(event_id = %next.id, "deliveries exhausted without a settlement; dead-lettered");
                    dead_letter_and_advance(db, &self.durable, &next).await?;
                    leases.remove(&self.durable);
                    continue;
                }
                Err(err) => {
                    tracing::error!(event_id = %next.id, error = %err, "undecodable event; dead-lettered");
                    dead_letter_and_advance(db, &self.durable, &next).await?;
                    leases.remove(&self.durable);
                    continue;
                }
            };
            consumer_cursor::Entity::update_many()
                .col_expr(consumer_cursor::Column::PendingSeq, Expr::value(next.seq))
                .col_expr(
                    consumer_cursor::Column::Attempts,
                    Expr::value(attempt as i32),
                )
                .filter(consumer_cursor::Column::Durable.eq(&self.durable))
                .exec(db)
                .await?;
            leases.insert(
                self.durable.clone(),
                Lease {
                    seq: next.seq,
                    until: now + self.inner.tuning.ack_wait,
                },
            );
            let settle = EmbeddedSettle {
                inner: self.inner.clone(),
                durable: self.durable.clone(),
                event: next,
            };
            return Ok(Claim::Ready(Box::new(Delivery::new(
                envelope,
                attempt,
                Box::new(settle),
            ))));
        }
    }
}

/// The `seq` of the newest event of `stream`, if it has any.
async fn newest_seq(db: &impl ConnectionTrait, stream: &str) -> Result<Option<i64>, DbErr> {
    let newest = event::Entity::find()
        .select_only()
        .column_as(event::Column::Seq.max(), "newest")
        .filter(event::Column::Stream.eq(stream))
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?;
    Ok(newest.flatten())
}

/// Marks everything up to `seq` settled for `durable` (late settlements never move back).
#[tracing::instrument(skip_all)]
async fn advance(db: &impl ConnectionTrait, durable: &str, seq: i64) -> Result<(), DbErr> {
    consumer_cursor::Entity::update_many()
        .col_expr(consumer_cursor::Column::Floor, Expr::value(seq))
        .col_expr(
            consumer_cursor::Column::PendingSeq,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(consumer_cursor::Column::Attempts, Expr::value(0))
        .filter(consumer_cursor::Column::Durable.eq(durable))
        .filter(consumer_cursor::Column::Floor.lt(seq))
        .exec(db)
        .await?;
    Ok(())
}

/// Records `event` as a dead letter of `durable` and moves past it.
#[tracing::instrument(skip_all)]
async fn dead_letter_and_advance(
    db: &impl ConnectionTrait,
    durable: &str,
    event: &event::Model,
) -> Result<(), DbErr> {
    let row = dead_letter::ActiveModel {
        durable: Set(durable.to_owned()),
        seq: Set(event.seq),
        event_id: Set(event.id),
        dead_at: Set(Utc::now()),
    };
    dead_letter::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([dead_letter::Column::Durable, dead_letter::Column::Seq])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    advance(db, durable, event.seq).await
}

/// Settles one embedded delivery.
struct EmbeddedSettle {
    inner: Arc<Inner>,
    durable: String,
    event: event::Model,
}

impl EmbeddedSettle {
    /// Drops the lease if it is still this delivery's and wakes waiting consumers.
    fn release(&self, leases: &mut HashMap<String, Lease>) {
        if leases
            .get(&self.durable)
            .is_some_and(|l| l.seq == self.event.seq)
        {
            leases.remove(&self.durable);
        }
        self.inner.changed.notify_waiters();
    }
}

#[async_trait]
impl Settle for EmbeddedSettle {
    async fn ack(self: Box<Self>) -> Result<(), EventError> {
        let mut leases = self.inner.leases.lock().await;
        advance(&self.inner.db, &self.durable, self.event.seq).await?;
        self.release(&mut leases);
        Ok(())
    }

    async fn nak(self: Box<Self>, delay: Duration) -> Result<(), EventError> {
        let mut leases = self.inner.leases.lock().await;
        let lease = leases.entry(self.durable.clone()).or_insert(Lease {
            seq: self.event.seq,
            until: Instant::now(),
        });
        if lease.seq == self.event.seq {
            lease.until = Instant::now() + delay;
        }
        self.inner.changed.notify_waiters();
        Ok(())
    }

    async fn term(self: Box<Self>) -> Result<(), EventError> {
        let mut leases = self.inner.leases.lock().await;
        dead_letter_and_advance(&self.inner.db, &self.durable, &self.event).await?;
        self.release(&mut leases);
        Ok(())
    }
}
