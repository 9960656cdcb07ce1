//! Media's schema: media objects with their upload state, their variants, where they are
//! used (posts, avatars), and the key that signs upload URLs.

use sea_orm_migration::prelude::*;

mod m0001_media;

/// Media's migrations, oldest first; the kit's event tables come first.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(agora_kit::events::EventTablesMigration),
            Box::new(agora_kit::events::OutboxUnsentIndexMigration),
            Box::new(agora_kit::events::ErasedUsersMigration),
            Box::new(m0001_media::Migration),
        ]
    }
}
