//! The transactional outbox: domain code writes its event in the same transaction as
//! its state change, and the relay publishes what was committed.
//!
//! Nothing is published for a rolled-back transaction, and nothing committed is lost
//! when the broker is down: the row waits until the relay gets a PubAck for it, so
//! mutations keep working through a NATS outage while the outbox grows, and the relay
//! drains it in order when NATS is back. Sent rows are pruned after a retention period
//! (they are kept a while for inspection and for `agora events` forensics).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::backoff::Backoff;
use super::bus::EventBus;
use super::envelope::Envelope;
use super::error::EventError;
use super::tables::outbox;

/// Rows the relay reads, and publishes pipelined, per round trip. Small enough that
/// Postgres reads them by a scan of the unsent-rows index in order even on a young table
/// whose statistics overestimate the unsent rows (at 500 it chose a bitmap scan, which
/// visits every row sent since the last vacuum).
const BATCH: u64 = 200;

/// How long sent rows stay in the outbox by default.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// How often the running relay prunes sent rows.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// Writes `envelope` to the outbox; call it inside the transaction of the state change it
/// describes, then (after commit) `waker().notify_one()` for low latency.
#[tracing::instrument(skip_all, fields(event_type = %envelope.event_type, event_id = %envelope.id))]
pub async fn enqueue(conn: &impl ConnectionTrait, envelope: &Envelope) -> Result<(), DbErr> {
    let json = serde_json::to_string(envelope).map_err(|err| DbErr::Json(err.to_string()))?;
    let row = outbox::ActiveModel {
        seq: NotSet,
        id: Set(envelope.id),
        event_type: Set(envelope.event_type.clone()),
        envelope: Set(json),
        created_at: Set(Utc::now()),
        sent_at: Set(None),
        attempts: Set(0),
    };
    outbox::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The usual end of a change that emits one event: enqueues `envelope` in `txn`, commits,
/// and wakes the relay (`waker`, from [`OutboxRelay::waker`]).
pub async fn commit_with(
    txn: DatabaseTransaction,
    envelope: &Envelope,
    waker: &Notify,
) -> Result<(), DbErr> {
    enqueue(&txn, envelope).await?;
    txn.commit().await?;
    waker.notify_one();
    Ok(())
}

/// Publishes committed outbox rows to the bus, in order, marking them sent once acked.
pub struct OutboxRelay {
    /// The subgraph's own database, holding the outbox.
    db: DatabaseConnection,
    /// Where rows go.
    bus: Arc<dyn EventBus>,
    /// Rung by domain code after a commit so the relay does not wait for its poll.
    waker: Arc<Notify>,
    /// How long the relay sleeps when nobody rings; catches rows from other processes.
    poll_interval: Duration,
    /// Waits between failed rounds (NATS or the database down).
    retry: Backoff,
    /// How long sent rows are kept before [`OutboxRelay::prune`] deletes them.
    retention: Duration,
}

/// What one batch did, including partial progress before a failure.
struct Batch {
    published: usize,
    exhausted: bool,
    failure: Option<EventError>,
}

impl OutboxRelay {
    /// A relay over `db`'s outbox publishing to `bus`.
    pub fn new(db: DatabaseConnection, bus: Arc<dyn EventBus>) -> Self {
        OutboxRelay {
            db,
            bus,
            waker: Arc::new(Notify::new()),
            poll_interval: Duration::from_secs(1),
            retry: Backoff::new(Duration::from_millis(100), Duration::from_secs(30)),
            retention: DEFAULT_RETENTION,
        }
    }

    /// Replaces the retry backoff between failed rounds (100 ms doubling to 30 s).
    pub fn with_retry_backoff(mut self, retry: Backoff) -> Self {
        self.retry = retry;
        self
    }

    /// Replaces how long sent rows are kept ([`DEFAULT_RETENTION`]).
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Deletes rows sent longer than the retention period ago; returns how many.
    #[tracing::instrument(skip_all)]
    pub async fn prune(&self) -> Result<u64, DbErr> {
        let cutoff = chrono::Duration::from_std(self.retention)
            .ok()
            .and_then(|retention| Utc::now().checked_sub_signed(retention))
            .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
        let deleted = outbox::Entity::delete_many()
            .filter(outbox::Column::SentAt.lt(cutoff))
            .exec(&self.db)
            .await?;
        Ok(deleted.rows_affected)
    }

    /// The handle domain code rings (`notify_one`) after committing an outbox row.
    pub fn waker(&self) -> Arc<Notify> {
        self.waker.clone()
    }

    /// Publishes every pending row in `seq` order, marking each sent on its ack; returns
    /// how many. Stops at the first failure so that order is kept (the row stays pending).
    pub async fn publish_pending(&self) -> Result<usize, EventError> {
        let mut total = 0;
        loop {
            let batch = if self.db.get_database_backend() == DatabaseBackend::Postgres {
                // Row locks serialize relays of several instances so they keep the order;
                // SQLite has a single writer anyway, and no FOR UPDATE.
                let txn = self.db.begin().await?;
                let batch = self.publish_batch(&txn, true).await?;
                txn.commit().await?;
                batch
            } else {
                self.publish_batch(&self.db, false).await?
            };
            total += batch.published;
            if let Some(err) = batch.failure {
                return Err(err);
            }
            if batch.exhausted {
                return Ok(total);
            }
        }
    }

    #[tracing::instrument(skip_all)]
    async fn publish_batch(&self, conn: &impl ConnectionTrait, lock: bool) -> Result<Batch, DbErr> {
        let mut query = outbox::Entity::find()
            .filter(outbox::Column::SentAt.is_null())
            .order_by_asc(outbox::Column::Seq)
            .limit(BATCH);
        if lock {
            query = query.lock_exclusive();
        }
        let rows = query.all(conn).await?;
        let mut batch = Batch {
            published: 0,
            exhausted: (rows.len() as u64) < BATCH,
            failure: None,
        };
        // One write marks the whole run of acknowledged rows: a write per row fought the
        // service's own transactions for SQLite's single writer lock. A crash before the
        // mark only republishes rows the bus drops as duplicates (same event id).
        let mut envelopes = Vec::with_capacity(rows.len());
        let mut failure = None;
        for row in &rows {
            match serde_json::from_str::<Envelope>(&row.envelope) {
                Ok(envelope) => envelopes.push(envelope),
                Err(err) => {
                    failure = Some(err.into());
                    break;
                }
            }
        }
        // A span per event, in the trace of the change that wrote it, open while the
        // batch is published.
        let _spans: Vec<tracing::Span> = envelopes.iter().map(publish_span).collect();
        let (published, publish_failure) = self.bus.publish_all(&envelopes).await;
        for sent in envelopes[..published].chunk_by(|a, b| a.source == b.source) {
            super::metrics::published(&sent[0].source, sent.len() as u64);
        }
        let failure = publish_failure.or(failure);
        let sent: Vec<i64> = rows[..published].iter().map(|r| r.seq).collect();
        if let (Some(err), Some(stuck)) = (failure, rows.get(published)) {
            outbox::Entity::update_many()
                .col_expr(
                    outbox::Column::Attempts,
                    Expr::col(outbox::Column::Attempts).add(1),
                )
                .filter(outbox::Column::Seq.eq(stuck.seq))
                .exec(conn)
                .await?;
            batch.failure = Some(err);
        }
        if !sent.is_empty() {
            batch.published = sent.len();
            outbox::Entity::update_many()
                .col_expr(outbox::Column::SentAt, Expr::value(Utc::now()))
                .filter(outbox::Column::Seq.is_in(sent))
                .exec(conn)
                .await?;
        }
        Ok(batch)
    }

    /// Relays until `shutdown`: publish what is pending, then sleep until woken or the
    /// poll interval passes; on failure wait with growing backoff. Cancellation is only
    /// observed between rounds, so a round in flight finishes and no row is half-sent.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut failures = 0;
        let mut pruned = tokio::time::Instant::now();
        loop {
            if pruned.elapsed() >= PRUNE_EVERY {
                match self.prune().await {
                    Ok(rows) => tracing::debug!(rows, "outbox pruned"),
                    Err(err) => tracing::warn!(error = %err, "outbox pruning failed"),
                }
                pruned = tokio::time::Instant::now();
            }
            let wait = match self.publish_pending().await {
                Ok(_) => {
                    failures = 0;
                    self.poll_interval
                }
                Err(err) => {
                    failures += 1;
                    let delay = self.retry.delay(failures);
                    tracing::warn!(error = %err, failures, ?delay, "outbox relay failed; will retry");
                    delay
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.waker.notified(), if failures == 0 => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// The span of `envelope`'s publication, a child of the span that wrote it.
fn publish_span(envelope: &Envelope) -> tracing::Span {
    let span = tracing::info_span!(
        "event publish",
        otel.kind = "producer",
        event_type = %envelope.event_type,
        event_id = %envelope.id,
    );
    if let Some(traceparent) = &envelope.traceparent {
        agora_telemetry::continue_from(&span, traceparent);
    }
    span
}
