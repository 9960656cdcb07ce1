//! Messaging's schema: notifications, conversations with their participants and
//! messages, a replica of identity's accounts (handles) for mentions and recipients, and
//! the email outbox, and a replica of social's blocks and mutes.

use sea_orm_migration::prelude::*;

mod m0001_messaging;
mod m0002_email;
mod m0003_restriction;
mod m0004_keyset_indexes;

/// Messaging's migrations, oldest first; the kit's event tables come first.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(agora_kit::events::EventTablesMigration),
            Box::new(agora_kit::events::OutboxUnsentIndexMigration),
            Box::new(agora_kit::events::ErasedUsersMigration),
            Box::new(m0001_messaging::Migration),
            Box::new(m0002_email::Migration),
            Box::new(m0003_restriction::Migration),
            Box::new(m0004_keyset_indexes::Migration),
        ]
    }
}
