//! How fast the router is, end to end, over real HTTP:
//!
//! - (a) a one-subgraph query through the router and straight to the subgraph, with one
//!   client and with 50, so the latency the router adds is visible;
//! - (b) a deep query (users → posts → comments → author, each hop an `_entities` fetch to
//!   another subgraph, response > 50 KiB) at 50 clients for 10 s after a 2 s warm-up;
//! - the router's peak RSS, and where the deep query's time goes (the router's own
//!   `/metrics`: time in each subgraph against the whole request);
//! - (b') with `AGORA_BENCH_PEER` set, the deep query again through another router over
//!   the same subgraphs (see [`Peer`]), e.g.
//!   `AGORA_BENCH_PEER=/path/to/hive_router cargo bench -p agora-router --bench router_bench`.
//!
//! The router runs as its own process (the `agora-router` binary), so its peak RSS
//! (`VmHWM`) is its alone; the subgraphs and the load generator share this process.
//! Run with `cargo bench -p agora-router --bench router_bench`.

#[path = "router_bench/subgraphs.rs"]
mod subgraphs;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use agora_router::{SubgraphSdl, compose};
use anyhow::{Context, bail};
use async_graphql::SDLExportOptions;
use async_graphql_axum::GraphQL;
use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

/// Clients sending requests at once in the concurrent runs.
const CLIENTS: usize = 50;
/// Requests before measuring starts (connections opened, caches filled).
const WARM_UP: Duration = Duration::from_secs(2);
/// How long each part of (a) is measured.
const SHORT_RUN: Duration = Duration::from_secs(5);
/// How long (b) is measured.
const LONG_RUN: Duration = Duration::from_secs(10);

const SHALLOW_QUERY: &str = "{ users(first: 10) { id name handle } }";
const DEEP_QUERY: &str = "{ users(first: 20) { id name posts { id title \
    comments { id text author { id name handle } } } } }";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    subgraphs::generate_data();
    let accounts = serve(subgraphs::accounts()).await?;
    let posts = serve(subgraphs::posts()).await?;
    let comments = serve(subgraphs::comments()).await?;
    let federation = || SDLExportOptions::new().federation();
    let supergraph = compose(&[
        SubgraphSdl {
            name: "accounts".to_owned(),
            url: accounts.clone(),
            sdl: subgraphs::accounts().sdl_with_options(federation()),
        },
        SubgraphSdl {
            name: "posts".to_owned(),
            url: posts,
            sdl: subgraphs::posts().sdl_with_options(federation()),
        },
        SubgraphSdl {
            name: "comments".to_owned(),
            url: comments,
            sdl: subgraphs::comments().sdl_with_options(federation()),
        },
    ])
    .map_err(|errors| anyhow::anyhow!("composition failed: {}", errors.join("; ")))?;
    // Sharing identical queries would let the router answer fifty clients with fewer
    // subgraph requests than fifty direct clients send, so (a) measures without it.
    let unshared = Router::start(&supergraph, "dedupe_queries: false\n").await?;
    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(CLIENTS * 2)
        .build()?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "router_bench: {cores} cores shared by the router process, three subgraphs and \
         the load generator (this process)"
    );
    let peer = match std::env::var("AGORA_BENCH_PEER") {
        Ok(command) => Some(Peer::start(&command, &supergraph, &http).await?),
        Err(_) => None,
    };

    let shallow = body(SHALLOW_QUERY);
    let direct_size = check(&http, &accounts, &shallow).await?;
    let routed_size = check(&http, &unshared.url, &shallow).await?;
    println!("\n(a) one-subgraph query {SHALLOW_QUERY}, dedupe off");
    println!("    response {direct_size} B direct, {routed_size} B through the router");
    println!("    {:<36} {:>9} {:>9} {:>9}", "", "req/s", "p50", "p99");
    let mut added = Vec::new();
    for clients in [1, CLIENTS] {
        let direct = load(&http, &accounts, &shallow, clients, SHORT_RUN).await;
        direct.print(&format!("direct, {clients} client(s)"));
        let routed = measure(&http, &unshared, &shallow, clients, SHORT_RUN, "router").await?;
        added.push(("router", clients, latency_added(&direct, &routed)));
        if let Some(peer) = &peer {
            let routed = measure(&http, peer, &shallow, clients, SHORT_RUN, "peer").await?;
            added.push(("peer", clients, latency_added(&direct, &routed)));
        }
    }
    for (name, clients, (p50, p99)) in added {
        println!("    {name} adds at {clients} client(s): p50 {p50:+.3} ms, p99 {p99:+.3} ms");
    }

    let deep = body(DEEP_QUERY);
    let router = Router::start(&supergraph, "").await?;
    let deep_size = check(&http, &router.url, &deep).await?;
    println!("\n(b) deep query {DEEP_QUERY}");
    println!(
        "    response {deep_size} B ({:.1} KiB): accounts → posts → comments → accounts",
        deep_size as f64 / 1024.0
    );
    println!("    {:<36} {:>9} {:>9} {:>9}", "", "req/s", "p50", "p99");
    deep_run(&http, &router, &deep, "router").await?;
    deep_run(&http, &unshared, &deep, "router, dedupe off").await?;
    if let Some(peer) = &peer {
        measure(&http, peer, &deep, CLIENTS, LONG_RUN, "peer").await?;
        print_memory("peer", peer.pid()?)?;
    }
    println!(
        "targets: deep ≥ 2000 req/s with p99 < 50 ms; router adds ≤ 1 ms at p99; \
         peak RSS < 100 MB"
    );
    Ok(())
}

/// Runs the deep query through `router` and prints what it measured: figures, CPU per
/// request, where the time went, and the router's memory.
async fn deep_run(
    http: &reqwest::Client,
    router: &Router,
    deep: &Bytes,
    label: &str,
) -> anyhow::Result<()> {
    let before = router.metrics(http).await?;
    measure(http, router, deep, CLIENTS, LONG_RUN, label).await?;
    let after = router.metrics(http).await?;
    print_breakdown(&before, &after);
    print_memory("router", router.pid()?)
}

/// Loads a router (ours or the peer) and prints the figures and its CPU per request.
async fn measure(
    http: &reqwest::Client,
    router: &impl Served,
    body: &Bytes,
    clients: usize,
    window: Duration,
    label: &str,
) -> anyhow::Result<Figures> {
    let cpu = Cpu::read(router.pid()?)?;
    let figures = load(http, router.url(), body, clients, window).await;
    figures.print(&format!(
        "{label}, {clients} client(s), {}s",
        window.as_secs()
    ));
    cpu.print_per_request(figures.completed)?;
    Ok(figures)
}

/// How much later than `direct` the `routed` requests finished: (p50, p99) in ms.
fn latency_added(direct: &Figures, routed: &Figures) -> (f64, f64) {
    let added = |quantile| {
        (routed.percentile(quantile).as_secs_f64() - direct.percentile(quantile).as_secs_f64())
            * 1e3
    };
    (added(0.50), added(0.99))
}

/// A router process under measurement.
trait Served {
    fn url(&self) -> &str;
    fn pid(&self) -> anyhow::Result<u32>;
}

/// Serves a subgraph on port 0 and returns its URL.
async fn serve<E: async_graphql::Executor>(schema: E) -> anyhow::Result<String> {
    let app = axum::Router::new().route_service("/graphql", GraphQL::new(schema));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/graphql", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

fn body(query: &str) -> Bytes {
    Bytes::from(serde_json::to_vec(&serde_json::json!({ "query": query })).unwrap_or_default())
}

/// Sends a request once, fails on errors, and returns the response size.
async fn check(http: &reqwest::Client, url: &str, body: &Bytes) -> anyhow::Result<usize> {
    let response = post(http, url, body).await?;
    let json: serde_json::Value = serde_json::from_slice(&response)?;
    if json.get("errors").is_some() || json["data"].is_null() {
        bail!("{url} answered with errors: {json}");
    }
    Ok(response.len())
}

async fn post(http: &reqwest::Client, url: &str, body: &Bytes) -> anyhow::Result<Bytes> {
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("{url} answered HTTP {}", response.status());
    }
    Ok(response.bytes().await?)
}

/// What one run measured: every latency inside the measuring window.
struct Figures {
    latencies: Vec<Duration>,
    failures: usize,
    window: Duration,
    /// Requests answered during warm-up and window together.
    completed: usize,
}

impl Figures {
    fn percentile(&self, quantile: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = (quantile * (self.latencies.len() - 1) as f64).round() as usize;
        self.latencies[rank]
    }

    fn print(&self, label: &str) {
        println!(
            "    {label:<36} {:>9.0} {:>6.2} ms {:>6.2} ms{}",
            self.latencies.len() as f64 / self.window.as_secs_f64(),
            self.percentile(0.50).as_secs_f64() * 1e3,
            self.percentile(0.99).as_secs_f64() * 1e3,
            if self.failures > 0 {
                format!("  ({} failed)", self.failures)
            } else {
                String::new()
            }
        );
    }
}

/// `clients` tasks send `body` to `url` back to back for `WARM_UP + window`; requests
/// that start after the warm-up and finish inside the window are measured.
async fn load(
    http: &reqwest::Client,
    url: &str,
    body: &Bytes,
    clients: usize,
    window: Duration,
) -> Figures {
    let start = Instant::now() + WARM_UP;
    let end = start + window;
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (http, url, body) = (http.clone(), url.to_owned(), body.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failures = 0;
                let mut completed = 0;
                loop {
                    let sent = Instant::now();
                    if sent >= end {
                        break;
                    }
                    let ok = post(&http, &url, &body).await.is_ok();
                    let done = Instant::now();
                    completed += 1;
                    if sent >= start && done <= end {
                        if ok {
                            latencies.push(done - sent);
                        } else {
                            failures += 1;
                        }
                    }
                }
                (latencies, failures, completed)
            })
        })
        .collect();
    let mut figures = Figures {
        latencies: Vec::new(),
        failures: 0,
        window,
        completed: 0,
    };
    for task in tasks {
        if let Ok((latencies, failures, completed)) = task.await {
            figures.latencies.extend(latencies);
            figures.failures += failures;
            figures.completed += completed;
        }
    }
    figures.latencies.sort_unstable();
    figures
}

/// CPU time used so far by a router process and by this one (subgraphs and load
/// generator), to say what one request costs each side.
struct Cpu {
    pid: u32,
    router: Duration,
    bench: Duration,
}

impl Cpu {
    fn read(pid: u32) -> anyhow::Result<Self> {
        Ok(Self {
            pid,
            router: cpu_time(&pid.to_string())?,
            bench: cpu_time("self")?,
        })
    }

    fn print_per_request(&self, requests: usize) -> anyhow::Result<()> {
        let now = Cpu::read(self.pid)?;
        let per_request = |used: Duration| used.as_secs_f64() * 1e3 / requests.max(1) as f64;
        println!(
            "    {:<36} CPU per request: router {:.3} ms, subgraphs + load generator {:.3} ms",
            "",
            per_request(now.router - self.router),
            per_request(now.bench - self.bench),
        );
        Ok(())
    }
}

/// User plus system time of a process (`self` or a pid), from `/proc/<pid>/stat`, whose
/// times are in USER_HZ ticks (100 per second on Linux).
fn cpu_time(pid: &str) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name start at field 3; utime is field 14.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |field: usize| -> u64 {
        fields
            .get(field - 3)
            .and_then(|value| value.parse().ok())
            .unwrap_or(0)
    };
    Ok(Duration::from_millis((ticks(14) + ticks(15)) * 10))
}

/// The `agora-router` binary, serving the bench's supergraph on a free port.
struct Router {
    child: Child,
    url: String,
    base: String,
    _supergraph: TempFile,
    _config: TempFile,
}

impl Router {
    /// Starts the router with `config` (YAML) added to the bench's own settings.
    async fn start(supergraph: &str, config: &str) -> anyhow::Result<Self> {
        let file = TempFile::new("supergraph.graphql", supergraph)?;
        // Fifty clients from one address are far over a client's rate limit.
        let config = TempFile::new(
            "router.yaml",
            &format!("rate_limit: {{ enabled: false }}\n{config}"),
        )?;
        let mut child = Command::new(env!("CARGO_BIN_EXE_agora-router"))
            .arg("--supergraph")
            .arg(&file.0)
            .arg("--config")
            .arg(&config.0)
            .args(["--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting agora-router")?;
        let stdout = child.stdout.take().context("the router's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let address = loop {
            let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
                .await
                .context("the router did not say where it listens")??
                .context("the router exited")?;
            if let Some(address) = line.split("address=").nth(1) {
                break address.trim().to_owned();
            }
        };
        // Keep draining the router's log so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let base = format!("http://{address}");
        Ok(Self {
            url: format!("{base}/graphql"),
            base,
            child,
            _supergraph: file,
            _config: config,
        })
    }

    /// The router's duration histograms as `series → (sum seconds, count)`.
    async fn metrics(
        &self,
        http: &reqwest::Client,
    ) -> anyhow::Result<BTreeMap<String, (f64, f64)>> {
        let text = http
            .get(format!("{}/metrics", self.base))
            .send()
            .await?
            .text()
            .await?;
        let mut series: BTreeMap<String, (f64, f64)> = BTreeMap::new();
        for line in text.lines() {
            let Some((name, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            if let Some(key) = name.strip_suffix("_sum") {
                series.entry(key.to_owned()).or_default().0 = value;
            } else if let Some(key) = name.strip_suffix("_count") {
                series.entry(key.to_owned()).or_default().1 = value;
            } else if let Some((key, labels)) = name.split_once('{') {
                // `name_sum{subgraph="x"}`: the label set follows the suffix.
                if let Some(key) = key.strip_suffix("_sum") {
                    series.entry(format!("{key}{{{labels}")).or_default().0 = value;
                } else if let Some(key) = key.strip_suffix("_count") {
                    series.entry(format!("{key}{{{labels}")).or_default().1 = value;
                }
            }
        }
        Ok(series)
    }
}

impl Served for Router {
    fn url(&self) -> &str {
        &self.url
    }

    fn pid(&self) -> anyhow::Result<u32> {
        self.child.id().context("the router has exited")
    }
}

/// Another router serving the same supergraph, for comparison: `AGORA_BENCH_PEER` is
/// a shell command that starts it, given the supergraph's path in `SUPERGRAPH_FILE_PATH`
/// and the port to listen on in `PORT` (Hive Router reads both; wrap others in a script).
struct Peer {
    child: Child,
    url: String,
    _supergraph: TempFile,
}

impl Peer {
    /// Starts the peer and waits until it answers the deep query without errors.
    async fn start(
        command: &str,
        supergraph: &str,
        http: &reqwest::Client,
    ) -> anyhow::Result<Self> {
        let query = &body(DEEP_QUERY);
        let file = TempFile::new("peer-supergraph.graphql", supergraph)?;
        let port = TcpListener::bind("127.0.0.1:0").await?.local_addr()?.port();
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!("exec {command}"))
            .env("SUPERGRAPH_FILE_PATH", &file.0)
            .env("PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting the peer router")?;
        let url = format!("http://127.0.0.1:{port}/graphql");
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Err(error) = check(http, &url, query).await {
            if Instant::now() > deadline {
                bail!("the peer router did not answer at {url}: {error}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(Self {
            child,
            url,
            _supergraph: file,
        })
    }
}

impl Served for Peer {
    fn url(&self) -> &str {
        &self.url
    }

    fn pid(&self) -> anyhow::Result<u32> {
        self.child.id().context("the peer router has exited")
    }
}

/// Prints the peak RSS (`VmHWM`) and the current RSS of process `pid`.
fn print_memory(name: &str, pid: u32) -> anyhow::Result<()> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let mebibytes = |field: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    println!(
        "    {name} process peak RSS (VmHWM) {:.1} MiB, RSS now {:.1} MiB",
        mebibytes("VmHWM:"),
        mebibytes("VmRSS:")
    );
    Ok(())
}

/// Time per request in each subgraph and in the router as a whole during (b), from
/// the router's own histograms.
fn print_breakdown(before: &BTreeMap<String, (f64, f64)>, after: &BTreeMap<String, (f64, f64)>) {
    let delta = |series: &str| {
        let (sum, count) = after.get(series).copied().unwrap_or_default();
        let (sum_before, count_before) = before.get(series).copied().unwrap_or_default();
        (sum - sum_before, count - count_before)
    };
    let (request_seconds, requests) = delta("agora_router_request_duration_seconds");
    if requests <= 0.0 {
        return;
    }
    println!("    where a request's time goes (the router's /metrics over the run):");
    let mut in_subgraphs = 0.0;
    let mut fetches = 0.0;
    for series in after.keys() {
        if let Some(labels) = series.strip_prefix("agora_router_subgraph_request_duration_seconds")
        {
            let (seconds, count) = delta(series);
            if count > 0.0 {
                in_subgraphs += seconds;
                fetches += count;
                println!(
                    "      subgraph {labels}: {:.2} ms per request ({count} fetches, {:.2} ms each)",
                    seconds / requests * 1e3,
                    seconds / count * 1e3
                );
            }
        }
    }
    println!(
        "      whole request inside the router: {:.2} ms, {:.2} subgraph requests sent per \
         client request (4 without sharing); without sharing, the fetches run one after \
         another, so {:.2} ms is the router's own work (or waiting for a core)",
        request_seconds / requests * 1e3,
        fetches / requests,
        (request_seconds - in_subgraphs) / requests * 1e3
    );
}

/// A file under the temporary directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> anyhow::Result<Self> {
        let path =
            std::env::temp_dir().join(format!("agora-router-bench-{}-{name}", std::process::id()));
        std::fs::write(&path, text)?;
        Ok(Self(path))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
