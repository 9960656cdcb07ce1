//! The indexes behind `User.posts` and `Post.comments` end with the id that breaks ties
//! between equal times, so each page is read straight off its index, without a sort.

use agora_kit::migration::replace_index;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace_index(
            manager,
            "post_author_idx",
            "post",
            &["author_id", "created_at", "id"],
        )
        .await?;
        replace_index(
            manager,
            "comment_post_idx",
            "comment",
            &["post_id", "created_at", "id"],
        )
        .await
    }
}
