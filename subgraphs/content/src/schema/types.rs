//! Content's GraphQL types: `Post`, `Comment`, its fields on `User`, connections, inputs
//! and payloads.

use std::collections::HashSet;

use agora_kit::auth::optional_viewer;
use agora_kit::graphql::{internal, load_row, load_rows};
use agora_kit::paging::{
    Cursor, OffsetCursor, Page, PageKey, PageRequest, Position, connection, load_count, load_page,
    page_request,
};
use agora_kit::privacy;
use agora_kit::restriction::{BlockKey, BlockLoader};
use agora_kit::{Code, ServiceError};
use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::dataloader::DataLoader;
use async_graphql::{
    Context, ErrorExtensions, ID, InputObject, Object, Result, ResultExt, SimpleObject,
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::content::extract_tags;
use crate::store::comment_page::{CommentPageKey, CommentPageLoader};
use crate::store::list::List;
use crate::store::post_media::PostMediaLoader;
use crate::store::search::Hits;
use crate::store::{comment, post};

/// The keyset position of a post or comment: its creation time and id.
fn position(at: DateTime<Utc>, id: Uuid) -> Position {
    Position { at, id }
}

/// Those of `users` between whom and the viewer a block stands, either way, through the
/// schema's [`BlockLoader`] (batched with the other checks of the request); none for a
/// signed-out viewer, and never the viewer.
pub async fn blocked_with_viewer(
    ctx: &Context<'_>,
    users: impl IntoIterator<Item = Uuid>,
) -> Result<HashSet<Uuid>> {
    let Some(viewer) = optional_viewer(ctx) else {
        return Ok(HashSet::new());
    };
    let keys: HashSet<BlockKey> = users
        .into_iter()
        .filter(|user| *user != viewer.user_id)
        .map(|user| BlockKey {
            viewer: viewer.user_id,
            user,
        })
        .collect();
    if keys.is_empty() {
        return Ok(HashSet::new());
    }
    let loader = ctx.data_unchecked::<DataLoader<BlockLoader>>();
    let blocked = loader.load_many(keys).await.map_err(|e| internal(&e))?;
    Ok(blocked.into_keys().map(|key| key.user).collect())
}

/// Whether a block either way stands between the viewer and `user`.
pub async fn blocked_from_viewer(ctx: &Context<'_>, user: Uuid) -> Result<bool> {
    Ok(blocked_with_viewer(ctx, [user]).await?.contains(&user))
}

/// Those of `users` who are private and whom the viewer (signed in or not) does not
/// follow, through the schema's [`privacy::PrivacyLoader`]; never the viewer.
pub async fn private_to_viewer(
    ctx: &Context<'_>,
    users: impl IntoIterator<Item = Uuid>,
) -> Result<HashSet<Uuid>> {
    let viewer = optional_viewer(ctx).map(|viewer| viewer.user_id);
    privacy::hidden_authors(ctx, viewer, users).await
}

/// Those of `users` whose posts and comments the viewer may not see: across a block
/// either way ([`blocked_with_viewer`]), or private and not followed
/// ([`private_to_viewer`]).
pub async fn hidden_authors(
    ctx: &Context<'_>,
    users: impl IntoIterator<Item = Uuid>,
) -> Result<HashSet<Uuid>> {
    let users: HashSet<Uuid> = users.into_iter().collect();
    // Both loads join the same batch window rather than one waiting for the other.
    let (mut hidden, private) = tokio::try_join!(
        blocked_with_viewer(ctx, users.iter().copied()),
        private_to_viewer(ctx, users.iter().copied()),
    )?;
    hidden.extend(private);
    Ok(hidden)
}

/// Whether the viewer may not see what `user` wrote (see [`hidden_authors`]).
pub async fn hidden_from_viewer(ctx: &Context<'_>, user: Uuid) -> Result<bool> {
    Ok(hidden_authors(ctx, [user]).await?.contains(&user))
}

/// A connection of the posts a page lists, loaded in one batch.
pub async fn post_connection(
    ctx: &Context<'_>,
    request: PageRequest,
    page: Page,
) -> Result<PostConnection> {
    let ids: Vec<Uuid> = page.entries.iter().map(|entry| entry.node).collect();
    let posts = load_rows::<post::Entity>(ctx, &ids).await?;
    let edges = posts
        .into_iter()
        .map(|p| (position(p.created_at, p.id), Post(p)));
    Ok(connection(request, page.has_next, EmptyFields, edges))
}

/// A connection of ranked search hits starting after `offset` results.
pub async fn search_connection(
    ctx: &Context<'_>,
    offset: u64,
    hits: Hits,
) -> Result<PostSearchConnection> {
    let posts = load_rows::<post::Entity>(ctx, &hits.posts).await?;
    let mut connection = Connection::new(offset > 0, hits.has_next);
    connection.edges = posts
        .into_iter()
        .zip(offset + 1..)
        .map(|(post, after)| Edge::new(OffsetCursor(after), Post(post)))
        .collect();
    Ok(connection)
}

agora_kit::connection_names! {
    /// `PostConnection`: an author's posts, or a tag's.
    PostName, PostEdgeName => "Post";
    /// `CommentConnection`: the comments under a post.
    CommentName, CommentEdgeName => "Comment";
    /// `PostSearchConnection`: posts matching a search, best first.
    PostSearchName, PostSearchEdgeName => "PostSearch";
}

/// Posts, newest first.
pub type PostConnection =
    Connection<Cursor, Post, EmptyFields, EmptyFields, PostName, PostEdgeName>;
/// Posts matching a search, best first.
pub type PostSearchConnection =
    Connection<OffsetCursor, Post, EmptyFields, EmptyFields, PostSearchName, PostSearchEdgeName>;
/// Comments, oldest first.
pub type CommentConnection =
    Connection<Cursor, Comment, EmptyFields, EmptyFields, CommentName, CommentEdgeName>;

/// A post: a text of up to 5 000 characters by one user, with comments.
pub struct Post(pub post::Model);

#[Object]
impl Post {
    /// Opaque, stable id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Who wrote it.
    async fn author(&self) -> User {
        User::new(self.0.author_id)
    }

    /// The text, 1–5 000 characters.
    async fn body(&self) -> &str {
        &self.0.body
    }

    /// The `#hashtags` in the body, lower-cased, without `#`, each once, in order of
    /// first appearance.
    async fn tags(&self) -> Vec<String> {
        extract_tags(&self.0.body)
    }

    /// When it was posted.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The pictures and videos it shows, in the author's order (at most 10).
    async fn media(&self, ctx: &Context<'_>) -> Result<Vec<Media>> {
        let loader = ctx.data_unchecked::<DataLoader<PostMediaLoader>>();
        let ids = loader.load_one(self.0.id).await.map_err(|e| internal(&e))?;
        Ok(ids
            .unwrap_or_default()
            .into_iter()
            .map(Media::new)
            .collect())
    }

    /// When its body was last edited; null if never.
    async fn edited_at(&self) -> Option<DateTime<Utc>> {
        self.0.edited_at
    }

    /// The comments, oldest first (`first` at most 100, default 20); none by anyone the
    /// viewer may not see (a block either way, or a private account they do not follow),
    /// so a page may hold fewer than `first` while `hasNextPage` says whether more follow.
    async fn comments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<CommentConnection> {
        let request = page_request(first, after).extend()?;
        let key = CommentPageKey {
            post: self.0.id,
            request,
        };
        let loader = ctx.data_unchecked::<DataLoader<CommentPageLoader>>();
        let page = loader.load_one(key).await.map_err(|e| internal(&e))?;
        let page = page.unwrap_or_default();
        let hidden = hidden_authors(ctx, page.comments.iter().map(|c| c.author_id)).await?;
        let edges = page
            .comments
            .into_iter()
            .filter(|c| !hidden.contains(&c.author_id))
            .map(|c| (position(c.created_at, c.id), Comment(c)));
        Ok(connection(request, page.has_next, EmptyFields, edges))
    }

    /// How many comments it has, counting any hidden from the viewer by a block.
    async fn comment_count(&self, ctx: &Context<'_>) -> Result<i32> {
        load_count(ctx, List::PostComments, self.0.id).await
    }
}

/// A comment under a post: up to 2 000 characters by one user.
pub struct Comment(pub comment::Model);

#[Object]
impl Comment {
    /// Opaque, stable id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The post it is under.
    async fn post(&self, ctx: &Context<'_>) -> Result<Post> {
        load_row::<post::Entity>(ctx, self.0.post_id)
            .await?
            .map(Post)
            .ok_or_else(|| ServiceError::new(Code::NotFound, "post not found").extend())
    }

    /// Who wrote it.
    async fn author(&self) -> User {
        User::new(self.0.author_id)
    }

    /// The text, 1–2 000 characters.
    async fn body(&self) -> &str {
        &self.0.body
    }

    /// When it was written.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A picture or video (owned by media); content only refers to it.
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

    /// A media object from a representation's key; never fails (see [`User::from_key`]).
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

/// A person on Agora (owned by identity); content contributes what they wrote.
pub struct User {
    /// The id as given (echoed back unchanged).
    id: ID,
    /// The id as a UUID; nil for an id that is not one, which has no posts.
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
}

#[Object]
impl User {
    /// Opaque, stable id.
    async fn id(&self) -> &ID {
        &self.id
    }

    /// What this user posted, newest first (`first` at most 100, default 20); nothing
    /// across a block either way with the viewer.
    async fn posts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<PostConnection> {
        let request = page_request(first, after).extend()?;
        if hidden_from_viewer(ctx, self.uuid).await? {
            return Ok(connection(request, false, EmptyFields, []));
        }
        let key = PageKey {
            list: List::AuthorPosts,
            parent: self.uuid,
            request,
        };
        let page = load_page(ctx, key).await?;
        post_connection(ctx, request, page).await
    }

    /// How many posts this user has; 0 across a block either way with the viewer.
    async fn post_count(&self, ctx: &Context<'_>) -> Result<i32> {
        if blocked_from_viewer(ctx, self.uuid).await? {
            return Ok(0);
        }
        load_count(ctx, List::AuthorPosts, self.uuid).await
    }
}

/// Input of `createPost`.
#[derive(InputObject)]
pub struct CreatePostInput {
    /// 1–5 000 characters after trimming; `#hashtags` in it become the post's tags.
    pub body: String,
    /// Up to 10 of your own media to show, in order; each must be `READY`.
    pub media_ids: Option<Vec<ID>>,
}

/// Result of `createPost`.
#[derive(SimpleObject)]
pub struct CreatePostPayload {
    /// The new post.
    pub post: Post,
}

/// Input of `editPost`.
#[derive(InputObject)]
pub struct EditPostInput {
    /// The post; the viewer must have written it.
    pub post_id: ID,
    /// The new text, 1–5 000 characters after trimming.
    pub body: String,
}

/// Result of `editPost`.
#[derive(SimpleObject)]
pub struct EditPostPayload {
    /// The post as it is now.
    pub post: Post,
}

/// Input of `deletePost`.
#[derive(InputObject)]
pub struct DeletePostInput {
    /// The post; the viewer must have written it.
    pub post_id: ID,
}

/// Result of `deletePost`.
#[derive(SimpleObject)]
pub struct DeletePostPayload {
    /// The id of the post that is gone, with its comments.
    pub deleted_post_id: ID,
}

/// Input of `addComment`.
#[derive(InputObject)]
pub struct AddCommentInput {
    /// The post to comment on.
    pub post_id: ID,
    /// 1–2 000 characters after trimming.
    pub body: String,
}

/// Result of `addComment`.
#[derive(SimpleObject)]
pub struct AddCommentPayload {
    /// The new comment.
    pub comment: Comment,
}

/// Input of `deleteComment`.
#[derive(InputObject)]
pub struct DeleteCommentInput {
    /// The comment; the viewer must have written it or the post it is under.
    pub comment_id: ID,
}

/// Result of `deleteComment`.
#[derive(SimpleObject)]
pub struct DeleteCommentPayload {
    /// The id of the comment that is gone.
    pub deleted_comment_id: ID,
    /// The post it was under, with its comments as they are now.
    pub post: Post,
}
