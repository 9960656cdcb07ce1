//! `profile.is_private`: whether only approved followers see the account's posts and
//! follows (social and content enforce it from profiles' `profile.privacy_changed`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Profile::Table)
                    .add_column(boolean(Profile::IsPrivate).default(false))
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Profile {
    Table,
    IsPrivate,
}
