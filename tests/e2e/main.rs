//! End-to-end tests of the whole platform, driven through the router like a frontend:
//! one test binary, each test with a platform, databases and event namespace of its own.

mod accounts;
mod helpers;
mod messaging;
mod seed;
mod social_network;
