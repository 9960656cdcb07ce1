//! The DataLoader of variants: those of a page of media in one statement.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use sea_orm::{DatabaseConnection, DbErr};
use uuid::Uuid;

use super::variant;

/// Loads the variants of media objects.
pub struct VariantLoader(pub DatabaseConnection);

impl Loader<Uuid> for VariantLoader {
    type Value = Vec<variant::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, media: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = variant::of_media(&self.0, media).await.map_err(Arc::new)?;
        let mut variants: HashMap<Uuid, Self::Value> = HashMap::new();
        for row in rows {
            variants.entry(row.media_id).or_default().push(row);
        }
        Ok(variants)
    }
}
