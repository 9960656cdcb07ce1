//! Profiles' table (a sea-orm entity) and the functions that read and write it.

pub mod profile;
