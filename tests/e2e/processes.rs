//! The platform as compose.yaml runs it: one process per binary, each with the environment
//! compose.yaml gives its service, on Postgres and JetStream; the end-to-end scenario goes
//! through its router.
//!
//! The binaries are built by `cargo build --workspace --bins --tests` (the same units as
//! `cargo test --workspace`, so only the binaries themselves are new work). compose.yaml
//! is read as compose reads it (`<<` merges, `${VAR:-default}`); what a container gets
//! from its network is mapped to this machine: `http://<service>:<port>` and
//! `localhost:<port>` become `127.0.0.1:<free port>`, each subgraph listens on its port
//! through `AGORA_<NAME>_ADDR`, and the databases, the NATS URL, the event namespace and
//! the media directory are the test's own.

use std::collections::{BTreeMap, HashMap};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_yaml::Value as Yaml;
use tokio::process::{Child, Command};

use crate::helpers;
use crate::social_network;

/// The services compose.yaml runs from our binaries, with the port each listens on there.
const SERVICES: [(&str, u16); 7] = [
    ("identity", 4001),
    ("profiles", 4002),
    ("content", 4003),
    ("social", 4004),
    ("media", 4005),
    ("messaging", 4006),
    ("router", 4000),
];

#[tokio::test]
async fn the_platform_as_one_process_per_binary_passes_the_end_to_end_scenario() {
    let Some(app) = helpers::spawn_processes().await else {
        eprintln!("skipped: separate processes share events only through JetStream");
        return;
    };
    social_network::a_post_reaches_the_feed_gathers_likes_and_comments_and_leaves(&app).await;
}

/// The running services; each process is killed when this is dropped.
pub struct Processes {
    children: Vec<Child>,
    router_url: String,
}

impl Processes {
    /// Starts every service of compose.yaml from its binary, the migrations first, and
    /// waits until each is ready. `env` holds the test's databases, NATS URL, namespace and
    /// data directory, which replace compose's.
    pub async fn start(env: &HashMap<String, String>) -> Self {
        let binaries = build_binaries();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let compose = read_compose(&root.join("compose.yaml"));
        let ports: HashMap<&str, u16> = SERVICES.iter().map(|(s, _)| (*s, free_port())).collect();
        let local = |value: &str| {
            SERVICES
                .iter()
                .fold(value.to_owned(), |value, (service, port)| {
                    let to = format!("127.0.0.1:{}", ports[service]);
                    value
                        .replace(&format!("{service}:{port}"), &to)
                        .replace(&format!("localhost:{port}"), &to)
                })
        };
        let logs = PathBuf::from(&env["AGORA_DATA_DIR"]);
        let environment = |service: &str| -> HashMap<String, String> {
            let mut vars: HashMap<String, String> = compose[service]
                .iter()
                .map(|(key, value)| (key.clone(), env.get(key).cloned().unwrap_or(local(value))))
                .collect();
            vars.insert(
                "AGORA_EVENTS_NAMESPACE".into(),
                env["AGORA_EVENTS_NAMESPACE"].clone(),
            );
            vars.insert("AGORA_DATA_DIR".into(), env["AGORA_DATA_DIR"].clone());
            vars.insert("AGORA_LOG_FORMAT".into(), "json".into());
            if service == "media" {
                let media = logs.join("media");
                vars.insert("AGORA_MEDIA_STORE".into(), media.display().to_string());
            }
            if let Some(port) = ports.get(service) {
                vars.insert(
                    format!("AGORA_{}_ADDR", service.to_uppercase()),
                    format!("127.0.0.1:{port}"),
                );
            }
            vars
        };

        let migrated = Command::new(&binaries["agora"])
            .arg("migrate")
            .env_clear()
            .envs(environment("migrate"))
            .output()
            .await
            .expect("agora migrate runs");
        assert!(
            migrated.status.success(),
            "agora migrate failed: {}",
            String::from_utf8_lossy(&migrated.stderr)
        );

        let mut children = Vec::new();
        for (service, _) in &SERVICES[..6] {
            let child = spawn(
                Command::new(&binaries[&format!("agora-{service}")])
                    .env_clear()
                    .envs(environment(service)),
                &logs.join(format!("{service}.log")),
            );
            children.push(child);
        }
        for (service, _) in &SERVICES[..6] {
            wait_ready(&format!("http://127.0.0.1:{}/ready", ports[service])).await;
        }

        let config = std::fs::read_to_string(root.join("deploy/router.yaml")).expect("router.yaml");
        let config_path = logs.join("router.yaml");
        std::fs::write(&config_path, local(&config)).expect("router config written");
        let router = ports["router"];
        children.push(spawn(
            Command::new(&binaries["agora-router"])
                .arg("--supergraph")
                .arg(root.join("supergraph.graphql"))
                .args(["--listen", &format!("127.0.0.1:{router}")])
                .arg("--config")
                .arg(&config_path)
                .env_clear()
                .envs(environment("router")),
            &logs.join("router.log"),
        ));
        wait_ready(&format!("http://127.0.0.1:{router}/ready")).await;
        Self {
            children,
            router_url: format!("http://127.0.0.1:{router}/graphql"),
        }
    }

    /// The router's GraphQL URL.
    pub fn graphql_url(&self) -> &str {
        &self.router_url
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.start_kill();
        }
    }
}

/// Builds the workspace's binaries and returns each one's path by name.
fn build_binaries() -> HashMap<String, PathBuf> {
    let output = std::process::Command::new(env!("CARGO"))
        .args([
            "build",
            "--workspace",
            "--bins",
            "--tests",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "building the binaries failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| {
            message["target"]["kind"] == serde_json::json!(["bin"])
                && message["profile"]["test"] == false
        })
        .filter_map(|message| {
            let name = message["target"]["name"].as_str()?.to_owned();
            Some((name, PathBuf::from(message["executable"].as_str()?)))
        })
        .collect()
}

/// Each service's `environment` from compose.yaml, merges applied and `${VAR:-default}`
/// replaced by its default (`${VAR}` and `${VAR:?}` by nothing: the test supplies those).
fn read_compose(path: &Path) -> HashMap<String, BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).expect("compose.yaml");
    let mut compose: Yaml = serde_yaml::from_str(&text).expect("compose.yaml parses");
    compose.apply_merge().expect("compose.yaml merges");
    let services = compose["services"].as_mapping().expect("services");
    services
        .iter()
        .map(|(name, service)| {
            let vars = service["environment"]
                .as_mapping()
                .into_iter()
                .flatten()
                .map(|(key, value)| {
                    let key = key.as_str().expect("variable name").to_owned();
                    (key, defaults(value.as_str().unwrap_or_default()))
                })
                .collect();
            (name.as_str().expect("service name").to_owned(), vars)
        })
        .collect()
}

/// `value` with every `${VAR:-default}` replaced by `default` and any other `${...}` by
/// nothing.
fn defaults(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map_or(rest.len(), |end| start + end);
        let inner = &rest[start + 2..end];
        if let Some((_, default)) = inner.split_once(":-") {
            out.push_str(default);
        }
        rest = &rest[(end + 1).min(rest.len())..];
    }
    out.push_str(rest);
    out
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("address").port()
}

fn spawn(command: &mut Command, log: &Path) -> Child {
    let file = std::fs::File::create(log).expect("log file");
    command
        .stdout(file.try_clone().expect("log file"))
        .stderr(file)
        .kill_on_drop(true)
        .spawn()
        .expect("service starts")
}

/// Polls `url` until it answers 200; a service that is not ready in a minute fails the test.
async fn wait_ready(url: &str) {
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if let Ok(response) = client.get(url).send().await
            && response.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} was never ready");
}
