//! The per-parent lists messaging serves through the kit's keyset pages
//! ([`agora_kit::paging`]): a conversation's messages, newest first.

/// One of messaging's lists: a table read as "nodes of a parent".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum List {
    /// A conversation's messages: `message` by conversation.
    Messages,
}

impl agora_kit::paging::List for List {
    fn table(self) -> &'static str {
        "message"
    }

    fn parent(self) -> &'static str {
        "conversation_id"
    }

    fn node(self) -> &'static str {
        "id"
    }
}
