//! Profiles' schema: one profile per user, with a replica of the user's handle, their
//! avatar, a replica of media's ready objects, a replica of social's blocks, the
//! indexes of user search, and whether the account is private.

use sea_orm_migration::prelude::*;

mod m0001_profiles;
mod m0002_avatar;
mod m0003_restriction;
mod m0004_user_search;
mod m0005_private;

/// Profiles' migrations, oldest first; the kit's event tables come first.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(agora_kit::events::EventTablesMigration),
            Box::new(agora_kit::events::OutboxUnsentIndexMigration),
            Box::new(agora_kit::events::ErasedUsersMigration),
            Box::new(m0001_profiles::Migration),
            Box::new(m0002_avatar::Migration),
            Box::new(m0003_restriction::Migration),
            Box::new(m0004_user_search::Migration),
            Box::new(m0005_private::Migration),
        ]
    }
}
