//! The indexes behind social's keyset lists (followers, following, likers, saved posts,
//! the home timeline, follow requests) end with the node that breaks ties between equal
//! times, so each page is read straight off its index, without a sort.

use agora_kit::migration::replace_index;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Index, table, columns.
const INDEXES: [(&str, &str, [&str; 3]); 6] = [
    (
        "follow_followee_idx",
        "follow",
        ["followee_id", "created_at", "follower_id"],
    ),
    (
        "follow_follower_idx",
        "follow",
        ["follower_id", "created_at", "followee_id"],
    ),
    (
        "post_like_post_idx",
        "post_like",
        ["post_id", "created_at", "user_id"],
    ),
    (
        "saved_post_user_idx",
        "saved_post",
        ["user_id", "created_at", "post_id"],
    ),
    (
        "timeline_entry_owner_idx",
        "timeline_entry",
        ["owner_id", "created_at", "post_id"],
    ),
    (
        "follow_request_target_idx",
        "follow_request",
        ["target_id", "created_at", "requester_id"],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, columns) in INDEXES {
            replace_index(manager, name, table, &columns).await?;
        }
        Ok(())
    }
}
