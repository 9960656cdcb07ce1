//! The migrations of the `outbox` and `inbox` tables in a subgraph's own database.
//!
//! Each subgraph's `Migrator` lists [`EventTablesMigration`] and
//! [`OutboxUnsentIndexMigration`] first, so the tables exist before any domain migration
//! and the kit owns their shape. Written with the schema builder so they run unchanged on
//! SQLite and Postgres.

use sea_orm::DatabaseBackend;
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

/// Replaces the relay's index by one of the unsent rows only, in `seq` order.
///
/// Marking a row sent leaves its old index entry behind until a vacuum; a bitmap scan of
/// the `(sent_at, seq)` index visited every such entry and its heap row on every round,
/// so the relay's query grew with the rows sent since (2–3 ms after 20 000 events, the
/// larger part of publish-to-stored latency). A plain scan of this partial index in `seq`
/// order, which the planner picks for the relay's limit, marks dead entries as it passes
/// and skips them afterwards. On Postgres the table is also vacuumed and analysed after
/// a few thousand changes rather than a fifth of the table, as suits a queue.
pub struct OutboxUnsentIndexMigration;

/// The partial index of unsent rows.
const UNSENT_INDEX: &str = "outbox_unsent_idx";

impl MigrationName for OutboxUnsentIndexMigration {
    fn name(&self) -> &str {
        "m0000_kit_outbox_unsent_index"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for OutboxUnsentIndexMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(UNSENT_INDEX)
                    .table("outbox")
                    .col("seq")
                    .and_where(Expr::col("sent_at").is_null())
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("outbox_pending_idx")
                    .table("outbox")
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0, \
                     autovacuum_vacuum_threshold = 5000, autovacuum_analyze_scale_factor = 0, \
                     autovacuum_analyze_threshold = 5000)",
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "ALTER TABLE outbox RESET (autovacuum_vacuum_scale_factor, \
                     autovacuum_vacuum_threshold, autovacuum_analyze_scale_factor, \
                     autovacuum_analyze_threshold)",
                )
                .await?;
        }
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
            .drop_index(Index::drop().name(UNSENT_INDEX).table("outbox").to_owned())
            .await
    }
}

/// The erasers' `erased_user` table: the accounts a subgraph erased, so that events
/// applied after an erasure cannot bring the account's data back (see
/// [`super::erasure`]). Listed by the subgraphs that erase accounts.
pub struct ErasedUsersMigration;

impl MigrationName for ErasedUsersMigration {
    fn name(&self) -> &str {
        "m0000_kit_erased_users"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for ErasedUsersMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("erased_user")
                    .col(uuid("id").primary_key())
                    .col(timestamp_with_time_zone("erased_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("erased_user").to_owned())
            .await
    }
}
