//! `agora-router`: serves a supergraph file. Parses arguments and hands over to the lib.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use agora_router::{JwtConfig, RouterConfig};
use anyhow::Context;
use clap::Parser;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

/// Agora's federation router.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The composed supergraph SDL.
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

/// Defaults, then the file, then flags and environment.
fn router_config(args: Args) -> anyhow::Result<RouterConfig> {
    let supergraph_sdl = std::fs::read_to_string(&args.supergraph)
        .with_context(|| format!("reading {}", args.supergraph.display()))?;
    let file = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_yaml::from_str::<FileConfig>(&text)
                .with_context(|| format!("parsing {}", path.display()))?
        }
        None => FileConfig::default(),
    };
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
    Ok(config)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = router_config(Args::parse())?;
    let server = agora_router::Server::bind(config).await?;
    let shutdown = CancellationToken::new();
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
        let args = Args::parse_from([
            "agora-router",
            "--supergraph",
            supergraph.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ]);

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
    fn flags_override_the_file_and_unknown_settings_are_refused() {
        let supergraph = file("supergraph.graphql", "type Query { a: Int }");
        let config = file("router.yaml", "listen: 0.0.0.0:4100\n");
        let args = Args::parse_from([
            "agora-router",
            "--supergraph",
            supergraph.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--listen",
            "127.0.0.1:4200",
        ]);
        assert_eq!(
            router_config(args).unwrap().listen,
            "127.0.0.1:4200".parse().unwrap()
        );

        let typo = file("typo.yaml", "limits: { max_dept: 3 }\n");
        let args = Args::parse_from([
            "agora-router",
            "--supergraph",
            supergraph.to_str().unwrap(),
            "--config",
            typo.to_str().unwrap(),
        ]);
        assert!(router_config(args).is_err());
    }
}
