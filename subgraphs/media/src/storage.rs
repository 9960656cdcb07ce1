//! Where media files live, through `object_store`: a local directory by default, an
//! S3-compatible bucket when configured. Each media object is a folder named by its id
//! holding `original` and its variants, so deleting one is deleting a prefix.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{GetResult, ObjectStore, PutPayload};
use uuid::Uuid;

/// A store failure (logged, shown to clients as an internal error).
pub type StoreError = object_store::Error;

/// The file store of media.
#[derive(Clone, Debug)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
}

impl Store {
    /// Opens `location`: `s3://bucket[/prefix]` (credentials, region and endpoint from the
    /// `AWS_*` environment, so any S3-compatible service works), or a local directory,
    /// created if missing.
    pub fn open(location: &str) -> Result<Self, StoreError> {
        let inner: Arc<dyn ObjectStore> = if location.starts_with("s3://") {
            let s3 = AmazonS3Builder::from_env().with_url(location).build()?;
            let prefix = location
                .trim_start_matches("s3://")
                .split_once('/')
                .map(|(_, prefix)| prefix.trim_matches('/'))
                .unwrap_or_default();
            if prefix.is_empty() {
                Arc::new(s3)
            } else {
                Arc::new(PrefixStore::new(s3, prefix))
            }
        } else {
            let dir = location.strip_prefix("file://").unwrap_or(location);
            std::fs::create_dir_all(dir).map_err(|source| object_store::Error::Generic {
                store: "local",
                source: Box::new(source),
            })?;
            Arc::new(LocalFileSystem::new_with_prefix(dir)?)
        };
        Ok(Self { inner })
    }

    /// Writes file `name` of `media`.
    #[tracing::instrument(skip_all, fields(%media, name, bytes = bytes.len()))]
    pub async fn put(&self, media: Uuid, name: &str, bytes: Bytes) -> Result<(), StoreError> {
        self.inner
            .put(&path(media, name), PutPayload::from_bytes(bytes))
            .await?;
        Ok(())
    }

    /// Reads file `name` of `media` as a stream.
    pub async fn get(&self, media: Uuid, name: &str) -> Result<GetResult, StoreError> {
        self.inner.get(&path(media, name)).await
    }

    /// Reads `range` of file `name` of `media`.
    pub async fn get_range(
        &self,
        media: Uuid,
        name: &str,
        range: Range<u64>,
    ) -> Result<Bytes, StoreError> {
        self.inner.get_range(&path(media, name), range).await
    }

    /// Deletes every file of `media` (nothing to delete is fine).
    #[tracing::instrument(skip_all, fields(%media))]
    pub async fn delete_all(&self, media: Uuid) -> Result<(), StoreError> {
        let prefix = Path::from(media.to_string());
        let files: Vec<_> = self.inner.list(Some(&prefix)).try_collect().await?;
        for file in files {
            match self.inner.delete(&file.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(())
    }
}

/// The path of file `name` of `media`.
fn path(media: Uuid, name: &str) -> Path {
    Path::from(format!("{media}/{name}"))
}
