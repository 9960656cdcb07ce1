//! Media's own settings, beside the kit's: where files go, the public URLs, and the limits.

use std::time::Duration;

use agora_kit::Settings;
use agora_kit::settings::SettingsError;

/// Uploads are at most this large unless configured otherwise (10 MiB).
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;

/// The settings of the media subgraph.
#[derive(Clone, Debug)]
pub struct MediaSettings {
    /// Where files are stored (`AGORA_MEDIA_STORE`): `s3://bucket/prefix` (credentials
    /// and region from the usual `AWS_*` variables) or a directory; default
    /// `<data dir>/media`.
    pub store: String,
    /// Where clients reach this service for uploads, and for files when there is no CDN
    /// (`AGORA_MEDIA_BASE_URL`); default the address it listens on.
    pub base_url: Option<String>,
    /// The base of file URLs when a CDN serves them (`AGORA_MEDIA_PUBLIC_URL`); the CDN
    /// fetches `<base>/media/<id>/<file>` from this service.
    pub public_url: Option<String>,
    /// The largest upload accepted (`AGORA_MEDIA_MAX_BYTES`).
    pub max_bytes: u64,
    /// How long an upload URL works (`AGORA_MEDIA_UPLOAD_TTL_SECS`, default 15 minutes).
    pub upload_ttl: Duration,
    /// How long after its expiry an unfinished upload is purged
    /// (`AGORA_MEDIA_PURGE_GRACE_SECS`, default 5 minutes): one being processed right at
    /// its expiry must not lose its files underneath it.
    pub purge_grace: Duration,
    /// How often the janitor looks for files to purge when nothing woke it
    /// (`AGORA_MEDIA_JANITOR_SECS`, default 60).
    pub janitor_interval: Duration,
    /// Images processed at once (`AGORA_MEDIA_WORKERS`, default one per core): each holds
    /// one decoded image, which bounds memory.
    pub workers: usize,
}

impl MediaSettings {
    /// Reads media's settings from the environment.
    pub fn from_env(settings: &Settings) -> Result<Self, SettingsError> {
        Self::from_lookup(settings, |key| std::env::var(key).ok())
    }

    /// Reads media's settings through `lookup`, so tests need not touch the environment.
    pub fn from_lookup(
        settings: &Settings,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let number = |name: &str, default: u64| -> Result<u64, SettingsError> {
            match lookup(name).filter(|v| !v.is_empty()) {
                None => Ok(default),
                Some(value) => value.parse().map_err(|_| SettingsError {
                    name: name.to_owned(),
                    reason: format!("{value:?} is not a whole number"),
                }),
            }
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = number("AGORA_MEDIA_WORKERS", cores as u64)?.max(1);
        let url = |name: &str| {
            lookup(name)
                .filter(|v| !v.is_empty())
                .map(|v| v.trim_end_matches('/').to_owned())
        };
        Ok(Self {
            store: lookup("AGORA_MEDIA_STORE")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| settings.data_dir.join("media").display().to_string()),
            base_url: url("AGORA_MEDIA_BASE_URL"),
            public_url: url("AGORA_MEDIA_PUBLIC_URL"),
            max_bytes: number("AGORA_MEDIA_MAX_BYTES", DEFAULT_MAX_BYTES)?,
            upload_ttl: Duration::from_secs(number("AGORA_MEDIA_UPLOAD_TTL_SECS", 15 * 60)?),
            purge_grace: Duration::from_secs(number("AGORA_MEDIA_PURGE_GRACE_SECS", 5 * 60)?),
            janitor_interval: Duration::from_secs(number("AGORA_MEDIA_JANITOR_SECS", 60)?.max(1)),
            workers: usize::try_from(workers).unwrap_or(1),
        })
    }
}
