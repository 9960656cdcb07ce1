//! Profiles' mutations.

use std::sync::Arc;

use agora_kit::auth::viewer;
use async_graphql::{Context, Object, Result, ResultExt};

use super::types::{UpdateProfileInput, UpdateProfilePayload, User};
use crate::profiles::Profiles;

/// Profiles' root mutation fields.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Changes the signed-in user's own profile; nobody can change anyone else's.
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        input: UpdateProfileInput,
    ) -> Result<UpdateProfilePayload> {
        let viewer = viewer(ctx).extend()?;
        let changes = input.try_into().extend()?;
        let profiles = ctx.data_unchecked::<Arc<Profiles>>();
        let updated = profiles.update(viewer.user_id, changes).await.extend()?;
        Ok(UpdateProfilePayload {
            user: User::new(updated.user_id),
        })
    }
}
