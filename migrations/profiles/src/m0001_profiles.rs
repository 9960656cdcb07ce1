//! The `profile` table: display name, bio, website, location, and the handle replica.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Profile::Table)
                    .col(pk_uuid(Profile::UserId))
                    .col(string(Profile::Handle))
                    .col(string(Profile::DisplayName))
                    .col(text(Profile::Bio))
                    .col(string_null(Profile::Website))
                    .col(string_null(Profile::Location))
                    .col(timestamp_with_time_zone(Profile::CreatedAt))
                    .col(timestamp_with_time_zone(Profile::UpdatedAt))
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Profile {
    Table,
    UserId,
    Handle,
    DisplayName,
    Bio,
    Website,
    Location,
    CreatedAt,
    UpdatedAt,
}
