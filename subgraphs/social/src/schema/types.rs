//! Social's GraphQL types: its fields on `User` and `Post`, connections, inputs, payloads.

use agora_kit::auth::optional_viewer;
use agora_kit::paging::{
    Cursor, MemberKey, Page, PageKey, load_count, load_member, load_page, page_request,
};
use async_graphql::connection::{Connection, ConnectionNameType, EdgeNameType, EmptyFields};
use async_graphql::{
    Context, ID, InputObject, Object, OutputType, Result, ResultExt, SimpleObject,
};
use uuid::Uuid;

use crate::store::list::List;

/// A Relay connection over the loaded page of `key`, each node made from its id by `node`.
pub fn connection<N, C, E>(
    page: Page,
    key: PageKey<List>,
    node: impl Fn(Uuid) -> N,
) -> Connection<Cursor, N, Total, EmptyFields, C, E>
where
    N: OutputType,
    C: ConnectionNameType,
    E: EdgeNameType,
{
    let total = Total {
        list: key.list,
        parent: key.parent,
    };
    let edges = page
        .entries
        .iter()
        .map(|entry| (entry.position(), node(entry.node)));
    agora_kit::paging::connection(key.request, page.has_next, total, edges)
}

/// The fields every social connection adds to Relay's: `totalCount`, loaded only when
/// asked for, through the batched counts.
pub struct Total {
    list: List,
    parent: Uuid,
}

#[Object]
impl Total {
    /// How many entries the whole list has.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i32> {
        load_count(ctx, self.list, self.parent).await
    }
}

agora_kit::connection_names! {
    /// `FollowConnection`: followers or followed users. Named for social so that it never
    /// collides with another subgraph's `UserConnection` in the supergraph.
    FollowName, FollowEdgeName => "Follow";
    /// `LikeConnection`: the users who liked a post.
    LikeName, LikeEdgeName => "Like";
    /// `FeedConnection`: posts of a home timeline.
    FeedName, FeedEdgeName => "Feed";
    /// `SavedPostConnection`: a user's bookmarks.
    SavedPostName, SavedPostEdgeName => "SavedPost";
}

/// Followers or followed users, newest follow first.
pub type FollowConnection =
    Connection<Cursor, User, Total, EmptyFields, FollowName, FollowEdgeName>;
/// Users who liked a post, newest like first.
pub type LikeConnection = Connection<Cursor, User, Total, EmptyFields, LikeName, LikeEdgeName>;
/// A home timeline, newest post first.
pub type FeedConnection = Connection<Cursor, Post, Total, EmptyFields, FeedName, FeedEdgeName>;
/// Saved posts, most recently saved first.
pub type SavedPostConnection =
    Connection<Cursor, Post, Total, EmptyFields, SavedPostName, SavedPostEdgeName>;

/// A person on Agora; social contributes who follows whom.
pub struct User {
    /// The id as given (echoed back unchanged).
    id: ID,
    /// The id as a UUID; nil for an id that is not one, which has no follows.
    uuid: Uuid,
}

impl User {
    /// The user with this id; its fields load lazily, batched.
    pub fn new(uuid: Uuid) -> Self {
        Self {
            id: ID(uuid.to_string()),
            uuid,
        }
    }

    /// A user from a representation's key. Never fails: an entity batch with one
    /// unresolvable key would otherwise fail as a whole.
    pub fn from_key(id: ID) -> Self {
        let uuid = Uuid::parse_str(&id).unwrap_or(Uuid::nil());
        Self { id, uuid }
    }

    async fn page(
        &self,
        ctx: &Context<'_>,
        list: List,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<FollowConnection> {
        let request = page_request(first, after).extend()?;
        let key = PageKey {
            list,
            parent: self.uuid,
            request,
        };
        let page = load_page(ctx, key).await?;
        Ok(connection(page, key, User::new))
    }
}

#[Object]
impl User {
    /// Opaque, stable id.
    async fn id(&self) -> &ID {
        &self.id
    }

    /// Who follows this user, newest follow first (`first` at most 100, default 20).
    async fn followers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<FollowConnection> {
        self.page(ctx, List::Followers, first, after).await
    }

    /// Whom this user follows, newest follow first (`first` at most 100, default 20).
    async fn following(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<FollowConnection> {
        self.page(ctx, List::Following, first, after).await
    }

    /// How many users follow this user.
    async fn follower_count(&self, ctx: &Context<'_>) -> Result<i32> {
        load_count(ctx, List::Followers, self.uuid).await
    }

    /// How many users this user follows.
    async fn following_count(&self, ctx: &Context<'_>) -> Result<i32> {
        load_count(ctx, List::Following, self.uuid).await
    }

    /// Whether the signed-in user follows this user; false when signed out.
    async fn viewer_is_following(&self, ctx: &Context<'_>) -> Result<bool> {
        let Some(viewer) = optional_viewer(ctx) else {
            return Ok(false);
        };
        let key = MemberKey {
            list: List::Following,
            parent: viewer.user_id,
            node: self.uuid,
        };
        load_member(ctx, key).await
    }
}

/// A post (owned by content); social contributes its likes.
pub struct Post {
    /// The id as given (echoed back unchanged).
    id: ID,
    /// The id as a UUID; nil for an id that is not one, which has no likes.
    uuid: Uuid,
}

impl Post {
    /// The post with this id; its fields load lazily, batched.
    pub fn new(uuid: Uuid) -> Self {
        Self {
            id: ID(uuid.to_string()),
            uuid,
        }
    }

    /// A post from a representation's key; never fails (see [`User::from_key`]).
    pub fn from_key(id: ID) -> Self {
        let uuid = Uuid::parse_str(&id).unwrap_or(Uuid::nil());
        Self { id, uuid }
    }
}

#[Object]
impl Post {
    /// Opaque, stable id.
    async fn id(&self) -> &ID {
        &self.id
    }

    /// How many users like this post.
    async fn like_count(&self, ctx: &Context<'_>) -> Result<i32> {
        load_count(ctx, List::Likers, self.uuid).await
    }

    /// Whether the signed-in user likes this post; false when signed out.
    async fn viewer_has_liked(&self, ctx: &Context<'_>) -> Result<bool> {
        let Some(viewer) = optional_viewer(ctx) else {
            return Ok(false);
        };
        let key = MemberKey {
            list: List::Liked,
            parent: viewer.user_id,
            node: self.uuid,
        };
        load_member(ctx, key).await
    }

    /// Who liked this post, newest like first (`first` at most 100, default 20).
    async fn liked_by(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<LikeConnection> {
        let request = page_request(first, after).extend()?;
        let key = PageKey {
            list: List::Likers,
            parent: self.uuid,
            request,
        };
        let page = load_page(ctx, key).await?;
        Ok(connection(page, key, User::new))
    }
}

/// Input of `follow` and `unfollow`.
#[derive(InputObject)]
pub struct FollowInput {
    /// The user to follow or unfollow; not the viewer.
    pub user_id: ID,
}

/// Result of `follow`.
#[derive(SimpleObject)]
pub struct FollowPayload {
    /// The followed user, with counts as they are now.
    pub user: User,
}

/// Result of `unfollow`.
#[derive(SimpleObject)]
pub struct UnfollowPayload {
    /// The unfollowed user, with counts as they are now.
    pub user: User,
}

/// Input of `likePost`, `unlikePost`, `savePost` and `unsavePost`.
#[derive(InputObject)]
pub struct PostInput {
    /// The post.
    pub post_id: ID,
}

/// Result of `likePost`.
#[derive(SimpleObject)]
pub struct LikePostPayload {
    /// The post, with its like count as it is now.
    pub post: Post,
}

/// Result of `unlikePost`.
#[derive(SimpleObject)]
pub struct UnlikePostPayload {
    /// The post, with its like count as it is now.
    pub post: Post,
}

/// Result of `savePost`.
#[derive(SimpleObject)]
pub struct SavePostPayload {
    /// The saved post.
    pub post: Post,
}

/// Result of `unsavePost`.
#[derive(SimpleObject)]
pub struct UnsavePostPayload {
    /// The post no longer saved.
    pub post: Post,
}
