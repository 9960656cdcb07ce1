//! Media's GraphQL types: `Media` and its variants, the `User` reference it points to,
//! inputs and payloads.

use std::sync::Arc;

use agora_kit::auth::optional_viewer;
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::media::MediaService;
use crate::store::loaders::VariantLoader;
use crate::store::media::{self, Status};
use crate::store::variant;

/// A person on Agora (owned by identity); media only refers to them.
pub struct User {
    /// The id as given (echoed back unchanged).
    id: ID,
}

impl User {
    /// The user with this id.
    pub fn new(id: Uuid) -> Self {
        Self {
            id: ID(id.to_string()),
        }
    }

    /// A user from a representation's key; never fails (a batch of representations with
    /// one bad key would otherwise fail as a whole).
    pub fn from_key(id: ID) -> Self {
        Self { id }
    }
}

#[Object]
impl User {
    /// Opaque, stable id.
    async fn id(&self) -> &ID {
        &self.id
    }
}

/// Where an upload is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum MediaStatus {
    /// Waiting for its bytes at the upload URL.
    Pending,
    /// Its bytes arrived and are being processed.
    Processing,
    /// Stored with its variants: it can be attached and fetched.
    Ready,
}

/// An uploaded picture or video.
pub struct Media(pub media::Model);

impl Media {
    /// The media a viewer may see: anyone a ready one, only its owner one still being
    /// uploaded, nobody a deleted one.
    pub fn visible(ctx: &Context<'_>, row: media::Model) -> Option<Self> {
        let viewer = optional_viewer(ctx).map(|v| v.user_id);
        match row.status() {
            Status::Ready => Some(Self(row)),
            Status::Pending | Status::Processing if viewer == Some(row.owner_id) => Some(Self(row)),
            _ => None,
        }
    }

    async fn load_variants(&self, ctx: &Context<'_>) -> Result<Vec<variant::Model>> {
        if self.0.status() != Status::Ready {
            return Ok(Vec::new());
        }
        let loader = ctx.data_unchecked::<DataLoader<VariantLoader>>();
        let variants = loader
            .load_one(self.0.id)
            .await
            .map_err(|e| agora_kit::graphql::internal(&e))?;
        Ok(variants.unwrap_or_default())
    }
}

#[Object]
impl Media {
    /// Opaque, stable id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Who uploaded it.
    async fn owner(&self) -> User {
        User::new(self.0.owner_id)
    }

    /// Where its upload is.
    async fn status(&self) -> MediaStatus {
        match self.0.status() {
            Status::Ready => MediaStatus::Ready,
            Status::Processing => MediaStatus::Processing,
            _ => MediaStatus::Pending,
        }
    }

    /// Its MIME type: as declared until it is ready, then as read from its bytes.
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }

    /// Pixel width of an image, once ready.
    async fn width(&self) -> Option<i32> {
        self.0.width
    }

    /// Pixel height of an image, once ready.
    async fn height(&self) -> Option<i32> {
        self.0.height
    }

    /// Size in bytes: as declared until ready, then of the stored original (metadata
    /// stripped).
    async fn byte_size(&self) -> i32 {
        i32::try_from(self.0.byte_size).unwrap_or(i32::MAX)
    }

    /// Where to fetch the original once ready.
    async fn url(&self, ctx: &Context<'_>) -> Option<String> {
        (self.0.status() == Status::Ready).then(|| {
            ctx.data_unchecked::<Arc<MediaService>>()
                .file_url(self.0.id, "original")
        })
    }

    /// Where to fetch the 256-pixel WebP thumbnail of a ready image; null for videos.
    async fn thumbnail_url(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let service = ctx.data_unchecked::<Arc<MediaService>>();
        Ok(self
            .load_variants(ctx)
            .await?
            .iter()
            .find(|v| v.name == "thumbnail")
            .map(|v| service.file_url(v.media_id, &v.name)))
    }

    /// The resized WebP copies of a ready image (`display`, at most 1080 pixels, and
    /// `thumbnail`, at most 256), largest first; none for videos.
    async fn variants(&self, ctx: &Context<'_>) -> Result<Vec<MediaVariant>> {
        let service = ctx.data_unchecked::<Arc<MediaService>>();
        let mut variants: Vec<MediaVariant> = self
            .load_variants(ctx)
            .await?
            .into_iter()
            .map(|v| MediaVariant {
                url: service.file_url(v.media_id, &v.name),
                name: v.name,
                content_type: v.content_type,
                width: v.width,
                height: v.height,
            })
            .collect();
        variants.sort_by_key(|v| std::cmp::Reverse(v.width.max(v.height)));
        Ok(variants)
    }

    /// When the upload was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A resized copy of an image.
#[derive(SimpleObject)]
pub struct MediaVariant {
    /// `display` or `thumbnail`.
    pub name: String,
    /// Where to fetch it.
    pub url: String,
    /// Its MIME type (`image/webp`).
    pub content_type: String,
    /// Pixel width.
    pub width: i32,
    /// Pixel height.
    pub height: i32,
}

/// Input of `createUpload`.
#[derive(InputObject)]
pub struct CreateUploadInput {
    /// The file's name, 1–255 characters (kept for display; never a path).
    pub filename: String,
    /// image/jpeg, image/png, image/webp, image/gif or video/mp4; the bytes must be
    /// what this says.
    pub content_type: String,
    /// The exact size of the bytes to be sent, at most the configured limit (10 MiB by
    /// default).
    pub byte_size: i32,
}

/// Result of `createUpload`.
#[derive(SimpleObject)]
pub struct CreateUploadPayload {
    /// The media object, pending until its bytes arrive.
    pub media: Media,
    /// `PUT` the bytes here (no authorization header needed: the URL is signed). Works
    /// once; a refused upload may be retried until `expiresAt`.
    pub upload_url: String,
    /// When the upload URL stops working; an upload not done by then is discarded.
    pub expires_at: DateTime<Utc>,
}

/// Input of `deleteMedia`.
#[derive(InputObject)]
pub struct DeleteMediaInput {
    /// The media object; the viewer must have uploaded it.
    pub media_id: ID,
}

/// Result of `deleteMedia`.
#[derive(SimpleObject)]
pub struct DeleteMediaPayload {
    /// The id of the media that is gone (from posts and avatars too).
    pub deleted_media_id: ID,
}
