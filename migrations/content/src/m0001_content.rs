//! The `post`, `comment` and `post_tag` tables.
//!
//! Every list content serves is read by keyset (`created_at`, then the id) for one parent
//! (an author, a post, a tag), so each has an index leading with that parent and
//! `created_at`. No foreign keys: deleting a post deletes its comments and tags in the same
//! transaction, explicitly, the same way on SQLite and Postgres.

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
                    .table(Post::Table)
                    .col(pk_uuid(Post::Id))
                    .col(uuid(Post::AuthorId))
                    .col(text(Post::Body))
                    .col(timestamp_with_time_zone(Post::CreatedAt))
                    .col(timestamp_with_time_zone_null(Post::EditedAt))
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
                    .table(Comment::Table)
                    .col(pk_uuid(Comment::Id))
                    .col(uuid(Comment::PostId))
                    .col(uuid(Comment::AuthorId))
                    .col(text(Comment::Body))
                    .col(timestamp_with_time_zone(Comment::CreatedAt))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "comment_post_idx",
            Comment::Table,
            [Comment::PostId, Comment::CreatedAt],
        )
        .await?;
        create_index(
            manager,
            "comment_author_idx",
            Comment::Table,
            [Comment::AuthorId],
        )
        .await?;

        // One row per (tag, post): the index behind `postsByTag`. The post's time is
        // copied here so that a tag's page is one index range, newest first.
        manager
            .create_table(
                Table::create()
                    .table(PostTag::Table)
                    .col(string(PostTag::Tag))
                    .col(uuid(PostTag::PostId))
                    .col(timestamp_with_time_zone(PostTag::CreatedAt))
                    .primary_key(Index::create().col(PostTag::Tag).col(PostTag::PostId))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "post_tag_tag_idx",
            PostTag::Table,
            [PostTag::Tag, PostTag::CreatedAt],
        )
        .await?;
        create_index(
            manager,
            "post_tag_post_idx",
            PostTag::Table,
            [PostTag::PostId],
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Post {
    Table,
    Id,
    AuthorId,
    Body,
    CreatedAt,
    EditedAt,
}

#[derive(DeriveIden)]
enum Comment {
    Table,
    Id,
    PostId,
    AuthorId,
    Body,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PostTag {
    Table,
    Tag,
    PostId,
    CreatedAt,
}
