//! DataLoaders of the per-conversation fields the kit's keyset loaders do not cover:
//! participants (the whole set) and the viewer's unread count. One statement per batch.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use sea_orm::{DatabaseConnection, DbErr};
use uuid::Uuid;

use super::participant;

/// Loads the participants of conversations, in the order they joined.
pub struct ParticipantLoader(pub DatabaseConnection);

impl Loader<Uuid> for ParticipantLoader {
    type Value = Vec<Uuid>;
    type Error = Arc<DbErr>;

    async fn load(&self, conversations: &[Uuid]) -> Result<HashMap<Uuid, Vec<Uuid>>, Self::Error> {
        let rows = participant::of_conversations(&self.0, conversations)
            .await
            .map_err(Arc::new)?;
        let mut participants: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for row in rows {
            participants
                .entry(row.conversation_id)
                .or_default()
                .push(row.user_id);
        }
        Ok(participants)
    }
}

/// The unread messages of one conversation for one viewer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UnreadKey {
    /// Whose unread messages.
    pub viewer: Uuid,
    /// In which conversation.
    pub conversation: Uuid,
}

/// Loads unread counts: one `GROUP BY` per viewer in the batch.
pub struct UnreadLoader(pub DatabaseConnection);

impl Loader<UnreadKey> for UnreadLoader {
    type Value = i64;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[UnreadKey]) -> Result<HashMap<UnreadKey, i64>, Self::Error> {
        let mut by_viewer: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for key in keys {
            by_viewer
                .entry(key.viewer)
                .or_default()
                .push(key.conversation);
        }
        let mut loaded = HashMap::new();
        for (viewer, conversations) in by_viewer {
            let counts = participant::unread_counts(&self.0, viewer, &conversations)
                .await
                .map_err(Arc::new)?;
            for (conversation, count) in counts {
                loaded.insert(
                    UnreadKey {
                        viewer,
                        conversation,
                    },
                    count,
                );
            }
        }
        Ok(loaded)
    }
}
