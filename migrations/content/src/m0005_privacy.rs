//! `account_privacy` and `follower`: content's replica of private accounts and of who
//! follows whom, the kit's shared replica tables (see `agora_kit::privacy`), so that a
//! private account's posts and comments are for itself and its approved followers only.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        agora_kit::privacy::create_account_table(manager).await?;
        agora_kit::privacy::create_follower_table(manager).await
    }
}
