//! Content's tables (sea-orm entities) and the functions that read and write them.
//!
//! - [`post`]: posts, by id and by author.
//! - [`comment`]: comments, by id and by post.
//! - [`comment_page`]: pages of posts' comments, whole rows, many posts per statement.
//! - [`tag`]: the hashtag index, one row per (tag, post).
//! - [`search`]: full-text search over post bodies, on either backend.
//! - [`post_media`]: the media each post shows.
//! - [`media`]: the replica of media's ready objects (id, owner).
//! - [`visible`]: what the replicas of social's blocks and of private accounts hide from
//!   the lists above.
//! - [`list`]: the per-parent lists (an author's posts, a post's comments), read by the
//!   kit's keyset pages (posts) and counts (both).

pub mod comment;
pub mod comment_page;
pub mod list;
pub mod media;
pub mod post;
pub mod post_media;
pub mod search;
pub mod tag;
pub mod visible;

use chrono::{DateTime, SubsecRound, Utc};

/// Time stored with microsecond precision, the finest both SQLite and Postgres keep, so
/// that a cursor made from a read row compares equal to the row again.
pub fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}
