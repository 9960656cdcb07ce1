//! What a block hides from content's own list reads: the posts whose author and the
//! viewer have a block between them either way, from the kit's replica of social's blocks
//! (`agora_kit::restriction`), as a condition inside the list's one statement so that a
//! page stays full.

use agora_kit::restriction::BLOCK;

/// SQL: no block either way between the viewer (the placeholder `viewer`, such as `$4`)
/// and the author of the post whose id is in column `post_id`. Both directions are index
/// reads of `restriction` (its key, and its index by target).
pub fn author_not_blocked(post_id: &str, viewer: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM post blocked_post JOIN restriction r \
         ON r.kind = '{BLOCK}' \
         AND ((r.user_id = {viewer} AND r.target_id = blocked_post.author_id) \
         OR (r.target_id = {viewer} AND r.user_id = blocked_post.author_id)) \
         WHERE blocked_post.id = {post_id})"
    )
}
