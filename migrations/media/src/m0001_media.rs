//! The `media`, `media_variant`, `media_use` and `upload_key` tables.

use agora_kit::migration::create_index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One row per upload, from `createUpload` until its files are purged: the janitor
        // reads it by status and expiry, an owner's media go with their account.
        manager
            .create_table(
                Table::create()
                    .table(Media::Table)
                    .col(pk_uuid(Media::Id))
                    .col(uuid(Media::OwnerId))
                    .col(string(Media::Status))
                    .col(string(Media::Filename))
                    .col(string(Media::ContentType))
                    .col(big_integer(Media::ByteSize))
                    .col(integer_null(Media::Width))
                    .col(integer_null(Media::Height))
                    .col(timestamp_with_time_zone(Media::CreatedAt))
                    .col(timestamp_with_time_zone(Media::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Media::ReadyAt))
                    .to_owned(),
            )
            .await?;
        create_index(manager, "media_owner_idx", Media::Table, [Media::OwnerId]).await?;
        create_index(
            manager,
            "media_status_idx",
            Media::Table,
            [Media::Status, Media::ExpiresAt],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(MediaVariant::Table)
                    .col(uuid(MediaVariant::MediaId))
                    .col(string(MediaVariant::Name))
                    .col(string(MediaVariant::ContentType))
                    .col(integer(MediaVariant::Width))
                    .col(integer(MediaVariant::Height))
                    .col(big_integer(MediaVariant::ByteSize))
                    .primary_key(
                        Index::create()
                            .col(MediaVariant::MediaId)
                            .col(MediaVariant::Name),
                    )
                    .to_owned(),
            )
            .await?;

        // Who uses a media object (a post, an avatar), learnt from content's and profiles'
        // events: deleting a post deletes the media only it used.
        manager
            .create_table(
                Table::create()
                    .table(MediaUse::Table)
                    .col(uuid(MediaUse::MediaId))
                    .col(string(MediaUse::Kind))
                    .col(uuid(MediaUse::HolderId))
                    .primary_key(
                        Index::create()
                            .col(MediaUse::MediaId)
                            .col(MediaUse::Kind)
                            .col(MediaUse::HolderId),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "media_use_holder_idx",
            MediaUse::Table,
            [MediaUse::Kind, MediaUse::HolderId],
        )
        .await?;

        // The secret that signs upload URLs, made on first start and shared through the
        // database by every instance, so a URL one instance signed works on another.
        manager
            .create_table(
                Table::create()
                    .table(UploadKey::Table)
                    .col(integer(UploadKey::Id).primary_key())
                    .col(string(UploadKey::Secret))
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Media {
    Table,
    Id,
    OwnerId,
    Status,
    Filename,
    ContentType,
    ByteSize,
    Width,
    Height,
    CreatedAt,
    ExpiresAt,
    ReadyAt,
}

#[derive(DeriveIden)]
enum MediaVariant {
    Table,
    MediaId,
    Name,
    ContentType,
    Width,
    Height,
    ByteSize,
}

#[derive(DeriveIden)]
enum MediaUse {
    Table,
    MediaId,
    Kind,
    HolderId,
}

#[derive(DeriveIden)]
enum UploadKey {
    Table,
    Id,
    Secret,
}
