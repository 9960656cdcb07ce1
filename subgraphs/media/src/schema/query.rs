//! Media's queries and its `Media` and `User` entity resolvers.

use agora_kit::graphql::load_row;
use async_graphql::{Context, ID, Object, Result};
use uuid::Uuid;

use super::types::{Media, User};
use crate::store::media;

/// Media's root query fields.
pub struct Query;

#[Object]
impl Query {
    /// A media object by id: null if there is none, it was deleted, or it is still being
    /// uploaded by someone else.
    async fn media(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Media>> {
        find(ctx, &id).await
    }

    /// Resolves `Media` representations in one batch, as `Query.media` does.
    #[graphql(entity)]
    async fn find_media_by_id(
        &self,
        ctx: &Context<'_>,
        #[graphql(key)] id: ID,
    ) -> Result<Option<Media>> {
        find(ctx, &id).await
    }

    /// Resolves `User` references (media adds no fields of its own).
    #[graphql(entity)]
    async fn find_user_by_id(&self, #[graphql(key)] id: ID) -> User {
        User::from_key(id)
    }
}

/// The media `id` names, if the viewer may see it.
async fn find(ctx: &Context<'_>, id: &ID) -> Result<Option<Media>> {
    let Ok(id) = Uuid::parse_str(id) else {
        return Ok(None);
    };
    let row = load_row::<media::Entity>(ctx, id).await?;
    Ok(row.and_then(|row| Media::visible(ctx, row)))
}
