//! Profiles' GraphQL types.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use uuid::Uuid;

use agora_kit::graphql::load_row;

use crate::store::profile::{self, Changes};

/// A person on Agora; profiles contributes what they say about themselves.
pub struct User {
    id: Uuid,
}

impl User {
    /// The user with this id; its fields load lazily, batched.
    pub fn new(id: Uuid) -> Self {
        Self { id }
    }

    async fn profile(&self, ctx: &Context<'_>) -> Result<Option<profile::Model>> {
        load_row::<profile::Entity>(ctx, self.id).await
    }
}

#[Object]
impl User {
    /// Opaque, stable id.
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// Name shown beside the handle (1–50 characters); the handle until changed. Null only
    /// in the moment between registration and the profile's creation.
    async fn display_name(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.profile(ctx).await?.map(|p| p.display_name))
    }

    /// About the user (at most 300 characters); empty when unset.
    async fn bio(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.profile(ctx).await?.map(|p| p.bio))
    }

    /// The user's http(s) link (at most 200 characters).
    async fn website(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.profile(ctx).await?.and_then(|p| p.website))
    }

    /// Where the user says they are (at most 100 characters).
    async fn location(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.profile(ctx).await?.and_then(|p| p.location))
    }
}

/// Input of `updateProfile`: omitted fields stay as they are; for `website` and
/// `location`, null or an empty string clears them.
#[derive(InputObject)]
pub struct UpdateProfileInput {
    /// 1–50 characters.
    pub display_name: Option<String>,
    /// At most 300 characters; empty clears it.
    pub bio: Option<String>,
    /// An http(s) URL of at most 200 characters.
    pub website: MaybeUndefined<String>,
    /// At most 100 characters.
    pub location: MaybeUndefined<String>,
}

impl From<UpdateProfileInput> for Changes {
    fn from(input: UpdateProfileInput) -> Self {
        let clearable = |value: MaybeUndefined<String>| match value {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(v) => Some(Some(v)),
        };
        Changes {
            display_name: input.display_name,
            bio: input.bio,
            website: clearable(input.website),
            location: clearable(input.location),
        }
    }
}

/// Result of `updateProfile`.
#[derive(SimpleObject)]
pub struct UpdateProfilePayload {
    /// The user, with the profile as it is now.
    pub user: User,
}
