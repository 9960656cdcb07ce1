//! The account erasure protocol, which every subgraph takes part in: identity publishes
//! [`USER_DELETED`]; each subgraph of [`ERASERS`] erases what it holds of the account
//! and, in the same transaction, [`confirm`]s with its own `<subgraph>.user.erased`;
//! identity counts the confirmations until every eraser has answered.
//!
//! It lives here, beside the envelope, because it is a contract between all the
//! subgraphs rather than one domain's payload: the list of who must confirm is kept once,
//! for identity's status, its consumers and `agora events`.
//!
//! Known gap: each consumer applies one stream in order, but nothing orders one stream
//! against another, so an event about the user still in flight on another stream when
//! [`USER_DELETED`] is applied (a block from social, a `media.ready`, a post for social's
//! replica) writes its replica row after the erasure. Closing it needs a record of erased
//! users that replica writes check.

use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::bus::ConsumerSpec;
use super::envelope::Envelope;
use super::outbox::enqueue;

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
