//! Identity's schema: accounts, sessions, refresh tokens, lockout, audit log, signing keys,
//! the tokens of password reset and email verification links, and account erasures.

use sea_orm_migration::prelude::*;

mod m0001_accounts;
mod m0002_account_tokens;
mod m0003_erasure;

/// Identity's migrations, oldest first; the kit's event tables come first.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(agora_kit::events::EventTablesMigration),
            Box::new(agora_kit::events::OutboxUnsentIndexMigration),
            Box::new(m0001_accounts::Migration),
            Box::new(m0002_account_tokens::Migration),
            Box::new(m0003_erasure::Migration),
        ]
    }
}
