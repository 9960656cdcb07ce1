//! Account deletion and the erasure it starts.
//!
//! `deleteAccount` turns the account into a tombstone (email and password wiped, handle
//! held for [`account::HANDLE_HOLD`]), deletes its sessions, refresh tokens, link tokens
//! and lockout counter, records an erasure request and publishes
//! `identity.user.deleted`, all in one transaction. Each subgraph of
//! [`erasure::ERASERS`] erases what it holds and confirms with `<subgraph>.user.erased`,
//! which identity records until all have; the request's receipt, given to the user as
//! the account goes, is how they follow it (`Query.erasureStatus`).

use agora_kit::ServiceError;
use agora_kit::events::erasure::{ERASERS, USER_DELETED, UserDeleted};
use agora_kit::events::{self, Envelope};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};
use uuid::Uuid;

use crate::accounts::Identity;
use crate::error::IdentityError;
use crate::events::SOURCE;
use crate::store::audit::{self, Action};
use crate::store::{account, account_token, erasure, erasure_confirmation, lockout, session};
use crate::{password, tokens};

/// How far an account's erasure has got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErasureStatus {
    /// The receipt that finds it.
    pub id: String,
    /// When the account was deleted.
    pub requested_at: DateTime<Utc>,
    /// When the last subgraph confirmed; `None` while some have not.
    pub completed_at: Option<DateTime<Utc>>,
    /// The subgraphs that have not confirmed yet, in [`ERASERS`] order.
    pub pending: Vec<String>,
    /// The subgraphs that have, in [`ERASERS`] order.
    pub confirmed: Vec<String>,
}

impl Identity {
    /// Deletes the account of a live session after checking its password, and starts its
    /// erasure everywhere; returns the erasure's status, whose id is the receipt.
    pub async fn delete_account(
        &self,
        account_id: Uuid,
        session_id: Uuid,
        password: String,
    ) -> Result<ErasureStatus, IdentityError> {
        let account = self.active_account(account_id, session_id).await?;
        if !password::verify(password, Some(account.password_hash)).await? {
            return Err(ServiceError::bad_input("password", "password is wrong").into());
        }
        let (receipt, _) = tokens::random_token()?;
        let now = Utc::now();
        let txn = self.db.begin().await?;
        if !account::erase(&txn, account_id, now).await? {
            // Deleted by a concurrent request of the same user: its session is gone.
            return Err(ServiceError::unauthenticated().into());
        }
        session::delete_all(&txn, account_id).await?;
        account_token::delete_all(&txn, account_id).await?;
        lockout::clear(&txn, &format!("account:{account_id}")).await?;
        audit::record(&txn, Some(account_id), Action::AccountDeleted, "").await?;
        let request = erasure::insert(&txn, receipt, account_id, now).await?;
        let deleted = UserDeleted { id: account_id };
        events::enqueue(
            &txn,
            &Envelope::new(SOURCE, USER_DELETED, account_id, &deleted),
        )
        .await?;
        txn.commit().await?;
        self.outbox.notify_one();
        Ok(status(request, Vec::new()))
    }

    /// The status of the erasure with receipt `id`, if there is one.
    pub async fn erasure_status(&self, id: &str) -> Result<Option<ErasureStatus>, IdentityError> {
        let Some(request) = erasure::find(&self.db, id).await? else {
            return Ok(None);
        };
        let confirmed = erasure_confirmation::subgraphs(&self.db, request.account_id).await?;
        Ok(Some(status(request, confirmed)))
    }
}

/// Records `subgraph`'s confirmation that `account_id` is erased, and completes the
/// erasure when it was the last one. Idempotent.
pub async fn confirmed(
    conn: &impl ConnectionTrait,
    subgraph: &str,
    account_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    erasure_confirmation::record(conn, account_id, subgraph, at).await?;
    let confirmed = erasure_confirmation::subgraphs(conn, account_id).await?;
    if ERASERS
        .iter()
        .all(|eraser| confirmed.iter().any(|c| c == eraser))
    {
        erasure::complete(conn, account_id, at).await?;
    }
    Ok(())
}

fn status(request: erasure::Model, confirmed: Vec<String>) -> ErasureStatus {
    let (confirmed, pending) = ERASERS
        .iter()
        .map(|eraser| (*eraser).to_owned())
        .partition(|eraser| confirmed.contains(eraser));
    ErasureStatus {
        id: request.id,
        requested_at: request.requested_at,
        completed_at: request.completed_at,
        pending,
        confirmed,
    }
}
