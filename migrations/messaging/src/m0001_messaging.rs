//! The `member`, `notification`, `conversation`, `participant` and `message` tables.
//!
//! Lists are read newest first by keyset, so each has an index leading with the parent
//! it is read by and then its ordering column.

use agora_kit::migration::create_index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The replica of identity's accounts: handles resolve mentions and check
        // conversation participants; an erased account stays as a tombstone (no handle)
        // so that a replayed registration cannot bring it back.
        manager
            .create_table(
                Table::create()
                    .table(Member::Table)
                    .col(pk_uuid(Member::Id))
                    .col(string_null(Member::Handle))
                    .col(timestamp_with_time_zone_null(Member::DeletedAt))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "member_handle_idx",
            Member::Table,
            [Member::Handle],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Notification::Table)
                    .col(pk_uuid(Notification::Id))
                    .col(uuid(Notification::RecipientId))
                    .col(string(Notification::Kind))
                    .col(uuid(Notification::ActorId))
                    .col(uuid_null(Notification::PostId))
                    .col(uuid(Notification::EventId))
                    .col(timestamp_with_time_zone(Notification::CreatedAt))
                    .col(timestamp_with_time_zone_null(Notification::ReadAt))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "notification_recipient_idx",
            Notification::Table,
            [Notification::RecipientId, Notification::CreatedAt],
        )
        .await?;
        create_index(
            manager,
            "notification_actor_idx",
            Notification::Table,
            [Notification::ActorId],
        )
        .await?;
        // One notification per recipient per event, whatever the reasons to tell them.
        manager
            .create_index(
                Index::create()
                    .name("notification_event_recipient_key")
                    .table(Notification::Table)
                    .col(Notification::EventId)
                    .col(Notification::RecipientId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        // `participant_key` (a digest of the sorted participant ids) makes starting the
        // same conversation twice find the first one.
        manager
            .create_table(
                Table::create()
                    .table(Conversation::Table)
                    .col(pk_uuid(Conversation::Id))
                    .col(string_uniq(Conversation::ParticipantKey))
                    .col(timestamp_with_time_zone(Conversation::CreatedAt))
                    .col(timestamp_with_time_zone(Conversation::LastMessageAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Participant::Table)
                    .col(uuid(Participant::ConversationId))
                    .col(uuid(Participant::UserId))
                    .col(timestamp_with_time_zone(Participant::CreatedAt))
                    .col(timestamp_with_time_zone(Participant::LastActivityAt))
                    .col(timestamp_with_time_zone_null(Participant::LastReadAt))
                    .primary_key(
                        Index::create()
                            .col(Participant::ConversationId)
                            .col(Participant::UserId),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "participant_user_idx",
            Participant::Table,
            [Participant::UserId, Participant::LastActivityAt],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Message::Table)
                    .col(pk_uuid(Message::Id))
                    .col(uuid(Message::ConversationId))
                    .col(uuid_null(Message::SenderId))
                    .col(text(Message::Body))
                    .col(timestamp_with_time_zone(Message::CreatedAt))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "message_conversation_idx",
            Message::Table,
            [Message::ConversationId, Message::CreatedAt],
        )
        .await?;
        create_index(
            manager,
            "message_sender_idx",
            Message::Table,
            [Message::SenderId],
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Member {
    Table,
    Id,
    Handle,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Notification {
    Table,
    Id,
    RecipientId,
    Kind,
    ActorId,
    PostId,
    EventId,
    CreatedAt,
    ReadAt,
}

#[derive(DeriveIden)]
enum Conversation {
    Table,
    Id,
    ParticipantKey,
    CreatedAt,
    LastMessageAt,
}

#[derive(DeriveIden)]
enum Participant {
    Table,
    ConversationId,
    UserId,
    CreatedAt,
    LastActivityAt,
    LastReadAt,
}

#[derive(DeriveIden)]
enum Message {
    Table,
    Id,
    ConversationId,
    SenderId,
    Body,
    CreatedAt,
}
