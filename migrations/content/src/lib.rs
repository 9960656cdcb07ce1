//! Content's schema: posts, their comments, the hashtag index of posts, and the
//! full-text index of post bodies.

use sea_orm_migration::prelude::*;

mod m0001_content;
mod m0002_post_search;

/// Content's migrations, oldest first; the kit's event tables come first.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(agora_kit::events::EventTablesMigration),
            Box::new(m0001_content::Migration),
            Box::new(m0002_post_search::Migration),
        ]
    }
}
