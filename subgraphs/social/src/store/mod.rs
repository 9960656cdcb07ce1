//! Social's tables (sea-orm entities) and the functions that read and write them.
//!
//! - [`follow`]: who follows whom.
//! - [`follow_request`]: who asked to follow a private account.
//! - [`reaction`]: who liked or saved which post.
//! - [`post`]: the replica of content's posts (id, author, creation time, tombstone).
//! - [`restriction`]: who blocked or muted whom.
//! - [`timeline`]: home timelines, one row per post per reader (fan-out on write).
//!
//! Which accounts are private is the kit's replica, [`agora_kit::privacy::account`].
//! - [`list`]: the lists they make, read by the kit's keyset pages, counts and
//!   membership.

pub mod follow;
pub mod follow_request;
pub mod list;
pub mod post;
pub mod reaction;
pub mod restriction;
pub mod timeline;

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::TryInsertResult;

/// Time stored with microsecond precision, the finest both SQLite and Postgres keep, so
/// that a cursor made from a read row compares equal to the row again.
pub fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// Whether an `INSERT .. ON CONFLICT DO NOTHING` wrote its row.
pub(crate) fn inserted(result: TryInsertResult<u64>) -> bool {
    matches!(result, TryInsertResult::Inserted(n) if n > 0)
}
