//! Profiles' GraphQL types.

use agora_kit::ServiceError;
use agora_kit::auth::optional_viewer;
use agora_kit::graphql::load_row;
use agora_kit::input::parse_id;
use agora_kit::paging::OffsetCursor;
use agora_kit::restriction::is_blocked;
use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use uuid::Uuid;

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

    /// The user's profile as the viewer may see it: none across a block either way, as
    /// if the user had none (so that the block is not revealed).
    pub async fn profile(&self, ctx: &Context<'_>) -> Result<Option<profile::Model>> {
        if let Some(viewer) = optional_viewer(ctx)
            && viewer.user_id != self.id
            && is_blocked(ctx, viewer.user_id, self.id).await?
        {
            return Ok(None);
        }
        load_row::<profile::Entity>(ctx, self.id).await
    }
}

agora_kit::connection_names! {
    /// `UserSearchConnection`: users matching a search, best first.
    UserSearchName, UserSearchEdgeName => "UserSearch";
}

/// Users matching a search, best first.
pub type UserSearchConnection =
    Connection<OffsetCursor, User, EmptyFields, EmptyFields, UserSearchName, UserSearchEdgeName>;

#[Object]
impl User {
    /// Opaque, stable id.
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// Name shown beside the handle (1–50 characters); the handle until changed. Null in
    /// the moment between registration and the profile's creation, and, like every
    /// profile field, across a block either way with the viewer.
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

    /// Whether only the user's approved followers see their posts and follows (they
    /// approve follow requests in social).
    async fn is_private(&self, ctx: &Context<'_>) -> Result<Option<bool>> {
        Ok(self.profile(ctx).await?.map(|p| p.is_private))
    }

    /// The picture the user chose to stand for them.
    async fn avatar(&self, ctx: &Context<'_>) -> Result<Option<Media>> {
        Ok(self
            .profile(ctx)
            .await?
            .and_then(|p| p.avatar_media_id)
            .map(Media::new))
    }
}

/// A picture or video (owned by media); profiles only refers to it.
pub struct Media {
    /// The id as given (echoed back unchanged).
    id: ID,
}

impl Media {
    /// The media object with this id.
    pub fn new(id: Uuid) -> Self {
        Self {
            id: ID(id.to_string()),
        }
    }

    /// A media object from a representation's key; never fails (an entity batch with one
    /// bad key would otherwise fail as a whole).
    pub fn from_key(id: ID) -> Self {
        Self { id }
    }
}

#[Object]
impl Media {
    /// Opaque, stable id.
    async fn id(&self) -> &ID {
        &self.id
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
    /// One of your own `READY` media; null clears it.
    pub avatar_media_id: MaybeUndefined<ID>,
    /// Private: following you takes your approval, and only your followers see your
    /// posts and follows. Making the account public again approves pending requests.
    pub is_private: Option<bool>,
}

impl TryFrom<UpdateProfileInput> for Changes {
    type Error = ServiceError;

    /// The changes an input asks for; `BAD_USER_INPUT` for an avatar id that is no id.
    fn try_from(input: UpdateProfileInput) -> Result<Self, ServiceError> {
        let clearable = |value: MaybeUndefined<String>| match value {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(v) => Some(Some(v)),
        };
        let avatar_media_id = match input.avatar_media_id {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(id) => Some(Some(parse_id("avatarMediaId", &id)?)),
        };
        Ok(Changes {
            display_name: input.display_name,
            bio: input.bio,
            website: clearable(input.website),
            location: clearable(input.location),
            avatar_media_id,
            is_private: input.is_private,
        })
    }
}

/// Result of `updateProfile`.
#[derive(SimpleObject)]
pub struct UpdateProfilePayload {
    /// The user, with the profile as it is now.
    pub user: User,
}
