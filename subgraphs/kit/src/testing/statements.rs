//! Counting the SQL statements an operation runs, for the proofs that DataLoaders batch
//! (a page of 50 costs as many statements as a page of 5).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sea_orm::DatabaseConnection;

/// Counts every statement run on the connections it was attached to.
#[derive(Clone, Debug, Default)]
pub struct StatementCounter(Arc<AtomicUsize>);

impl StatementCounter {
    /// Counts the statements `db` (and every clone made of it afterwards) runs.
    pub fn attach(db: &mut DatabaseConnection) -> Self {
        let counter = Self::default();
        let count = counter.0.clone();
        db.set_metric_callback(move |_| {
            count.fetch_add(1, Ordering::SeqCst);
        });
        counter
    }

    /// How many statements `run` takes: the fewest of a few runs. A DataLoader gathers
    /// keys for a short window, so a starved CPU can split one batch in two; the fewest is
    /// what the batching itself costs.
    pub async fn fewest<F, Fut>(&self, mut run: F) -> usize
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        let mut fewest = usize::MAX;
        for _ in 0..5 {
            self.0.store(0, Ordering::SeqCst);
            run().await;
            fewest = fewest.min(self.0.load(Ordering::SeqCst));
        }
        fewest
    }
}
