//! Latency of `me { handle displayName }` through the router: the query crosses identity
//! and profiles. Starts the platform as `agora dev` does (SQLite, in-process bus, real
//! HTTP on localhost), signs a user in, then prints p50/p99 over 1 000 sequential
//! requests, and throughput and p50/p99 of 50 concurrent clients for 10 s.
//! Run with `cargo bench --bench me_latency`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agora::client::{ClientError, GraphqlClient};
use agora::load::{self, ms};
use agora::platform::{Platform, PlatformConfig};
use serde_json::json;

const REQUESTS: usize = 1_000;
const CLIENTS: usize = 50;
const QUERY: &str = "{ me { handle displayName } }";

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data_dir = dir.path().display().to_string();
    let platform = Platform::start(PlatformConfig {
        lookup: Arc::new(move |key| match key {
            "AGORA_DATA_DIR" => Some(data_dir.clone()),
            "AGORA_RATE_LIMIT" => Some("off".to_owned()), // one user, thousands of requests
            _ => None,
        }),
        router_addr: "127.0.0.1:0".parse().expect("address"),
        ephemeral_ports: true,
        introspection: false,
    })
    .await
    .expect("platform starts");
    let client = GraphqlClient::new(platform.graphql_url());
    let token = sign_in(&client).await;

    for _ in 0..100 {
        me(&client, &token).await.expect("warm-up"); // connections, caches, the plan
    }
    let mut latencies = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let start = Instant::now();
        me(&client, &token).await.expect("me");
        latencies.push(start.elapsed());
    }
    latencies.sort();
    println!(
        "{QUERY} sequential, {REQUESTS} requests: p50 {:.2} ms, p99 {:.2} ms",
        ms(latencies[REQUESTS / 2 - 1]),
        ms(latencies[REQUESTS * 99 / 100 - 1]),
    );

    let report = load::run(CLIENTS, Duration::from_secs(1), Duration::from_secs(10), {
        move |_| {
            let (client, token) = (client.clone(), token.clone());
            async move { me(&client, &token).await }
        }
    })
    .await;
    println!("{QUERY} with {CLIENTS} clients: {}", report.summary());
    platform.stop().await;
}

/// Registers the bench user and waits for its profile (an event creates it).
async fn sign_in(client: &GraphqlClient) -> String {
    let register = "mutation { register(input: { email: \"bench@example.org\", handle: \"bench\", password: \"bench-password\" }) { accessToken } }";
    let data = client
        .run(register, json!({}), None)
        .await
        .expect("register");
    let token = data["register"]["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    for _ in 0..200 {
        let data = client
            .run(QUERY, json!({}), Some(&token))
            .await
            .expect("me");
        if !data["me"]["displayName"].is_null() {
            return token;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the profile was never created");
}

async fn me(client: &GraphqlClient, token: &str) -> Result<(), ClientError> {
    client.run(QUERY, json!({}), Some(token)).await.map(drop)
}
