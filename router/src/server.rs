//! Start and stop: [`Server::bind`] builds the planner and binds the listener before
//! anything is served (so port 0 works and start-up errors surface early);
//! [`Server::run`] serves until its cancellation token fires, then ends open
//! subscriptions and drains in-flight requests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::RouterConfig;
use crate::error::RouterError;
use crate::http;
use crate::pipeline::Gateway;

/// How often recorded metric samples are folded into their histograms.
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
                        _ = interval.tick() => gateway.telemetry().upkeep(),
                    }
                }
                gateway.closing().cancel();
            }
        });
        axum::serve(self.listener, http::app(self.gateway))
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
            .map_err(RouterError::Serve)
    }
}
