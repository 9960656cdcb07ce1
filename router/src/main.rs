//! `agora-router`: serves a supergraph file, and reloads it when it changes. Parses
//! arguments and hands over to the lib.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

use agora_router::{
    CircuitBreaker, Cors, JwtConfig, PersistedDocuments, PersistedManifest, RateLimit, Reloader,
    RouterConfig, SensitiveLimits,
};
use anyhow::Context;
use clap::Parser;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How often the supergraph file is checked for changes.
const RELOAD_POLL: Duration = Duration::from_secs(5);

/// Agora's federation router.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The composed supergraph SDL, or a schema registry directory (`agora schema
    /// publish`), whose latest version is served.
    #[arg(long, env = "AGORA_ROUTER_SUPERGRAPH")]
    supergraph: PathBuf,
    /// Address to listen on (overrides the config file).
    #[arg(long, env = "AGORA_ROUTER_LISTEN")]
    listen: Option<SocketAddr>,
    /// A YAML (or JSON) file with the settings of `FileConfig`.
    #[arg(long, env = "AGORA_ROUTER_CONFIG")]
    config: Option<PathBuf>,
    /// Answer `__schema`/`__type` queries.
    #[arg(long, env = "AGORA_ROUTER_INTROSPECTION")]
    introspection: bool,
    /// Verify bearer tokens against this JWKS URL (needs `--jwt-issuer` and
    /// `--jwt-audience`).
    #[arg(long, env = "AGORA_JWKS_URL", requires_all = ["jwt_issuer", "jwt_audience"])]
    jwks_url: Option<String>,
    /// The `iss` every token must carry.
    #[arg(long, env = "AGORA_JWT_ISSUER")]
    jwt_issuer: Option<String>,
    /// The `aud` every token must carry.
    #[arg(long, env = "AGORA_JWT_AUDIENCE")]
    jwt_audience: Option<String>,
}

/// The `--config` file. Every setting is optional; what is absent keeps the router's
/// default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    /// Address to listen on.
    listen: Option<SocketAddr>,
    /// Answer `__schema`/`__type` queries.
    introspection: Option<bool>,
    /// Refuse requests a browser could send cross-site without a preflight.
    csrf_prevention: Option<bool>,
    /// Default subgraph request timeout, in milliseconds.
    subgraph_timeout_ms: Option<u64>,
    /// Per subgraph: URL override, subscription (WebSocket) URL and timeout.
    #[serde(default)]
    subgraphs: HashMap<String, SubgraphFileConfig>,
    /// JWT validation.
    auth: Option<AuthFileConfig>,
    /// Request limits.
    #[serde(default)]
    limits: LimitsFileConfig,
    /// Automatic persisted queries; on unless `false`.
    apq: Option<bool>,
    /// A persisted-document manifest (a path relative to this file), and whether only
    /// its operations may run.
    persisted_documents: Option<PersistedDocumentsFileConfig>,
    /// Requests allowed per client.
    rate_limit: Option<RateLimitFileConfig>,
    /// The header a proxy in front of the router puts the client's address in.
    client_ip_header: Option<String>,
    /// Stricter per-client limits on `login`, `register`, `requestPasswordReset` (or
    /// the fields listed), each occurrence in a document one attempt.
    sensitive_limits: Option<SensitiveLimitsFileConfig>,
    /// The origins whose pages may call the router from a browser; none by default.
    cors: Option<CorsFileConfig>,
    /// When to stop asking a failing subgraph.
    circuit_breaker: Option<CircuitBreakerFileConfig>,
    /// Share one subgraph request among identical queries in flight; on unless `false`.
    dedupe_queries: Option<bool>,
    /// Entities kept cached per subgraph (as long as its `Cache-Control` allows); 0
    /// turns entity caching off.
    entity_cache: Option<usize>,
    /// Flag labels of progressive `@override` that are on.
    #[serde(default)]
    override_flags: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CircuitBreakerFileConfig {
    /// `false` turns circuit breaking off.
    #[serde(default = "enabled")]
    enabled: bool,
    failure_threshold: Option<u32>,
    open_for_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PersistedDocumentsFileConfig {
    manifest: PathBuf,
    #[serde(default)]
    only_allowed: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitFileConfig {
    /// `false` turns rate limiting off.
    #[serde(default = "enabled")]
    enabled: bool,
    requests_per_second: Option<NonZeroU32>,
    burst: Option<NonZeroU32>,
}

fn enabled() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SensitiveLimitsFileConfig {
    /// `false` turns the stricter limits off.
    #[serde(default = "enabled")]
    enabled: bool,
    /// The `Mutation` fields limited; the default three when absent.
    fields: Option<Vec<String>>,
    per_minute: Option<NonZeroU32>,
    burst: Option<NonZeroU32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CorsFileConfig {
    /// `scheme://host[:port]`, the port possibly `*`.
    #[serde(default)]
    origins: Vec<String>,
    allow_credentials: Option<bool>,
    max_age_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubgraphFileConfig {
    url: Option<String>,
    ws_url: Option<String>,
    timeout_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthFileConfig {
    jwks_url: String,
    issuer: String,
    audience: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFileConfig {
    max_depth: Option<usize>,
    max_aliases: Option<usize>,
    max_root_fields: Option<usize>,
    max_tokens: Option<usize>,
    max_body_bytes: Option<usize>,
}

/// `path` itself, or for a schema registry directory the latest version's supergraph:
/// `<path>/<greatest version directory name>/supergraph.graphql` (versions are named
/// `v000001`, `v000002`, … so that name order is publication order).
fn latest_supergraph(path: &Path) -> anyhow::Result<PathBuf> {
    if !path.is_dir() {
        return Ok(path.to_owned());
    }
    let mut versions = Vec::new();
    for entry in std::fs::read_dir(path).with_context(|| format!("reading {}", path.display()))? {
        let supergraph = entry?.path().join("supergraph.graphql");
        if supergraph.is_file() {
            versions.push(supergraph);
        }
    }
    versions.sort();
    versions
        .pop()
        .with_context(|| format!("{} holds no published version", path.display()))
}

/// Defaults, then the file, then flags and environment.
fn router_config(args: Args) -> anyhow::Result<RouterConfig> {
    let supergraph = latest_supergraph(&args.supergraph)?;
    let supergraph_sdl = std::fs::read_to_string(&supergraph)
        .with_context(|| format!("reading {}", supergraph.display()))?;
    let file = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_yaml::from_str::<FileConfig>(&text)
                .with_context(|| format!("parsing {}", path.display()))?
        }
        None => FileConfig::default(),
    };
    let config_dir = args
        .config
        .as_deref()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."));
    let mut config = RouterConfig {
        supergraph_sdl,
        ..RouterConfig::default()
    };
    if let Some(listen) = args.listen.or(file.listen) {
        config.listen = listen;
    }
    config.introspection = args.introspection || file.introspection.unwrap_or(false);
    if let Some(csrf_prevention) = file.csrf_prevention {
        config.csrf_prevention = csrf_prevention;
    }
    if let Some(timeout) = file.subgraph_timeout_ms {
        config.subgraph_timeout = Duration::from_millis(timeout);
    }
    for (name, subgraph) in file.subgraphs {
        if let Some(url) = subgraph.url {
            config.subgraph_urls.insert(name.clone(), url);
        }
        if let Some(ws_url) = subgraph.ws_url {
            config.subgraph_ws_urls.insert(name.clone(), ws_url);
        }
        if let Some(timeout) = subgraph.timeout_ms {
            config
                .subgraph_timeouts
                .insert(name, Duration::from_millis(timeout));
        }
    }
    config.auth = match (args.jwks_url, args.jwt_issuer, args.jwt_audience) {
        (Some(url), Some(issuer), Some(audience)) => Some(JwtConfig::new(url, issuer, audience)),
        _ => file
            .auth
            .map(|auth| JwtConfig::new(auth.jwks_url, auth.issuer, auth.audience)),
    };
    let limits = &mut config.limits;
    let file_limits = file.limits;
    limits.max_depth = file_limits.max_depth.unwrap_or(limits.max_depth);
    limits.max_aliases = file_limits.max_aliases.unwrap_or(limits.max_aliases);
    limits.max_root_fields = file_limits
        .max_root_fields
        .unwrap_or(limits.max_root_fields);
    limits.max_tokens = file_limits.max_tokens.unwrap_or(limits.max_tokens);
    limits.max_body_bytes = file_limits.max_body_bytes.unwrap_or(limits.max_body_bytes);
    config.apq = file.apq.unwrap_or(config.apq);
    config.dedupe_queries = file.dedupe_queries.unwrap_or(config.dedupe_queries);
    if let Some(entries) = file.entity_cache {
        config.entity_cache = NonZeroUsize::new(entries);
    }
    if let Some(persisted) = file.persisted_documents {
        let path = config_dir.join(&persisted.manifest);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        config.persisted_documents = Some(PersistedDocuments {
            manifest: PersistedManifest::from_json(&text)
                .with_context(|| format!("parsing {}", path.display()))?,
            only_allowed: persisted.only_allowed,
        });
    }
    if let Some(rate_limit) = file.rate_limit {
        config.rate_limit = rate_limit.enabled.then(|| {
            let default = RateLimit::default();
            RateLimit {
                requests_per_second: rate_limit
                    .requests_per_second
                    .unwrap_or(default.requests_per_second),
                burst: rate_limit.burst.unwrap_or(default.burst),
            }
        });
    }
    config.client_ip_header = file.client_ip_header;
    if let Some(sensitive) = file.sensitive_limits {
        config.sensitive_limits = sensitive.enabled.then(|| {
            let default = SensitiveLimits::default();
            SensitiveLimits {
                fields: sensitive.fields.unwrap_or(default.fields),
                per_minute: sensitive.per_minute.unwrap_or(default.per_minute),
                burst: sensitive.burst.unwrap_or(default.burst),
            }
        });
    }
    if let Some(cors) = file.cors {
        let default = Cors::default();
        config.cors = Cors {
            origins: cors.origins,
            allow_credentials: cors.allow_credentials.unwrap_or(default.allow_credentials),
            max_age: cors
                .max_age_secs
                .map_or(default.max_age, Duration::from_secs),
        };
    }
    config.override_flags = file.override_flags.into_iter().collect();
    if let Some(breaker) = file.circuit_breaker {
        config.circuit_breaker = breaker.enabled.then(|| {
            let default = CircuitBreaker::default();
            CircuitBreaker {
                failure_threshold: breaker
                    .failure_threshold
                    .unwrap_or(default.failure_threshold),
                open_for: breaker
                    .open_for_ms
                    .map_or(default.open_for, Duration::from_millis),
            }
        });
    }
    Ok(config)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = agora_telemetry::init("agora-router");
    let args = Args::parse();
    let supergraph_path = args.supergraph.clone();
    let config = router_config(args)?;
    let loaded = config.supergraph_sdl.clone();
    let server = agora_router::Server::bind(config).await?;
    let shutdown = CancellationToken::new();
    tokio::spawn(watch_supergraph(
        supergraph_path,
        loaded,
        server.reloader(),
        shutdown.clone(),
    ));
    tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            shutdown_signal().await;
            shutdown.cancel();
        }
    });
    server.run(shutdown).await?;
    Ok(())
}

/// Checks the supergraph file (or the registry's latest version) every
/// `RELOAD_POLL` and reloads the router when its text changes. A supergraph that does
/// not load is logged once and the router keeps serving the previous one.
async fn watch_supergraph(
    path: PathBuf,
    mut loaded: String,
    reloader: Reloader,
    shutdown: CancellationToken,
) {
    let mut interval = tokio::time::interval(RELOAD_POLL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = interval.tick() => {}
        }
        let Some(sdl) = changed_supergraph(&path, &loaded) else {
            continue;
        };
        let reloader = reloader.clone();
        let attempt = sdl.clone();
        match tokio::task::spawn_blocking(move || reloader.reload(&attempt)).await {
            Ok(Ok(reloaded)) => tracing::info!(
                warmed = reloaded.warmed,
                dropped = reloaded.dropped,
                "supergraph reloaded"
            ),
            Ok(Err(error)) => {
                tracing::error!(%error, "the new supergraph was refused; serving the previous one")
            }
            Err(error) => tracing::error!(%error, "reloading the supergraph failed"),
        }
        loaded = sdl;
    }
}

/// The supergraph's text if it differs from `loaded`; `None` when unchanged or
/// unreadable (a file being replaced is read again at the next check).
fn changed_supergraph(path: &Path, loaded: &str) -> Option<String> {
    let current = latest_supergraph(path).ok()?;
    let sdl = std::fs::read_to_string(current).ok()?;
    (sdl != loaded && !sdl.trim().is_empty()).then_some(sdl)
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Writes `text` to a fresh file under the temporary directory.
    /// Tests run in parallel, so no two calls share a directory.
    fn file(name: &str, text: &str) -> PathBuf {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let unique = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!(
            "agora-router-config-{}-{unique}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The arguments `agora-router --supergraph <supergraph> --config <config> <more>`.
    fn configured(supergraph: &Path, config: &Path, more: &[&str]) -> Args {
        let mut args = vec![
            "agora-router",
            "--supergraph",
            supergraph.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ];
        args.extend_from_slice(more);
        Args::parse_from(args)
    }

    #[test]
    fn a_registry_directory_serves_its_latest_version() {
        let plain = file("supergraph.graphql", "type Query { a: Int }");
        let registry = plain.parent().unwrap();
        for version in ["v000002", "v000001"] {
            std::fs::create_dir_all(registry.join(version)).unwrap();
            std::fs::write(registry.join(version).join("supergraph.graphql"), version).unwrap();
        }

        let latest = registry.join("v000002").join("supergraph.graphql");
        assert_eq!(latest_supergraph(registry).unwrap(), latest);
        assert_eq!(latest_supergraph(&plain).unwrap(), plain);
        assert!(latest_supergraph(&registry.join("v000001")).is_err());
    }

    #[test]
    fn a_changed_supergraph_is_noticed_and_an_unchanged_or_empty_one_is_not() {
        let path = file("supergraph.graphql", "type Query { a: Int }");

        assert_eq!(changed_supergraph(&path, "type Query { a: Int }"), None);
        assert_eq!(
            changed_supergraph(&path, "type Query { b: Int }").as_deref(),
            Some("type Query { a: Int }")
        );
        std::fs::write(&path, "").unwrap();
        assert_eq!(changed_supergraph(&path, "type Query { a: Int }"), None);
        assert_eq!(changed_supergraph(&path.with_extension("gone"), ""), None);
    }

    #[test]
    fn a_config_file_sets_limits_timeouts_urls_and_auth_over_the_defaults() {
        let supergraph = file("supergraph.graphql", "type Query { a: Int }");
        let config = file(
            "router.yaml",
            r#"
listen: 0.0.0.0:4100
csrf_prevention: false
subgraph_timeout_ms: 2500
subgraphs:
  identity: { url: "http://identity:8080/graphql", timeout_ms: 500 }
  social: { ws_url: "ws://social:8080/ws" }
auth: { jwks_url: "http://identity:8080/.well-known/jwks.json", issuer: agora, audience: agora }
limits: { max_depth: 9, max_body_bytes: 2048 }
"#,
        );
        let args = configured(&supergraph, &config, &[]);

        let config = router_config(args).unwrap();

        assert_eq!(config.supergraph_sdl, "type Query { a: Int }");
        assert_eq!(config.listen, "0.0.0.0:4100".parse().unwrap());
        assert!(!config.csrf_prevention);
        assert!(!config.introspection);
        assert_eq!(config.subgraph_timeout, Duration::from_millis(2500));
        assert_eq!(
            config.subgraph_timeouts["identity"],
            Duration::from_millis(500)
        );
        assert_eq!(
            config.subgraph_urls["identity"],
            "http://identity:8080/graphql"
        );
        assert_eq!(config.subgraph_ws_urls["social"], "ws://social:8080/ws");
        let auth = config.auth.unwrap();
        assert_eq!(auth.issuer, "agora");
        assert_eq!(auth.jwks_url, "http://identity:8080/.well-known/jwks.json");
        assert_eq!(config.limits.max_depth, 9);
        assert_eq!(config.limits.max_body_bytes, 2048);
        assert_eq!(
            config.limits.max_aliases, 30,
            "unset limits keep their default"
        );
    }

    #[test]
    fn a_config_file_sets_persisted_documents_apq_rate_limits_the_circuit_breaker_dedupe_and_caching()
     {
        let supergraph = file("supergraph.graphql", "type Query { a: Int }");
        let manifest = file(
            "manifest.json",
            r#"{"format":"apollo-persisted-query-manifest","version":1,
                "operations":[{"id":"a1","name":"A","type":"query","body":"{ a }"}]}"#,
        );
        let config = file(
            "limited.yaml",
            &format!(
                "apq: false\npersisted_documents: {{ manifest: {}, only_allowed: true }}\n\
                 rate_limit: {{ requests_per_second: 5 }}\nclient_ip_header: x-real-ip\n\
                 circuit_breaker: {{ open_for_ms: 1500 }}\noverride_flags: [beta]\n",
                manifest.to_str().unwrap()
            ),
        );
        let args = configured(&supergraph, &config, &[]);

        let config = router_config(args).unwrap();

        assert!(!config.apq);
        let persisted = config.persisted_documents.unwrap();
        assert!(persisted.only_allowed);
        assert_eq!(persisted.manifest.len(), 1);
        let rate_limit = config.rate_limit.unwrap();
        assert_eq!(rate_limit.requests_per_second.get(), 5);
        assert_eq!(rate_limit.burst, RateLimit::default().burst);
        assert_eq!(config.client_ip_header.as_deref(), Some("x-real-ip"));
        assert!(config.override_flags.contains("beta"));
        let breaker = config.circuit_breaker.unwrap();
        assert_eq!(breaker.open_for, Duration::from_millis(1500));
        assert_eq!(
            breaker.failure_threshold,
            CircuitBreaker::default().failure_threshold
        );

        let off = file(
            "off.yaml",
            "rate_limit: { enabled: false }\ncircuit_breaker: { enabled: false }\n\
             dedupe_queries: false\nentity_cache: 0\n",
        );
        let args = configured(&supergraph, &off, &[]);
        let config = router_config(args).unwrap();
        assert_eq!(config.rate_limit, None);
        assert_eq!(config.circuit_breaker, None);
        assert!(!config.dedupe_queries);
        assert_eq!(config.entity_cache, None);
    }

    #[test]
    fn a_config_file_lists_cors_origins_and_sets_the_sensitive_limits() {
        let supergraph = file("supergraph.graphql", "type Query { a: Int }");
        let defaults = router_config(Args::parse_from([
            "agora-router",
            "--supergraph",
            supergraph.to_str().unwrap(),
        ]))
        .unwrap();
        assert!(defaults.cors.origins.is_empty(), "no origin by default");
        assert_eq!(
            defaults.sensitive_limits,
            Some(SensitiveLimits::default()),
            "on by default"
        );

        let config = file(
            "browser.yaml",
            "cors: { origins: [\"https://app.example.org\", \"http://localhost:*\"], \
             allow_credentials: true, max_age_secs: 60 }\n\
             sensitive_limits: { per_minute: 3, fields: [login, verifyEmail] }\n",
        );
        let config = router_config(configured(&supergraph, &config, &[])).unwrap();
        assert_eq!(
            config.cors.origins,
            ["https://app.example.org", "http://localhost:*"]
        );
        assert!(config.cors.allow_credentials);
        assert_eq!(config.cors.max_age, Duration::from_secs(60));
        let sensitive = config.sensitive_limits.unwrap();
        assert_eq!(sensitive.fields, ["login", "verifyEmail"]);
        assert_eq!(sensitive.per_minute.get(), 3);
        assert_eq!(sensitive.burst, SensitiveLimits::default().burst);

        let off = file(
            "sensitive-off.yaml",
            "sensitive_limits: { enabled: false }\n",
        );
        let config = router_config(configured(&supergraph, &off, &[])).unwrap();
        assert_eq!(config.sensitive_limits, None);
    }

    #[test]
    fn the_deployed_config_file_is_read_with_no_origin_and_the_default_sensitive_limits() {
        let supergraph = file("supergraph.graphql", "type Query { a: Int }");
        let deployed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/router.yaml");
        let config = router_config(configured(&supergraph, &deployed, &[])).unwrap();
        assert!(config.cors.origins.is_empty());
        assert_eq!(config.sensitive_limits, Some(SensitiveLimits::default()));
        assert_eq!(config.client_ip_header.as_deref(), Some("x-forwarded-for"));
    }

    #[test]
    fn flags_override_the_file_and_unknown_settings_are_refused() {
        let supergraph = file("supergraph.graphql", "type Query { a: Int }");
        let config = file("router.yaml", "listen: 0.0.0.0:4100\n");
        let args = configured(&supergraph, &config, &["--listen", "127.0.0.1:4200"]);
        assert_eq!(
            router_config(args).unwrap().listen,
            "127.0.0.1:4200".parse().unwrap()
        );

        let typo = file("typo.yaml", "limits: { max_dept: 3 }\n");
        let args = configured(&supergraph, &typo, &[]);
        assert!(router_config(args).is_err());
    }
}
