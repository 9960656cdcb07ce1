//! The home feed under load, against a running `agora dev` seeded by `agora seed`:
//! 50 seeded users each ask for their 20-post feed with authors, like counts,
//! `viewerHasLiked` and three comments each, back to back for 20 s (after 3 s of
//! warm-up), and the bench prints requests/s and p50/p99.
//!
//! ```text
//! AGORA_RATE_LIMIT=off cargo run --release -- dev  # one terminal (a fresh AGORA_DATA_DIR)
//! cargo run --release -- seed                       # another: 1 000 users, 20 000 posts, 100 000 likes
//! cargo bench --bench feed                         # AGORA_BENCH_URL, AGORA_BENCH_CLIENTS to change
//! ```

use std::time::Duration;

use agora::client::GraphqlClient;
use agora::{load, seed};
use serde_json::{Value, json};

const FEED: &str = "{ feed(first: 20) { nodes {
    id body createdAt
    author { handle displayName }
    likeCount viewerHasLiked commentCount
    comments(first: 3) { nodes { body author { handle } } }
} } }";

#[tokio::main]
async fn main() {
    let url = std::env::var("AGORA_BENCH_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:4000/graphql".to_owned());
    let clients: usize = std::env::var("AGORA_BENCH_CLIENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(50);
    let client = GraphqlClient::new(&url);

    let mut tokens = Vec::with_capacity(clients);
    for n in 0..clients {
        let who = seed::credentials(n);
        match client.login(&who.handle, &who.password).await {
            Ok(token) => tokens.push(token),
            Err(e) => {
                eprintln!(
                    "cannot sign in as {} at {url} ({e}): run `agora seed` first",
                    who.handle
                );
                std::process::exit(1);
            }
        }
    }
    let sample = client
        .run(FEED, json!({}), Some(&tokens[0]))
        .await
        .expect("the feed query works");
    let posts = sample["feed"]["nodes"].as_array().map_or(0, Vec::len);
    let comments: usize = sample["feed"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|post| post["comments"]["nodes"].as_array().map_or(0, Vec::len))
        .sum();
    println!(
        "feed page: {posts} posts, {comments} comments, {} bytes",
        sample.to_string().len()
    );

    let tokens = std::sync::Arc::new(tokens);
    let report = load::run(clients, Duration::from_secs(3), Duration::from_secs(20), {
        let client = client.clone();
        move |n| {
            let (client, tokens) = (client.clone(), tokens.clone());
            async move {
                let data: Value = client.run(FEED, json!({}), Some(&tokens[n])).await?;
                match data["feed"]["nodes"].as_array() {
                    Some(_) => Ok(()),
                    None => Err(agora::client::ClientError::Graphql {
                        code: "NO_FEED".into(),
                        message: "the response had no feed".into(),
                    }),
                }
            }
        }
    })
    .await;
    println!("home feed, {clients} clients: {}", report.summary());
}
