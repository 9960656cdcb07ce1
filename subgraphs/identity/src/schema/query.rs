//! Identity's queries and its `User` entity resolver.

use std::sync::Arc;

use agora_kit::ServiceError;
use agora_kit::auth::optional_viewer;
use agora_kit::graphql::load_row;
use async_graphql::{Context, ErrorExtensions, ID, Object, Result, ResultExt};
use uuid::Uuid;

use super::types::{Erasure, User};
use crate::accounts::Identity;
use crate::error::IdentityError;
use crate::store::account;

/// Identity's root query fields.
pub struct Query;

#[Object]
impl Query {
    /// The signed-in user, or null without a token. A token of an ended session is refused.
    #[graphql(cache_control(private))]
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(viewer) = optional_viewer(ctx) else {
            return Ok(None);
        };
        let identity = ctx.data_unchecked::<Arc<Identity>>();
        if !identity
            .session_is_active(viewer.session_id)
            .await
            .extend()?
        {
            return Err(ServiceError::unauthenticated().extend());
        }
        load(ctx, viewer.user_id).await
    }

    /// A user by handle, regardless of case.
    async fn user_by_handle(&self, ctx: &Context<'_>, handle: String) -> Result<Option<User>> {
        let identity = ctx.data_unchecked::<Arc<Identity>>();
        let found = account::find_by_login(&identity.db, &handle)
            .await
            .map_err(IdentityError::from)
            .extend()?;
        Ok(found.filter(|_| !handle.contains('@')).map(User::from))
    }

    /// How far the erasure with this receipt (from `deleteAccount`) has got; null for an
    /// unknown receipt. Needs no token: the account is gone, the receipt is the proof.
    async fn erasure_status(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Erasure>> {
        let identity = ctx.data_unchecked::<Arc<Identity>>();
        let status = identity.erasure_status(&id).await.extend()?;
        Ok(status.map(Erasure::from))
    }

    /// Resolves `User` representations for the router, batched per request.
    #[graphql(entity)]
    async fn find_user_by_id(
        &self,
        ctx: &Context<'_>,
        #[graphql(key)] id: ID,
    ) -> Result<Option<User>> {
        match Uuid::parse_str(&id) {
            Ok(id) => load(ctx, id).await,
            Err(_) => Ok(None),
        }
    }
}

async fn load(ctx: &Context<'_>, id: Uuid) -> Result<Option<User>> {
    let account = load_row::<account::Entity>(ctx, id).await?;
    // A deleted account's tombstone is nobody.
    Ok(account
        .filter(|account| account.deleted_at.is_none())
        .map(User::from))
}
