//! Private accounts: `account_privacy`, the replica of which accounts profiles says are
//! private (the kit's table, see `agora_kit::privacy`), and `follow_request`, the pending
//! requests to follow them.

use agora_kit::migration::create_index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        agora_kit::privacy::create_account_table(manager).await?;
        manager
            .create_table(
                Table::create()
                    .table(FollowRequest::Table)
                    .col(uuid(FollowRequest::RequesterId))
                    .col(uuid(FollowRequest::TargetId))
                    .col(timestamp_with_time_zone(FollowRequest::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(FollowRequest::RequesterId)
                            .col(FollowRequest::TargetId),
                    )
                    .to_owned(),
            )
            .await?;
        // The account owner reads their requests newest first.
        create_index(
            manager,
            "follow_request_target_idx",
            FollowRequest::Table,
            [FollowRequest::TargetId, FollowRequest::CreatedAt],
        )
        .await
    }
}

#[derive(DeriveIden)]
enum FollowRequest {
    Table,
    RequesterId,
    TargetId,
    CreatedAt,
}
