//! Content: what users write — posts, the comments under them, and the hashtags in them.
//!
//! Owns the `post`, `comment` and `post_tag` tables and the full-text index of posts.
//! Contributes `Post @key(id)` and `Comment @key(id)`, `User.posts` and `User.postCount`,
//! `Query.post`, `Query.postsByTag`, `Query.searchPosts` (ranked full-text: SQLite FTS5
//! or Postgres `tsvector`), and the mutations `createPost`, `editPost`, `deletePost` (the
//! post's author only), `addComment` and `deleteComment` (the comment's author or the
//! post's author).
//!
//! Publishes `content.post.created|updated|deleted` and
//! `content.comment.created|deleted`, each written to the outbox in the transaction of its
//! change. Consumes `identity.user.deleted` (durable consumer `content-IDENTITY`), which
//! erases everything the account wrote.
//!
//! Layout:
//! - [`content`]: the operations (validation, ownership checks, write, outbox event).
//! - [`schema`]: the GraphQL types, resolvers and DataLoaders.
//! - [`store`]: the tables and their queries.
//! - [`events`]: payloads published and consumed, and the identity handler.
//! - [`error`]: the error type.

pub mod content;
pub mod error;
pub mod events;
pub mod schema;
pub mod store;

use std::sync::Arc;

use agora_kit::auth::JwtVerifier;
use agora_kit::events::{Consumer, ConsumerSpec, EventBus, OutboxRelay};
use agora_kit::service::{Service, StartError};
use agora_kit::{Settings, db, http};

use crate::content::Content;

/// The consumer of identity's account deletions, as the bus knows it (`content-IDENTITY`).
pub fn identity_consumer() -> ConsumerSpec {
    ConsumerSpec::new("content", events::IDENTITY, &[events::USER_DELETED])
}

/// Connects content's database, opens its consumer, and binds its HTTP service with the
/// outbox relay and the consumer as background tasks.
pub async fn build(settings: Settings, bus: Arc<dyn EventBus>) -> Result<Service, StartError> {
    let db = db::connect::<agora_content_migration::Migrator>(&settings.database_url).await?;
    bus.ensure_stream(events::SOURCE).await?;
    // Ensuring the stream it reads too (idempotent, same definition) lets content start
    // before identity without its subscription failing.
    bus.ensure_stream(events::IDENTITY).await?;
    let identity = Consumer::open(
        db.clone(),
        &bus,
        identity_consumer(),
        Arc::new(events::OnIdentityEvent),
    )
    .await?;
    let relay = OutboxRelay::new(db.clone(), bus);
    let verifier = JwtVerifier::remote(settings.jwks_url.clone(), settings.tokens.clone());
    let content = Arc::new(Content {
        db: db.clone(),
        outbox: relay.waker(),
    });
    let routes = http::router(schema::build(content), verifier, db);
    Ok(Service::bind(settings.listen, routes)
        .await?
        .with_task(|stop| relay.run(stop))
        .with_task(|stop| identity.run(stop)))
}
