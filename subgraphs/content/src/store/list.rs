//! The per-parent lists content serves — an author's posts (newest first) and a post's
//! comments (oldest first) — described for the kit's keyset reads
//! ([`agora_kit::paging`]), which page many parents in one statement.

/// One of content's per-parent lists: a table read as "rows of a parent".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum List {
    /// An author's posts, newest first: `post` by `author_id`.
    AuthorPosts,
    /// A post's comments, oldest first (conversation order): `comment` by `post_id`.
    PostComments,
}

impl agora_kit::paging::List for List {
    fn table(self) -> &'static str {
        match self {
            List::AuthorPosts => "post",
            List::PostComments => "comment",
        }
    }

    fn parent(self) -> &'static str {
        match self {
            List::AuthorPosts => "author_id",
            List::PostComments => "post_id",
        }
    }

    /// Both list their own rows, by id.
    fn node(self) -> &'static str {
        "id"
    }

    fn newest_first(self) -> bool {
        matches!(self, List::AuthorPosts)
    }
}
