//! Profiles' schema: one profile per user, with a replica of the user's handle.

use sea_orm_migration::prelude::*;

mod m0001_profiles;

/// Profiles' migrations, oldest first; the kit's event tables come first.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(agora_kit::events::EventTablesMigration),
            Box::new(m0001_profiles::Migration),
        ]
    }
}
