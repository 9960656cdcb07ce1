//! Profiles' tables (sea-orm entities) and the functions that read and write them.
//!
//! - [`profile`]: one profile per user.
//! - [`media`]: the replica of media's ready objects (id, owner), for avatars.
//! - [`search`]: user search over handles and display names.

pub mod media;
pub mod profile;
pub mod search;
