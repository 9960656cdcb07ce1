//! The consumer runner: applies each delivered event exactly once per consumer, by
//! writing the handler's effect and an inbox row in one transaction.
//!
//! Delivery is at-least-once; the inbox turns it into effectively-once. Failures are
//! retried with growing delays and, after `max_deliver` attempts, dead-lettered so that
//! one poison event cannot stop the events behind it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, DatabaseConnection, DatabaseTransaction, EntityTrait, TransactionTrait,
};
use tokio_util::sync::CancellationToken;

use super::backoff::Backoff;
use super::bus::{ConsumerSpec, Delivery, EventBus, EventStream};
use super::envelope::Envelope;
use super::error::{EventError, HandlerError};
use super::tables::inbox;

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
        })
    }

    /// Replaces the redelivery backoff (1 s doubling to 60 s); tests make it tiny.
    pub fn with_retry_backoff(mut self, retry: Backoff) -> Self {
        self.retry = retry;
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
        let txn = self.db.begin().await?;
        let seen = inbox::Entity::find_by_id((self.spec.name.clone(), event.id))
            .one(&txn)
            .await?;
        if seen.is_some() {
            return Ok(Outcome::Duplicate);
        }
        if let Err(err) = self.handler.handle(&txn, event).await {
            if let Err(rollback) = txn.rollback().await {
                tracing::warn!(error = %rollback, "rollback after handler failure failed");
            }
            return Err(err.into());
        }
        let row = inbox::ActiveModel {
            consumer: Set(self.spec.name.clone()),
            event_id: Set(event.id),
            processed_at: Set(Utc::now()),
        };
        inbox::Entity::insert(row)
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        self.handler.committed(&self.db, event).await;
        Ok(Outcome::Applied)
    }

    /// Processes deliveries until `shutdown`, backing off on bus or database errors.
    /// Cancellation is observed only while waiting for a delivery, so an event being
    /// applied is finished and settled first.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut failures = 0;
        loop {
            let received = tokio::select! {
                _ = shutdown.cancelled() => break,
                received = self.receive() => received,
            };
            let result = match received {
                Ok(delivery) => self.process_delivery(delivery).await,
                Err(err) => Err(err),
            };
            match result {
                Ok(_) => failures = 0,
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
}
