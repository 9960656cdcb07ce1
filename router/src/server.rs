//! Start and stop: [`Server::bind`] builds the planner and binds the listener before
//! anything is served (so port 0 works and start-up errors surface early);
//! [`Server::run`] serves until its cancellation token fires, then ends open
//! subscriptions and drains in-flight requests; [`Reloader`] swaps the supergraph
//! while it serves.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::RouterConfig;
use crate::error::RouterError;
use crate::http;
use crate::pipeline::Gateway;
use crate::supergraph::Reloaded;

/// How often recorded metric samples are folded into their histograms (and idle
/// clients' rate-limit state is dropped).
const METRICS_UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// A bound router, ready to serve.
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    gateway: Arc<Gateway>,
}

impl Server {
    /// Builds the query planner from the supergraph and binds the listener.
    pub async fn bind(config: RouterConfig) -> Result<Server, RouterError> {
        let gateway = Arc::new(Gateway::new(&config)?);
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| RouterError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| RouterError::Bind {
            addr: config.listen,
            source,
        })?;
        Ok(Server {
            listener,
            local_addr,
            gateway,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that swaps the supergraph while the router serves.
    pub fn reloader(&self) -> Reloader {
        Reloader {
            gateway: Arc::clone(&self.gateway),
        }
    }

    /// Serves until `shutdown` is cancelled, then finishes in-flight requests.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), RouterError> {
        tracing::info!(address = %self.local_addr, "router listening");
        tokio::spawn({
            let gateway = Arc::clone(&self.gateway);
            let shutdown = shutdown.clone();
            async move {
                let mut interval = tokio::time::interval(METRICS_UPKEEP_INTERVAL);
                loop {
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = interval.tick() => {
                            gateway.telemetry().upkeep();
                            gateway.upkeep();
                        }
                    }
                }
                gateway.closing().cancel();
            }
        });
        let app = http::app(self.gateway).into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
            .map_err(RouterError::Serve)
    }
}

/// Swaps a serving router's supergraph (for a file that changed, or a new registry
/// version) without dropping a request.
#[derive(Clone)]
pub struct Reloader {
    gateway: Arc<Gateway>,
}

impl Reloader {
    /// Builds the planner for `supergraph_sdl`, prepares the operations of the current
    /// plan cache against it (so the cache stays warm), then serves new requests with
    /// it; requests and subscriptions in flight finish on the previous one. An SDL that
    /// does not load is refused and the current supergraph stays. This plans, which
    /// takes CPU time: call it from a blocking thread (`spawn_blocking`).
    pub fn reload(&self, supergraph_sdl: &str) -> Result<Reloaded, RouterError> {
        self.gateway.reload(supergraph_sdl)
    }
}
