//! The whole platform in one process: every subgraph on its own localhost port over real
//! HTTP, each with its own database, one shared event bus, and the router in front.
//!
//! `agora dev` runs it on the default ports; the end-to-end tests run it on port 0 with a
//! database and an event namespace of their own.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use agora_kit::Settings;
use agora_kit::events::{self, EventBus};
use agora_kit::service::StartError;
use agora_router::compose::{SubgraphSdl, compose};
use agora_router::{Cors, JwtConfig, RateLimit, RouterConfig, SensitiveLimits, Server};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::subgraphs;

/// Where settings come from: the process environment, or a test's own map.
pub type Lookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// How to run the platform.
pub struct PlatformConfig {
    /// Reads `AGORA_*` settings.
    pub lookup: Lookup,
    /// Where the router listens.
    pub router_addr: SocketAddr,
    /// Bind every subgraph to a free port instead of its default one (tests).
    pub ephemeral_ports: bool,
    /// Let clients introspect the API (GraphiQL needs it).
    pub introspection: bool,
}

/// Why the platform could not start.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// A subgraph failed to start.
    #[error("{name}: {source}")]
    Subgraph {
        name: &'static str,
        source: StartError,
    },
    /// The subgraph schemas do not compose.
    #[error("composition failed:\n{}", .0.join("\n"))]
    Composition(Vec<String>),
    /// The router failed to start.
    #[error("router: {0}")]
    Router(String),
}

/// The router's per-client rate limit from `AGORA_RATE_LIMIT`: requests per second (in
/// bursts of twice that), or `off` (load benchmarks send thousands per second as one
/// user); unset keeps the router's default.
fn rate_limit(setting: Option<String>) -> Result<Option<RateLimit>, PlatformError> {
    let Some(setting) = setting else {
        return Ok(Some(RateLimit::default()));
    };
    if setting.trim().eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let requests_per_second = setting.trim().parse::<NonZeroU32>().map_err(|_| {
        PlatformError::Router(format!(
            "AGORA_RATE_LIMIT must be a positive number of requests per second or `off`, not {setting:?}"
        ))
    })?;
    Ok(Some(RateLimit {
        requests_per_second,
        burst: requests_per_second.saturating_mul(NonZeroU32::new(2).expect("non-zero")),
    }))
}

/// A running platform.
pub struct Platform {
    /// Where the router listens.
    pub router_addr: SocketAddr,
    /// Where each subgraph listens, by name.
    pub subgraph_addrs: Vec<(&'static str, SocketAddr)>,
    /// The bus every subgraph shares.
    pub bus: Arc<dyn EventBus>,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Platform {
    /// Starts every subgraph (identity first: the others verify tokens with its keys),
    /// composes their schemas as they are served, and starts the router.
    pub async fn start(config: PlatformConfig) -> Result<Self, PlatformError> {
        let shutdown = CancellationToken::new();
        let settings_of = |name: &'static str| {
            Settings::from_lookup(name, |key| (config.lookup)(key)).map_err(|e| {
                PlatformError::Subgraph {
                    name,
                    source: e.into(),
                }
            })
        };
        let bus_settings = settings_of("identity")?;
        let bus =
            events::connect(&bus_settings.bus())
                .await
                .map_err(|e| PlatformError::Subgraph {
                    name: "identity",
                    source: e.into(),
                })?;

        let mut tasks = Vec::new();
        let mut subgraph_addrs = Vec::new();
        let mut sdls = Vec::new();
        let mut jwks_url = None;
        let tokens = bus_settings.tokens.clone();
        for subgraph in subgraphs::ALL {
            let name = subgraph.name;
            let mut settings = settings_of(name)?;
            if config.ephemeral_ports {
                settings.listen.set_port(0);
            }
            if let Some(url) = &jwks_url {
                settings.jwks_url = String::clone(url);
            }
            let service = (subgraph.build)(settings, bus.clone())
                .await
                .map_err(|source| PlatformError::Subgraph { name, source })?;
            let addr = service.local_addr();
            if name == "identity" {
                jwks_url = Some(format!("http://{addr}/.well-known/jwks.json"));
            }
            let stop = shutdown.clone();
            tasks.push(tokio::spawn(async move {
                if let Err(e) = service.run_until_stopped(stop).await {
                    tracing::error!(subgraph = name, error = %e, "subgraph stopped");
                }
            }));
            subgraph_addrs.push((name, addr));
            sdls.push(SubgraphSdl {
                name: name.to_owned(),
                url: format!("http://{addr}/graphql"),
                sdl: (subgraph.sdl)(),
            });
        }

        let supergraph_sdl = compose(&sdls).map_err(PlatformError::Composition)?;
        let rate_limit = rate_limit((config.lookup)("AGORA_RATE_LIMIT"))?;
        let jwks_url = jwks_url.unwrap_or_else(|| bus_settings.jwks_url.clone());
        let router = Server::bind(RouterConfig {
            supergraph_sdl,
            listen: config.router_addr,
            subgraph_urls: Default::default(),
            introspection: config.introspection,
            auth: Some(JwtConfig::new(jwks_url, tokens.issuer, tokens.audience)),
            // A frontend's dev server on any local port may call the API from a browser.
            cors: Cors::local_development(),
            // `AGORA_RATE_LIMIT=off` (seeding, benchmarks: many sign-ups from one
            // address) turns the stricter login/register limits off too.
            sensitive_limits: rate_limit
                .is_some()
                .then(SensitiveLimits::local_development),
            rate_limit,
            ..RouterConfig::default()
        })
        .await
        .map_err(|e| PlatformError::Router(e.to_string()))?;
        let router_addr = router.local_addr();
        let stop = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(e) = router.run(stop).await {
                tracing::error!(error = %e, "router stopped");
            }
        }));
        Ok(Self {
            router_addr,
            subgraph_addrs,
            bus,
            shutdown,
            tasks,
        })
    }

    /// The router's GraphQL endpoint.
    pub fn graphql_url(&self) -> String {
        format!("http://{}/graphql", self.router_addr)
    }

    /// Waits until `stop` is cancelled, then shuts everything down gracefully.
    pub async fn run_until(self, stop: CancellationToken) {
        stop.cancelled().await;
        self.stop().await;
    }

    /// Stops the router and every subgraph, letting in-flight work finish, then closes
    /// the bus they shared.
    pub async fn stop(self) {
        self.shutdown.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
        self.bus.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agora_rate_limit_is_a_rate_or_off() {
        assert_eq!(rate_limit(None).unwrap(), Some(RateLimit::default()));
        assert_eq!(rate_limit(Some("off".to_owned())).unwrap(), None);
        let limit = rate_limit(Some("20".to_owned())).unwrap().unwrap();
        assert_eq!(
            (limit.requests_per_second.get(), limit.burst.get()),
            (20, 40)
        );
        assert!(rate_limit(Some("0".to_owned())).is_err());
        assert!(rate_limit(Some("fast".to_owned())).is_err());
    }
}
