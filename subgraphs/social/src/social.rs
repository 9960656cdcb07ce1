//! The social operations: validation, the write with its outbox event, the wake-up.
//!
//! Every operation is idempotent: doing it again changes nothing and publishes nothing,
//! so a client may retry freely.

use std::sync::Arc;

use agora_kit::events::{self, Envelope};
use agora_kit::{Code, ServiceError};
use chrono::Utc;
use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::error::SocialError;
use crate::events::{
    POST_LIKED, POST_UNLIKED, PostLiked, PostUnliked, SOURCE, USER_FOLLOWED, USER_UNFOLLOWED,
    UserFollowed, UserUnfollowed,
};
use crate::store::reaction::{self, Reaction};
use crate::store::{follow, post, timeline};

/// How many of a followee's newest posts a new follow copies into the follower's feed.
pub const BACKFILL: u64 = 20;

/// What the operations need: the database and the relay's wake-up.
pub struct Social {
    /// Social's own database.
    pub db: DatabaseConnection,
    /// Woken after a commit that enqueued events.
    pub outbox: Arc<Notify>,
}

impl Social {
    /// `viewer` follows `target`, whose recent posts join the viewer's feed.
    pub async fn follow(&self, viewer: Uuid, target: Uuid) -> Result<(), SocialError> {
        if viewer == target {
            return Err(ServiceError::bad_input("userId", "you cannot follow yourself").into());
        }
        let txn = self.db.begin().await?;
        let now = Utc::now();
        if follow::insert(&txn, viewer, target, now).await? {
            let recent = post::recent_by_author(&txn, target, BACKFILL).await?;
            timeline::add_posts(&txn, viewer, &recent).await?;
            let payload = UserFollowed {
                follower_id: viewer,
                followee_id: target,
                followed_at: now,
            };
            let envelope = Envelope::new(SOURCE, USER_FOLLOWED, target, &payload);
            return self.commit_with(txn, &envelope).await;
        }
        txn.commit().await?;
        Ok(())
    }

    /// `viewer` stops following `target`, whose posts leave the viewer's feed.
    pub async fn unfollow(&self, viewer: Uuid, target: Uuid) -> Result<(), SocialError> {
        if viewer == target {
            return Err(ServiceError::bad_input("userId", "you cannot unfollow yourself").into());
        }
        let txn = self.db.begin().await?;
        if follow::delete(&txn, viewer, target).await? {
            timeline::remove_author(&txn, viewer, target).await?;
            let payload = UserUnfollowed {
                follower_id: viewer,
                followee_id: target,
            };
            let envelope = Envelope::new(SOURCE, USER_UNFOLLOWED, target, &payload);
            return self.commit_with(txn, &envelope).await;
        }
        txn.commit().await?;
        Ok(())
    }

    /// `viewer` likes a live post.
    pub async fn like(&self, viewer: Uuid, post_id: Uuid) -> Result<(), SocialError> {
        let txn = self.db.begin().await?;
        let target = live_post(&txn, post_id).await?;
        let now = Utc::now();
        if reaction::insert(&txn, Reaction::Like, viewer, post_id, now).await? {
            let payload = PostLiked {
                post_id,
                post_author_id: target.author_id,
                user_id: viewer,
                liked_at: now,
            };
            let envelope = Envelope::new(SOURCE, POST_LIKED, post_id, &payload);
            return self.commit_with(txn, &envelope).await;
        }
        txn.commit().await?;
        Ok(())
    }

    /// `viewer` takes back their like of a live post.
    pub async fn unlike(&self, viewer: Uuid, post_id: Uuid) -> Result<(), SocialError> {
        let txn = self.db.begin().await?;
        let target = live_post(&txn, post_id).await?;
        if reaction::delete(&txn, Reaction::Like, viewer, post_id).await? {
            let payload = PostUnliked {
                post_id,
                post_author_id: target.author_id,
                user_id: viewer,
            };
            let envelope = Envelope::new(SOURCE, POST_UNLIKED, post_id, &payload);
            return self.commit_with(txn, &envelope).await;
        }
        txn.commit().await?;
        Ok(())
    }

    /// `viewer` bookmarks a live post (private: no event).
    pub async fn save(&self, viewer: Uuid, post_id: Uuid) -> Result<(), SocialError> {
        let txn = self.db.begin().await?;
        live_post(&txn, post_id).await?;
        reaction::insert(&txn, Reaction::Save, viewer, post_id, Utc::now()).await?;
        txn.commit().await?;
        Ok(())
    }

    /// `viewer` removes a bookmark.
    pub async fn unsave(&self, viewer: Uuid, post_id: Uuid) -> Result<(), SocialError> {
        let txn = self.db.begin().await?;
        live_post(&txn, post_id).await?;
        reaction::delete(&txn, Reaction::Save, viewer, post_id).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Enqueues `envelope`, commits, and wakes the relay.
    async fn commit_with(
        &self,
        txn: DatabaseTransaction,
        envelope: &Envelope,
    ) -> Result<(), SocialError> {
        Ok(events::commit_with(txn, envelope, &self.outbox).await?)
    }
}

/// The post from the replica, or `NOT_FOUND` if content never announced it or deleted it.
async fn live_post(txn: &DatabaseTransaction, id: Uuid) -> Result<post::Model, SocialError> {
    post::find_live(txn, id)
        .await?
        .ok_or_else(|| ServiceError::new(Code::NotFound, "post not found").into())
}

/// An input id as a UUID, or `BAD_USER_INPUT` naming `field`.
pub fn parse_id(field: &'static str, id: &str) -> Result<Uuid, ServiceError> {
    Uuid::parse_str(id)
        .map_err(|_| ServiceError::bad_input(field, format!("{field} is not a valid id")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_ids_name_the_field_at_fault() {
        let error = parse_id("postId", "not-a-uuid").unwrap_err();
        assert_eq!(
            (error.code, error.field),
            (Code::BadUserInput, Some("postId"))
        );
        let id = Uuid::now_v7();
        assert_eq!(parse_id("postId", &id.to_string()).unwrap(), id);
    }
}
