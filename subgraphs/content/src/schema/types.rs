//! Content's GraphQL types: `Post`, `Comment`, its fields on `User`, connections, inputs
//! and payloads.

use agora_kit::{Code, ServiceError};
use async_graphql::connection::{
    Connection, ConnectionNameType, CursorType, Edge, EdgeNameType, EmptyFields,
};
use async_graphql::{
    Context, ErrorExtensions, ID, InputObject, Object, OutputType, Result, ResultExt, SimpleObject,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{PageKey, load_comments, load_count, load_page, load_post, load_posts};
use crate::content::extract_tags;
use crate::store::list::{List, Page, PageRequest, Position};
use crate::store::search::Hits;
use crate::store::{comment, post};

/// Page size when `first` is omitted.
pub const DEFAULT_PAGE: u64 = 20;
/// The largest page a client may ask for.
pub const MAX_PAGE: u64 = 100;

/// An opaque cursor: a list entry's (time, id), base64url-encoded.
pub struct Cursor(pub Position);

impl CursorType for Cursor {
    type Error = &'static str;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| "not base64url")?;
        let text = String::from_utf8(bytes).map_err(|_| "not text")?;
        let (micros, id) = text.split_once(':').ok_or("no separator")?;
        let micros: i64 = micros.parse().map_err(|_| "bad time")?;
        let at = DateTime::from_timestamp_micros(micros).ok_or("time out of range")?;
        let id = Uuid::parse_str(id).map_err(|_| "bad id")?;
        Ok(Cursor(Position { at, id }))
    }

    fn encode_cursor(&self) -> String {
        let text = format!("{}:{}", self.0.at.timestamp_micros(), self.0.id);
        URL_SAFE_NO_PAD.encode(text)
    }
}

/// An opaque cursor into ranked search results: how many results precede the next one.
/// Ranks are not a stable key, so search pages by offset.
pub struct OffsetCursor(pub u64);

impl CursorType for OffsetCursor {
    type Error = &'static str;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| "not base64url")?;
        let text = String::from_utf8(bytes).map_err(|_| "not text")?;
        let offset = text.strip_prefix("offset:").ok_or("not an offset")?;
        offset.parse().map(OffsetCursor).map_err(|_| "bad offset")
    }

    fn encode_cursor(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("offset:{}", self.0))
    }
}

/// Turns `first` and `after` into a page request, or `BAD_USER_INPUT` naming the argument.
pub fn page_request(
    first: Option<i32>,
    after: Option<String>,
) -> Result<PageRequest, ServiceError> {
    let first = match first {
        None => DEFAULT_PAGE,
        Some(n) => u64::try_from(n)
            .ok()
            .filter(|n| *n <= MAX_PAGE)
            .ok_or_else(|| {
                ServiceError::bad_input("first", format!("first must be between 0 and {MAX_PAGE}"))
            })?,
    };
    let after = after
        .map(|cursor| Cursor::decode_cursor(&cursor))
        .transpose()
        .map_err(|_| ServiceError::bad_input("after", "after is not a cursor from this list"))?
        .map(|cursor| cursor.0);
    Ok(PageRequest { first, after })
}

/// A Relay connection over `nodes` (in page order), each with the cursor `position` gives.
fn connection<T, N, C, E>(
    request: PageRequest,
    has_next: bool,
    rows: Vec<T>,
    position: impl Fn(&T) -> Position,
    node: impl Fn(T) -> N,
) -> Connection<Cursor, N, EmptyFields, EmptyFields, C, E>
where
    N: OutputType,
    C: ConnectionNameType,
    E: EdgeNameType,
{
    let mut connection = Connection::new(request.after.is_some(), has_next);
    connection.edges = rows
        .into_iter()
        .map(|row| Edge::new(Cursor(position(&row)), node(row)))
        .collect();
    connection
}

/// A connection of the posts a page lists, loaded in one batch.
pub async fn post_connection(
    ctx: &Context<'_>,
    request: PageRequest,
    page: Page,
) -> Result<PostConnection> {
    let ids: Vec<Uuid> = page.entries.iter().map(|entry| entry.node).collect();
    let posts = load_posts(ctx, &ids).await?;
    Ok(connection(
        request,
        page.has_next,
        posts,
        |p| Position {
            at: p.created_at,
            id: p.id,
        },
        Post,
    ))
}

/// A connection of ranked search hits starting after `offset` results.
pub async fn search_connection(
    ctx: &Context<'_>,
    offset: u64,
    hits: Hits,
) -> Result<PostSearchConnection> {
    let posts = load_posts(ctx, &hits.posts).await?;
    let mut connection = Connection::new(offset > 0, hits.has_next);
    connection.edges = posts
        .into_iter()
        .zip(offset + 1..)
        .map(|(post, after)| Edge::new(OffsetCursor(after), Post(post)))
        .collect();
    Ok(connection)
}

macro_rules! names {
    ($($(#[$doc:meta])* $connection:ident, $edge:ident => $name:literal;)*) => {$(
        $(#[$doc])*
        pub struct $connection;

        impl ConnectionNameType for $connection {
            fn type_name<T: OutputType>() -> String {
                concat!($name, "Connection").to_owned()
            }
        }

        #[doc = concat!("`", $name, "Edge`.")]
        pub struct $edge;

        impl EdgeNameType for $edge {
            fn type_name<T: OutputType>() -> String {
                concat!($name, "Edge").to_owned()
            }
        }
    )*};
}

names! {
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

    /// When its body was last edited; null if never.
    async fn edited_at(&self) -> Option<DateTime<Utc>> {
        self.0.edited_at
    }

    /// The comments, oldest first (`first` at most 100, default 20).
    async fn comments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<CommentConnection> {
        let request = page_request(first, after).extend()?;
        let key = PageKey {
            list: List::PostComments,
            parent: self.0.id,
            request,
        };
        let page = load_page(ctx, key).await?;
        let ids: Vec<Uuid> = page.entries.iter().map(|entry| entry.node).collect();
        let comments = load_comments(ctx, &ids).await?;
        Ok(connection(
            request,
            page.has_next,
            comments,
            |c| Position {
                at: c.created_at,
                id: c.id,
            },
            Comment,
        ))
    }

    /// How many comments it has.
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
        load_post(ctx, self.0.post_id)
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

    /// What this user posted, newest first (`first` at most 100, default 20).
    async fn posts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<PostConnection> {
        let request = page_request(first, after).extend()?;
        let key = PageKey {
            list: List::AuthorPosts,
            parent: self.uuid,
            request,
        };
        let page = load_page(ctx, key).await?;
        post_connection(ctx, request, page).await
    }

    /// How many posts this user has.
    async fn post_count(&self, ctx: &Context<'_>) -> Result<i32> {
        load_count(ctx, List::AuthorPosts, self.uuid).await
    }
}

/// Input of `createPost`.
#[derive(InputObject)]
pub struct CreatePostInput {
    /// 1–5 000 characters after trimming; `#hashtags` in it become the post's tags.
    pub body: String,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_survives_the_round_trip_to_the_microsecond() {
        let position = Position {
            at: crate::store::micros(Utc::now()),
            id: Uuid::now_v7(),
        };
        let encoded = Cursor(position).encode_cursor();
        assert_eq!(Cursor::decode_cursor(&encoded).unwrap().0, position);
        assert!(Cursor::decode_cursor("garbage!").is_err());
    }

    #[test]
    fn page_arguments_are_bounded_and_name_the_argument_at_fault() {
        assert_eq!(page_request(None, None).unwrap().first, DEFAULT_PAGE);
        assert_eq!(
            page_request(Some(-1), None).unwrap_err().field,
            Some("first")
        );
        assert_eq!(
            page_request(Some(101), None).unwrap_err().field,
            Some("first")
        );
        let bad_cursor = page_request(Some(5), Some("nope".into())).unwrap_err();
        assert_eq!(bad_cursor.field, Some("after"));
    }
}
