//! Accounts with their handles and credentials, sessions, rotated refresh tokens, login
//! lockout counters, the security audit log and the JWT signing keys.

use agora_kit::migration::create_index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Account::Table)
                    .col(pk_uuid(Account::Id))
                    .col(string_uniq(Account::Email))
                    .col(string(Account::Handle))
                    .col(string_uniq(Account::HandleKey))
                    .col(string(Account::PasswordHash))
                    .col(timestamp_with_time_zone(Account::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Session::Table)
                    .col(pk_uuid(Session::Id))
                    .col(uuid(Session::AccountId))
                    .col(timestamp_with_time_zone(Session::CreatedAt))
                    .col(timestamp_with_time_zone_null(Session::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Session::Table, Session::AccountId)
                            .to(Account::Table, Account::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "session_account_id",
            Session::Table,
            [Session::AccountId],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(RefreshToken::Table)
                    .col(pk_uuid(RefreshToken::Id))
                    .col(uuid(RefreshToken::SessionId))
                    .col(string_uniq(RefreshToken::TokenHash))
                    .col(timestamp_with_time_zone(RefreshToken::CreatedAt))
                    .col(timestamp_with_time_zone(RefreshToken::ExpiresAt))
                    .col(timestamp_with_time_zone_null(RefreshToken::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RefreshToken::Table, RefreshToken::SessionId)
                            .to(Session::Table, Session::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LoginAttempt::Table)
                    .col(string(LoginAttempt::Key).primary_key())
                    .col(integer(LoginAttempt::Failures))
                    .col(timestamp_with_time_zone_null(LoginAttempt::LockedUntil))
                    .col(timestamp_with_time_zone(LoginAttempt::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(pk_uuid(AuditLog::Id))
                    .col(uuid_null(AuditLog::AccountId))
                    .col(string(AuditLog::Action))
                    .col(text(AuditLog::Detail))
                    .col(timestamp_with_time_zone(AuditLog::CreatedAt))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "audit_log_account_id",
            AuditLog::Table,
            [AuditLog::AccountId],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(SigningKey::Table)
                    .col(string(SigningKey::Kid).primary_key())
                    .col(text(SigningKey::PrivateKey))
                    .col(string(SigningKey::PublicKey))
                    .col(timestamp_with_time_zone(SigningKey::CreatedAt))
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Account {
    Table,
    Id,
    Email,
    Handle,
    HandleKey,
    PasswordHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Session {
    Table,
    Id,
    AccountId,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum RefreshToken {
    Table,
    Id,
    SessionId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum LoginAttempt {
    Table,
    Key,
    Failures,
    LockedUntil,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    AccountId,
    Action,
    Detail,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SigningKey {
    Table,
    Kid,
    PrivateKey,
    PublicKey,
    CreatedAt,
}
