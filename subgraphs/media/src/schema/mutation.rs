//! Media's mutations: creating an upload and deleting one's media.

use std::sync::Arc;

use agora_kit::auth::viewer;
use agora_kit::input::parse_id;
use async_graphql::{Context, ID, Object, Result, ResultExt};

use super::types::{
    CreateUploadInput, CreateUploadPayload, DeleteMediaInput, DeleteMediaPayload, Media,
};
use crate::media::MediaService;

/// Media's root mutation fields.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Starts an upload: returns the pending media and a signed URL to `PUT` its bytes
    /// to before `expiresAt`. The bytes are checked (type from their signature, size,
    /// decodability), stripped of metadata and resized; the media is then `READY`.
    async fn create_upload(
        &self,
        ctx: &Context<'_>,
        input: CreateUploadInput,
    ) -> Result<CreateUploadPayload> {
        let viewer = viewer(ctx).extend()?;
        let service = ctx.data_unchecked::<Arc<MediaService>>();
        let upload = service
            .create_upload(
                viewer.user_id,
                &input.filename,
                &input.content_type,
                i64::from(input.byte_size),
            )
            .await
            .extend()?;
        Ok(CreateUploadPayload {
            expires_at: upload.media.expires_at,
            upload_url: upload.url,
            media: Media(upload.media),
        })
    }

    /// Deletes your own media (`FORBIDDEN` for anyone else's): it disappears from posts
    /// and avatars, and its files from the store.
    async fn delete_media(
        &self,
        ctx: &Context<'_>,
        input: DeleteMediaInput,
    ) -> Result<DeleteMediaPayload> {
        let viewer = viewer(ctx).extend()?;
        let id = parse_id("mediaId", &input.media_id).extend()?;
        let service = ctx.data_unchecked::<Arc<MediaService>>();
        service.delete(viewer.user_id, id).await.extend()?;
        Ok(DeleteMediaPayload {
            deleted_media_id: ID(id.to_string()),
        })
    }
}
