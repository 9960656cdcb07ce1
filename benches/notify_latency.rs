//! How fast a like becomes a live notification, and what holding many subscriptions costs.
//!
//! Starts the platform in this process as `agora dev` does, then:
//! 1. **Latency.** An author writes 1 001 posts; a liker likes 1 000 of them one at a time
//!    while the author listens to `notificationAdded` through the router over WebSocket
//!    (graphql-transport-ws). Each latency runs from the `likePost` HTTP response returning
//!    to the notification frame for that post arriving, read by a task of its own so that a
//!    frame that beats the response is seen as such: those count as 0 and are reported.
//!    Prints p50/p99/max over the 1 000 likes.
//! 2. **Capacity.** 100 users each open 10 WebSockets with 10 `notificationAdded`
//!    subscriptions on each: 10 000 subscriptions on 1 000 client sockets (10 000 sockets
//!    would need 20 000 descriptors in this process, client and server side, which is the
//!    limit here), and, since the router shares one upstream socket per (subgraph, token),
//!    100 upstream sockets to messaging. Prints the growth of this process's resident memory
//!    (router and subgraphs share it, so it is the difference from before the sockets
//!    opened) and, while all are open, p50/p99/max of 100 sequential likes, one of each
//!    user's post, each fanned out to that user's 100 subscriptions.
//!
//! Run with `cargo bench --bench notify_latency`: SQLite in a temporary directory and the
//! in-process bus. The settings are read from the process environment, so the real mode is
//! the same command with Postgres and NATS (JetStream) named:
//! ```sh
//! for db in identity profiles content social messaging; do
//!     createdb -h 127.0.0.1 -U postgres agora_bench_$db
//! done
//! AGORA_NATS_URL=nats://127.0.0.1:4222 \
//! AGORA_IDENTITY_DATABASE_URL=postgres://postgres@127.0.0.1:5432/agora_bench_identity \
//! AGORA_PROFILES_DATABASE_URL=postgres://postgres@127.0.0.1:5432/agora_bench_profiles \
//! AGORA_CONTENT_DATABASE_URL=postgres://postgres@127.0.0.1:5432/agora_bench_content \
//! AGORA_SOCIAL_DATABASE_URL=postgres://postgres@127.0.0.1:5432/agora_bench_social \
//! AGORA_MESSAGING_DATABASE_URL=postgres://postgres@127.0.0.1:5432/agora_bench_messaging \
//!     cargo bench --bench notify_latency
//! ```
//! Handles carry a per-run suffix, so the databases can be reused from run to run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agora::client::{ClientError, GraphqlClient};
use agora::load::ms;
use agora::platform::{Platform, PlatformConfig};
use agora_kit::testing::Socket;
use agora_messaging::live::notification_topic;
use futures::{StreamExt, stream};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Likes measured one after the other.
const LIKES: usize = 1_000;
/// Users holding subscriptions in the capacity part.
const USERS: usize = 100;
/// WebSockets each of them opens.
const SOCKETS_PER_USER: usize = 10;
/// Subscriptions multiplexed on each WebSocket.
const SUBSCRIPTIONS_PER_SOCKET: usize = 10;
/// Requests or sockets in flight while setting up (not measured).
const SETUP_CONCURRENCY: usize = 16;
/// The longest wait for anything the bench expects; past it the bench fails.
const PATIENCE: Duration = Duration::from_secs(60);

const NOTIFICATION_ADDED: &str =
    "subscription { notificationAdded { kind actor { handle } post { id } } }";
const REGISTER: &str =
    "mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }";
const CREATE_POST: &str =
    "mutation($body: String!) { createPost(input: { body: $body }) { post { id } } }";
const LIKE_POST: &str = "mutation($id: ID!) { likePost(input: { postId: $id }) { post { id } } }";

/// A signed-in user.
struct User {
    token: String,
    id: Uuid,
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (platform, mode) = start(dir.path().display().to_string()).await;
    let client = GraphqlClient::new(platform.graphql_url());
    let run = &Uuid::now_v7().simple().to_string()[24..];
    println!("{mode} mode, load {}", load_average());

    let author = register(&client, &format!("author_{run}")).await;
    let liker = register(&client, &format!("liker_{run}")).await;
    let posts = create_posts(&client, &author, LIKES + 1).await;
    let mut arrivals = Arrivals::subscribe(&platform, &author, "n").await;
    // Social learns of posts from content's events; once the last one is likeable all are.
    let (last, posts) = posts.split_last().expect("posts");
    like(&client, &liker, last).await;
    arrivals.of(last).await;
    measure_likes(&client, &liker, posts, &mut arrivals).await;
    drop(arrivals);

    measure_capacity(&platform, &client, &liker, run).await;
    println!("load {}", load_average());
    platform.stop().await;
}

/// Starts the platform on the settings of the process environment; without them, on
/// SQLite files in `data_dir` and the in-process bus. Returns it and the mode's name.
async fn start(data_dir: String) -> (Platform, &'static str) {
    let mode = if std::env::var_os("AGORA_NATS_URL").is_some() {
        "real (NATS; Postgres where AGORA_<NAME>_DATABASE_URL says)"
    } else {
        "embedded (SQLite, in-process bus)"
    };
    let platform = Platform::start(PlatformConfig {
        lookup: Arc::new(move |key| {
            std::env::var(key).ok().or_else(|| match key {
                "AGORA_DATA_DIR" => Some(data_dir.clone()),
                // 10 000 subscriptions from one address in seconds
                "AGORA_RATE_LIMIT" => Some("off".to_owned()),
                _ => None,
            })
        }),
        router_addr: "127.0.0.1:0".parse().expect("address"),
        ephemeral_ports: true,
        introspection: false,
    })
    .await
    .expect("platform starts");
    (platform, mode)
}

/// Part 1: `posts.len()` sequential likes, each timed from its response to its frame.
async fn measure_likes(
    client: &GraphqlClient,
    liker: &User,
    posts: &[String],
    arrivals: &mut Arrivals,
) {
    let mut latencies = Latencies::default();
    for post in posts {
        latencies.push(timed_like(client, liker, post, arrivals).await);
    }
    println!(
        "likePost response → notificationAdded frame, {}",
        latencies.summary()
    );
}

/// Part 2: opens `USERS × SOCKETS_PER_USER × SUBSCRIPTIONS_PER_SOCKET` subscriptions,
/// prints the memory they cost, then how soon a like of each user's post reaches them
/// (one like at a time: each fans out to that user's 100 subscriptions).
async fn measure_capacity(platform: &Platform, client: &GraphqlClient, liker: &User, run: &str) {
    let users: Vec<User> = stream::iter(0..USERS)
        .map(|i| async move { register(client, &format!("sub{i}_{run}")).await })
        .buffered(SETUP_CONCURRENCY)
        .collect()
        .await;
    // Created before the sockets open, so that social has heard of them by the likes.
    let mut posts = Vec::with_capacity(USERS);
    for user in &users {
        posts.push(create_posts(client, user, 1).await.remove(0));
    }

    let before = resident_bytes();
    let opened = Instant::now();
    let sockets = open_subscriptions(&platform.graphql_url(), &users).await;
    let total = USERS * SOCKETS_PER_USER * SUBSCRIPTIONS_PER_SOCKET;
    wait_for_listeners(
        platform,
        &users,
        SOCKETS_PER_USER * SUBSCRIPTIONS_PER_SOCKET,
    )
    .await;
    let took = opened.elapsed();
    let after = resident_bytes();
    println!(
        "{total} subscriptions ({USERS} users × {SOCKETS_PER_USER} WebSockets × {SUBSCRIPTIONS_PER_SOCKET} subscriptions) open in {:.1} s; resident memory {} → {} MiB, growth {} MiB ({:.1} KiB per subscription)",
        took.as_secs_f64(),
        before >> 20,
        after >> 20,
        after.saturating_sub(before) >> 20,
        after.saturating_sub(before) as f64 / 1024.0 / total as f64,
    );

    // Each user's first socket is read (all its subscriptions, so none backs up); the
    // others are held open unread, and get at most one frame per subscription.
    let (read, held): (Vec<_>, Vec<_>) = sockets
        .into_iter()
        .enumerate()
        .partition(|(i, _)| i % SOCKETS_PER_USER == 0);
    let mut arrivals: Vec<Arrivals> = read
        .into_iter()
        .map(|(_, socket)| Arrivals::spawn(socket, "s0"))
        .collect();
    let mut latencies = Latencies::default();
    for (post, arrivals) in posts.iter().zip(&mut arrivals) {
        latencies.push(timed_like(client, liker, post, arrivals).await);
    }
    println!(
        "with {total} subscriptions open, likePost response → notificationAdded frame, {}",
        latencies.summary()
    );
    drop(arrivals);
    drop(held);
}

/// Likes `post` and waits for its notification; the time from the response to the
/// frame, `None` when the frame came first.
async fn timed_like(
    client: &GraphqlClient,
    liker: &User,
    post: &str,
    arrivals: &mut Arrivals,
) -> Option<Duration> {
    let returned = like(client, liker, post).await;
    let arrived = arrivals.of(post).await;
    arrived.checked_duration_since(returned)
}

/// Latencies of likes reaching their subscriber.
#[derive(Default)]
struct Latencies {
    /// Each like's latency; 0 for those whose frame beat the response.
    all: Vec<Duration>,
    /// How many frames beat the response.
    early: usize,
}

impl Latencies {
    fn push(&mut self, latency: Option<Duration>) {
        self.early += usize::from(latency.is_none());
        self.all.push(latency.unwrap_or_default());
    }

    /// One line: count, p50, p99, max, early frames.
    fn summary(mut self) -> String {
        self.all.sort();
        format!(
            "{} sequential likes: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {} frames arrived before the response (counted as 0)",
            self.all.len(),
            ms(percentile(&self.all, 50.0)),
            ms(percentile(&self.all, 99.0)),
            ms(self.all.last().copied().unwrap_or_default()),
            self.early,
        )
    }
}

/// Each user's `SOCKETS_PER_USER` WebSockets, each with `SUBSCRIPTIONS_PER_SOCKET`
/// subscriptions `s0`, `s1`, …, in the order of `users`.
async fn open_subscriptions(url: &str, users: &[User]) -> Vec<Socket> {
    let sockets = users
        .iter()
        .flat_map(|user| std::iter::repeat_n(user, SOCKETS_PER_USER));
    stream::iter(sockets)
        .map(|user| async move {
            let mut socket = Socket::connect(url, Some(&user.token))
                .await
                .expect("the router accepts the subscriber");
            for i in 0..SUBSCRIPTIONS_PER_SOCKET {
                socket
                    .subscribe(&format!("s{i}"), NOTIFICATION_ADDED, json!({}))
                    .await;
            }
            socket
        })
        .buffered(SETUP_CONCURRENCY)
        .collect()
        .await
}

/// Waits until messaging has `each` live listeners for every user's notifications: the
/// subscriptions reached it through the router.
async fn wait_for_listeners(platform: &Platform, users: &[User], each: usize) {
    let live = platform.bus.live();
    let topics: Vec<String> = users.iter().map(|u| notification_topic(u.id)).collect();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let listening: usize = topics.iter().map(|t| live.listeners(t).min(each)).sum();
        if listening == topics.len() * each {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "only {listening} of {} subscriptions reached messaging",
            topics.len() * each
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Notification frames of one subscription, stamped with their arrival by a task that
/// does nothing but read them.
struct Arrivals {
    frames: mpsc::UnboundedReceiver<(Instant, Value)>,
    reader: JoinHandle<()>,
}

impl Arrivals {
    /// `user` subscribes to `notificationAdded` as `id` through the router; returns once
    /// messaging listens.
    async fn subscribe(platform: &Platform, user: &User, id: &str) -> Self {
        let mut socket = Socket::connect(&platform.graphql_url(), Some(&user.token))
            .await
            .expect("the router accepts the author");
        socket.subscribe(id, NOTIFICATION_ADDED, json!({})).await;
        wait_for_listeners(platform, std::slice::from_ref(user), 1).await;
        Self::spawn(socket, id)
    }

    /// Reads subscription `id` of `socket` from now on.
    fn spawn(mut socket: Socket, id: &str) -> Self {
        let (sender, frames) = mpsc::unbounded_channel();
        let id = id.to_owned();
        let reader = tokio::spawn(async move {
            loop {
                let payload = socket.next(&id, Duration::from_secs(3_600)).await;
                if sender.send((Instant::now(), payload)).is_err() {
                    return;
                }
            }
        });
        Self { frames, reader }
    }

    /// When the notification about `post` arrived (frames about other posts are skipped).
    async fn of(&mut self, post: &str) -> Instant {
        let wait = tokio::time::timeout(PATIENCE, async {
            loop {
                let (arrived, payload) = self.frames.recv().await.expect("the reader runs");
                let notification = &payload["data"]["notificationAdded"];
                assert!(!notification.is_null(), "unexpected frame {payload}");
                if notification["post"]["id"] == post {
                    return arrived;
                }
            }
        });
        wait.await
            .unwrap_or_else(|_| panic!("no notification about {post}"))
    }
}

impl Drop for Arrivals {
    /// Stops reading before the socket closes, which the reader would take for a failure.
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Registers `handle` and waits for its profile, which an event creates.
async fn register(client: &GraphqlClient, handle: &str) -> User {
    let input = json!({ "email": format!("{handle}@example.org"), "handle": handle, "password": "bench-password" });
    let data = client
        .run(REGISTER, json!({ "input": input }), None)
        .await
        .expect("register");
    let user = User {
        token: data["register"]["accessToken"]
            .as_str()
            .expect("a token")
            .to_owned(),
        id: data["register"]["user"]["id"]
            .as_str()
            .and_then(|id| Uuid::parse_str(id).ok())
            .expect("a user id"),
    };
    let deadline = Instant::now() + PATIENCE;
    loop {
        let me = client
            .run("{ me { displayName } }", json!({}), Some(&user.token))
            .await
            .expect("me");
        if !me["me"]["displayName"].is_null() {
            return user;
        }
        assert!(Instant::now() < deadline, "{handle}'s profile never came");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `count` posts by `author`; their ids in order of creation.
async fn create_posts(client: &GraphqlClient, author: &User, count: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(count);
    for i in 0..count {
        let data = client
            .run(
                CREATE_POST,
                json!({ "body": format!("post {i}") }),
                Some(&author.token),
            )
            .await
            .expect("createPost");
        ids.push(
            data["createPost"]["post"]["id"]
                .as_str()
                .expect("a post id")
                .to_owned(),
        );
    }
    ids
}

/// Likes `post`, retrying while social has yet to hear of it; returns when the successful
/// response came back.
async fn like(client: &GraphqlClient, liker: &User, post: &str) -> Instant {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match client
            .run(LIKE_POST, json!({ "id": post }), Some(&liker.token))
            .await
        {
            Ok(_) => return Instant::now(),
            Err(ClientError::Graphql { code, .. }) if code == "NOT_FOUND" => {
                assert!(Instant::now() < deadline, "social never heard of {post}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("likePost: {e}"),
        }
    }
}

/// The latency below which `p` percent of the sorted `latencies` fall.
fn percentile(latencies: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * latencies.len() as f64).ceil() as usize;
    latencies[rank.clamp(1, latencies.len()) - 1]
}

/// This process's resident set size (`VmRSS` in `/proc/self/status`), in bytes.
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .expect("VmRSS");
    kib * 1024
}

/// The machine's 1/5/15-minute load averages, as `/proc/loadavg` has them.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
