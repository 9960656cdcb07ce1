//! The lists social serves — followers, following, likers, saved posts, timelines,
//! blocked and muted users, follow requests —
//! described for the kit's keyset reads ([`agora_kit::paging`]): newest first by
//! (`created_at`, node id), many parents in one statement.

/// One of social's lists: a table read as "nodes of a parent".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum List {
    /// A user's followers: `follow` by followee.
    Followers,
    /// Whom a user follows: `follow` by follower.
    Following,
    /// Who liked a post: `post_like` by post.
    Likers,
    /// Which posts a user liked: `post_like` by user.
    Liked,
    /// A user's saved posts: `saved_post` by user.
    Saved,
    /// A user's home timeline: `timeline_entry` by owner.
    Timeline,
    /// Whom a user blocked: `block` by user.
    Blocking,
    /// Whom a user muted: `mute` by user.
    Muting,
    /// Who blocked a user: `block` by target (with [`List::Blocking`], a block either way).
    BlockedBy,
    /// Who asked to follow a private account: `follow_request` by target.
    FollowRequests,
    /// Whom a user asked to follow: `follow_request` by requester.
    Requested,
}

impl agora_kit::paging::List for List {
    fn table(self) -> &'static str {
        match self {
            List::Followers | List::Following => "follow",
            List::Likers | List::Liked => "post_like",
            List::Saved => "saved_post",
            List::Timeline => "timeline_entry",
            List::Blocking => "block",
            List::Muting => "mute",
            List::BlockedBy => "block",
            List::FollowRequests | List::Requested => "follow_request",
        }
    }

    fn parent(self) -> &'static str {
        match self {
            List::Followers => "followee_id",
            List::Following => "follower_id",
            List::Likers => "post_id",
            List::Liked | List::Saved => "user_id",
            List::Timeline => "owner_id",
            List::Blocking | List::Muting => "user_id",
            List::BlockedBy | List::FollowRequests => "target_id",
            List::Requested => "requester_id",
        }
    }

    fn node(self) -> &'static str {
        match self {
            List::Followers => "follower_id",
            List::Following => "followee_id",
            List::Likers => "user_id",
            List::Liked | List::Saved | List::Timeline => "post_id",
            List::Blocking | List::Muting | List::Requested => "target_id",
            List::BlockedBy => "user_id",
            List::FollowRequests => "requester_id",
        }
    }
}
