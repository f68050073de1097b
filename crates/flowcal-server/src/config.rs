//! Configuration: defaults < a TOML file < `FLOWCAL_*` environment variables.
//!
//! Unknown keys are refused so that a typo never silently falls back to a
//! default. Values that may hold secrets are redacted in `Debug`.

use crate::access::settings::{self, CaldavConfig, ExportConfig, ProviderConfig, SignInConfig};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The whole configuration, after layering.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the web server listens on.
    pub listen: String,
    /// The address people reach flowcal at (links in calendar entries point here).
    pub public_url: String,
    /// Where the SQLite database and the secret key live by default.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default: SQLite in the data folder.
    pub database_url: String,
    /// The key that encrypts stored credentials; created (mode 0600) when absent.
    pub secret_key_file: PathBuf,
    /// The zone of process models that name none (IANA name).
    pub time_zone: String,
    /// Largest BPMN upload, in bytes.
    pub max_model_bytes: usize,
    /// How long a browser session lasts, in hours.
    pub session_hours: u32,
    /// Log filter (tracing `EnvFilter` syntax), e.g. `info` or `flowcal=debug`.
    pub log: String,
    /// OAuth providers users connect calendars with (and may sign in with), by name.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Who may export to calendars.
    pub calendar_export: ExportConfig,
    /// Which CalDAV servers users may connect to.
    pub caldav: CaldavConfig,
    /// How people sign in.
    pub sign_in: SignInConfig,
    /// Delivery of calendar entries.
    pub delivery: DeliveryConfig,
    /// iCal subscription feeds.
    pub feed: FeedConfig,
    /// The HTTP server's limits and the proxies in front of it.
    pub http: HttpConfig,
    /// Who may read `/metrics`.
    pub metrics: MetricsConfig,
}

/// The HTTP server's limits (a slow or silent client must not hold a
/// connection forever) and the reverse proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// A client must send a request's headers within this many seconds; a
    /// kept-alive connection that sends no new request for this long is closed.
    pub header_read_timeout_seconds: u64,
    /// A request must be read and answered within this many seconds.
    pub request_timeout_seconds: u64,
    /// Connections served at once by this process; further ones wait to be accepted.
    pub max_connections: usize,
    /// Addresses or CIDR ranges of reverse proxies whose `X-Forwarded-For`
    /// names the client; from anyone else the header is ignored.
    pub trusted_proxies: Vec<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_read_timeout_seconds: 10,
            request_timeout_seconds: 60,
            max_connections: 1024,
            trusted_proxies: Vec::new(),
        }
    }
}

impl HttpConfig {
    /// `trusted_proxies`, parsed.
    pub fn trusted_ranges(&self) -> Result<Vec<flowcal_connect::outbound::IpNetwork>, String> {
        self.trusted_proxies.iter().map(|s| s.parse().map_err(|e| format!("http.trusted_proxies: {e}"))).collect()
    }
}

/// Who may read `/metrics`: nobody (the default), anyone (`public = true`,
/// for a scraper on a private network), or whoever sends the bearer token
/// read from `token_file`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    pub public: bool,
    pub token_file: Option<PathBuf>,
}

/// iCal subscription feeds (`GET /feeds/{token}.ics`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeedConfig {
    /// Entries from this many days back…
    pub days_back: u32,
    /// …to this many days ahead.
    pub days_ahead: u32,
    /// How often calendar clients are asked to poll (REFRESH-INTERVAL, X-PUBLISHED-TTL).
    pub refresh_minutes: u32,
    /// Rendered feeds kept in memory for their entity tag, all users together
    /// (0: render every full response).
    pub cache_megabytes: u32,
}

impl Default for FeedConfig {
    fn default() -> Self {
        FeedConfig { days_back: 30, days_ahead: 365, refresh_minutes: 60, cache_megabytes: 64 }
    }
}

/// Delivery of calendar entries (the outbox workers).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Workers inside `flowcal serve` (0: none; run `flowcal worker` instead).
    pub workers: u32,
    /// Attempts before an export is `failed` (waiting for a reconnect does not count).
    pub attempts: u32,
    /// The first retry's delay, in seconds; it doubles with each attempt (with jitter).
    pub backoff_seconds: u64,
    /// The longest delay between attempts, in seconds.
    pub max_backoff_seconds: u64,
    /// How long a worker may hold claimed exports, in seconds; a worker that
    /// died gives them up when this runs out.
    pub lease_seconds: u64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig { workers: 1, attempts: 8, backoff_seconds: 30, max_backoff_seconds: 3600, lease_seconds: 120 }
    }
}

/// The keys, as written in the file; each is also read from `FLOWCAL_<KEY>`.
const KEYS: &[&str] = &[
    "listen",
    "public_url",
    "data_dir",
    "database_url",
    "secret_key_file",
    "time_zone",
    "max_model_bytes",
    "session_hours",
    "log",
];

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            public_url: String::new(),
            data_dir: PathBuf::from("flowcal-data"),
            database_url: String::new(),
            secret_key_file: PathBuf::new(),
            time_zone: "UTC".into(),
            max_model_bytes: 2 * 1024 * 1024,
            session_hours: 12,
            log: "info".into(),
            providers: BTreeMap::new(),
            calendar_export: ExportConfig::default(),
            caldav: CaldavConfig::default(),
            sign_in: SignInConfig::default(),
            delivery: DeliveryConfig::default(),
            feed: FeedConfig::default(),
            http: HttpConfig::default(),
            metrics: MetricsConfig::default(),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("data_dir", &self.data_dir)
            .field("database_url", &flowcal_store::redact_url(&self.database_url))
            .field("secret_key_file", &self.secret_key_file)
            .field("time_zone", &self.time_zone)
            .field("max_model_bytes", &self.max_model_bytes)
            .field("session_hours", &self.session_hours)
            .field("log", &self.log)
            .field("providers", &self.providers)
            .field("calendar_export", &self.calendar_export)
            .field("caldav", &self.caldav)
            .field("sign_in", &self.sign_in)
            .field("delivery", &self.delivery)
            .field("feed", &self.feed)
            .field("http", &self.http)
            .field("metrics", &self.metrics)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the configuration is invalid ({origin}): {message}")]
    Invalid { origin: String, message: String },
}

impl Config {
    /// Loads the configuration: `file` if given, else `flowcal.toml` in the
    /// working folder when present; then the environment.
    pub fn load(file: Option<&Path>, env: &[(String, String)]) -> Result<Config, ConfigError> {
        let (text, origin) = match file {
            Some(p) => (
                std::fs::read_to_string(p).map_err(|source| ConfigError::Read { path: p.to_owned(), source })?,
                p.display().to_string(),
            ),
            None if Path::new("flowcal.toml").exists() => (
                std::fs::read_to_string("flowcal.toml")
                    .map_err(|source| ConfigError::Read { path: "flowcal.toml".into(), source })?,
                "flowcal.toml".to_owned(),
            ),
            None => (String::new(), "defaults".to_owned()),
        };
        Self::from_parts(&text, &origin, env)
    }

    /// Builds the configuration from file text and environment pairs.
    pub fn from_parts(text: &str, origin: &str, env: &[(String, String)]) -> Result<Config, ConfigError> {
        let invalid = |origin: &str, message: String| ConfigError::Invalid { origin: origin.to_owned(), message };
        let mut table: toml::Table = toml::from_str(text).map_err(|e| invalid(origin, e.to_string()))?;
        for (name, value) in env {
            let Some(key) = name.strip_prefix("FLOWCAL_").map(str::to_ascii_lowercase) else { continue };
            if !KEYS.contains(&key.as_str()) {
                continue;
            }
            // Numbers stay numbers; everything else is a string.
            let v = match value.parse::<i64>() {
                Ok(n) if key == "max_model_bytes" || key == "session_hours" => toml::Value::Integer(n),
                _ => toml::Value::String(value.clone()),
            };
            table.insert(key, v);
        }
        let mut config: Config =
            Config::deserialize(toml::Value::Table(table)).map_err(|e| invalid(origin, e.to_string()))?;
        config.fill_derived();
        config.check().map_err(|m| invalid(origin, m))?;
        Ok(config)
    }

    fn fill_derived(&mut self) {
        if self.public_url.is_empty() {
            self.public_url = format!("http://{}", self.listen);
        }
        while self.public_url.ends_with('/') {
            self.public_url.pop();
        }
        if self.database_url.is_empty() {
            self.database_url = format!("sqlite://{}", self.data_dir.join("flowcal.db").display());
        }
        if self.secret_key_file.as_os_str().is_empty() {
            self.secret_key_file = self.data_dir.join("secret.key");
        }
    }

    fn check(&self) -> Result<(), String> {
        flowcal_domain::user::parse_time_zone(&self.time_zone).map_err(|e| format!("time_zone: {e}"))?;
        flowcal_store::Backend::from_url(&self.database_url).map_err(|e| format!("database_url: {e}"))?;
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            return Err(format!("public_url must start with http:// or https:// (got '{}')", self.public_url));
        }
        if self.max_model_bytes == 0 || self.session_hours == 0 {
            return Err("max_model_bytes and session_hours must be above zero".into());
        }
        for (name, p) in &self.providers {
            settings::check_provider(name, p)?;
        }
        settings::check_caldav(&self.caldav).map_err(|e| format!("caldav: {e}"))?;
        if self.delivery.attempts == 0 || self.delivery.backoff_seconds == 0 || self.delivery.lease_seconds == 0 {
            return Err("delivery.attempts, backoff_seconds and lease_seconds must be above zero".into());
        }
        if self.feed.refresh_minutes == 0 || self.feed.days_back > 3660 || self.feed.days_ahead > 3660 {
            return Err("feed.refresh_minutes must be above zero, days_back and days_ahead at most 3660".into());
        }
        if self.feed.cache_megabytes > 4096 {
            return Err("feed.cache_megabytes must be at most 4096".into());
        }
        let h = &self.http;
        if h.header_read_timeout_seconds == 0 || h.request_timeout_seconds == 0 || h.max_connections == 0 {
            return Err("http: the timeouts and max_connections must be above zero".into());
        }
        h.trusted_ranges()?;
        Ok(())
    }

    /// A commented example, printed by `flowcal default-config`.
    pub fn example() -> &'static str {
        include_str!("../flowcal.example.toml")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
    }

    #[test]
    fn layering_defaults_file_env() {
        let c = Config::from_parts("", "t", &[]).unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://flowcal-data/flowcal.db");
        let c = Config::from_parts("listen = \"0.0.0.0:9000\"\ntime_zone = \"Europe/Berlin\"", "t", &[]).unwrap();
        assert_eq!((c.listen.as_str(), c.time_zone.as_str()), ("0.0.0.0:9000", "Europe/Berlin"));
        let c = Config::from_parts(
            "listen = \"0.0.0.0:9000\"",
            "t",
            &env(&[("FLOWCAL_LISTEN", "127.0.0.1:1"), ("FLOWCAL_MAX_MODEL_BYTES", "10"), ("FLOWCAL_OTHER", "x")]),
        )
        .unwrap();
        assert_eq!((c.listen.as_str(), c.max_model_bytes), ("127.0.0.1:1", 10));
    }

    #[test]
    fn refuses_unknown_keys_and_bad_values() {
        let e = Config::from_parts("lisen = \"x\"", "f.toml", &[]).unwrap_err().to_string();
        assert!(e.contains("lisen") && e.contains("f.toml"), "{e}");
        assert!(Config::from_parts("time_zone = \"Nowhere/Land\"", "t", &[]).is_err());
        assert!(Config::from_parts("database_url = \"mysql://x\"", "t", &[]).is_err());
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let c = Config::from_parts("[http]\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\", \"fd00::/8\"]", "t", &[])
            .unwrap();
        assert_eq!(c.http.trusted_ranges().unwrap().len(), 3);
        for bad in ["proxy.internal", "10.0.0.0/40"] {
            let e = Config::from_parts(&format!("[http]\ntrusted_proxies = [\"{bad}\"]"), "t", &[])
                .unwrap_err()
                .to_string();
            assert!(e.contains("http.trusted_proxies") && e.contains(bad), "{e}");
        }
    }

    #[test]
    fn debug_redacts_database_password() {
        let c = Config::from_parts("database_url = \"postgres://u:hunter2@db/x\"", "t", &[]).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2") && shown.contains("u:***@db"), "{shown}");
    }

    #[test]
    fn providers_and_access_settings() {
        let c = Config::from_parts(
            r#"
[providers.work]
kind = "google"
client_id = "id-1"
client_secret = "cs-hunter2"
allowed_domains = ["example.com"]

[calendar_export]
allow = ["alice", "bob"]

[caldav]
allowed_hosts = ["caldav.fastmail.com", "127.0.0.1:5232"]
"#,
            "t",
            &[],
        )
        .unwrap();
        assert_eq!(c.providers["work"].client_id, "id-1");
        assert!(c.calendar_export.allow.allows("bob") && !c.calendar_export.allow.allows("carol"));
        assert!(!format!("{c:?}").contains("hunter2"));
        let c = Config::from_parts("[calendar_export]\nallow = \"no one\"", "t", &[]).unwrap();
        assert!(!c.calendar_export.allow.allows("alice"));
        assert!(Config::from_parts("", "t", &[]).unwrap().calendar_export.allow.allows("alice"));
        for bad in [
            "[providers.x]\nkind = \"oauth\"\nclient_id = \"c\"",
            "[providers.x]\nkind = \"google\"\nclient_id = \"\"",
            "[providers.x]\nkind = \"google\"\nclient_id = \"c\"\ntoken_endpoint = \"ftp://x\"",
            "[providers.x]\nkind = \"yahoo\"\nclient_id = \"c\"",
            "[calendar_export]\nallow = \"some\"",
            "[providers.x]\nkind = \"google\"\nclient_id = \"c\"\nsign_in = true\ncreate_users = true",
            "[providers.x]\nkind = \"microsoft\"\nclient_id = \"c\"\nsign_in = true\ncreate_users = true",
            "[caldav]\nallowed_networks = [\"10.0.0.0/33\"]",
        ] {
            assert!(Config::from_parts(bad, "t", &[]).is_err(), "{bad}");
        }
    }

    #[test]
    fn example_is_valid() {
        Config::from_parts(Config::example(), "example", &[]).unwrap();
    }
}
