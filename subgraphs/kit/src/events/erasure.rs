//! The account erasure protocol, which every subgraph takes part in: identity publishes
//! [`USER_DELETED`]; each subgraph of [`ERASERS`] erases what it holds of the account
//! (its [`Eraser`], which its consumers run) and, in the same transaction, [`confirm`]s
//! with its own `<subgraph>.user.erased`; identity counts the confirmations until every
//! eraser has answered.
//!
//! It lives here, beside the envelope, because it is a contract between all the
//! subgraphs rather than one domain's payload: the list of who must confirm is kept once,
//! for identity's status, its consumers and `agora events`.
//!
//! Each consumer applies one stream in order, but nothing orders one stream against
//! another, so an event about the user can still be in flight on another stream when
//! [`USER_DELETED`] is applied (a block from social, a `media.ready`, a post for social's
//! replica). So an eraser keeps a record of the accounts it erased ([`ErasedUsersMigration`]
//! creates it) and a consumer given the subgraph's [`Eraser`] erases such an account
//! again, in the same transaction, after applying any event that names it. On Postgres
//! one race is left: an event applied concurrently with the deletion, in a transaction
//! that read the record before the deletion committed.
//!
//! [`ErasedUsersMigration`]: super::ErasedUsersMigration

use std::collections::BTreeSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::bus::ConsumerSpec;
use super::consumer::Handler;
use super::envelope::Envelope;
use super::error::{EventError, HandlerError};
use super::outbox::enqueue;
use super::tables::erased_user;

/// Identity's event: an account is deleted; every eraser erases it.
pub const USER_DELETED: &str = "identity.user.deleted";

/// The subgraphs that hold a user's data and must confirm its erasure, each on its own
/// stream. Identity's erasure is complete when all of them have.
pub const ERASERS: &[&str] = &["profiles", "content", "social", "media", "messaging"];

/// Payload of [`USER_DELETED`]; the envelope's subject is the account.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserDeleted {
    /// The erased account's id (`id`, or `userId`).
    #[serde(alias = "userId")]
    pub id: Uuid,
}

/// Payload of `<subgraph>.user.erased`; the envelope's subject is the account.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserErased {
    /// The account whose data the publishing subgraph no longer holds.
    pub user_id: Uuid,
}

/// The type of `subgraph`'s confirmation: `<subgraph>.user.erased`.
pub fn erased_type(subgraph: &str) -> String {
    format!("{subgraph}.user.erased")
}

/// Enqueues `subgraph`'s confirmation that `user` is erased, in the transaction of the
/// erasure itself: the confirmation is published exactly when the erasure committed.
pub async fn confirm(conn: &impl ConnectionTrait, subgraph: &str, user: Uuid) -> Result<(), DbErr> {
    let envelope = Envelope::new(
        subgraph,
        &erased_type(subgraph),
        user,
        &UserErased { user_id: user },
    );
    enqueue(conn, &envelope).await
}

/// Consumer `name` of every eraser's confirmations, one per eraser's stream (identity's
/// `identity-PROFILES`, `identity-CONTENT`, …).
pub fn confirmation_consumers(name: &str) -> Vec<ConsumerSpec> {
    ERASERS
        .iter()
        .map(|eraser| ConsumerSpec::new(name, eraser, &[&erased_type(eraser)]))
        .collect()
}

/// How a subgraph erases what it holds of an account. Given to each of its consumers
/// (`Consumer::with_eraser`): the one that receives [`USER_DELETED`] erases, records and
/// confirms; any of them erases again when an event applied later names the account.
#[async_trait]
pub trait Eraser: Send + Sync + 'static {
    /// Erases `user`'s data in `txn`; `at` is when (for "deleted user" marks).
    async fn erase(
        &self,
        txn: &DatabaseTransaction,
        user: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), HandlerError>;
}

/// The handler of a consumer that only takes part in erasure: it applies nothing of its
/// own, its eraser does the work.
pub struct EraseOnly;

#[async_trait]
impl Handler for EraseOnly {
    async fn handle(
        &self,
        _txn: &DatabaseTransaction,
        _event: &Envelope,
    ) -> Result<(), HandlerError> {
        Ok(())
    }
}

/// Erases the account `event` deletes, records it and confirms as `subgraph`, in `txn`.
pub(crate) async fn erase(
    txn: &DatabaseTransaction,
    eraser: &dyn Eraser,
    subgraph: &str,
    event: &Envelope,
) -> Result<(), HandlerError> {
    let deleted: UserDeleted = event.data_as()?;
    eraser.erase(txn, deleted.id, event.time).await?;
    record(txn, deleted.id, event.time).await?;
    confirm(txn, subgraph, deleted.id).await?;
    Ok(())
}

/// After `events` were applied in `txn`: erases again every recorded account that one
/// of them (other than its deletion) names.
pub(crate) async fn keep_erased(
    txn: &DatabaseTransaction,
    eraser: &dyn Eraser,
    events: &[&Envelope],
) -> Result<(), EventError> {
    let mut named = BTreeSet::new();
    for event in events.iter().filter(|e| e.event_type != USER_DELETED) {
        names(&event.data, &mut named);
        named.extend(event.subject.parse::<Uuid>());
    }
    if named.is_empty() {
        return Ok(());
    }
    let erased = erased_user::Entity::find()
        .filter(erased_user::Column::Id.is_in(named))
        .all(txn)
        .await?;
    for user in erased {
        tracing::info!(user = %user.id, "an event named an erased account; erasing it again");
        eraser.erase(txn, user.id, user.erased_at).await?;
    }
    Ok(())
}

/// Records that `user` was erased at `at` (once).
async fn record(conn: &impl ConnectionTrait, user: Uuid, at: DateTime<Utc>) -> Result<(), DbErr> {
    let row = erased_user::ActiveModel {
        id: Set(user),
        erased_at: Set(at),
    };
    erased_user::Entity::insert(row)
        .on_conflict(
            OnConflict::column(erased_user::Column::Id)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Every string in `value` that is a UUID: the ids an event's payload names.
fn names(value: &serde_json::Value, into: &mut BTreeSet<Uuid>) {
    match value {
        serde_json::Value::String(text) => into.extend(text.parse::<Uuid>()),
        serde_json::Value::Array(items) => items.iter().for_each(|item| names(item, into)),
        serde_json::Value::Object(fields) => fields.values().for_each(|field| names(field, into)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deletion_reads_the_account_as_id_or_user_id() {
        let id = Uuid::now_v7();
        for payload in [
            serde_json::json!({ "id": id }),
            serde_json::json!({ "userId": id }),
        ] {
            let read: UserDeleted = serde_json::from_value(payload).expect("decodes");
            assert_eq!(read.id, id);
        }
    }

    #[test]
    fn each_eraser_is_read_on_its_own_stream_for_its_own_confirmation() {
        let specs = confirmation_consumers("identity");
        let read: Vec<(&str, &str)> = specs
            .iter()
            .map(|s| (s.domain.as_str(), s.event_types[0].as_str()))
            .collect();
        assert_eq!(read[1], ("content", "content.user.erased"));
        assert_eq!(specs.len(), ERASERS.len());
    }
}
