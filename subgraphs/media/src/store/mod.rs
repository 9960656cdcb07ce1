//! Media's tables (sea-orm entities) and the functions that read and write them.
//!
//! - [`media`]: one row per upload, from `createUpload` until its files are purged.
//! - [`variant`]: the resized copies of an image.
//! - [`usage`]: which posts and avatars use which media.
//! - [`key`]: the secret that signs upload URLs.
//! - [`loaders`]: the DataLoader of variants.

pub mod key;
pub mod loaders;
pub mod media;
pub mod usage;
pub mod variant;
