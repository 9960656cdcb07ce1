//! The `email` table: the email outbox, one mail per event that asked for one, kept with
//! its delivery attempts until it is sent.

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
                    .table(Email::Table)
                    .col(pk_uuid(Email::Id))
                    // One mail per event: a redelivered event finds its mail already there.
                    .col(uuid_uniq(Email::EventId))
                    .col(uuid(Email::UserId))
                    .col(string(Email::Kind))
                    .col(string(Email::Recipient))
                    .col(string(Email::Subject))
                    .col(text(Email::Body))
                    .col(text(Email::Link))
                    .col(timestamp_with_time_zone(Email::CreatedAt))
                    .col(integer(Email::Attempts))
                    .col(timestamp_with_time_zone(Email::NextAttemptAt))
                    .col(text_null(Email::LastError))
                    .col(timestamp_with_time_zone_null(Email::SentAt))
                    .to_owned(),
            )
            .await?;
        // The mailer reads the unsent mails that are due.
        create_index(
            manager,
            "email_pending_idx",
            Email::Table,
            [Email::SentAt, Email::NextAttemptAt],
        )
        .await?;
        create_index(manager, "email_user_idx", Email::Table, [Email::UserId]).await
    }
}

#[derive(DeriveIden)]
enum Email {
    Table,
    Id,
    EventId,
    UserId,
    Kind,
    Recipient,
    Subject,
    Body,
    Link,
    CreatedAt,
    Attempts,
    NextAttemptAt,
    LastError,
    SentAt,
}
