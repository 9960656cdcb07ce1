//! The in-process event bus of `agora dev`: JetStream's guarantees on a SQLite log.
//!
//! All subgraphs of one process share one instance. Events are rows of `event` (the
//! unique envelope id deduplicates, like JetStream's duplicate window but forever);
//! each durable consumer has a row in `consumer_cursor` (everything up to `floor` is
//! settled; `pending_seq`/`attempts` count deliveries of the event after it), and
//! given-up events go to `dead_letter` with their attempts and last error. Delivery is in
//! order, one event in flight per consumer. An unsettled delivery is leased in memory for
//! `ack_wait` (or the nak delay); when the lease lapses, or the process restarts and
//! loses it, the event is delivered again, so a crash between receipt and ack loses
//! nothing.
//!
//! Dead letters are a table rather than a stream: `agora events dead-letters`, `replay`
//! and `stats` open the same SQLite file (beside a running `agora dev`) and work as they
//! do on JetStream. A replay appends the event to the log again, addressed to the one
//! consumer (`replay_for`), which the running consumer picks up at its next poll.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, Index, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, Database, DatabaseConnection, DbErr,
    EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Schema,
};
use tokio::sync::{Mutex, Notify};
use tokio::time::Instant;

use super::admin::{Applied, ConsumerStats, DeadLetter, EventAdmin, ReplaySelection};
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
            /// A replay's one consumer (durable name); `None` for a published event.
            pub replay_for: Option<String>,
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
            pub attempts: i32,
            #[sea_orm(column_type = "Text")]
            pub error: String,
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
        let db = Database::connect(crate::db::options(db_url)).await?;
        let schema = Schema::new(db.get_database_backend());
        for mut table in [
            schema.create_table_from_entity(event::Entity),
            schema.create_table_from_entity(consumer_cursor::Entity),
            schema.create_table_from_entity(dead_letter::Entity),
        ] {
            db.execute(table.if_not_exists()).await?;
        }
        // Columns added after the first release, for logs created before them.
        for column in [
            "ALTER TABLE event ADD COLUMN replay_for TEXT NULL",
            "ALTER TABLE dead_letter ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE dead_letter ADD COLUMN error TEXT NOT NULL DEFAULT ''",
        ] {
            if let Err(err) = db.execute_unprepared(column).await
                && !err.to_string().contains("duplicate column")
            {
                return Err(err.into());
            }
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

impl EmbeddedBus {
    /// Creates `spec`'s cursor at the start of its stream unless it has one; returns
    /// whether it did.
    async fn ensure_cursor(&self, spec: &ConsumerSpec) -> Result<bool, EventError> {
        let naming = &self.inner.naming;
        let cursor = consumer_cursor::ActiveModel {
            durable: Set(naming.durable(spec)),
            stream: Set(naming.stream(&spec.domain)),
            floor: Set(0),
            pending_seq: Set(None),
            attempts: Set(0),
        };
        let inserted = consumer_cursor::Entity::insert(cursor)
            .on_conflict(
                OnConflict::column(consumer_cursor::Column::Durable)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&self.inner.db)
            .await?;
        Ok(inserted > 0)
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
            replay_for: Set(None),
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
        self.ensure_cursor(spec).await?;
        Ok(Box::new(EmbeddedStream {
            inner: self.inner.clone(),
            durable,
            stream,
            subjects: spec.event_types.iter().map(|t| naming.subject(t)).collect(),
            max_deliver: Ord::max(spec.max_deliver, 1),
        }))
    }

    async fn ensure_stream(&self, _domain: &str) -> Result<(), EventError> {
        // Streams of the embedded log are a column, not an object: nothing to create.
        Ok(())
    }

    async fn close(&self) {
        if let Err(error) = self.inner.db.close_by_ref().await {
            tracing::warn!(%error, "closing the event log");
        }
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
            query = query.filter(
                event::Column::ReplayFor
                    .is_null()
                    .or(event::Column::ReplayFor.eq(&self.durable)),
            );
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
                    let error = "deliveries exhausted without a settlement";
                    record_dead_letter(db, &self.durable, &next, attempt - 1, error).await?;
                    advance(db, &self.durable, next.seq).await?;
                    leases.remove(&self.durable);
                    continue;
                }
                Err(err) => {
                    tracing::error!(event_id = %next.id, error = %err, "undecodable event; dead-lettered");
                    let error = format!("undecodable: {err}");
                    record_dead_letter(db, &self.durable, &next, attempt, &error).await?;
                    advance(db, &self.durable, next.seq).await?;
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
            let stream_seq = u64::try_from(settle.event.seq).unwrap_or(0);
            return Ok(Claim::Ready(Box::new(Delivery::new(
                envelope,
                attempt,
                stream_seq,
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

/// Records `event` as a dead letter of `durable` (once: a second record is dropped).
#[tracing::instrument(skip_all)]
async fn record_dead_letter(
    db: &impl ConnectionTrait,
    durable: &str,
    event: &event::Model,
    attempts: u32,
    error: &str,
) -> Result<(), DbErr> {
    let row = dead_letter::ActiveModel {
        durable: Set(durable.to_owned()),
        seq: Set(event.seq),
        event_id: Set(event.id),
        dead_at: Set(Utc::now()),
        attempts: Set(i32::try_from(attempts).unwrap_or(i32::MAX)),
        error: Set(error.to_owned()),
    };
    dead_letter::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([dead_letter::Column::Durable, dead_letter::Column::Seq])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
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

    async fn dead_letter(&self, attempts: u32, error: &str) -> Result<(), EventError> {
        record_dead_letter(&self.inner.db, &self.durable, &self.event, attempts, error).await?;
        Ok(())
    }

    async fn term(self: Box<Self>) -> Result<(), EventError> {
        let mut leases = self.inner.leases.lock().await;
        advance(&self.inner.db, &self.durable, self.event.seq).await?;
        self.release(&mut leases);
        Ok(())
    }

    async fn progress(&self) -> Result<(), EventError> {
        let mut leases = self.inner.leases.lock().await;
        if let Some(lease) = leases.get_mut(&self.durable)
            && lease.seq == self.event.seq
        {
            lease.until = Instant::now() + self.inner.tuning.ack_wait;
        }
        Ok(())
    }
}

/// A dead letter as `dead-letters` lists it: the row, its id (SQLite's rowid), and the
/// logged event it points at.
#[derive(Debug, sea_orm::FromQueryResult)]
struct DeadLetterRow {
    id: i64,
    durable: String,
    seq: i64,
    dead_at: chrono::DateTime<Utc>,
    attempts: i32,
    error: String,
    stream: Option<String>,
    subject: Option<String>,
    payload: Option<String>,
}

impl EmbeddedBus {
    /// Every dead letter with its logged event, oldest first.
    async fn dead_letter_rows(&self) -> Result<Vec<DeadLetterRow>, EventError> {
        let sql = "SELECT d.rowid AS id, d.durable, d.seq, d.dead_at, d.attempts, d.error, \
                   e.stream, e.subject, e.payload \
                   FROM dead_letter d LEFT JOIN event e ON e.seq = d.seq ORDER BY d.rowid";
        let db = &self.inner.db;
        let statement = sea_orm::Statement::from_string(db.get_database_backend(), sql);
        Ok(DeadLetterRow::find_by_statement(statement).all(db).await?)
    }

    /// Figures of one consumer.
    async fn consumer_stats(&self, spec: &ConsumerSpec) -> Result<ConsumerStats, EventError> {
        let db = &self.inner.db;
        let naming = &self.inner.naming;
        let durable = naming.durable(spec);
        let cursor = consumer_cursor::Entity::find_by_id(durable.clone())
            .one(db)
            .await?;
        let dead_lettered = dead_letter::Entity::find()
            .filter(dead_letter::Column::Durable.eq(&durable))
            .count(db)
            .await?;
        let Some(cursor) = cursor else {
            return Ok(ConsumerStats {
                consumer: durable,
                pending: 0,
                in_flight: 0,
                redelivered: 0,
                dead_lettered,
                lag: Duration::ZERO,
            });
        };
        let mut waiting = event::Entity::find()
            .filter(event::Column::Stream.eq(naming.stream(&spec.domain)))
            .filter(event::Column::Seq.gt(cursor.floor))
            .filter(
                event::Column::ReplayFor
                    .is_null()
                    .or(event::Column::ReplayFor.eq(&durable)),
            );
        if !spec.event_types.is_empty() {
            waiting = waiting.filter(
                event::Column::Subject.is_in(spec.event_types.iter().map(|t| naming.subject(t))),
            );
        }
        let pending = waiting.clone().count(db).await?;
        let oldest = waiting.order_by_asc(event::Column::Seq).one(db).await?;
        let in_flight = u64::from(cursor.pending_seq.is_some());
        Ok(ConsumerStats {
            consumer: durable,
            pending,
            in_flight,
            // The log keeps the attempts of the event in flight only.
            redelivered: u64::try_from(cursor.attempts.saturating_sub(1)).unwrap_or(0) * in_flight,
            dead_lettered,
            lag: oldest
                .map(|e| (Utc::now() - e.stored_at).to_std().unwrap_or_default())
                .unwrap_or_default(),
        })
    }
}

#[async_trait]
impl EventAdmin for EmbeddedBus {
    async fn apply(&self, consumers: &[ConsumerSpec]) -> Result<Vec<Applied>, EventError> {
        let mut applied = vec![Applied {
            object: "streams".to_owned(),
            outcome: "unchanged (the embedded log keeps every stream in one table)".to_owned(),
        }];
        for spec in consumers {
            let created = self.ensure_cursor(spec).await?;
            applied.push(Applied {
                object: format!("consumer {}", self.inner.naming.durable(spec)),
                outcome: if created { "created" } else { "unchanged" }.to_owned(),
            });
        }
        Ok(applied)
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetter>, EventError> {
        Ok(self
            .dead_letter_rows()
            .await?
            .into_iter()
            .map(|row| DeadLetter {
                id: u64::try_from(row.id).unwrap_or(0),
                consumer: row.durable,
                event: row
                    .payload
                    .and_then(|payload| serde_json::from_str(&payload).ok()),
                stream_seq: u64::try_from(row.seq).unwrap_or(0),
                attempts: u32::try_from(row.attempts).unwrap_or(0),
                error: row.error,
                dead_at: row.dead_at,
            })
            .collect())
    }

    async fn replay(&self, selection: &ReplaySelection) -> Result<usize, EventError> {
        let db = &self.inner.db;
        let mut replayed = 0;
        for row in self.dead_letter_rows().await? {
            let (Some(stream), Some(subject), Some(payload)) =
                (row.stream, row.subject, row.payload)
            else {
                continue;
            };
            let chosen = match selection {
                ReplaySelection::Id(id) => u64::try_from(row.id).is_ok_and(|rowid| rowid == *id),
                ReplaySelection::Event(id) => serde_json::from_str::<Envelope>(&payload)
                    .is_ok_and(|envelope| envelope.id == *id),
                ReplaySelection::All => true,
            };
            if !chosen {
                continue;
            }
            let copy = event::ActiveModel {
                // The log's own key; the envelope inside keeps the event's id.
                id: Set(uuid::Uuid::now_v7()),
                stream: Set(stream),
                subject: Set(subject),
                payload: Set(payload),
                stored_at: Set(Utc::now()),
                replay_for: Set(Some(row.durable)),
                ..Default::default()
            };
            event::Entity::insert(copy)
                .exec_without_returning(db)
                .await?;
            let delete = sea_orm::Statement::from_sql_and_values(
                db.get_database_backend(),
                "DELETE FROM dead_letter WHERE rowid = ?",
                [row.id.into()],
            );
            db.execute_raw(delete).await?;
            replayed += 1;
        }
        self.inner.changed.notify_waiters();
        Ok(replayed)
    }

    async fn stats(&self, consumers: &[ConsumerSpec]) -> Result<Vec<ConsumerStats>, EventError> {
        let mut all = Vec::with_capacity(consumers.len());
        for spec in consumers {
            all.push(self.consumer_stats(spec).await?);
        }
        Ok(all)
    }
}
