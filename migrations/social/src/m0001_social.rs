//! The `follow`, `post`, `post_like`, `saved_post` and `timeline_entry` tables.
//!
//! Every list social serves is read newest first by keyset (`created_at`, then an id), so
//! each has an index leading with its parent and `created_at`.

use agora_kit::migration::create_index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Follow::Table)
                    .col(uuid(Follow::FollowerId))
                    .col(uuid(Follow::FolloweeId))
                    .col(timestamp_with_time_zone(Follow::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(Follow::FollowerId)
                            .col(Follow::FolloweeId),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "follow_followee_idx",
            Follow::Table,
            [Follow::FolloweeId, Follow::CreatedAt],
        )
        .await?;
        create_index(
            manager,
            "follow_follower_idx",
            Follow::Table,
            [Follow::FollowerId, Follow::CreatedAt],
        )
        .await?;

        // The replica of content's posts; a deleted post stays as a tombstone so that a
        // late or replayed `post.created` cannot bring it back.
        manager
            .create_table(
                Table::create()
                    .table(Post::Table)
                    .col(pk_uuid(Post::Id))
                    .col(uuid(Post::AuthorId))
                    .col(timestamp_with_time_zone(Post::CreatedAt))
                    .col(timestamp_with_time_zone_null(Post::DeletedAt))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "post_author_idx",
            Post::Table,
            [Post::AuthorId, Post::CreatedAt],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(PostLike::Table)
                    .col(uuid(PostLike::PostId))
                    .col(uuid(PostLike::UserId))
                    .col(timestamp_with_time_zone(PostLike::CreatedAt))
                    .primary_key(Index::create().col(PostLike::PostId).col(PostLike::UserId))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "post_like_post_idx",
            PostLike::Table,
            [PostLike::PostId, PostLike::CreatedAt],
        )
        .await?;
        create_index(
            manager,
            "post_like_user_idx",
            PostLike::Table,
            [PostLike::UserId, PostLike::PostId],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(SavedPost::Table)
                    .col(uuid(SavedPost::UserId))
                    .col(uuid(SavedPost::PostId))
                    .col(timestamp_with_time_zone(SavedPost::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(SavedPost::UserId)
                            .col(SavedPost::PostId),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "saved_post_user_idx",
            SavedPost::Table,
            [SavedPost::UserId, SavedPost::CreatedAt],
        )
        .await?;
        create_index(
            manager,
            "saved_post_post_idx",
            SavedPost::Table,
            [SavedPost::PostId],
        )
        .await?;

        // One row per post in each home timeline it belongs to (fan-out on write).
        manager
            .create_table(
                Table::create()
                    .table(TimelineEntry::Table)
                    .col(uuid(TimelineEntry::OwnerId))
                    .col(uuid(TimelineEntry::PostId))
                    .col(uuid(TimelineEntry::AuthorId))
                    .col(timestamp_with_time_zone(TimelineEntry::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(TimelineEntry::OwnerId)
                            .col(TimelineEntry::PostId),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "timeline_entry_owner_idx",
            TimelineEntry::Table,
            [TimelineEntry::OwnerId, TimelineEntry::CreatedAt],
        )
        .await?;
        create_index(
            manager,
            "timeline_entry_author_idx",
            TimelineEntry::Table,
            [TimelineEntry::OwnerId, TimelineEntry::AuthorId],
        )
        .await?;
        create_index(
            manager,
            "timeline_entry_post_idx",
            TimelineEntry::Table,
            [TimelineEntry::PostId],
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Follow {
    Table,
    FollowerId,
    FolloweeId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Post {
    Table,
    Id,
    AuthorId,
    CreatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum PostLike {
    Table,
    PostId,
    UserId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SavedPost {
    Table,
    UserId,
    PostId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TimelineEntry {
    Table,
    OwnerId,
    PostId,
    AuthorId,
    CreatedAt,
}
