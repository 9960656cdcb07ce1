//! Identity's schema: accounts, sessions, refresh tokens, lockout, audit log, signing keys.

use sea_orm_migration::prelude::*;

mod m0001_accounts;

/// Identity's migrations, oldest first; the kit's event tables come first.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(agora_kit::events::EventTablesMigration),
            Box::new(m0001_accounts::Migration),
        ]
    }
}
