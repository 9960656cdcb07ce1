//! The content operations: validation, ownership checks, the write with its outbox
//! event, the wake-up.
//!
//! Checks run in a fixed order so that clients see one answer: bad input first
//! (`BAD_USER_INPUT`), then a missing target (`NOT_FOUND`), then ownership (`FORBIDDEN`).

use std::collections::HashSet;
use std::sync::Arc;

use agora_kit::events::{self, Envelope};
use agora_kit::{Code, ServiceError, privacy, restriction};
use chrono::Utc;
use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::error::ContentError;
use crate::events::{
    COMMENT_CREATED, COMMENT_DELETED, CommentCreated, CommentDeleted, POST_CREATED, POST_DELETED,
    POST_UPDATED, PostCreated, PostDeleted, PostUpdated, SOURCE,
};
use crate::store::{comment, media, micros, post, post_media, tag};

/// Posts are 1 to 5 000 characters.
pub const POST_BODY_MAX: usize = 5_000;
/// Comments are 1 to 2 000 characters.
pub const COMMENT_BODY_MAX: usize = 2_000;
/// Hashtags longer than this are not tags (nobody searches for them).
pub const TAG_MAX: usize = 50;
/// A post shows at most 10 media.
pub const POST_MEDIA_MAX: usize = 10;
/// Search queries are at most 200 characters.
pub const QUERY_MAX: usize = 200;
/// Words of a search query beyond this many are ignored.
pub const QUERY_TERMS_MAX: usize = 10;

/// What the operations need: the database and the relay's wake-up.
pub struct Content {
    /// Content's own database.
    pub db: DatabaseConnection,
    /// Woken after a commit that enqueued events.
    pub outbox: Arc<Notify>,
}

impl Content {
    /// `author` writes a new post showing `media` (their own ready media, in order).
    pub async fn create_post(
        &self,
        author: Uuid,
        body: &str,
        media: &[Uuid],
    ) -> Result<post::Model, ContentError> {
        let body = validate_body(body, POST_BODY_MAX)?;
        let tags = extract_tags(&body);
        if media.len() > POST_MEDIA_MAX {
            return Err(ServiceError::bad_input(
                "mediaIds",
                format!("a post shows at most {POST_MEDIA_MAX} media"),
            )
            .into());
        }
        if media.iter().collect::<HashSet<_>>().len() != media.len() {
            return Err(ServiceError::bad_input("mediaIds", "mediaIds has duplicates").into());
        }
        let created = post::Model {
            id: Uuid::now_v7(),
            author_id: author,
            body,
            created_at: micros(Utc::now()),
            edited_at: None,
        };
        let txn = self.db.begin().await?;
        own_media(&txn, author, media).await?;
        post::insert(&txn, &created).await?;
        tag::replace(&txn, created.id, created.created_at, &tags).await?;
        post_media::insert(&txn, created.id, media).await?;
        let payload = PostCreated {
            id: created.id,
            author_id: author,
            body: created.body.clone(),
            tags,
            media_ids: media.to_vec(),
            created_at: created.created_at,
        };
        let envelope = Envelope::new(SOURCE, POST_CREATED, created.id, &payload);
        self.commit_with(txn, &envelope).await?;
        Ok(created)
    }

    /// `viewer` replaces the body of their own post.
    pub async fn edit_post(
        &self,
        viewer: Uuid,
        post_id: Uuid,
        body: &str,
    ) -> Result<post::Model, ContentError> {
        let body = validate_body(body, POST_BODY_MAX)?;
        let tags = extract_tags(&body);
        let txn = self.db.begin().await?;
        let current = own_post(&txn, viewer, post_id).await?;
        let edited = post::update_body(&txn, current, body, Utc::now()).await?;
        tag::replace(&txn, edited.id, edited.created_at, &tags).await?;
        let payload = PostUpdated {
            id: edited.id,
            author_id: edited.author_id,
            body: edited.body.clone(),
            tags,
            edited_at: edited.edited_at.unwrap_or(edited.created_at),
        };
        let envelope = Envelope::new(SOURCE, POST_UPDATED, edited.id, &payload);
        self.commit_with(txn, &envelope).await?;
        Ok(edited)
    }

    /// `viewer` deletes their own post, and with it its comments and tags.
    pub async fn delete_post(&self, viewer: Uuid, post_id: Uuid) -> Result<(), ContentError> {
        let txn = self.db.begin().await?;
        let gone = own_post(&txn, viewer, post_id).await?;
        comment::delete_for_post(&txn, gone.id).await?;
        tag::delete_for_post(&txn, gone.id).await?;
        post_media::delete_for_posts(&txn, &[gone.id]).await?;
        post::delete(&txn, gone.id).await?;
        let payload = PostDeleted {
            id: gone.id,
            author_id: gone.author_id,
        };
        let envelope = Envelope::new(SOURCE, POST_DELETED, gone.id, &payload);
        self.commit_with(txn, &envelope).await
    }

    /// `author` comments on a post; `NOT_FOUND` for a post that is gone, whose author and
    /// `author` have a block between them, or whose author is private and not followed
    /// by `author`.
    pub async fn add_comment(
        &self,
        author: Uuid,
        post_id: Uuid,
        body: &str,
    ) -> Result<comment::Model, ContentError> {
        let body = validate_body(body, COMMENT_BODY_MAX)?;
        let txn = self.db.begin().await?;
        let parent = post::find_locked(&txn, post_id, false)
            .await?
            .ok_or_else(|| not_found("post"))?;
        // Across a block either way, or to a non-follower of a private account, the post
        // is not there for the author, as if absent.
        let others = [parent.author_id];
        if parent.author_id != author
            && (!restriction::blocked_with(&txn, author, &others)
                .await?
                .is_empty()
                || !privacy::hidden_from(&txn, Some(author), &others)
                    .await?
                    .is_empty())
        {
            return Err(not_found("post"));
        }
        let created = comment::Model {
            id: Uuid::now_v7(),
            post_id,
            author_id: author,
            body,
            created_at: micros(Utc::now()),
        };
        comment::insert(&txn, &created).await?;
        let payload = CommentCreated {
            id: created.id,
            post_id,
            post_author_id: parent.author_id,
            author_id: author,
            body: created.body.clone(),
            created_at: created.created_at,
        };
        let envelope = Envelope::new(SOURCE, COMMENT_CREATED, created.id, &payload);
        self.commit_with(txn, &envelope).await?;
        Ok(created)
    }

    /// `viewer` deletes a comment they wrote, or one under their own post; returns the
    /// post it was under.
    pub async fn delete_comment(
        &self,
        viewer: Uuid,
        comment_id: Uuid,
    ) -> Result<post::Model, ContentError> {
        let txn = self.db.begin().await?;
        // Locks are taken post first, then comment, as `delete_post` takes them, so that
        // the two cannot deadlock.
        let post_id = comment::find(&txn, comment_id)
            .await?
            .ok_or_else(|| not_found("comment"))?
            .post_id;
        let parent = post::find_locked(&txn, post_id, false)
            .await?
            .ok_or_else(|| not_found("comment"))?;
        let gone = comment::find_for_update(&txn, comment_id)
            .await?
            .ok_or_else(|| not_found("comment"))?;
        if viewer != gone.author_id && viewer != parent.author_id {
            return Err(forbidden(
                "only its author or the post's author may delete a comment",
            ));
        }
        comment::delete(&txn, gone.id).await?;
        let payload = CommentDeleted {
            id: gone.id,
            post_id: parent.id,
            post_author_id: parent.author_id,
            author_id: gone.author_id,
            deleted_by: viewer,
        };
        let envelope = Envelope::new(SOURCE, COMMENT_DELETED, gone.id, &payload);
        self.commit_with(txn, &envelope).await?;
        Ok(parent)
    }

    /// Enqueues `envelope`, commits, and wakes the relay.
    async fn commit_with(
        &self,
        txn: DatabaseTransaction,
        envelope: &Envelope,
    ) -> Result<(), ContentError> {
        Ok(events::commit_with(txn, envelope, &self.outbox).await?)
    }
}

/// The post, if it exists and `viewer` wrote it.
async fn own_post(
    txn: &DatabaseTransaction,
    viewer: Uuid,
    post_id: Uuid,
) -> Result<post::Model, ContentError> {
    let current = post::find_locked(txn, post_id, true)
        .await?
        .ok_or_else(|| not_found("post"))?;
    if current.author_id != viewer {
        return Err(forbidden("only its author may change a post"));
    }
    Ok(current)
}

/// Checks that `author` may attach `media`: each must be ready (known from media's
/// events: `BAD_USER_INPUT` on `mediaIds` otherwise) and theirs (`FORBIDDEN` otherwise).
async fn own_media(
    txn: &DatabaseTransaction,
    author: Uuid,
    media: &[Uuid],
) -> Result<(), ContentError> {
    if media.is_empty() {
        return Ok(());
    }
    let known = media::find_many(txn, media).await?;
    if known.len() != media.len() {
        return Err(ServiceError::bad_input(
            "mediaIds",
            "mediaIds names media that does not exist or is not ready",
        )
        .into());
    }
    if known.iter().any(|m| m.owner_id != author) {
        return Err(forbidden("mediaIds: only your own media can be attached"));
    }
    Ok(())
}

fn not_found(what: &str) -> ContentError {
    ServiceError::new(Code::NotFound, format!("{what} not found")).into()
}

fn forbidden(message: &str) -> ContentError {
    ServiceError::new(Code::Forbidden, message).into()
}

/// Trims a body and checks it is 1 to `max` characters; the field at fault is `body`.
pub fn validate_body(body: &str, max: usize) -> Result<String, ServiceError> {
    let body = body.trim();
    if body.is_empty() {
        return Err(ServiceError::bad_input("body", "body must not be empty"));
    }
    if body.chars().count() > max {
        return Err(ServiceError::bad_input(
            "body",
            format!("body must be at most {max} characters"),
        ));
    }
    Ok(body.to_owned())
}

/// An id argument as a UUID, or `BAD_USER_INPUT` naming `field`.
pub fn parse_id(field: &'static str, id: &str) -> Result<Uuid, ServiceError> {
    Uuid::parse_str(id)
        .map_err(|_| ServiceError::bad_input(field, format!("{field} is not a valid id")))
}

/// The hashtags of a body, lower-cased, unique, in order of first appearance.
///
/// A tag is `#` then letters, digits or `_` (at least one of them not a digit, so
/// "issue #42" is no tag), at most [`TAG_MAX`] long, and the `#` must not follow a word
/// character, `/` or `&` (so "C#", URL fragments and HTML entities are no tags).
pub fn extract_tags(body: &str) -> Vec<String> {
    let is_tag_char = |c: char| c.is_alphanumeric() || c == '_';
    let mut seen = HashSet::new();
    let mut tags = Vec::new();
    let mut previous: Option<char> = None;
    let mut chars = body.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let after_boundary =
            previous.is_none_or(|p| !(is_tag_char(p) || matches!(p, '/' | '&' | '#')));
        previous = Some(c);
        if c != '#' || !after_boundary {
            continue;
        }
        let mut end = start + 1;
        while let Some(&(i, next)) = chars.peek() {
            if !is_tag_char(next) {
                break;
            }
            end = i + next.len_utf8();
            previous = Some(next);
            chars.next();
        }
        let word = &body[start + 1..end];
        let length = word.chars().count();
        if length == 0 || length > TAG_MAX || word.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let tag = word.to_lowercase();
        if seen.insert(tag.clone()) {
            tags.push(tag);
        }
    }
    tags
}

/// A tag as a client may write it (`#Rust`, `rust`) in the stored form (`rust`), or
/// `None` if it cannot be a tag.
pub fn normalize_tag(tag: &str) -> Option<String> {
    let word = tag.trim();
    let word = word.strip_prefix('#').unwrap_or(word);
    let valid = !word.is_empty()
        && word.chars().count() <= TAG_MAX
        && word.chars().all(|c| c.is_alphanumeric() || c == '_');
    valid.then(|| word.to_lowercase())
}

/// The words of a search query, lower-cased, each once, in order: what is matched
/// (every word must occur). `BAD_USER_INPUT` on `query` if it is too long or has no words.
pub fn search_terms(query: &str) -> Result<Vec<String>, ServiceError> {
    if query.chars().count() > QUERY_MAX {
        return Err(ServiceError::bad_input(
            "query",
            format!("query must be at most {QUERY_MAX} characters"),
        ));
    }
    let mut seen = HashSet::new();
    let terms: Vec<String> = query
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .filter(|word| seen.insert(word.clone()))
        .take(QUERY_TERMS_MAX)
        .collect();
    if terms.is_empty() {
        return Err(ServiceError::bad_input(
            "query",
            "query has no words to search for",
        ));
    }
    Ok(terms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_queries_become_plain_words_so_no_query_syntax_gets_through() {
        let terms = search_terms("Rust AND \"graphql\"* -NEAR(x) #Rust").unwrap();
        assert_eq!(terms, ["rust", "and", "graphql", "near", "x"]);
        assert_eq!(search_terms(" *\"- ").unwrap_err().field, Some("query"));
        let long = "a ".repeat(QUERY_MAX);
        assert_eq!(search_terms(&long).unwrap_err().field, Some("query"));
    }

    #[test]
    fn tags_are_lower_cased_unique_and_in_order_of_first_appearance() {
        let tags = extract_tags("#Rust and #graphql, again #rust! (#Sea_ORM)\n#日本");
        assert_eq!(tags, ["rust", "graphql", "sea_orm", "日本"]);
    }

    #[test]
    fn things_that_look_like_tags_but_are_not_are_ignored() {
        let tags = extract_tags("issue #42, C# code, x.org/#frag, &#39; a##b # alone");
        assert!(tags.is_empty(), "{tags:?}");
        assert!(extract_tags(&format!("#{}", "a".repeat(TAG_MAX + 1))).is_empty());
    }

    #[test]
    fn bodies_are_trimmed_and_bounded_naming_the_body_field() {
        assert_eq!(validate_body("  hi \n", 10).unwrap(), "hi");
        assert_eq!(validate_body("   ", 10).unwrap_err().field, Some("body"));
        let too_long = "é".repeat(11);
        assert_eq!(
            validate_body(&too_long, 10).unwrap_err().field,
            Some("body")
        );
        assert!(validate_body(&"é".repeat(10), 10).is_ok());
    }

    #[test]
    fn tags_given_by_clients_are_normalized_or_refused() {
        assert_eq!(normalize_tag(" #Rust ").as_deref(), Some("rust"));
        assert_eq!(normalize_tag("rust").as_deref(), Some("rust"));
        assert_eq!(normalize_tag("#"), None);
        assert_eq!(normalize_tag("two words"), None);
    }
}
