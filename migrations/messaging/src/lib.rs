//! Messaging's schema: notifications, conversations with their participants and
//! messages, and a replica of identity's accounts (handles) for mentions and recipients.

use sea_orm_migration::prelude::*;

mod m0001_messaging;

/// Messaging's migrations, oldest first; the kit's event tables come first.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(agora_kit::events::EventTablesMigration),
            Box::new(m0001_messaging::Migration),
        ]
    }
}
