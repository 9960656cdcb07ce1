//! Social's schema: follows, likes, saves, home timelines, blocks and mutes, follow
//! requests, a replica of content's posts and one of which accounts are private.

use sea_orm_migration::prelude::*;

mod m0001_social;
mod m0002_restrictions;
mod m0003_private_accounts;
mod m0004_keyset_indexes;

/// Social's migrations, oldest first; the kit's event tables come first.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(agora_kit::events::EventTablesMigration),
            Box::new(agora_kit::events::OutboxUnsentIndexMigration),
            Box::new(agora_kit::events::ErasedUsersMigration),
            Box::new(m0001_social::Migration),
            Box::new(m0002_restrictions::Migration),
            Box::new(m0003_private_accounts::Migration),
            Box::new(m0004_keyset_indexes::Migration),
        ]
    }
}
