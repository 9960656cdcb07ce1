//! The events messaging speaks. It publishes `messaging.message.sent`. It consumes
//! identity's accounts (to keep its handle replica, and to erase an account) and its
//! link requests (to mail them), social's follows and likes and content's posts and
//! comments (to notify the users they concern). Payload structs are messaging's own
//! copies of the parts it reads.

use std::collections::HashSet;
use std::sync::Arc;

use agora_kit::events::erasure::Eraser;
use agora_kit::events::{Envelope, Handler, HandlerError};
use agora_kit::restriction;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::live::Live;
use crate::mail;
use crate::mentions::mentions;
use crate::store::notification::{self, Kind};
use crate::store::{conversation, email, member, message, participant};

/// The source attribute of messaging's events, and the name of its stream.
pub const SOURCE: &str = "messaging";
/// Published when a message is sent.
pub const MESSAGE_SENT: &str = "messaging.message.sent";

/// The publishing domain of accounts.
pub const IDENTITY: &str = "identity";
/// Consumed: an account exists; replicate its handle.
pub const USER_REGISTERED: &str = "identity.user.registered";
/// Consumed: an account's handle changed; replicate it, for mentions.
pub const USER_HANDLE_CHANGED: &str = "identity.user.handle_changed";
/// Consumed: an account is gone; erase its notifications and mails, anonymize its
/// messages, and confirm.
pub use agora_kit::events::erasure::USER_DELETED;
/// Consumed: mail a password reset link.
pub const PASSWORD_RESET_REQUESTED: &str = "identity.password_reset.requested";
/// Consumed: mail an email verification link.
pub const EMAIL_VERIFICATION_REQUESTED: &str = "identity.email_verification.requested";

/// The publishing domain of follows and likes.
pub const SOCIAL: &str = "social";
/// Consumed: notify the followee.
pub const USER_FOLLOWED: &str = "social.user.followed";
/// Consumed: notify the post's author.
pub const POST_LIKED: &str = "social.post.liked";
/// Consumed: replicate the block (no messages or notifications between the two).
pub const USER_BLOCKED: &str = "social.user.blocked";
/// Consumed: forget the block.
pub const USER_UNBLOCKED: &str = "social.user.unblocked";
/// Consumed: replicate the mute (the muted user's actions stay out of the muter's
/// notifications).
pub const USER_MUTED: &str = "social.user.muted";
/// Consumed: forget the mute.
pub const USER_UNMUTED: &str = "social.user.unmuted";

/// The publishing domain of posts and comments.
pub const CONTENT: &str = "content";
/// Consumed: notify the users a new post mentions.
pub const POST_CREATED: &str = "content.post.created";
/// Consumed: notify the post's author and the users the comment mentions.
pub const COMMENT_CREATED: &str = "content.comment.created";

/// Payload of [`MESSAGE_SENT`]; the envelope's subject is the message. The body stays in
/// messaging: consumers (an email digest) learn that there is something to read.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSent {
    /// The message.
    pub id: Uuid,
    /// Its conversation.
    pub conversation_id: Uuid,
    /// Who sent it.
    pub sender_id: Uuid,
    /// The other participants, who have something new to read.
    pub recipient_ids: Vec<Uuid>,
    /// When.
    pub sent_at: DateTime<Utc>,
}

/// The part of identity's `user.registered` payload that messaging reads.
#[derive(Debug, Deserialize)]
pub struct UserRegistered {
    /// The new account.
    pub id: Uuid,
    /// Its handle.
    pub handle: String,
}

/// The part of identity's `user.handle_changed` payload that messaging reads.
#[derive(Debug, Deserialize)]
pub struct HandleChanged {
    /// The account.
    pub id: Uuid,
    /// Its new handle.
    pub handle: String,
}

/// The part of identity's `password_reset.requested` and `email_verification.requested`
/// payloads that messaging reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkRequested {
    /// The account.
    pub user_id: Uuid,
    /// Where the mail goes.
    pub email: String,
    /// The account's handle.
    pub handle: String,
    /// The link's token.
    pub token: String,
}

/// The part of social's `user.followed` payload that messaging reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserFollowed {
    /// Who follows (the actor).
    pub follower_id: Uuid,
    /// Whom (the one to notify).
    pub followee_id: Uuid,
}

/// The part of social's `post.liked` payload that messaging reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostLiked {
    /// The liked post.
    pub post_id: Uuid,
    /// Its author (the one to notify).
    pub post_author_id: Uuid,
    /// Who liked it (the actor).
    pub user_id: Uuid,
}

/// The part of content's `post.created` payload that messaging reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostCreated {
    /// The post.
    pub id: Uuid,
    /// Who wrote it (the actor).
    pub author_id: Uuid,
    /// Its text, searched for mentions.
    pub body: String,
}

/// The part of content's `comment.created` payload that messaging reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentCreated {
    /// The post it is under.
    pub post_id: Uuid,
    /// The post's author (the one to notify).
    pub post_author_id: Uuid,
    /// Who commented (the actor).
    pub author_id: Uuid,
    /// Its text, searched for mentions.
    pub body: String,
}

/// Keeps the handle replica, erases deleted accounts, and queues the mails of identity's
/// link requests.
pub struct OnIdentityEvent {
    /// The web app the mailed links open.
    pub web_url: String,
    /// Woken once a queued mail is committed.
    pub mailer: Arc<Notify>,
}

#[async_trait]
impl Handler for OnIdentityEvent {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Envelope,
    ) -> Result<(), HandlerError> {
        match event.event_type.as_str() {
            USER_REGISTERED => user_registered(txn, &event.data_as()?).await,
            USER_HANDLE_CHANGED => handle_changed(txn, &event.data_as()?).await,
            PASSWORD_RESET_REQUESTED => {
                let kind = mail::Kind::PasswordReset;
                link_requested(txn, event, kind, &self.web_url).await
            }
            EMAIL_VERIFICATION_REQUESTED => {
                let kind = mail::Kind::EmailVerification;
                link_requested(txn, event, kind, &self.web_url).await
            }
            // The consumer filters to the types above; anything else is not ours to act on.
            _ => Ok(()),
        }
    }

    async fn committed(&self, _db: &DatabaseConnection, event: &Envelope) {
        if matches!(
            event.event_type.as_str(),
            PASSWORD_RESET_REQUESTED | EMAIL_VERIFICATION_REQUESTED
        ) {
            self.mailer.notify_one();
        }
    }
}

/// Queues the mail of a link request (once per event, however often it is delivered).
pub async fn link_requested(
    txn: &DatabaseTransaction,
    event: &Envelope,
    kind: mail::Kind,
    web_url: &str,
) -> Result<(), HandlerError> {
    let requested: LinkRequested = event.data_as()?;
    let mail = mail::LinkMail {
        event_id: event.id,
        kind,
        user_id: requested.user_id,
        handle: &requested.handle,
        to: &requested.email,
        token: &requested.token,
    };
    email::insert(txn, mail.row(web_url)).await?;
    Ok(())
}

/// Replicates a new account's handle (a known or erased account is left as it is).
pub async fn user_registered(
    txn: &DatabaseTransaction,
    registered: &UserRegistered,
) -> Result<(), HandlerError> {
    member::insert(txn, registered.id, &registered.handle).await?;
    Ok(())
}

/// Replicates an account's new handle: mentions of it find the account, mentions of the
/// old one find whoever takes it next.
pub async fn handle_changed(
    txn: &DatabaseTransaction,
    changed: &HandleChanged,
) -> Result<(), HandlerError> {
    member::set_handle(txn, changed.id, &changed.handle).await?;
    Ok(())
}

/// What messaging holds of an erased account: its mails (sent or not) and the
/// notifications it received or caused go, it leaves every conversation (a conversation
/// nobody is left in goes), and the messages it sent stay, from a "deleted user". Its
/// replica row becomes a tombstone.
pub struct AccountEraser;

#[async_trait]
impl Eraser for AccountEraser {
    async fn erase(
        &self,
        txn: &DatabaseTransaction,
        user: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), HandlerError> {
        member::mark_deleted(txn, user, at).await?;
        email::delete_for(txn, user).await?;
        restriction::delete_user(txn, user).await?;
        notification::delete_user(txn, user).await?;
        message::anonymize_sender(txn, user).await?;
        participant::delete_user(txn, user).await?;
        conversation::delete_abandoned(txn).await?;
        Ok(())
    }
}

/// Turns social's and content's events into notifications, and delivers them live once
/// they are committed.
pub struct Notifier {
    /// Where committed notifications are announced.
    pub live: Live,
}

#[async_trait]
impl Handler for Notifier {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Envelope,
    ) -> Result<(), HandlerError> {
        let rows = match event.event_type.as_str() {
            USER_FOLLOWED => {
                let followed: UserFollowed = event.data_as()?;
                let told = [(followed.followee_id, Kind::Followed)];
                notifications(txn, event, followed.follower_id, None, &told).await?
            }
            POST_LIKED => {
                let liked: PostLiked = event.data_as()?;
                let told = [(liked.post_author_id, Kind::Liked)];
                notifications(txn, event, liked.user_id, Some(liked.post_id), &told).await?
            }
            POST_CREATED => {
                let post: PostCreated = event.data_as()?;
                let told = mentioned(txn, &post.body).await?;
                notifications(txn, event, post.author_id, Some(post.id), &told).await?
            }
            COMMENT_CREATED => {
                let comment: CommentCreated = event.data_as()?;
                // The author is told about the comment once, even if also mentioned.
                let mut told = vec![(comment.post_author_id, Kind::Commented)];
                told.extend(mentioned(txn, &comment.body).await?);
                let post = Some(comment.post_id);
                notifications(txn, event, comment.author_id, post, &told).await?
            }
            USER_BLOCKED | USER_UNBLOCKED | USER_MUTED | USER_UNMUTED => {
                restriction::apply(txn, event).await?;
                Vec::new()
            }
            // The consumers filter to the types above; anything else is not ours to act on.
            _ => Vec::new(),
        };
        notification::insert_many(txn, rows).await?;
        Ok(())
    }

    async fn committed(&self, db: &DatabaseConnection, event: &Envelope) {
        match notification::by_event(db, event.id).await {
            Ok(rows) => {
                for row in &rows {
                    self.live.notification_added(row).await;
                }
            }
            Err(err) => {
                tracing::warn!(event_id = %event.id, error = %err, "live delivery skipped");
            }
        }
    }
}

/// The live accounts `body` mentions, each to be told as mentioned.
async fn mentioned(
    txn: &DatabaseTransaction,
    body: &str,
) -> Result<Vec<(Uuid, Kind)>, HandlerError> {
    let ids = member::ids_by_handles(txn, &mentions(body)).await?;
    Ok(ids.into_iter().map(|id| (id, Kind::Mentioned)).collect())
}

/// The notification rows for `told` (recipient, kind) about `actor`'s action in `event`:
/// never one for the actor themselves, one per recipient (the first reason wins), none
/// when the actor or the recipient is an erased account, and none for a recipient who
/// blocked or muted the actor or whom the actor blocked.
pub async fn notifications(
    txn: &DatabaseTransaction,
    event: &Envelope,
    actor: Uuid,
    post: Option<Uuid>,
    told: &[(Uuid, Kind)],
) -> Result<Vec<notification::Model>, HandlerError> {
    let mut involved: Vec<Uuid> = told.iter().map(|(recipient, _)| *recipient).collect();
    involved.push(actor);
    let erased: HashSet<Uuid> = member::erased(txn, &involved).await?.into_iter().collect();
    if erased.contains(&actor) {
        return Ok(Vec::new());
    }
    let silenced = restriction::silenced(txn, actor, &involved).await?;
    let mut seen = HashSet::new();
    Ok(told
        .iter()
        .filter(|(recipient, _)| *recipient != actor && !erased.contains(recipient))
        .filter(|(recipient, _)| !silenced.contains(recipient))
        .filter(|(recipient, _)| seen.insert(*recipient))
        .map(|(recipient, kind)| notification::Model {
            id: Uuid::now_v7(),
            recipient_id: *recipient,
            kind: kind.as_str().to_owned(),
            actor_id: actor,
            post_id: post,
            event_id: event.id,
            created_at: event.time,
            read_at: None,
        })
        .collect())
}
