//! Typed settings shared by every subgraph, read from `AGORA_*` environment variables.
//!
//! Every default runs the embedded mode: SQLite files under the data directory, the
//! in-process event bus, and identity's JWKS on its default local port.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::auth::TokenRules;
use crate::events::BusConfig;

/// Default listen ports, one per subgraph, so `agora dev` and lone binaries agree.
pub const DEFAULT_PORTS: &[(&str, u16)] = &[
    ("identity", 4001),
    ("profiles", 4002),
    ("content", 4003),
    ("social", 4004),
    ("media", 4005),
    ("messaging", 4006),
];

/// The settings of one subgraph process.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The subgraph's name, also its event source and the prefix of its own variables.
    pub name: String,
    /// Where the subgraph listens (`AGORA_<NAME>_ADDR`); port 0 picks a free port.
    pub listen: SocketAddr,
    /// Its database (`AGORA_<NAME>_DATABASE_URL`); default a SQLite file in the data dir.
    pub database_url: String,
    /// Directory for embedded-mode files (`AGORA_DATA_DIR`, default `./data`).
    pub data_dir: PathBuf,
    /// NATS server (`AGORA_NATS_URL`); unset means the in-process event bus.
    pub nats_url: Option<String>,
    /// Prefix that isolates streams and subjects (`AGORA_EVENTS_NAMESPACE`), empty in production.
    pub events_namespace: String,
    /// Where identity publishes its signing keys (`AGORA_JWKS_URL`).
    pub jwks_url: String,
    /// What every access token must say about who issued it and for whom.
    pub tokens: TokenRules,
}

/// A setting that is present but unusable.
#[derive(Debug, thiserror::Error)]
#[error("setting {name} is invalid: {reason}")]
pub struct SettingsError {
    /// The environment variable.
    pub name: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Settings {
    /// Reads the settings of subgraph `name` from the environment.
    pub fn from_env(name: &str) -> Result<Self, SettingsError> {
        Self::from_lookup(name, |key| std::env::var(key).ok())
    }

    /// Reads the settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(
        name: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let upper = name.to_ascii_uppercase();
        let data_dir = PathBuf::from(lookup("AGORA_DATA_DIR").unwrap_or_else(|| "data".into()));
        let port = default_port(name);
        let listen_var = format!("AGORA_{upper}_ADDR");
        let listen = match lookup(&listen_var) {
            Some(addr) => addr.parse().map_err(|e| SettingsError {
                name: listen_var,
                reason: format!("{e}"),
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], port)),
        };
        let database_url = lookup(&format!("AGORA_{upper}_DATABASE_URL"))
            .unwrap_or_else(|| sqlite_url(&data_dir, name));
        Ok(Self {
            name: name.to_owned(),
            listen,
            database_url,
            nats_url: lookup("AGORA_NATS_URL").filter(|url| !url.is_empty()),
            events_namespace: lookup("AGORA_EVENTS_NAMESPACE").unwrap_or_default(),
            jwks_url: lookup("AGORA_JWKS_URL").unwrap_or_else(|| {
                format!(
                    "http://127.0.0.1:{}/.well-known/jwks.json",
                    default_port("identity")
                )
            }),
            tokens: TokenRules {
                issuer: lookup("AGORA_JWT_ISSUER").unwrap_or_else(|| "agora".into()),
                audience: lookup("AGORA_JWT_AUDIENCE").unwrap_or_else(|| "agora".into()),
            },
            data_dir,
        })
    }

    /// The event-bus configuration these settings describe.
    pub fn bus(&self) -> BusConfig {
        BusConfig {
            nats_url: self.nats_url.clone(),
            namespace: self.events_namespace.clone(),
            embedded_db_url: sqlite_url(&self.data_dir, "events"),
        }
    }
}

/// The default port of a subgraph (0 for unknown names).
pub fn default_port(name: &str) -> u16 {
    DEFAULT_PORTS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(0, |(_, port)| *port)
}

/// A SQLite URL for `<data_dir>/<name>.sqlite`, created on first use.
pub fn sqlite_url(data_dir: &std::path::Path, name: &str) -> String {
    format!("sqlite://{}/{name}.sqlite?mode=rwc", data_dir.display())
}
