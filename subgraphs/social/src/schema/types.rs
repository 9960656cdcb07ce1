//! Social's GraphQL types: its fields on `User` and `Post`, connections, inputs, payloads.

use std::collections::HashSet;

use agora_kit::auth::{optional_viewer, viewer};
use agora_kit::graphql::{internal, load_row};
use agora_kit::paging::{
    Cursor, Entry, MemberKey, MemberLoader, Page, PageKey, PageRequest, load_count, load_member,
    load_page, page_request,
};
use agora_kit::{Code, ServiceError};
use async_graphql::connection::{Connection, ConnectionNameType, EdgeNameType, EmptyFields};
use async_graphql::dataloader::DataLoader;
use async_graphql::{
    Context, ErrorExtensions, ID, InputObject, Object, OutputType, Result, ResultExt, SimpleObject,
};
use uuid::Uuid;

use crate::store::list::List;
use agora_kit::privacy::account as privacy;

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
        hidden: false,
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
    /// A block hides the list from the viewer: it is empty and counts nothing.
    hidden: bool,
}

#[Object]
impl Total {
    /// How many entries the whole list has.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i32> {
        if self.hidden {
            return Ok(0);
        }
        load_count(ctx, self.list, self.parent).await
    }
}

/// Those of `users` with a block either way with `viewer`, in one batch of the requests'
/// memberships (one statement per direction for the whole request).
pub async fn blocked_among(
    ctx: &Context<'_>,
    viewer: Uuid,
    users: impl IntoIterator<Item = Uuid>,
) -> Result<HashSet<Uuid>> {
    let keys: Vec<MemberKey<List>> = users
        .into_iter()
        .flat_map(|node| {
            [List::Blocking, List::BlockedBy].map(|list| MemberKey {
                list,
                parent: viewer,
                node,
            })
        })
        .collect();
    let loader = ctx.data_unchecked::<DataLoader<MemberLoader<List>>>();
    let found = loader.load_many(keys).await.map_err(|e| internal(&e))?;
    Ok(found.into_keys().map(|key| key.node).collect())
}

/// Whether the signed-in user may not see `user`'s followers and following: a block
/// either way between them, or `user` is private and the viewer (signed out, or not an
/// approved follower) does not follow them. Nobody is hidden from themselves.
pub async fn follows_hidden(ctx: &Context<'_>, user: Uuid) -> Result<bool> {
    let viewer = optional_viewer(ctx).map(|viewer| viewer.user_id);
    if viewer == Some(user) {
        return Ok(false);
    }
    if let Some(viewer) = viewer
        && !blocked_among(ctx, viewer, [user]).await?.is_empty()
    {
        return Ok(true);
    }
    let private = load_row::<privacy::Entity>(ctx, user)
        .await?
        .is_some_and(|row| row.is_private);
    let Some(viewer) = viewer.filter(|_| private) else {
        return Ok(private);
    };
    let follows = MemberKey {
        list: List::Following,
        parent: viewer,
        node: user,
    };
    Ok(!load_member(ctx, follows).await?)
}

/// A page of `key` without the users with a block either way with `viewer`, read on
/// past the ones left out so that the page is as full as the list allows.
async fn without_blocked(ctx: &Context<'_>, key: PageKey<List>, viewer: Uuid) -> Result<Page> {
    let mut request = key.request;
    let mut kept: Vec<Entry> = Vec::new();
    loop {
        let page = load_page(ctx, PageKey { request, ..key }).await?;
        let blocked = blocked_among(ctx, viewer, page.entries.iter().map(|e| e.node)).await?;
        let last = page.entries.last().map(Entry::position);
        kept.extend(
            page.entries
                .into_iter()
                .filter(|entry| !blocked.contains(&entry.node)),
        );
        let missing = key.request.first.saturating_sub(kept.len() as u64);
        if !page.has_next || missing == 0 {
            return Ok(Page {
                entries: kept,
                has_next: page.has_next,
            });
        }
        request = PageRequest {
            first: missing,
            after: last,
        };
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
    /// `RestrictedUserConnection`: the users someone blocked or muted.
    RestrictedUserName, RestrictedUserEdgeName => "RestrictedUser";
    /// `FollowRequestConnection`: the users waiting for a private account's approval.
    FollowRequestName, FollowRequestEdgeName => "FollowRequest";
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

/// Users the viewer blocked or muted, most recent first.
pub type RestrictedUserConnection =
    Connection<Cursor, User, Total, EmptyFields, RestrictedUserName, RestrictedUserEdgeName>;

/// Users who asked to follow a private account, newest request first.
pub type FollowRequestConnection =
    Connection<Cursor, User, Total, EmptyFields, FollowRequestName, FollowRequestEdgeName>;

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
        if follows_hidden(ctx, self.uuid).await? {
            let total = Total {
                list,
                parent: self.uuid,
                hidden: true,
            };
            let none = std::iter::empty();
            return Ok(agora_kit::paging::connection(request, false, total, none));
        }
        let page = match optional_viewer(ctx) {
            Some(viewer) => without_blocked(ctx, key, viewer.user_id).await?,
            None => load_page(ctx, key).await?,
        };
        Ok(connection(page, key, User::new))
    }

    /// The count of `list`, or 0 when a block hides it from the viewer (a private
    /// account's counts are public).
    async fn count(&self, ctx: &Context<'_>, list: List) -> Result<i32> {
        if let Some(viewer) = optional_viewer(ctx)
            && viewer.user_id != self.uuid
            && !blocked_among(ctx, viewer.user_id, [self.uuid])
                .await?
                .is_empty()
        {
            return Ok(0);
        }
        load_count(ctx, list, self.uuid).await
    }

    /// Whether the signed-in user has `list` (blocked, muted or requested users)
    /// containing this user; false when signed out.
    async fn viewer_has(&self, ctx: &Context<'_>, list: List) -> Result<bool> {
        let Some(viewer) = optional_viewer(ctx) else {
            return Ok(false);
        };
        let key = MemberKey {
            list,
            parent: viewer.user_id,
            node: self.uuid,
        };
        load_member(ctx, key).await
    }
}

#[Object]
impl User {
    /// Opaque, stable id.
    async fn id(&self) -> &ID {
        &self.id
    }

    /// Who follows this user, newest follow first (`first` at most 100, default 20),
    /// without the users with a block either way with the viewer; empty when a block
    /// stands between the viewer and this user, and, for a private account, to all but
    /// the account and its followers.
    async fn followers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<FollowConnection> {
        self.page(ctx, List::Followers, first, after).await
    }

    /// Whom this user follows, newest follow first (`first` at most 100, default 20),
    /// without the users with a block either way with the viewer; empty when a block
    /// stands between the viewer and this user, and, for a private account, to all but
    /// the account and its followers.
    async fn following(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<FollowConnection> {
        self.page(ctx, List::Following, first, after).await
    }

    /// How many users follow this user (0 when a block stands between the viewer and
    /// this user; public for a private account).
    async fn follower_count(&self, ctx: &Context<'_>) -> Result<i32> {
        self.count(ctx, List::Followers).await
    }

    /// How many users this user follows (0 when a block stands between the viewer and
    /// this user; public for a private account).
    async fn following_count(&self, ctx: &Context<'_>) -> Result<i32> {
        self.count(ctx, List::Following).await
    }

    /// Who asked to follow this (private) user and waits for approval, newest request
    /// first (`first` at most 100, default 20). Only the user themselves may ask:
    /// `FORBIDDEN` for anyone else, `UNAUTHENTICATED` when signed out.
    async fn follow_requests(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Option<FollowRequestConnection>> {
        let viewer = viewer(ctx).extend()?;
        if viewer.user_id != self.uuid {
            let message = "only the account itself sees its follow requests";
            return Err(ServiceError::new(Code::Forbidden, message).extend());
        }
        let request = page_request(first, after).extend()?;
        let key = PageKey {
            list: List::FollowRequests,
            parent: self.uuid,
            request,
        };
        let page = load_page(ctx, key).await?;
        Ok(Some(connection(page, key, User::new)))
    }

    /// Whether the signed-in user asked to follow this (private) user and waits for
    /// approval; false when signed out.
    async fn viewer_has_requested_to_follow(&self, ctx: &Context<'_>) -> Result<bool> {
        self.viewer_has(ctx, List::Requested).await
    }

    /// Whether the signed-in user blocked this user; false when signed out.
    async fn viewer_has_blocked(&self, ctx: &Context<'_>) -> Result<bool> {
        self.viewer_has(ctx, List::Blocking).await
    }

    /// Whether the signed-in user muted this user; false when signed out.
    async fn viewer_has_muted(&self, ctx: &Context<'_>) -> Result<bool> {
        self.viewer_has(ctx, List::Muting).await
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

    /// Who liked this post, newest like first (`first` at most 100, default 20), without
    /// the users with a block either way with the viewer; `totalCount`, like
    /// `likeCount`, counts every like.
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
        let page = match optional_viewer(ctx) {
            Some(viewer) => without_blocked(ctx, key, viewer.user_id).await?,
            None => load_page(ctx, key).await?,
        };
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
    /// True when the user is private and the follow is a request waiting for their
    /// approval; false when the viewer follows them.
    pub requested: bool,
}

/// Input of `acceptFollowRequest` and `declineFollowRequest`.
#[derive(InputObject)]
pub struct FollowRequestInput {
    /// The user who asked to follow the viewer.
    pub user_id: ID,
}

/// Result of `acceptFollowRequest` and `declineFollowRequest`.
#[derive(SimpleObject)]
pub struct FollowRequestPayload {
    /// The user who asked.
    pub user: User,
}

/// Result of `unfollow`.
#[derive(SimpleObject)]
pub struct UnfollowPayload {
    /// The unfollowed user, with counts as they are now.
    pub user: User,
}

/// Input of `blockUser`, `unblockUser`, `muteUser` and `unmuteUser`.
#[derive(InputObject)]
pub struct UserInput {
    /// The user to block, unblock, mute or unmute; not the viewer.
    pub user_id: ID,
}

/// Result of `blockUser`, `unblockUser`, `muteUser` and `unmuteUser`.
#[derive(SimpleObject)]
pub struct RestrictUserPayload {
    /// The user concerned, with `viewerHasBlocked` and `viewerHasMuted` as they are now.
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
