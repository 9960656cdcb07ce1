//! The schema snapshot: a subgraph's committed `schema.graphql` must be what its code
//! exports, so that every SDL change shows up in review.

/// Panics unless the file at `path` holds `sdl`; with `AGORA_BLESS` set, writes it first.
pub fn assert_committed_schema(path: &str, sdl: &str) {
    if std::env::var_os("AGORA_BLESS").is_some() {
        std::fs::write(path, sdl).expect("schema.graphql written");
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == sdl,
        "{path} is stale; run with AGORA_BLESS=1 (or `agora compose`) to update it"
    );
}
