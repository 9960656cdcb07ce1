//! Email verification state and handle-change time on `account`, and `account_token`:
//! the single-use, expiring tokens of password reset and email verification links.

use agora_kit::migration::create_index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one column at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Account::Table)
                    .add_column(timestamp_with_time_zone_null(Account::EmailVerifiedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Account::Table)
                    .add_column(timestamp_with_time_zone_null(Account::HandleChangedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AccountToken::Table)
                    .col(pk_uuid(AccountToken::Id))
                    .col(uuid(AccountToken::AccountId))
                    .col(string(AccountToken::Purpose))
                    .col(string_uniq(AccountToken::TokenHash))
                    .col(string(AccountToken::Email))
                    .col(timestamp_with_time_zone(AccountToken::CreatedAt))
                    .col(timestamp_with_time_zone(AccountToken::ExpiresAt))
                    .col(timestamp_with_time_zone_null(AccountToken::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AccountToken::Table, AccountToken::AccountId)
                            .to(Account::Table, Account::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "account_token_account_purpose",
            AccountToken::Table,
            [AccountToken::AccountId, AccountToken::Purpose],
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Account {
    Table,
    Id,
    EmailVerifiedAt,
    HandleChangedAt,
}

#[derive(DeriveIden)]
enum AccountToken {
    Table,
    Id,
    AccountId,
    Purpose,
    TokenHash,
    Email,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}
