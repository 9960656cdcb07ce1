//! The events content publishes. Each envelope's subject is the post or comment it is
//! about; comment events carry the post's author so that consumers (notifications) need
//! not ask content whom to tell.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// The source attribute of content's events, and the name of its stream.
pub const SOURCE: &str = "content";

/// Published when a post is created.
pub const POST_CREATED: &str = "content.post.created";
/// Published when a post's body is edited.
pub const POST_UPDATED: &str = "content.post.updated";
/// Published when a post (and with it its comments) is deleted.
pub const POST_DELETED: &str = "content.post.deleted";
/// Published when a comment is added to a post.
pub const COMMENT_CREATED: &str = "content.comment.created";
/// Published when a comment is deleted on its own (not with its post).
pub const COMMENT_DELETED: &str = "content.comment.deleted";

/// Payload of [`POST_CREATED`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostCreated {
    /// The post.
    pub id: Uuid,
    /// Who wrote it; whose followers see it.
    pub author_id: Uuid,
    /// The text as stored.
    pub body: String,
    /// Its hashtags, lower-cased, in order of first appearance.
    pub tags: Vec<String>,
    /// When it was created; orders timelines.
    pub created_at: DateTime<Utc>,
}

/// Payload of [`POST_UPDATED`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostUpdated {
    /// The post.
    pub id: Uuid,
    /// Its author.
    pub author_id: Uuid,
    /// The text after the edit.
    pub body: String,
    /// Its hashtags after the edit.
    pub tags: Vec<String>,
    /// When it was edited.
    pub edited_at: DateTime<Utc>,
}

/// Payload of [`POST_DELETED`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostDeleted {
    /// The post, now gone with its comments.
    pub id: Uuid,
    /// Its author.
    pub author_id: Uuid,
}

/// Payload of [`COMMENT_CREATED`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentCreated {
    /// The comment.
    pub id: Uuid,
    /// The post it is under.
    pub post_id: Uuid,
    /// The post's author, the one to notify.
    pub post_author_id: Uuid,
    /// Who commented.
    pub author_id: Uuid,
    /// The comment's text.
    pub body: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Payload of [`COMMENT_DELETED`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentDeleted {
    /// The comment, now gone.
    pub id: Uuid,
    /// The post it was under.
    pub post_id: Uuid,
    /// The post's author.
    pub post_author_id: Uuid,
    /// Who had written the comment.
    pub author_id: Uuid,
    /// Who deleted it: its author or the post's author.
    pub deleted_by: Uuid,
}
