//! Content's schema: posts, their comments, and the hashtag index of posts.

use sea_orm_migration::prelude::*;

mod m0001_content;

/// Content's migrations, oldest first; the kit's event tables come first.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(agora_kit::events::EventTablesMigration),
            Box::new(m0001_content::Migration),
        ]
    }
}
