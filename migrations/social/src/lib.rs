//! Social's schema: follows, likes, saves, home timelines, and a replica of content's posts.

use sea_orm_migration::prelude::*;

mod m0001_social;

/// Social's migrations, oldest first; the kit's event tables come first.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(agora_kit::events::EventTablesMigration),
            Box::new(m0001_social::Migration),
        ]
    }
}
