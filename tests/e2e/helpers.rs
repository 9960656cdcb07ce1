//! Starts the whole platform for a test, the way `agora dev` does, and talks to it through
//! the router exactly as a frontend would.
//!
//! Each test gets its own data directory, databases and event namespace from the kit's
//! `TestEnv`: SQLite and the in-process bus by default, Postgres and JetStream when
//! `AGORA_TEST_POSTGRES_URL` and `AGORA_TEST_NATS_URL` are set.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use agora::platform::{Platform, PlatformConfig};
use agora::subgraphs;
use agora_kit::testing::TestEnv;

use crate::processes::Processes;
use sea_orm::Database;
use serde_json::{Value, json};

/// One test's platform: where it keeps its files and how to reach it.
pub struct TestApp {
    /// The running platform, in this process.
    pub platform: Option<Platform>,
    /// Or the platform as separate processes.
    pub processes: Option<Processes>,
    /// The settings the platform was started with (reused by `restart`).
    pub env: HashMap<String, String>,
    /// HTTP client for the router.
    pub client: reqwest::Client,
    /// The test's databases and namespace, removed when the test ends.
    _test_env: TestEnv,
}

/// Starts a fresh platform for one test.
pub async fn spawn() -> TestApp {
    let (env, test_env) = environment().await;
    let mut app = TestApp {
        platform: None,
        processes: None,
        env,
        client: reqwest::Client::new(),
        _test_env: test_env,
    };
    app.start().await;
    app
}

/// Starts a fresh platform for one test as separate processes, or `None` without
/// JetStream: only it carries events from one process to another.
pub async fn spawn_processes() -> Option<TestApp> {
    let (env, test_env) = environment().await;
    env.get("AGORA_NATS_URL")?;
    Some(TestApp {
        platform: None,
        processes: Some(Processes::start(&env).await),
        env,
        client: reqwest::Client::new(),
        _test_env: test_env,
    })
}

/// A test's own data directory, databases and event namespace, as `AGORA_*` settings.
async fn environment() -> (HashMap<String, String>, TestEnv) {
    let mut test_env = TestEnv::new();
    let mut env = HashMap::new();
    env.insert(
        "AGORA_DATA_DIR".to_owned(),
        test_env.dir.path().display().to_string(),
    );
    for subgraph in subgraphs::ALL {
        let key = format!("AGORA_{}_DATABASE_URL", subgraph.name.to_uppercase());
        env.insert(key, test_env.database_url(subgraph.name).await);
    }
    if let Some(nats) = test_env.nats_url() {
        env.insert("AGORA_NATS_URL".to_owned(), nats.to_owned());
    }
    env.insert("AGORA_EVENTS_NAMESPACE".to_owned(), test_env.namespace());
    (env, test_env)
}

impl TestApp {
    async fn start(&mut self) {
        let env = Arc::new(self.env.clone());
        let platform = Platform::start(PlatformConfig {
            lookup: Arc::new(move |key| env.get(key).cloned()),
            router_addr: "127.0.0.1:0".parse().expect("address"),
            ephemeral_ports: true,
            introspection: true,
        })
        .await
        .expect("platform starts");
        self.platform = Some(platform);
    }

    /// Stops every service and starts them again on the same databases.
    pub async fn restart(&mut self) {
        if let Some(platform) = self.platform.take() {
            platform.stop().await;
        }
        self.start().await;
    }

    /// The router's GraphQL URL.
    pub fn url(&self) -> String {
        if let Some(processes) = &self.processes {
            return processes.graphql_url().to_owned();
        }
        self.platform
            .as_ref()
            .expect("platform is running")
            .graphql_url()
    }

    /// Sends one operation through the router; returns the whole JSON response.
    pub async fn graphql(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        let mut request = self
            .client
            .post(self.url())
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("router answers");
        response.json().await.expect("router answers JSON")
    }

    /// Registers `handle` (email `<handle>@example.org`, password `password-<handle>`).
    pub async fn register(&self, handle: &str) -> Session {
        let response = self
            .graphql(
                REGISTER,
                json!({ "input": { "email": format!("{handle}@example.org"), "handle": handle, "password": password(handle) } }),
                None,
            )
            .await;
        Session::from_payload(&response["data"]["register"])
            .unwrap_or_else(|| panic!("register failed: {response}"))
    }

    /// Polls `me { displayName }` until the profile exists: it is created by an event.
    pub async fn wait_for_profile(&self, token: &str) -> Value {
        for _ in 0..200 {
            let response = self
                .graphql("{ me { handle displayName } }", json!({}), Some(token))
                .await;
            if !response["data"]["me"]["displayName"].is_null() {
                return response;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the profile was never created");
    }

    /// Runs an operation as `session` that must succeed; returns its data.
    pub async fn ok(&self, query: &str, variables: Value, session: &Session) -> Value {
        let response = self
            .graphql(query, variables, Some(&session.access_token))
            .await;
        assert!(response["errors"].is_null(), "{query}: {response}");
        response["data"].clone()
    }

    /// Repeats an operation as `session` until it succeeds and `done` holds for its data:
    /// the answer depends on an event that another subgraph has yet to consume.
    pub async fn eventually(
        &self,
        query: &str,
        variables: Value,
        session: &Session,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        for _ in 0..200 {
            let response = self
                .graphql(query, variables.clone(), Some(&session.access_token))
                .await;
            if response["errors"].is_null() && done(&response["data"]) {
                return response["data"].clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{query} never reached the expected state");
    }

    /// Waits (bounded) until `count` subscriptions of the platform listen on live `topic`,
    /// so that what the test does next reaches them.
    pub async fn wait_for_listeners(&self, topic: &str, count: usize) {
        let live = self
            .platform
            .as_ref()
            .expect("platform is running")
            .bus
            .live();
        for _ in 0..500 {
            if live.listeners(topic) >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{count} listeners of {topic} never came");
    }

    /// Subscribes over GraphQL-over-SSE (`POST` with `Accept: text/event-stream`).
    pub async fn subscribe_sse(&self, query: &str, variables: Value, token: &str) -> Sse {
        let response = self
            .client
            .post(self.url())
            .header("accept", "text/event-stream")
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("router answers");
        assert!(response.status().is_success(), "{}", response.status());
        Sse {
            response,
            buffer: String::new(),
        }
    }

    /// Opens a subgraph's database.
    pub async fn database(&self, subgraph: &str) -> sea_orm::DatabaseConnection {
        let key = format!("AGORA_{}_DATABASE_URL", subgraph.to_uppercase());
        Database::connect(&self.env[&key]).await.expect("database")
    }
}

/// The password `register` gives a handle.
pub fn password(handle: &str) -> String {
    format!("password-{handle}")
}

/// The tokens of a signed-in user.
#[derive(Clone, Debug)]
pub struct Session {
    /// The JWT.
    pub access_token: String,
    /// The refresh token.
    pub refresh_token: String,
    /// The user id.
    pub user_id: String,
}

impl Session {
    /// Reads an `AuthPayload` selected as in [`AUTH_FIELDS`].
    pub fn from_payload(payload: &Value) -> Option<Self> {
        Some(Self {
            access_token: payload["accessToken"].as_str()?.to_owned(),
            refresh_token: payload["refreshToken"].as_str()?.to_owned(),
            user_id: payload["user"]["id"].as_str()?.to_owned(),
        })
    }
}

/// Registers a user.
pub const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken user { id handle } } }";
/// Logs in.
pub const LOGIN: &str = "mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken user { id handle } } }";
/// Rotates a refresh token.
pub const REFRESH: &str = "mutation($input: RefreshSessionInput!) { refreshSession(input: $input) { accessToken refreshToken user { id handle } } }";

/// The `extensions.code` of the first error of a response.
pub fn error_code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

/// A subscription over server-sent events: `event: next` frames whose data is a response.
pub struct Sse {
    response: reqwest::Response,
    /// Received text not yet split into frames.
    buffer: String,
}

impl Sse {
    /// The data of the next `next` frame, within `wait`; panics otherwise.
    pub async fn next(&mut self, wait: Duration) -> Value {
        tokio::time::timeout(wait, self.next_frame())
            .await
            .unwrap_or_else(|_| panic!("no event within {wait:?}"))
    }

    async fn next_frame(&mut self) -> Value {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let mut lines = frame.lines();
                if lines.next() != Some("event: next") {
                    continue;
                }
                let data: String = lines.filter_map(|l| l.strip_prefix("data: ")).collect();
                return serde_json::from_str(&data).expect("a JSON response");
            }
            let chunk = self
                .response
                .chunk()
                .await
                .expect("the stream")
                .expect("the stream goes on");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}
