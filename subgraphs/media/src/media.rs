//! The media operations: creating uploads, accepting their bytes, deleting, and the
//! janitor's purge of deleted and abandoned media.
//!
//! An upload moves `PENDING` → `PROCESSING` (its token claimed) → `READY`. A refused
//! upload moves back to `PENDING`, so its token works again until it expires; nothing of
//! it is stored. Files are deleted only by the janitor, after the row says `DELETED`, so
//! a database rollback can never leave a row pointing at deleted files.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use agora_kit::events::{self, Envelope};
use agora_kit::input::bounded_text;
use agora_kit::{Code, ServiceError};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, TransactionTrait};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::MediaSettings;
use crate::error::{MediaError, UploadError};
use crate::events::{MEDIA_READY, MediaReady, SOURCE, deleted_event};
use crate::process::{self, Processed};
use crate::storage::Store;
use crate::store::media::{self, Status};
use crate::store::variant;
use crate::token::Signer;

/// File names are 1 to 255 characters.
pub const FILENAME_MAX: usize = 255;
/// Deleted media the janitor purges per round trip.
const PURGE_BATCH: u64 = 100;

/// What the operations need.
pub struct MediaService {
    /// Media's own database.
    pub db: DatabaseConnection,
    /// Woken after a commit that enqueued events.
    pub outbox: Arc<Notify>,
    /// Woken after media were deleted, so their files go soon.
    pub janitor: Arc<Notify>,
    /// Where the files are.
    pub store: Store,
    /// Signs and checks upload tokens.
    pub signer: Signer,
    /// Limits, lifetimes and URLs.
    pub settings: MediaSettings,
    /// One permit per image being processed: bounds the decoded images in memory.
    pub workers: Arc<Semaphore>,
    /// This service's own base URL, known once it is bound (unless configured).
    pub base_url: OnceLock<String>,
}

/// A new upload: its media row, where to send the bytes, and until when.
pub struct Upload {
    /// The pending media object.
    pub media: media::Model,
    /// The URL to `PUT` the bytes to.
    pub url: String,
}

impl MediaService {
    /// Where clients reach this service.
    fn base(&self) -> &str {
        self.settings
            .base_url
            .as_deref()
            .or_else(|| self.base_url.get().map(String::as_str))
            .unwrap_or("")
    }

    /// The public URL of file `name` of `media`: on the CDN if there is one.
    pub fn file_url(&self, media: Uuid, name: &str) -> String {
        let base = self.settings.public_url.as_deref().unwrap_or(self.base());
        format!("{base}/media/{media}/{name}")
    }

    /// `owner` announces an upload; it gets a single-use URL valid for the upload TTL.
    pub async fn create_upload(
        &self,
        owner: Uuid,
        filename: &str,
        content_type: &str,
        byte_size: i64,
    ) -> Result<Upload, MediaError> {
        let filename = bounded_text("filename", filename, FILENAME_MAX)?;
        let content_type = process::allowed(content_type).ok_or_else(|| {
            ServiceError::bad_input(
                "contentType",
                "contentType must be one of image/jpeg, image/png, image/webp, image/gif, video/mp4",
            )
        })?;
        let max = i64::try_from(self.settings.max_bytes).unwrap_or(i64::MAX);
        if byte_size < 1 || byte_size > max {
            return Err(ServiceError::bad_input(
                "byteSize",
                format!("byteSize must be from 1 to {max} bytes"),
            )
            .into());
        }
        let now = agora_kit::db::micros(Utc::now());
        let ttl = chrono::Duration::from_std(self.settings.upload_ttl)
            .unwrap_or(chrono::Duration::minutes(15));
        let created = media::Model {
            id: Uuid::now_v7(),
            owner_id: owner,
            status: Status::Pending.as_str().to_owned(),
            filename,
            content_type: content_type.to_owned(),
            byte_size,
            width: None,
            height: None,
            created_at: now,
            expires_at: agora_kit::db::micros(now + ttl),
            ready_at: None,
        };
        media::insert(&self.db, &created).await?;
        let token = self.signer.sign(created.id, created.expires_at);
        let url = format!("{}/uploads/{token}", self.base());
        Ok(Upload {
            media: created,
            url,
        })
    }

    /// The media a token lets one upload to, checked before the body is read: the row
    /// must still await its bytes. Returns it with the most bytes to read.
    pub async fn upload_target(&self, token: &str) -> Result<media::Model, UploadError> {
        let id = self.signer.verify(token, Utc::now())?;
        let row = media::find(&self.db, id).await?.ok_or(UploadError::Gone)?;
        match row.status() {
            Status::Pending => Ok(row),
            Status::Processing | Status::Ready => Err(UploadError::Used),
            Status::Deleted => Err(UploadError::Gone),
        }
    }

    /// Accepts the bytes of upload `row`: claims its token, processes the bytes on a
    /// worker, stores the files, and marks it ready with its `media.ready` event. Any
    /// refusal releases the token.
    pub async fn upload(
        &self,
        row: media::Model,
        bytes: Bytes,
    ) -> Result<media::Model, UploadError> {
        if bytes.is_empty() {
            return Err(process::Rejection::Empty.into());
        }
        let declared = row.byte_size;
        if i64::try_from(bytes.len()).unwrap_or(i64::MAX) != declared {
            return Err(UploadError::SizeMismatch {
                declared,
                got: bytes.len(),
            });
        }
        if !media::transition(&self.db, row.id, Status::Pending, Status::Processing).await? {
            return Err(UploadError::Used);
        }
        match self.store_upload(&row, bytes).await {
            Ok(ready) => Ok(ready),
            Err(error) => {
                // Back to pending so the token works again; files written so far are
                // overwritten by the next attempt or purged with the row.
                if let Err(release) =
                    media::transition(&self.db, row.id, Status::Processing, Status::Pending).await
                {
                    tracing::warn!(error = %release, media = %row.id, "upload not released");
                }
                if let Err(cleanup) = self.store.delete_all(row.id).await {
                    tracing::warn!(error = %cleanup, media = %row.id, "partial upload left");
                }
                Err(error)
            }
        }
    }

    /// Processes, stores and records a claimed upload.
    async fn store_upload(
        &self,
        row: &media::Model,
        bytes: Bytes,
    ) -> Result<media::Model, UploadError> {
        let processed = self.process(bytes, row.content_type.clone()).await?;
        let Processed { original, variants } = processed;
        let (width, height) = match original.size {
            Some((w, h)) => (Some(dimension(w)), Some(dimension(h))),
            None => (None, None),
        };
        let found = media::Processed {
            content_type: original.content_type.to_owned(),
            byte_size: i64::try_from(original.bytes.len()).unwrap_or(i64::MAX),
            width,
            height,
        };
        let mut rows = Vec::with_capacity(variants.len());
        for file in variants {
            let (w, h) = file.size.unwrap_or_default();
            rows.push(variant::Model {
                media_id: row.id,
                name: file.name.to_owned(),
                content_type: file.content_type.to_owned(),
                width: dimension(w),
                height: dimension(h),
                byte_size: i64::try_from(file.bytes.len()).unwrap_or(i64::MAX),
            });
            self.store.put(row.id, file.name, file.bytes).await?;
        }
        self.store
            .put(row.id, original.name, original.bytes)
            .await?;

        let now = agora_kit::db::micros(Utc::now());
        let txn = self.db.begin().await?;
        if !media::mark_ready(&txn, row.id, &found, now).await? {
            // Deleted while processing: the janitor takes the files with the row.
            return Err(UploadError::Gone);
        }
        variant::insert_many(&txn, &rows).await?;
        let payload = MediaReady {
            id: row.id,
            owner_id: row.owner_id,
            content_type: found.content_type.clone(),
            width: found.width,
            height: found.height,
        };
        let envelope = Envelope::new(SOURCE, MEDIA_READY, row.id, &payload);
        events::commit_with(txn, &envelope, &self.outbox).await?;
        Ok(media::Model {
            status: Status::Ready.as_str().to_owned(),
            content_type: found.content_type,
            byte_size: found.byte_size,
            width: found.width,
            height: found.height,
            ready_at: Some(now),
            ..row.clone()
        })
    }

    /// Runs [`process::process`] on a blocking thread once a worker permit is free.
    async fn process(&self, bytes: Bytes, declared: String) -> Result<Processed, UploadError> {
        let _permit = self
            .workers
            .acquire()
            .await
            .map_err(|_| UploadError::Body)?;
        let processed =
            tokio::task::spawn_blocking(move || process::process(bytes, &declared)).await??;
        Ok(processed)
    }

    /// `viewer` deletes their own media (`FORBIDDEN` for anyone else's); a ready one is
    /// announced as deleted. Its files go with the janitor's next round.
    pub async fn delete(&self, viewer: Uuid, id: Uuid) -> Result<(), MediaError> {
        let txn = self.db.begin().await?;
        let found = media::find(&txn, id)
            .await?
            .filter(|row| row.status() != Status::Deleted)
            .ok_or_else(|| ServiceError::new(Code::NotFound, "media not found"))?;
        if found.owner_id != viewer {
            return Err(
                ServiceError::new(Code::Forbidden, "only its owner may delete media").into(),
            );
        }
        let gone = media::mark_deleted(&txn, &[id]).await?;
        let ready: Vec<_> = gone
            .iter()
            .filter(|row| row.status() == Status::Ready)
            .collect();
        for row in &ready {
            events::enqueue(&txn, &deleted_event(row)).await?;
        }
        txn.commit().await?;
        if !ready.is_empty() {
            self.outbox.notify_one();
        }
        self.janitor.notify_one();
        Ok(())
    }

    /// One round of the janitor: uploads abandoned past their expiry (and the grace) are
    /// deleted, then the files of deleted media are removed from the store and their rows
    /// after them. Returns how many media it purged.
    pub async fn purge(&self) -> Result<usize, UploadError> {
        let grace = chrono::Duration::from_std(self.settings.purge_grace).unwrap_or_default();
        let cutoff: DateTime<Utc> = Utc::now() - grace;
        media::abandon_expired(&self.db, cutoff).await?;
        let mut purged = 0;
        loop {
            let batch = media::deleted(&self.db, PURGE_BATCH).await?;
            for id in &batch {
                self.store.delete_all(*id).await?;
                media::remove(&self.db, *id).await?;
            }
            purged += batch.len();
            if (batch.len() as u64) < PURGE_BATCH {
                return Ok(purged);
            }
        }
    }

    /// Purges until `stop`: whenever woken, and every `janitor_interval` in any case.
    pub async fn run_janitor(self: Arc<Self>, stop: CancellationToken) {
        let mut interval = self.settings.janitor_interval;
        loop {
            match self.purge().await {
                Ok(_) => interval = self.settings.janitor_interval,
                Err(error) => {
                    tracing::warn!(error = %error, "media janitor failed; will retry");
                    interval = interval.min(Duration::from_secs(5));
                }
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = self.janitor.notified() => {}
                _ = tokio::time::sleep(interval) => {}
            }
        }
    }
}

/// A pixel dimension as stored (images are at most [`process::MAX_SIDE`] wide).
fn dimension(pixels: u32) -> i32 {
    i32::try_from(pixels).unwrap_or(i32::MAX)
}
