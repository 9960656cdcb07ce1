//! The social operations: validation, the write with its outbox event, the wake-up.
//!
//! Every operation is idempotent: doing it again changes nothing and publishes nothing,
//! so a client may retry freely.

use std::sync::Arc;

use agora_kit::events::{self, Envelope};
use agora_kit::{Code, ServiceError};
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::error::SocialError;
use crate::events::{
    FOLLOW_REQUESTED, FollowRequested, POST_LIKED, POST_UNLIKED, PostLiked, PostUnliked, SOURCE,
    USER_BLOCKED, USER_FOLLOWED, USER_MUTED, USER_UNBLOCKED, USER_UNFOLLOWED, USER_UNMUTED,
    UserFollowed, UserRestricted, UserUnfollowed,
};
use crate::store::reaction::{self, Reaction};
use crate::store::restriction::{self, Restriction};
use crate::store::{follow, follow_request, post, timeline};
use agora_kit::privacy::account as privacy;

/// How many of a followee's newest posts a new follow copies into the follower's feed.
pub const BACKFILL: u64 = 20;

/// What the operations need: the database and the relay's wake-up.
pub struct Social {
    /// Social's own database.
    pub db: DatabaseConnection,
    /// Woken after a commit that enqueued events.
    pub outbox: Arc<Notify>,
}

/// What `follow` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Followed {
    /// The viewer follows the user (now, or already did).
    Following,
    /// The user is private: the viewer's request waits for their approval.
    Requested,
}

impl Social {
    /// `viewer` follows `target`, whose recent posts join the viewer's feed; or, when
    /// `target` is private and not yet followed, asks them (`social.follow.requested`).
    pub async fn follow(&self, viewer: Uuid, target: Uuid) -> Result<Followed, SocialError> {
        if viewer == target {
            return Err(ServiceError::bad_input("userId", "you cannot follow yourself").into());
        }
        let txn = self.db.begin().await?;
        if restriction::blocked_between(&txn, viewer, target).await? {
            return Err(user_not_found());
        }
        let now = Utc::now();
        if follow::exists(&txn, viewer, target).await? {
            txn.commit().await?;
            return Ok(Followed::Following);
        }
        if privacy::is_private(&txn, target).await? {
            if follow_request::insert(&txn, viewer, target, now).await? {
                let payload = FollowRequested {
                    requester_id: viewer,
                    target_id: target,
                    requested_at: now,
                };
                let envelope = Envelope::new(SOURCE, FOLLOW_REQUESTED, target, &payload);
                self.commit_with(txn, &envelope).await?;
            } else {
                txn.commit().await?;
            }
            return Ok(Followed::Requested);
        }
        start_following(&txn, viewer, target, now).await?;
        txn.commit().await?;
        self.outbox.notify_one();
        Ok(Followed::Following)
    }

    /// `viewer` (a private account) approves `requester`'s pending request: `requester`
    /// follows them from now on, as `follow` would have done. Accepting again changes
    /// nothing; `NOT_FOUND` when there is neither a request nor a follow.
    pub async fn accept_request(&self, viewer: Uuid, requester: Uuid) -> Result<(), SocialError> {
        let txn = self.db.begin().await?;
        if follow_request::delete(&txn, requester, viewer).await? {
            start_following(&txn, requester, viewer, Utc::now()).await?;
            txn.commit().await?;
            self.outbox.notify_one();
            return Ok(());
        }
        if follow::exists(&txn, requester, viewer).await? {
            txn.commit().await?;
            return Ok(());
        }
        Err(request_not_found())
    }

    /// `viewer` declines `requester`'s pending request (the requester is not told);
    /// declining again, or a request that was never made, changes nothing.
    pub async fn decline_request(&self, viewer: Uuid, requester: Uuid) -> Result<(), SocialError> {
        follow_request::delete(&self.db, requester, viewer).await?;
        Ok(())
    }

    /// `viewer` stops following `target`, whose posts leave the viewer's feed, and
    /// withdraws a pending request to follow them.
    pub async fn unfollow(&self, viewer: Uuid, target: Uuid) -> Result<(), SocialError> {
        if viewer == target {
            return Err(ServiceError::bad_input("userId", "you cannot unfollow yourself").into());
        }
        let txn = self.db.begin().await?;
        follow_request::delete(&txn, viewer, target).await?;
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

    /// `viewer` likes a live post they may see.
    pub async fn like(&self, viewer: Uuid, post_id: Uuid) -> Result<(), SocialError> {
        let txn = self.db.begin().await?;
        let target = visible_post(&txn, viewer, post_id).await?;
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

    /// `viewer` bookmarks a live post they may see (private: no event).
    pub async fn save(&self, viewer: Uuid, post_id: Uuid) -> Result<(), SocialError> {
        let txn = self.db.begin().await?;
        visible_post(&txn, viewer, post_id).await?;
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

    /// `viewer` blocks `target`: follows and follow requests both ways end (and each
    /// leaves the other's feed), and neither can follow the other or like the other's posts until it is
    /// lifted; to the blocked user it looks as if the blocker did not exist.
    pub async fn block(&self, viewer: Uuid, target: Uuid) -> Result<(), SocialError> {
        if viewer == target {
            return Err(ServiceError::bad_input("userId", "you cannot block yourself").into());
        }
        let txn = self.db.begin().await?;
        let now = Utc::now();
        if restriction::insert(&txn, Restriction::Block, viewer, target, now).await? {
            for (follower, followee) in [(viewer, target), (target, viewer)] {
                if follow::delete(&txn, follower, followee).await? {
                    timeline::remove_author(&txn, follower, followee).await?;
                }
                follow_request::delete(&txn, follower, followee).await?;
            }
            return self.restricted(txn, USER_BLOCKED, viewer, target).await;
        }
        txn.commit().await?;
        Ok(())
    }

    /// `viewer` lifts their block of `target` (follows that it ended stay ended).
    pub async fn unblock(&self, viewer: Uuid, target: Uuid) -> Result<(), SocialError> {
        let txn = self.db.begin().await?;
        if restriction::delete(&txn, Restriction::Block, viewer, target).await? {
            return self.restricted(txn, USER_UNBLOCKED, viewer, target).await;
        }
        txn.commit().await?;
        Ok(())
    }

    /// `viewer` mutes `target`: the target's posts leave the viewer's feed and their
    /// actions stay out of the viewer's notifications; the target is not told.
    pub async fn mute(&self, viewer: Uuid, target: Uuid) -> Result<(), SocialError> {
        if viewer == target {
            return Err(ServiceError::bad_input("userId", "you cannot mute yourself").into());
        }
        let txn = self.db.begin().await?;
        if restriction::insert(&txn, Restriction::Mute, viewer, target, Utc::now()).await? {
            timeline::remove_author(&txn, viewer, target).await?;
            return self.restricted(txn, USER_MUTED, viewer, target).await;
        }
        txn.commit().await?;
        Ok(())
    }

    /// `viewer` lifts their mute of `target`, whose recent posts come back to the feed if
    /// the viewer follows them.
    pub async fn unmute(&self, viewer: Uuid, target: Uuid) -> Result<(), SocialError> {
        let txn = self.db.begin().await?;
        if restriction::delete(&txn, Restriction::Mute, viewer, target).await? {
            if follow::exists(&txn, viewer, target).await? {
                let recent = post::recent_by_author(&txn, target, BACKFILL).await?;
                timeline::add_posts(&txn, viewer, &recent).await?;
            }
            return self.restricted(txn, USER_UNMUTED, viewer, target).await;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Publishes a block or mute change with its transaction.
    async fn restricted(
        &self,
        txn: DatabaseTransaction,
        event_type: &str,
        user_id: Uuid,
        target_id: Uuid,
    ) -> Result<(), SocialError> {
        let payload = UserRestricted {
            user_id,
            target_id,
            at: Utc::now(),
        };
        let envelope = Envelope::new(SOURCE, event_type, user_id, &payload);
        self.commit_with(txn, &envelope).await
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

/// `follower` follows `followee` from `at`, unless they did already: the followee's
/// recent posts join the follower's feed and `social.user.followed` is enqueued in `txn`
/// (the caller commits and wakes the relay). Shared by `follow`, an accepted request and
/// an account made public.
pub async fn start_following(
    txn: &DatabaseTransaction,
    follower: Uuid,
    followee: Uuid,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    if follow::insert(txn, follower, followee, at).await? {
        let recent = post::recent_by_author(txn, followee, BACKFILL).await?;
        timeline::add_posts(txn, follower, &recent).await?;
        let payload = UserFollowed {
            follower_id: follower,
            followee_id: followee,
            followed_at: at,
        };
        let envelope = Envelope::new(SOURCE, USER_FOLLOWED, followee, &payload);
        events::enqueue(txn, &envelope).await?;
    }
    Ok(())
}

/// The post from the replica, or `NOT_FOUND` if content never announced it or deleted it.
async fn live_post(txn: &DatabaseTransaction, id: Uuid) -> Result<post::Model, SocialError> {
    post::find_live(txn, id).await?.ok_or_else(post_not_found)
}

/// The live post `id` if `viewer` may see it: no block between them, and a private
/// author's posts only to the author and their followers; else "not found", as if gone.
async fn visible_post(
    txn: &DatabaseTransaction,
    viewer: Uuid,
    id: Uuid,
) -> Result<post::Model, SocialError> {
    let target = live_post(txn, id).await?;
    let author = target.author_id;
    let hidden = restriction::blocked_between(txn, viewer, author).await?
        || (viewer != author
            && privacy::is_private(txn, author).await?
            && !follow::exists(txn, viewer, author).await?);
    if hidden {
        return Err(post_not_found());
    }
    Ok(target)
}

/// The answer about a post that does not exist, or that a block or privacy hides.
fn post_not_found() -> SocialError {
    ServiceError::new(Code::NotFound, "post not found").into()
}

/// The answer about a user that a block hides, as if there were none.
fn user_not_found() -> SocialError {
    ServiceError::new(Code::NotFound, "user not found").into()
}

/// The answer about a follow request that is not pending.
fn request_not_found() -> SocialError {
    ServiceError::new(Code::NotFound, "follow request not found").into()
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
