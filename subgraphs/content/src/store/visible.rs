//! What blocks and privacy hide from content's own list reads, from the kit's replicas of
//! social's blocks ([`restriction`]) and of private accounts and their followers
//! ([`privacy`]), as a condition inside the list's one statement so that a page stays
//! full.

use agora_kit::{privacy, restriction};

/// SQL: the viewer (the placeholder `viewer`, such as `$4`; the nil id when signed out)
/// may see what the user in column `author` wrote: no block either way between them, and
/// the author is the viewer, or public, or followed by the viewer.
pub fn author_visible(author: &str, viewer: &str) -> String {
    format!(
        "({} AND {})",
        restriction::not_blocked(author, viewer),
        privacy::may_see(author, viewer)
    )
}

/// SQL: the viewer may see the post whose id is in column `post_id`: [`author_visible`]
/// of its author, found by one read of `post` by key.
pub fn post_visible(post_id: &str, viewer: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM post visible_post WHERE visible_post.id = {post_id} AND {})",
        author_visible("visible_post.author_id", viewer)
    )
}
