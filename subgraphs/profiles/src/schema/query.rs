//! Profiles' queries and its `User` entity resolver.

use async_graphql::{Context, ID, Object, Result};
use uuid::Uuid;

use agora_kit::graphql::load_row;

use super::types::User;
use crate::store::profile;

/// Profiles' root query fields.
pub struct Query;

#[Object]
impl Query {
    /// A user by id, if they have a profile.
    async fn user(&self, ctx: &Context<'_>, id: ID) -> Result<Option<User>> {
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        let profile = load_row::<profile::Entity>(ctx, id).await?;
        Ok(profile.map(|_| User::new(id)))
    }

    /// Resolves `User` representations; the profile fields load in one batch.
    #[graphql(entity)]
    async fn find_user_by_id(&self, #[graphql(key)] id: ID) -> Option<User> {
        Uuid::parse_str(&id).ok().map(User::new)
    }
}
