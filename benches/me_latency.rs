//! Latency of `me { handle displayName }` through the router: the query crosses identity
//! and profiles. Starts the platform as `agora dev` does (SQLite, in-process bus, real
//! HTTP on localhost), signs a user in, then prints p50/p99 over 1 000 sequential
//! requests and the throughput of 50 concurrent clients. Run with `cargo bench`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agora::platform::{Platform, PlatformConfig};
use serde_json::{Value, json};

const REQUESTS: usize = 1_000;
const CLIENTS: usize = 50;
const QUERY: &str = "{ me { handle displayName } }";

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data_dir = dir.path().display().to_string();
    let platform = Platform::start(PlatformConfig {
        lookup: Arc::new(move |key| (key == "AGORA_DATA_DIR").then(|| data_dir.clone())),
        router_addr: "127.0.0.1:0".parse().expect("address"),
        ephemeral_ports: true,
        introspection: false,
    })
    .await
    .expect("platform starts");
    let url = platform.graphql_url();
    let client = reqwest::Client::new();
    let token = sign_in(&client, &url).await;

    for _ in 0..100 {
        send(&client, &url, &token).await; // warm connections, caches and the plan
    }
    let mut latencies = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let start = Instant::now();
        send(&client, &url, &token).await;
        latencies.push(start.elapsed());
    }
    latencies.sort();
    println!(
        "me {{ handle displayName }} sequential, {REQUESTS} requests: p50 {:.2} ms, p99 {:.2} ms",
        ms(latencies[REQUESTS / 2]),
        ms(latencies[REQUESTS * 99 / 100]),
    );

    let start = Instant::now();
    let per_client = REQUESTS * 5 / CLIENTS;
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (client, url, token) = (client.clone(), url.clone(), token.clone());
            tokio::spawn(async move {
                let mut own = Vec::with_capacity(per_client);
                for _ in 0..per_client {
                    let start = Instant::now();
                    send(&client, &url, &token).await;
                    own.push(start.elapsed());
                }
                own
            })
        })
        .collect();
    let mut concurrent = Vec::new();
    for task in tasks {
        concurrent.extend(task.await.expect("client task"));
    }
    let elapsed = start.elapsed();
    concurrent.sort();
    let n = concurrent.len();
    println!(
        "me {{ handle displayName }} with {CLIENTS} clients, {n} requests: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
        n as f64 / elapsed.as_secs_f64(),
        ms(concurrent[n / 2]),
        ms(concurrent[n * 99 / 100]),
    );
    platform.stop().await;
}

async fn sign_in(client: &reqwest::Client, url: &str) -> String {
    let register = "mutation { register(input: { email: \"bench@example.org\", handle: \"bench\", password: \"bench-password\" }) { accessToken } }";
    let response: Value = client
        .post(url)
        .json(&json!({ "query": register }))
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    let token = response["data"]["register"]["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    for _ in 0..200 {
        if !send(client, url, &token).await["data"]["me"]["displayName"].is_null() {
            return token;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the profile was never created");
}

async fn send(client: &reqwest::Client, url: &str, token: &str) -> Value {
    let response = client
        .post(url)
        .bearer_auth(token)
        .json(&json!({ "query": QUERY }))
        .send()
        .await
        .expect("request");
    let body: Value = response.json().await.expect("json");
    assert!(body["errors"].is_null(), "{body}");
    body
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
