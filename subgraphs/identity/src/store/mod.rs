//! Identity's tables (sea-orm entities) and the functions that read and write them.
//!
//! Every function takes a connection or a transaction, so callers decide what is atomic.

pub mod account;
pub mod account_token;
pub mod audit;
pub mod erasure;
pub mod erasure_confirmation;
pub mod lockout;
pub mod refresh_token;
pub mod session;
pub mod signing_key;
