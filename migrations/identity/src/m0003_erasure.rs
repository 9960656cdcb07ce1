//! Account erasure: `account.deleted_at` (a deleted account stays as a tombstone that
//! keeps its handle reserved), `erasure` (one request per deleted account, found by its
//! unguessable receipt) and `erasure_confirmation` (which subgraphs have erased it).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Account::Table)
                    .add_column(timestamp_with_time_zone_null(Account::DeletedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Erasure::Table)
                    .col(string(Erasure::Id).primary_key())
                    .col(uuid_uniq(Erasure::AccountId))
                    .col(timestamp_with_time_zone(Erasure::RequestedAt))
                    .col(timestamp_with_time_zone_null(Erasure::CompletedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ErasureConfirmation::Table)
                    .col(uuid(ErasureConfirmation::AccountId))
                    .col(string(ErasureConfirmation::Subgraph))
                    .col(timestamp_with_time_zone(ErasureConfirmation::ConfirmedAt))
                    .primary_key(
                        Index::create()
                            .col(ErasureConfirmation::AccountId)
                            .col(ErasureConfirmation::Subgraph),
                    )
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Account {
    Table,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Erasure {
    Table,
    Id,
    AccountId,
    RequestedAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum ErasureConfirmation {
    Table,
    AccountId,
    Subgraph,
    ConfirmedAt,
}
