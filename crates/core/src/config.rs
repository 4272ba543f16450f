//! The server's configuration: one typed struct, filled from defaults, then an
//! optional TOML file, then `MERCATO_*` environment variables, then command
//! line flags, each layer overriding the one before.
//!
//! Unknown keys in the file are rejected so that a misspelt setting fails the
//! start instead of being silently ignored. The environment is only read for
//! the names listed in [`Config::FIELDS`], because client commands share the
//! `MERCATO_` prefix (`MERCATO_API_KEY`, `MERCATO_API_BASE`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// How log lines are written to standard error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Every setting of `mercato serve`. Each field is also the TOML key and, in
/// upper case after `MERCATO_`, the environment variable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address and port the HTTP server listens on.
    pub listen: SocketAddr,
    /// Directory holding the SQLite database (by default) and the blob store.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://...`; unset means a SQLite file
    /// `mercato.db` in `data_dir`.
    pub database_url: Option<String>,
    /// Upper bound of the SQL connection pool.
    pub database_max_connections: u32,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// A `tracing` filter directive such as `info` or `mercato_api=debug`.
    pub log_level: String,
    /// Requests per second allowed to each account, per mode; 0 turns the
    /// limit off (the default: a self-hosted engine's capacity is the
    /// operator's to share).
    pub rate_limit_per_second: u32,
    /// Largest form-encoded request body accepted, in bytes.
    pub max_form_body_bytes: usize,
    /// How long an `Idempotency-Key` and its saved response are kept.
    pub idempotency_key_ttl_hours: u64,
    /// After this long, a request still marked as running under an
    /// `Idempotency-Key` is taken to have died and may be retried.
    pub idempotency_lock_timeout_seconds: u64,
    /// How long a SIGTERM waits for requests in flight before exiting.
    pub shutdown_grace_seconds: u64,
    /// The platform's `sk_test_` key on first start, instead of a random one.
    pub bootstrap_test_key: Option<String>,
    /// The platform's `sk_live_` key on first start, instead of a random one.
    pub bootstrap_live_key: Option<String>,
    /// The base URL clients reach this server at, used in absolute links such
    /// as a file's `url`; unset means `http://` and the request's `Host`.
    pub public_url: Option<String>,
    /// Base64 of 32 bytes that seal stored secrets (webhook signing
    /// secrets); unset means `secret.key` in `data_dir`. Nodes that share a
    /// database must share it.
    pub secret_key: Option<String>,
    /// How long events are kept, in days.
    pub event_retention_days: u64,
    /// How long one webhook delivery may take before it counts as failed.
    pub webhook_timeout_seconds: u64,
    /// Deliveries in flight at once, across all endpoints.
    pub webhook_concurrency: usize,
    /// Deliveries in flight at once to any one endpoint.
    pub webhook_endpoint_concurrency: usize,
    /// First retry delay in live mode; it doubles each attempt, with jitter.
    pub webhook_live_retry_base_ms: u64,
    /// Live mode retries an event until it is this old.
    pub webhook_live_retry_window_hours: u64,
    /// First retry delay in sandbox (test mode); it doubles each attempt.
    pub webhook_sandbox_retry_base_ms: u64,
    /// Attempts in sandbox, the first included.
    pub webhook_sandbox_max_attempts: u32,
    /// Longest wait between two attempts.
    pub webhook_retry_max_delay_ms: u64,
    /// An endpoint whose deliveries have all failed for this many days is
    /// disabled.
    pub webhook_disable_after_failing_days: u64,
    /// Allow webhook targets in loopback, private and link-local ranges.
    /// Off: live endpoints may only reach public addresses, and sandbox
    /// endpoints public addresses and loopback.
    pub webhook_allow_private_targets: bool,
    /// How often an idle worker looks for jobs made by other nodes.
    pub job_poll_interval_ms: u64,
    /// In live mode, one ImportSet per account and format per this many
    /// minutes (sandbox has no limit); 0 turns the limit off.
    pub import_live_cadence_minutes: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 4242)),
            data_dir: PathBuf::from("./mercato-data"),
            database_url: None,
            database_max_connections: 16,
            log_format: LogFormat::Text,
            log_level: "info".to_owned(),
            rate_limit_per_second: 0,
            max_form_body_bytes: 1024 * 1024,
            idempotency_key_ttl_hours: 24,
            idempotency_lock_timeout_seconds: 120,
            shutdown_grace_seconds: 20,
            bootstrap_test_key: None,
            bootstrap_live_key: None,
            public_url: None,
            secret_key: None,
            event_retention_days: 30,
            webhook_timeout_seconds: 30,
            webhook_concurrency: 64,
            webhook_endpoint_concurrency: 8,
            webhook_live_retry_base_ms: 60_000,
            webhook_live_retry_window_hours: 72,
            webhook_sandbox_retry_base_ms: 30 * 60_000,
            webhook_sandbox_max_attempts: 4,
            webhook_retry_max_delay_ms: 6 * 3_600_000,
            webhook_disable_after_failing_days: 5,
            webhook_allow_private_targets: false,
            job_poll_interval_ms: 500,
            import_live_cadence_minutes: 15,
        }
    }
}

/// Settings given on the command line; `None` leaves the lower layers alone.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ConfigOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

/// The configuration could not be assembled.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(#[from] Box<figment::Error>);

impl Config {
    /// The keys read from the environment, after the `MERCATO_` prefix.
    pub const FIELDS: &'static [&'static str] = &[
        "listen",
        "data_dir",
        "database_url",
        "database_max_connections",
        "log_format",
        "log_level",
        "rate_limit_per_second",
        "max_form_body_bytes",
        "idempotency_key_ttl_hours",
        "idempotency_lock_timeout_seconds",
        "shutdown_grace_seconds",
        "bootstrap_test_key",
        "bootstrap_live_key",
        "public_url",
        "secret_key",
        "event_retention_days",
        "webhook_timeout_seconds",
        "webhook_concurrency",
        "webhook_endpoint_concurrency",
        "webhook_live_retry_base_ms",
        "webhook_live_retry_window_hours",
        "webhook_sandbox_retry_base_ms",
        "webhook_sandbox_max_attempts",
        "webhook_retry_max_delay_ms",
        "webhook_disable_after_failing_days",
        "webhook_allow_private_targets",
        "job_poll_interval_ms",
        "import_live_cadence_minutes",
    ];

    /// Defaults, then `file`, then the environment, then `overrides`.
    pub fn load(file: Option<&Path>, overrides: &ConfigOverrides) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment
            .merge(Env::prefixed("MERCATO_").only(Self::FIELDS))
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|error| ConfigError(Box::new(error)))
    }

    /// The database URL in force: the configured one, or the SQLite file in
    /// the data directory.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.is_empty() => url.clone(),
            _ => format!("sqlite://{}", self.data_dir.join("mercato.db").display()),
        }
    }

    /// Where uploaded file bytes are kept.
    pub fn blob_dir(&self) -> PathBuf {
        self.data_dir.join("blobs")
    }
}

#[cfg(test)]
#[allow(
    clippy::result_large_err,
    reason = "figment's test jail fixes the closure's error type"
)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_readable_from_the_environment() {
        let serialized = serde_json::to_value(Config::default()).unwrap_or_default();
        let mut names: Vec<&str> = serialized
            .as_object()
            .map(|fields| fields.keys().map(String::as_str).collect())
            .unwrap_or_default();
        names.sort_unstable();
        let mut listed = Config::FIELDS.to_vec();
        listed.sort_unstable();

        assert_eq!(names, listed);
    }

    #[test]
    fn file_environment_and_flags_layer_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "mercato.toml",
                "listen = \"127.0.0.1:5000\"\nrate_limit_per_second = 7\n",
            )?;
            jail.set_env("MERCATO_RATE_LIMIT_PER_SECOND", "9");
            jail.set_env("MERCATO_API_KEY", "sk_test_not_a_setting");
            let overrides = ConfigOverrides {
                data_dir: Some(PathBuf::from("/srv/mercato")),
                ..ConfigOverrides::default()
            };

            let config = Config::load(Some(Path::new("mercato.toml")), &overrides)
                .map_err(|error| error.to_string())?;

            assert_eq!(config.listen, SocketAddr::from(([127, 0, 0, 1], 5000)));
            assert_eq!(config.rate_limit_per_second, 9);
            assert_eq!(config.data_dir, PathBuf::from("/srv/mercato"));
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_in_the_file_are_rejected() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("mercato.toml", "listne = \"127.0.0.1:5000\"\n")?;

            let error = Config::load(Some(Path::new("mercato.toml")), &ConfigOverrides::default())
                .expect_err("a misspelt key must fail");

            assert!(error.to_string().contains("listne"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn database_url_defaults_to_sqlite_in_the_data_dir() {
        let config = Config {
            data_dir: PathBuf::from("/var/lib/mercato"),
            ..Config::default()
        };

        assert_eq!(
            config.effective_database_url(),
            "sqlite:///var/lib/mercato/mercato.db"
        );
    }
}
