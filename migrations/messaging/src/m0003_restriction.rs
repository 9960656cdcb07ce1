//! The `restriction` table: messaging's replica of social's blocks and mutes, the kit's
//! shared replica table (see `agora_kit::restriction`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        agora_kit::restriction::create_table(manager).await
    }
}
