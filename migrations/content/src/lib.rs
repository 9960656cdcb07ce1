//! Content's schema: posts, their comments, the hashtag index of posts, and the
//! full-text index of post bodies, the media each post shows, a replica of media's
//! ready objects, a replica of social's blocks, and one of private accounts and their
//! followers.

use sea_orm_migration::prelude::*;

mod m0001_content;
mod m0002_post_search;
mod m0003_post_media;
mod m0004_restriction;
mod m0005_privacy;
mod m0006_keyset_indexes;

/// Content's migrations, oldest first; the kit's event tables come first.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(agora_kit::events::EventTablesMigration),
            Box::new(agora_kit::events::OutboxUnsentIndexMigration),
            Box::new(agora_kit::events::ErasedUsersMigration),
            Box::new(m0001_content::Migration),
            Box::new(m0002_post_search::Migration),
            Box::new(m0003_post_media::Migration),
            Box::new(m0004_restriction::Migration),
            Box::new(m0005_privacy::Migration),
            Box::new(m0006_keyset_indexes::Migration),
        ]
    }
}
