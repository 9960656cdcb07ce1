//! Social's queries and its `User` and `Post` entity resolvers.

use agora_kit::auth::viewer;
use async_graphql::{Context, ID, Object, Result, ResultExt};

use agora_kit::paging::{PageKey, load_page, page_request};

use super::types::{
    FeedConnection, Post, RestrictedUserConnection, SavedPostConnection, User, connection,
};
use crate::store::list::List;

/// Social's root query fields.
pub struct Query;

#[Object]
impl Query {
    /// The signed-in user's home timeline: their own posts and those of the users they
    /// follow, newest first (`first` at most 100, default 20).
    async fn feed(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<FeedConnection> {
        let viewer = viewer(ctx).extend()?;
        let request = page_request(first, after).extend()?;
        let key = PageKey {
            list: List::Timeline,
            parent: viewer.user_id,
            request,
        };
        let page = load_page(ctx, key).await?;
        Ok(connection(page, key, Post::new))
    }

    /// The posts the signed-in user saved, most recently saved first (`first` at most
    /// 100, default 20).
    async fn saved_posts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<SavedPostConnection> {
        let viewer = viewer(ctx).extend()?;
        let request = page_request(first, after).extend()?;
        let key = PageKey {
            list: List::Saved,
            parent: viewer.user_id,
            request,
        };
        let page = load_page(ctx, key).await?;
        Ok(connection(page, key, Post::new))
    }

    /// The users the signed-in user blocked, most recent first (`first` at most 100,
    /// default 20).
    async fn blocked_users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<RestrictedUserConnection> {
        restricted(ctx, List::Blocking, first, after).await
    }

    /// The users the signed-in user muted, most recent first (`first` at most 100,
    /// default 20).
    async fn muted_users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<RestrictedUserConnection> {
        restricted(ctx, List::Muting, first, after).await
    }

    /// Resolves `User` representations; the social fields load in batches.
    #[graphql(entity)]
    async fn find_user_by_id(&self, #[graphql(key)] id: ID) -> User {
        User::from_key(id)
    }

    /// Resolves `Post` representations; the like fields load in batches.
    #[graphql(entity)]
    async fn find_post_by_id(&self, #[graphql(key)] id: ID) -> Post {
        Post::from_key(id)
    }
}

/// A page of the signed-in user's blocked or muted users.
async fn restricted(
    ctx: &Context<'_>,
    list: List,
    first: Option<i32>,
    after: Option<String>,
) -> Result<RestrictedUserConnection> {
    let viewer = viewer(ctx).extend()?;
    let request = page_request(first, after).extend()?;
    let key = PageKey {
        list,
        parent: viewer.user_id,
        request,
    };
    let page = load_page(ctx, key).await?;
    Ok(connection(page, key, User::new))
}
