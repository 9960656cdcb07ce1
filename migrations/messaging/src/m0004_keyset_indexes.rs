//! The index behind a conversation's messages ends with the id that breaks ties between
//! equal times, so each page is read straight off it, without a sort.

use agora_kit::migration::replace_index;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace_index(
            manager,
            "message_conversation_idx",
            "message",
            &["conversation_id", "created_at", "id"],
        )
        .await
    }
}
