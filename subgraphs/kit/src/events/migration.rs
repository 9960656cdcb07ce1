//! The migration creating the `outbox` and `inbox` tables in a subgraph's own database.
//!
//! Each subgraph's `Migrator` lists [`EventTablesMigration`] first, so the tables exist
//! before any domain migration and the kit owns their shape. Written with the schema
//! builder so it runs unchanged on SQLite and Postgres.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_pk_auto, integer, string, text, timestamp_with_time_zone, timestamp_with_time_zone_null,
    uuid, uuid_uniq,
};

/// Creates `outbox` (events waiting for the relay) and `inbox` (events a consumer applied).
///
/// The outbox orders by `seq`, an auto-increment primary key: that is the one
/// auto-increment both SQLite (`INTEGER PRIMARY KEY AUTOINCREMENT`) and Postgres
/// (identity) support, so the envelope id is a unique column rather than the key.
pub struct EventTablesMigration;

impl MigrationName for EventTablesMigration {
    fn name(&self) -> &str {
        "m0000_kit_event_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for EventTablesMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("outbox")
                    .col(big_pk_auto("seq"))
                    .col(uuid_uniq("id"))
                    .col(string("event_type"))
                    .col(text("envelope"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("sent_at"))
                    .col(integer("attempts").default(0))
                    .to_owned(),
            )
            .await?;
        // The relay's query: unsent rows in seq order.
        manager
            .create_index(
                Index::create()
                    .name("outbox_pending_idx")
                    .table("outbox")
                    .col("sent_at")
                    .col("seq")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("inbox")
                    .col(string("consumer"))
                    .col(uuid("event_id"))
                    .col(timestamp_with_time_zone("processed_at"))
                    .primary_key(Index::create().col("consumer").col("event_id"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("inbox").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("outbox").to_owned())
            .await
    }
}
