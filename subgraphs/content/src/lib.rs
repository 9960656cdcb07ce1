//! Content: what users write — posts, the comments under them, and the hashtags in them.
//!
//! Owns the `post`, `comment` and `post_tag` tables. Contributes `Post @key(id)` and
//! `Comment @key(id)`, `User.posts` and `User.postCount`, `Query.post`,
//! `Query.postsByTag`, and the mutations `createPost`, `editPost`, `deletePost` (the
//! post's author only), `addComment` and `deleteComment` (the comment's author or the
//! post's author).
//!
//! Publishes `content.post.created|updated|deleted` and
//! `content.comment.created|deleted`, each written to the outbox in the transaction of its
//! change. Consumes nothing yet (erasing a deleted account's posts on
//! `identity.user.deleted` is still to come, as is full-text `searchPosts`).
//!
//! Layout:
//! - [`content`]: the operations (validation, ownership checks, write, outbox event).
//! - [`schema`]: the GraphQL types, resolvers and DataLoaders.
//! - [`store`]: the tables and their queries.
//! - [`events`]: payloads published.
//! - [`error`]: the error type.

pub mod content;
pub mod error;
pub mod events;
pub mod schema;
pub mod store;

use std::sync::Arc;

use agora_kit::auth::JwtVerifier;
use agora_kit::events::{EventBus, OutboxRelay};
use agora_kit::service::{Service, StartError};
use agora_kit::{Settings, db, http};

use crate::content::Content;

/// Connects content's database, ensures its stream, and binds its HTTP service with the
/// outbox relay as a background task.
pub async fn build(settings: Settings, bus: Arc<dyn EventBus>) -> Result<Service, StartError> {
    let db = db::connect::<agora_content_migration::Migrator>(&settings.database_url).await?;
    bus.ensure_stream(events::SOURCE).await?;
    let relay = OutboxRelay::new(db.clone(), bus);
    let verifier = JwtVerifier::remote(settings.jwks_url.clone(), settings.tokens.clone());
    let content = Arc::new(Content {
        db: db.clone(),
        outbox: relay.waker(),
    });
    let routes = http::router(schema::build(content), verifier, db);
    Ok(Service::bind(settings.listen, routes)
        .await?
        .with_task(|stop| relay.run(stop)))
}
