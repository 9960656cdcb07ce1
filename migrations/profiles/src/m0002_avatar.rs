//! The avatar: `profile.avatar_media_id`, and `media`, the replica of media's ready
//! objects (id and owner) that `updateProfile` checks an avatar against.

use agora_kit::migration::create_index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Profile::Table)
                    .add_column(uuid_null(Profile::AvatarMediaId))
                    .to_owned(),
            )
            .await?;
        // A deleted media object stops being anyone's avatar.
        create_index(
            manager,
            "profile_avatar_idx",
            Profile::Table,
            [Profile::AvatarMediaId],
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
            .await
    }
}

#[derive(DeriveIden)]
enum Profile {
    Table,
    AvatarMediaId,
}

#[derive(DeriveIden)]
enum Media {
    Table,
    Id,
    OwnerId,
}
