//! The consumer runner: applies each delivered event exactly once per consumer, by
//! writing the handler's effect and an inbox row in one transaction.
//!
//! Delivery is at-least-once; the inbox turns it into effectively-once (its row is
//! claimed first in the effect's transaction). The runner takes deliveries in batches
//! and applies a batch in one transaction (one commit for up to [`BATCH`] events).
//! Events are applied in stream order, which keeps the events about one entity in
//! order: a failing event is retried in place, holding the events behind it (which are
//! kept from expiring), with growing delays; after `max_deliver` attempts, or at once
//! when the handler rejects it, it is dead-lettered so that one poison event cannot stop
//! the events behind it for long. A database outage is not the event's
//! fault: the runner waits it out without counting attempts.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use futures::future::join_all;
use sea_orm::{
    ActiveValue::Set, DatabaseConnection, DatabaseTransaction, EntityTrait, TransactionTrait,
    TryInsertResult,
};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;
use uuid::Uuid;

use super::backoff::Backoff;
use super::bus::{ConsumerSpec, Delivery, EventBus, EventStream};
use super::envelope::Envelope;
use super::erasure::{self, Eraser};
use super::error::{EventError, HandlerError};
use super::tables::inbox;

/// Deliveries the runner pulls and applies per transaction, at most.
pub const BATCH: usize = 100;

/// How often held deliveries are told "in progress" while the runner waits to retry.
const PROGRESS_EVERY: Duration = Duration::from_millis(300);

/// A consumer's effect, written in the same transaction as its inbox row.
///
/// Implement it on a small struct holding what the effect needs; it is a plain async
/// function over a transaction, so tests can call it directly.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Applies `event` inside `txn`; the consumer commits it together with the inbox row.
    async fn handle(&self, txn: &DatabaseTransaction, event: &Envelope)
    -> Result<(), HandlerError>;

    /// Runs once the effect of `event` is committed (never for a duplicate), for what must
    /// not happen unless the effect is durable and need not be retried, such as live
    /// delivery to subscribers; `db` reads what the effect wrote. It cannot fail the
    /// event: the handler logs its own failures. Does nothing unless overridden.
    async fn committed(&self, db: &DatabaseConnection, event: &Envelope) {
        let _ = (db, event);
    }
}

/// What processing one delivery did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The effect was committed and the delivery acknowledged.
    Applied,
    /// The inbox already had the event: no effect, acknowledged.
    Duplicate,
    /// The handler failed; the delivery was negatively acknowledged and will come back.
    Retried,
    /// The event was given up on (rejected, or out of attempts) and dead-lettered.
    DeadLettered,
}

/// One durable consumer of one publishing domain, bound to a handler and a database.
pub struct Consumer {
    /// The consuming subgraph's database, holding the inbox and the handler's tables.
    db: DatabaseConnection,
    /// What this consumer receives; `spec.name` keys the inbox.
    spec: ConsumerSpec,
    /// Deliveries from the bus.
    stream: Box<dyn EventStream>,
    /// The effect.
    handler: Arc<dyn Handler>,
    /// Delay before redelivery after attempt n fails (and between runner errors).
    retry: Backoff,
    /// Deliveries per transaction of the runner.
    batch: usize,
    /// The subgraph's erasure, run again when an event names an erased account.
    eraser: Option<Arc<dyn Eraser>>,
}

/// Why a batch was not applied.
enum BatchError {
    /// The handler failed on the event at `index`; the events before it applied fine.
    Handler { index: usize, error: HandlerError },
    /// The database (or the inbox) failed: nothing to do with the events.
    Store(EventError),
}

impl Consumer {
    /// Subscribes (creating the durable consumer if needed) and binds `handler`.
    pub async fn open(
        db: DatabaseConnection,
        bus: &Arc<dyn EventBus>,
        spec: ConsumerSpec,
        handler: Arc<dyn Handler>,
    ) -> Result<Self, EventError> {
        let stream = bus.subscribe(&spec).await?;
        Ok(Consumer {
            db,
            spec,
            stream,
            handler,
            retry: Backoff::new(Duration::from_secs(1), Duration::from_secs(60)),
            batch: BATCH,
            eraser: None,
        })
    }

    /// Replaces the runner's batch size ([`BATCH`]); 1 applies each event on its own.
    pub fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// Replaces the redelivery backoff (1 s doubling to 60 s); tests make it tiny.
    pub fn with_retry_backoff(mut self, retry: Backoff) -> Self {
        self.retry = retry;
        self
    }

    /// Takes part in account erasure with `eraser`: on [`erasure::USER_DELETED`] (after
    /// the handler) erases the account, records it and confirms as this consumer's
    /// subgraph; after any later event that names a recorded account, erases it again in
    /// the same transaction (see [`erasure`]).
    pub fn with_eraser(mut self, eraser: Arc<dyn Eraser>) -> Self {
        self.eraser = Some(eraser);
        self
    }

    /// Receives the next delivery without processing or settling it.
    pub async fn receive(&mut self) -> Result<Delivery, EventError> {
        self.stream.next().await
    }

    /// Receives one delivery and processes it (see [`Consumer::process_delivery`]).
    pub async fn process_one(&mut self) -> Result<Outcome, EventError> {
        let delivery = self.receive().await?;
        self.process_delivery(delivery).await
    }

    /// Applies a delivery once: in one transaction, skip it if the inbox has it, else run
    /// the handler and insert the inbox row; commit; then ack. A handler failure rolls
    /// back and naks with backoff, or terminates (dead letter) when the handler rejected
    /// the event or this was attempt `max_deliver`. A database failure naks and is
    /// returned, so the runner backs off.
    #[tracing::instrument(skip_all, fields(
        consumer = %self.spec.name,
        event_type = %delivery.envelope.event_type,
        event_id = %delivery.envelope.id,
        attempt = delivery.attempt,
    ))]
    pub async fn process_delivery(&mut self, delivery: Delivery) -> Result<Outcome, EventError> {
        match self.apply(&delivery.envelope).await {
            Ok(outcome) => {
                delivery.ack().await?;
                Ok(outcome)
            }
            Err(EventError::Handler(err)) => {
                let retryable = matches!(err, HandlerError::Retry(_));
                if retryable && delivery.attempt < self.spec.max_deliver {
                    tracing::warn!(error = %err, "event handler failed; will retry");
                    let delay = self.retry.delay(delivery.attempt);
                    delivery.nak(delay).await?;
                    Ok(Outcome::Retried)
                } else {
                    tracing::error!(
                        error = %err,
                        max_deliver = self.spec.max_deliver,
                        "event dead-lettered"
                    );
                    delivery
                        .dead_letter(delivery.attempt, &err.to_string())
                        .await?;
                    super::metrics::handled(
                        &self.spec.name,
                        Outcome::DeadLettered,
                        delivery.envelope.time,
                    );
                    delivery.term().await?;
                    Ok(Outcome::DeadLettered)
                }
            }
            Err(err) => {
                let delay = self.retry.delay(delivery.attempt);
                if let Err(nak) = delivery.nak(delay).await {
                    tracing::warn!(error = %nak, "could not nak after a database failure");
                }
                Err(err)
            }
        }
    }

    /// Applies `event` in one transaction without touching the bus: `Duplicate` if the
    /// inbox has it, else the handler's effect plus the inbox row, committed (`Applied`).
    /// The building block of [`Consumer::process_delivery`]; tests call it to simulate a
    /// crash after the commit and before the ack. Handler failures are rolled back and
    /// returned as [`EventError::Handler`]. (`&mut` keeps `Consumer` free of a `Sync`
    /// bound on its stream while its futures stay `Send`.)
    #[tracing::instrument(skip_all, fields(consumer = %self.spec.name, event_id = %event.id))]
    pub async fn apply(&mut self, event: &Envelope) -> Result<Outcome, EventError> {
        match self.apply_batch(&[event]).await {
            Ok(outcomes) => Ok(outcomes[0]),
            Err(BatchError::Handler { error, .. }) => Err(error.into()),
            Err(BatchError::Store(err)) => Err(err),
        }
    }

    /// Applies `events` in order in one transaction: their inbox rows go in first, in one
    /// statement, and each event whose row was not there yet is handled; then one commit,
    /// then the handler's `committed` for each applied event. On a handler failure
    /// nothing is committed and the index of the failing event is returned.
    ///
    /// Inserting the inbox rows first (rather than reading the inbox, then inserting)
    /// takes one statement whose plan cannot go wrong (a probe of the key per row; the
    /// read planned a scan of the consumer's whole inbox on a young table), and makes a
    /// second instance handed the same event wait for the first one's commit and then see
    /// the duplicate, rather than apply it too and fail on the key.
    async fn apply_batch(&mut self, events: &[&Envelope]) -> Result<Vec<Outcome>, BatchError> {
        let store = |err: sea_orm::DbErr| BatchError::Store(err.into());
        let txn = self.db.begin().await.map_err(store)?;
        let now = Utc::now();
        let mut unique = HashSet::new();
        let rows: Vec<inbox::ActiveModel> = events
            .iter()
            .filter(|event| unique.insert(event.id))
            .map(|event| inbox::ActiveModel {
                consumer: Set(self.spec.name.clone()),
                event_id: Set(event.id),
                processed_at: Set(now),
            })
            .collect();
        let mut claimed: HashSet<Uuid> = match inbox::Entity::insert_many(rows)
            .on_conflict_do_nothing()
            .exec_with_returning_many(&txn)
            .await
            .map_err(store)?
        {
            TryInsertResult::Inserted(rows) => rows.into_iter().map(|row| row.event_id).collect(),
            TryInsertResult::Conflicted | TryInsertResult::Empty => HashSet::new(),
        };
        let mut outcomes = Vec::with_capacity(events.len());
        for (index, event) in events.iter().enumerate() {
            if !claimed.remove(&event.id) {
                outcomes.push(Outcome::Duplicate);
                continue;
            }
            let span = tracing::info_span!(
                "event handle",
                otel.kind = "consumer",
                consumer = %self.spec.name,
                event_type = %event.event_type,
            );
            if let Some(traceparent) = &event.traceparent {
                agora_telemetry::continue_from(&span, traceparent);
            }
            let mut handled = self.handler.handle(&txn, event).instrument(span).await;
            if let (Ok(()), Some(eraser), erasure::USER_DELETED) =
                (&handled, &self.eraser, event.event_type.as_str())
            {
                handled = erasure::erase(&txn, eraser.as_ref(), &self.spec.name, event).await;
            }
            if let Err(error) = handled {
                if let Err(rollback) = txn.rollback().await {
                    tracing::warn!(error = %rollback, "rollback after handler failure failed");
                }
                return Err(BatchError::Handler { index, error });
            }
            outcomes.push(Outcome::Applied);
        }
        if let Some(eraser) = &self.eraser {
            let applied: Vec<&Envelope> = events
                .iter()
                .zip(&outcomes)
                .filter(|(_, outcome)| **outcome == Outcome::Applied)
                .map(|(event, _)| *event)
                .collect();
            if let Err(err) = erasure::keep_erased(&txn, eraser.as_ref(), &applied).await {
                if let Err(rollback) = txn.rollback().await {
                    tracing::warn!(error = %rollback, "rollback after a failed erasure failed");
                }
                return Err(BatchError::Store(err));
            }
        }
        txn.commit().await.map_err(store)?;
        for (event, outcome) in events.iter().zip(&outcomes) {
            super::metrics::handled(&self.spec.name, *outcome, event.time);
            if *outcome == Outcome::Applied {
                self.handler.committed(&self.db, event).await;
            }
        }
        Ok(outcomes)
    }

    /// Processes deliveries until `shutdown`, a batch at a time, backing off on bus
    /// errors. Cancellation is observed between batches and while waiting to retry; a
    /// batch left unsettled then is delivered again, in order, to the next run.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut failures = 0;
        loop {
            let received = tokio::select! {
                _ = shutdown.cancelled() => break,
                received = self.stream.next_batch(self.batch) => received,
            };
            match received {
                Ok(batch) => {
                    failures = 0;
                    if !self.settle_batch(batch.into(), &shutdown).await {
                        break;
                    }
                }
                Err(err) => {
                    failures += 1;
                    let delay = self.retry.delay(failures);
                    tracing::warn!(consumer = %self.spec.name, error = %err, ?delay, "consumer failed; backing off");
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }

    /// Applies and settles `queue` in order: the longest prefix that applies goes in one
    /// transaction and is acknowledged; a failing head is retried in place (the rest
    /// held) until it applies or is dead-lettered. Returns `false` if `shutdown` came
    /// first, leaving the rest unsettled.
    async fn settle_batch(
        &mut self,
        mut queue: VecDeque<Delivery>,
        shutdown: &CancellationToken,
    ) -> bool {
        // Failed attempts of the head in this run, and store failures in a row.
        let (mut head_failures, mut store_failures) = (0u32, 0u32);
        let mut limit = queue.len();
        while !queue.is_empty() {
            let events: Vec<&Envelope> = queue.iter().take(limit).map(|d| &d.envelope).collect();
            let failure = match self.apply_batch(&events).await {
                Ok(outcomes) => {
                    let settled: Vec<Delivery> = queue.drain(..outcomes.len()).collect();
                    for result in join_all(settled.into_iter().map(Delivery::ack)).await {
                        if let Err(err) = result {
                            // Applied and committed: a redelivery is a harmless duplicate.
                            tracing::warn!(consumer = %self.spec.name, error = %err, "ack failed");
                        }
                    }
                    (head_failures, store_failures, limit) = (0, 0, queue.len());
                    continue;
                }
                Err(BatchError::Handler { index, .. }) if index > 0 => {
                    // Apply what precedes the failing event first, then face it alone.
                    limit = index;
                    continue;
                }
                Err(BatchError::Handler { error, .. }) => {
                    if matches!(error, HandlerError::Retry(_)) && self.db.ping().await.is_err() {
                        store_failures += 1;
                        Failure::Store(error.to_string(), store_failures)
                    } else {
                        head_failures += 1;
                        Failure::Head(error, head_failures)
                    }
                }
                Err(BatchError::Store(err)) => {
                    store_failures += 1;
                    Failure::Store(err.to_string(), store_failures)
                }
            };
            let delay = match failure {
                Failure::Head(error, failures) => {
                    let head = &queue[0];
                    let attempts = head.attempt.saturating_sub(1) + failures;
                    let retryable = matches!(error, HandlerError::Retry(_));
                    if !retryable || attempts >= self.spec.max_deliver {
                        if !self
                            .dead_letter_head(&mut queue, attempts, &error, shutdown)
                            .await
                        {
                            return false;
                        }
                        (head_failures, limit) = (0, queue.len());
                        continue;
                    }
                    tracing::warn!(
                        consumer = %self.spec.name, event_id = %head.envelope.id, attempts,
                        error = %error, "event handler failed; will retry"
                    );
                    self.retry.delay(attempts)
                }
                Failure::Store(error, failures) => {
                    tracing::warn!(consumer = %self.spec.name, %error, failures, "database failed; will retry");
                    self.retry.delay(failures)
                }
            };
            if !hold(&queue, delay, shutdown).await {
                return false;
            }
            limit = queue.len();
        }
        true
    }

    /// Records the head of `queue` as a dead letter (retrying in place until the record
    /// is stored) and terminates it. Returns `false` if `shutdown` came first.
    async fn dead_letter_head(
        &mut self,
        queue: &mut VecDeque<Delivery>,
        attempts: u32,
        error: &HandlerError,
        shutdown: &CancellationToken,
    ) -> bool {
        let mut failures = 0;
        loop {
            match queue[0].dead_letter(attempts, &error.to_string()).await {
                Ok(()) => break,
                Err(err) => {
                    failures += 1;
                    tracing::warn!(consumer = %self.spec.name, error = %err, "could not record a dead letter; will retry");
                    if !hold(queue, self.retry.delay(failures), shutdown).await {
                        return false;
                    }
                }
            }
        }
        if let Some(head) = queue.pop_front() {
            super::metrics::handled(&self.spec.name, Outcome::DeadLettered, head.envelope.time);
            tracing::error!(
                consumer = %self.spec.name, event_id = %head.envelope.id, attempts,
                error = %error, "event dead-lettered"
            );
            if let Err(err) = head.term().await {
                // Recorded already; if it comes back, the record is deduplicated.
                tracing::warn!(consumer = %self.spec.name, error = %err, "term failed");
            }
        }
        true
    }
}

/// Why the head of a batch did not apply, and how many times in a row.
enum Failure {
    /// The handler failed on the event itself.
    Head(HandlerError, u32),
    /// The database failed (or was down when the handler failed).
    Store(String, u32),
}

/// Waits `delay` (or until `shutdown`, returning `false`), keeping `held` deliveries
/// from being handed out again meanwhile.
async fn hold(held: &VecDeque<Delivery>, delay: Duration, shutdown: &CancellationToken) -> bool {
    let until = tokio::time::Instant::now() + delay;
    loop {
        for delivery in held {
            if let Err(err) = delivery.progress().await {
                tracing::debug!(error = %err, "could not extend a held delivery");
            }
        }
        let now = tokio::time::Instant::now();
        if now >= until {
            return true;
        }
        tokio::select! {
            _ = shutdown.cancelled() => return false,
            _ = tokio::time::sleep((until - now).min(PROGRESS_EVERY)) => {}
        }
    }
}
