//! The `block` and `mute` tables: who blocked or muted whom. Both have the same columns,
//! read by the user who acted and by the user concerned.

use agora_kit::migration::create_index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, index) in [
            (Restriction::Block, "block_target_idx"),
            (Restriction::Mute, "mute_target_idx"),
        ] {
            manager
                .create_table(
                    Table::create()
                        .table(table)
                        .col(uuid(Restriction::UserId))
                        .col(uuid(Restriction::TargetId))
                        .col(timestamp_with_time_zone(Restriction::CreatedAt))
                        .primary_key(
                            Index::create()
                                .col(Restriction::UserId)
                                .col(Restriction::TargetId),
                        )
                        .to_owned(),
                )
                .await?;
            create_index(manager, index, table, [Restriction::TargetId]).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Restriction {
    Block,
    Mute,
    UserId,
    TargetId,
    CreatedAt,
}
