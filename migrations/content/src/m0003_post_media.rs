//! The `post_media` table (which media a post shows, in order) and `media`, the replica
//! of media's ready objects (id and owner) that `createPost` checks attachments against.

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
                    .table(PostMedia::Table)
                    .col(uuid(PostMedia::PostId))
                    .col(integer(PostMedia::Position))
                    .col(uuid(PostMedia::MediaId))
                    .primary_key(
                        Index::create()
                            .col(PostMedia::PostId)
                            .col(PostMedia::Position),
                    )
                    .to_owned(),
            )
            .await?;
        // A deleted media object leaves every post it was in.
        create_index(
            manager,
            "post_media_media_idx",
            PostMedia::Table,
            [PostMedia::MediaId],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(Media::Table)
                    .col(pk_uuid(Media::Id))
                    .col(uuid(Media::OwnerId))
                    .to_owned(),
            )
            .await?;
        create_index(manager, "media_owner_idx", Media::Table, [Media::OwnerId]).await
    }
}

#[derive(DeriveIden)]
enum PostMedia {
    Table,
    PostId,
    Position,
    MediaId,
}

#[derive(DeriveIden)]
enum Media {
    Table,
    Id,
    OwnerId,
}
