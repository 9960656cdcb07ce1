//! Messaging's tables (sea-orm entities) and the functions that read and write them.
//!
//! - [`email`]: the email outbox, mails with their delivery attempts.
//! - [`member`]: the replica of identity's accounts (handle, erased or not).
//! - [`notification`]: what each user is told about, read or not.
//! - [`conversation`]: conversations, one per set of participants.
//! - [`participant`]: who is in which conversation, with their activity and read marks.
//! - [`message`]: the messages of conversations.
//! - [`list`]: the per-parent lists read by the kit's keyset pages.
//! - [`loaders`]: DataLoaders of per-conversation fields the kit has no reader for.

pub mod conversation;
pub mod email;
pub mod list;
pub mod loaders;
pub mod member;
pub mod message;
pub mod notification;
pub mod participant;
