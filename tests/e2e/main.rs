//! End-to-end tests of the whole platform, driven through the router like a frontend:
//! one test binary, each test with a platform, databases and event namespace of its own.

mod account_links;
mod accounts;
mod blocking;
mod blocking_matrix;
mod erasure;
mod handles_and_search;
mod helpers;
mod media;
mod messaging;
mod observability;
mod private_accounts;
mod processes;
mod seed;
mod social_network;
mod traces;
