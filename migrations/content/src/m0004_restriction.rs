//! The `restriction` table: content's replica of social's blocks, the kit's shared
//! replica table (see `agora_kit::restriction`), so that a block hides each side's posts
//! and comments from the other and refuses comments between them.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        agora_kit::restriction::create_table(manager).await
    }
}
