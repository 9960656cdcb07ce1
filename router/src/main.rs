//! `agora-router`: serves a supergraph file. Parses arguments and hands over to the lib.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use tokio_util::sync::CancellationToken;

/// Agora's federation router.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The composed supergraph SDL.
    #[arg(long, env = "AGORA_ROUTER_SUPERGRAPH")]
    supergraph: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "AGORA_ROUTER_LISTEN", default_value = "127.0.0.1:4000")]
    listen: SocketAddr,
    /// Answer `__schema`/`__type` queries.
    #[arg(long, env = "AGORA_ROUTER_INTROSPECTION")]
    introspection: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let supergraph_sdl = std::fs::read_to_string(&args.supergraph)
        .with_context(|| format!("reading {}", args.supergraph.display()))?;
    let server = agora_router::Server::bind(agora_router::RouterConfig {
        supergraph_sdl,
        listen: args.listen,
        subgraph_urls: HashMap::new(),
        introspection: args.introspection,
    })
    .await?;
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
