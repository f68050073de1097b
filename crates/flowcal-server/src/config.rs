//! Configuration: defaults < a TOML file < `FLOWCAL_*` environment variables.
//!
//! Every key of the file can be set from the environment, nested with `__`
//! (`FLOWCAL_DELIVERY__WORKERS=4`), or read from a file (`FLOWCAL_<KEY>_FILE`,
//! for secrets). Unknown keys are refused, in the file and in the environment,
//! so that a typo never silently falls back to a default. Values that may hold
//! secrets are redacted in `Debug` and never repeated in an error.

use crate::settings::{self, CaldavConfig, ExportConfig, ProviderConfig, SignInConfig};
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
    /// On SIGTERM, how long a process may take to finish what it holds: open
    /// requests, and calendar entries and timers its workers leased (what is
    /// not done by then is handed back for another process).
    pub shutdown_grace_seconds: u64,
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
    /// Reading what people change in their calendars.
    pub calendar_sync: CalendarSyncConfig,
    /// iCal subscription feeds.
    pub feed: FeedConfig,
    /// The HTTP server's limits and the proxies in front of it.
    pub http: HttpConfig,
    /// Who may read `/metrics`.
    pub metrics: MetricsConfig,
    /// Work calendars: deadlines in working days.
    pub work_calendars: WorkCalendarsConfig,
    /// How long rows that only grow are kept.
    pub retention: RetentionConfig,
}

/// Retention (`[retention]`): how long the tables that only grow keep their
/// rows; the worker's hourly sweep deletes older ones. 0 keeps them for ever.
/// (Counters of failed sign-ins and expired OAuth requests go as soon as they
/// no longer count, whatever is set here.)
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Days the audit log keeps an entry.
    pub audit_days: u32,
    /// Days after a task or an instance finished that the feed keeps what
    /// its entry looked like (`feed_entries`).
    pub finished_days: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig { audit_days: 365, finished_days: 90 }
    }
}

/// Work calendars (`[work_calendars]`): calendars defined in the file, and
/// how models and holiday sources are treated.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkCalendarsConfig {
    /// Whether a model may be uploaded that names a work calendar that does
    /// not exist yet; its steps count in calendar days until the calendar is
    /// created (which recomputes them). Default: refused, naming the line.
    pub allow_unknown_in_models: bool,
    /// Hours between two fetches of a holiday source given by URL.
    pub refresh_hours: u32,
    /// Calendars created or replaced at every start (`[[work_calendars.calendars]]`,
    /// with `name` and the fields of the API's PUT). Only in the file.
    pub calendars: Vec<crate::workcal_data::CalendarPut>,
}

impl Default for WorkCalendarsConfig {
    fn default() -> Self {
        WorkCalendarsConfig { allow_unknown_in_models: false, refresh_hours: 24, calendars: Vec::new() }
    }
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
    /// A process with workers also fires the timers of process models.
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
    /// How often an idle worker looks for retries that came due, in
    /// seconds. New and changed entries wake the workers at once (on
    /// PostgreSQL, those of every process), so this is only a safety net.
    pub poll_seconds: u64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            workers: 1,
            attempts: 8,
            backoff_seconds: 30,
            max_backoff_seconds: 3600,
            lease_seconds: 120,
            poll_seconds: 1,
        }
    }
}

/// Reading the calendars flowcal writes to (`[calendar_sync]`): how often,
/// and what flowcal does when people delete or move its entries there
/// (a process may name its own with `flowcal:calendarEdits`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalendarSyncConfig {
    /// Seconds between two reads of an account's calendar (±20 % jitter);
    /// 0: calendars are not read.
    pub interval_seconds: u64,
    /// An entry deleted in the calendar: `respect` (it stays deleted, the
    /// task offers *Add again*) or `restore` (it is made again).
    pub deleted: String,
    /// An entry moved in the calendar: `propose` (the user decides),
    /// `accept` (the new date is used where the user may change it) or
    /// `revert` (it is put back).
    pub moved: String,
    /// Accounts read at once by one process.
    pub concurrency: u32,
    /// Where Google and Microsoft send push notifications (`…/push/{kind}`
    /// is added): https only, as they require. Empty: `public_url` when it
    /// is https; without either, calendars are read on the interval only.
    pub push_url: String,
}

impl Default for CalendarSyncConfig {
    fn default() -> Self {
        CalendarSyncConfig {
            interval_seconds: 300,
            deleted: "respect".into(),
            moved: "propose".into(),
            concurrency: 8,
            push_url: String::new(),
        }
    }
}

impl CalendarSyncConfig {
    /// Where push notifications go: `push_url`, else `public_url` when https.
    pub fn push_base(&self, public_url: &str) -> Option<String> {
        let base = if self.push_url.is_empty() { public_url } else { self.push_url.as_str() };
        let base = base.trim_end_matches('/');
        base.starts_with("https://").then(|| base.to_owned())
    }

    /// The configured policies (checked when the configuration is read).
    pub fn policy(&self) -> flowcal_domain::calendar_edits::EditPolicy {
        use flowcal_domain::calendar_edits::{EditPolicy, OnDeleted, OnMoved};
        let d = EditPolicy::default();
        EditPolicy {
            deleted: OnDeleted::parse(&self.deleted).unwrap_or(d.deleted),
            moved: OnMoved::parse(&self.moved).unwrap_or(d.moved),
        }
    }
}

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
            shutdown_grace_seconds: 30,
            providers: BTreeMap::new(),
            calendar_export: ExportConfig::default(),
            caldav: CaldavConfig::default(),
            sign_in: SignInConfig::default(),
            delivery: DeliveryConfig::default(),
            calendar_sync: CalendarSyncConfig::default(),
            feed: FeedConfig::default(),
            http: HttpConfig::default(),
            metrics: MetricsConfig::default(),
            work_calendars: WorkCalendarsConfig::default(),
            retention: RetentionConfig::default(),
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
            .field("shutdown_grace_seconds", &self.shutdown_grace_seconds)
            .field("providers", &self.providers)
            .field("calendar_export", &self.calendar_export)
            .field("caldav", &self.caldav)
            .field("sign_in", &self.sign_in)
            .field("delivery", &self.delivery)
            .field("calendar_sync", &self.calendar_sync)
            .field("feed", &self.feed)
            .field("http", &self.http)
            .field("metrics", &self.metrics)
            .field("work_calendars", &self.work_calendars)
            .field("retention", &self.retention)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the configuration is invalid ({origin}): {message}")]
    Invalid { origin: String, message: String },
    #[error("the environment variable {variable} is not valid configuration: {message}")]
    Environment { variable: String, message: String },
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

    /// Builds the configuration from file text and environment pairs; the
    /// `FLOWCAL_*` variables that set keys win over the file.
    pub fn from_parts(text: &str, origin: &str, env: &[(String, String)]) -> Result<Config, ConfigError> {
        let invalid = |origin: &str, message: String| ConfigError::Invalid { origin: origin.to_owned(), message };
        let mut table: toml::Table = toml::from_str(text).map_err(|e| invalid(origin, e.to_string()))?;
        let settings = settings_from_env(env)?;
        for s in &settings {
            insert(&mut table, &s.path, s.value.clone())
                .map_err(|message| ConfigError::Environment { variable: s.variable.clone(), message })?;
        }
        // An error found after layering may come from either; name both.
        let origin = if settings.is_empty() {
            origin.to_owned()
        } else {
            let names: Vec<&str> = settings.iter().map(|s| s.variable.as_str()).collect();
            format!("{origin} with {}", names.join(", "))
        };
        let mut config: Config =
            Config::deserialize(toml::Value::Table(table)).map_err(|e| invalid(&origin, e.to_string()))?;
        config.fill_derived();
        config.check().map_err(|m| invalid(&origin, m))?;
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
        let d = &self.delivery;
        if d.attempts == 0 || d.backoff_seconds == 0 || d.lease_seconds == 0 || d.poll_seconds == 0 {
            return Err("delivery.attempts, backoff_seconds, lease_seconds and poll_seconds must be above zero".into());
        }
        let cs = &self.calendar_sync;
        if flowcal_domain::calendar_edits::OnDeleted::parse(&cs.deleted).is_none() {
            return Err(format!("calendar_sync.deleted is '{}': use respect or restore", cs.deleted));
        }
        if flowcal_domain::calendar_edits::OnMoved::parse(&cs.moved).is_none() {
            return Err(format!("calendar_sync.moved is '{}': use propose, accept or revert", cs.moved));
        }
        if cs.concurrency == 0 || cs.concurrency > 256 {
            return Err("calendar_sync.concurrency must be from 1 to 256".into());
        }
        if !cs.push_url.is_empty() && !cs.push_url.starts_with("https://") {
            return Err(format!(
                "calendar_sync.push_url is '{}': calendar services notify https addresses only",
                cs.push_url
            ));
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
        let w = &self.work_calendars;
        if w.refresh_hours == 0 || w.refresh_hours > 24 * 366 {
            return Err("work_calendars.refresh_hours must be from 1 to 8784".into());
        }
        let r = &self.retention;
        if r.audit_days > 36_600 || r.finished_days > 36_600 {
            return Err("retention.audit_days and finished_days must be at most 36600 (0: keep for ever)".into());
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, c) in w.calendars.iter().enumerate() {
            let Some(name) = c.name.as_deref() else {
                return Err(format!("work_calendars.calendars[{i}] has no name"));
            };
            if !names.insert(name) {
                return Err(format!("work calendar '{name}' is defined twice"));
            }
            crate::workcal_data::read_put(name, c).map_err(|e| format!("work calendar '{name}': {e}"))?;
        }
        Ok(())
    }

    /// A commented example, printed by `flowcal default-config`.
    pub fn example() -> &'static str {
        include_str!("../flowcal.example.toml")
    }
}

// ---- the environment ---------------------------------------------------------------------

/// How a variable's text becomes a key's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    /// `true` or `false`.
    Bool,
    /// A whole number from 0 to the bound.
    Whole(u64),
    /// Comma-separated items; blanks around them are dropped, empty ones too.
    List,
    /// `everyone`, `no one`, or a list (`calendar_export.allow`).
    WordOrList,
    /// Tables that only the file can give (`[[work_calendars.calendars]]`).
    FileOnly,
}

const U32: Kind = Kind::Whole(u32::MAX as u64);
/// TOML integers are signed 64-bit.
const U64: Kind = Kind::Whole(i64::MAX as u64);

/// Every key of the file, by its path (`*`: a provider's name), with how a
/// variable's text is read for it. A test holds it to the structs above.
const SCHEMA: &[(&str, Kind)] = &[
    ("listen", Kind::Text),
    ("public_url", Kind::Text),
    ("data_dir", Kind::Text),
    ("database_url", Kind::Text),
    ("secret_key_file", Kind::Text),
    ("time_zone", Kind::Text),
    ("max_model_bytes", U64),
    ("session_hours", U32),
    ("log", Kind::Text),
    ("shutdown_grace_seconds", U64),
    ("calendar_export.allow", Kind::WordOrList),
    ("calendar_export.event_minutes", U32),
    ("caldav.allowed_hosts", Kind::List),
    ("caldav.allowed_networks", Kind::List),
    ("sign_in.password", Kind::Bool),
    ("delivery.workers", U32),
    ("delivery.attempts", U32),
    ("delivery.backoff_seconds", U64),
    ("delivery.max_backoff_seconds", U64),
    ("delivery.lease_seconds", U64),
    ("delivery.poll_seconds", U64),
    ("calendar_sync.interval_seconds", U64),
    ("calendar_sync.deleted", Kind::Text),
    ("calendar_sync.moved", Kind::Text),
    ("calendar_sync.concurrency", U32),
    ("calendar_sync.push_url", Kind::Text),
    ("feed.days_back", U32),
    ("feed.days_ahead", U32),
    ("feed.refresh_minutes", U32),
    ("feed.cache_megabytes", U32),
    ("http.header_read_timeout_seconds", U64),
    ("http.request_timeout_seconds", U64),
    ("http.max_connections", U64),
    ("http.trusted_proxies", Kind::List),
    ("metrics.public", Kind::Bool),
    ("metrics.token_file", Kind::Text),
    ("work_calendars.allow_unknown_in_models", Kind::Bool),
    ("work_calendars.refresh_hours", U32),
    ("work_calendars.calendars", Kind::FileOnly),
    ("retention.audit_days", U32),
    ("retention.finished_days", U32),
    ("providers.*.kind", Kind::Text),
    ("providers.*.display_name", Kind::Text),
    ("providers.*.client_id", Kind::Text),
    ("providers.*.client_secret", Kind::Text),
    ("providers.*.client_secret_file", Kind::Text),
    ("providers.*.scopes", Kind::List),
    ("providers.*.issuer", Kind::Text),
    ("providers.*.authorization_endpoint", Kind::Text),
    ("providers.*.token_endpoint", Kind::Text),
    ("providers.*.revocation_endpoint", Kind::Text),
    ("providers.*.jwks_uri", Kind::Text),
    ("providers.*.api_base_url", Kind::Text),
    ("providers.*.allowed_domains", Kind::List),
    ("providers.*.tenant", Kind::Text),
    ("providers.*.token_auth", Kind::Text),
    ("providers.*.sign_in", Kind::Bool),
    ("providers.*.create_users", Kind::Bool),
];

const ENV_PREFIX: &str = "FLOWCAL_";

/// The most a `…_FILE` variable's file may hold: a secret or a URL, not a document.
const VALUE_FILE_LIMIT: u64 = 64 * 1024;

/// A key set by an environment variable.
struct EnvSetting {
    variable: String,
    path: Vec<String>,
    value: toml::Value,
}

/// The key `path` names, and how its text is read.
fn kind_of(path: &[String]) -> Option<Kind> {
    SCHEMA.iter().find_map(|(p, kind)| {
        let pattern: Vec<&str> = p.split('.').collect();
        let fits = pattern.len() == path.len() && pattern.iter().zip(path).all(|(w, seg)| *w == "*" || w == seg);
        fits.then_some(*kind)
    })
}

fn is_table(name: &str) -> bool {
    SCHEMA.iter().any(|(p, _)| p.split_once('.').is_some_and(|(t, _)| t == name))
}

/// What the variable named `FLOWCAL_{rest}` sets: a key's path, its kind, and
/// whether the value is the name of a file to read it from (`…_FILE`).
/// `None`: not configuration. Only a name with `__` or one naming a key (or
/// table) of the top level is configuration, so that `FLOWCAL_CONFIG` and the
/// variables of other tools and of the tests pass by.
fn env_key(rest: &str) -> Result<Option<(Vec<String>, Kind, bool)>, String> {
    let lower = rest.to_ascii_lowercase();
    let nested = lower.contains("__");
    let path: Vec<String> = lower.split("__").map(str::to_owned).collect();
    if nested && path.iter().any(String::is_empty) {
        return Err("a part between the `__` is empty".into());
    }
    if let Some(kind) = kind_of(&path) {
        return Ok(Some((path, kind, false)));
    }
    // The Docker-secrets convention: KEY_FILE names a file holding KEY's value.
    if let Some((last, parents)) = path.split_last() {
        if let Some(key) = last.strip_suffix("_file") {
            let mut read = parents.to_vec();
            read.push(key.to_owned());
            if let Some(kind) = kind_of(&read) {
                return Ok(Some((read, kind, true)));
            }
        }
    }
    if !nested && !is_table(&lower) {
        return Ok(None);
    }
    let shown = path.join(".");
    Err(match path.as_slice() {
        [first, ..] if first == "providers" => format!(
            "no configuration key {shown}: a provider's keys are set as {ENV_PREFIX}PROVIDERS__<NAME>__<KEY> \
             (`flowcal default-config` lists them)"
        ),
        [table] => format!("{table} is a table: set its keys, e.g. {ENV_PREFIX}{}__<KEY>", table.to_ascii_uppercase()),
        _ => format!("no configuration key {shown} (`flowcal default-config` lists them)"),
    })
}

/// The keys the environment sets, each at most once.
fn settings_from_env(env: &[(String, String)]) -> Result<Vec<EnvSetting>, ConfigError> {
    let mut sorted: Vec<&(String, String)> = env.iter().filter(|(n, _)| n.starts_with(ENV_PREFIX)).collect();
    // Sorted, so that a conflict is reported the same way whatever the order of the environment.
    sorted.sort();
    let mut out: Vec<EnvSetting> = Vec::new();
    for (variable, text) in sorted {
        let fail = |message: String| ConfigError::Environment { variable: variable.clone(), message };
        let Some((path, kind, from_file)) = env_key(&variable[ENV_PREFIX.len()..]).map_err(fail)? else {
            continue;
        };
        if let Some(earlier) = out.iter().find(|s| s.path == path) {
            return Err(fail(format!("{} sets {} too; set only one of them", earlier.variable, path.join("."))));
        }
        let text = if from_file { read_value_file(text).map_err(fail)? } else { text.clone() };
        let value = typed(kind, &text).map_err(fail)?;
        out.push(EnvSetting { variable: variable.clone(), path, value });
    }
    Ok(out)
}

/// A `…_FILE` variable's file, without its trailing line break.
fn read_value_file(path: &str) -> Result<String, String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(VALUE_FILE_LIMIT + 1).read_to_string(&mut text))
        .map_err(|e| format!("cannot read the file '{path}': {e}"))?;
    if text.len() as u64 > VALUE_FILE_LIMIT {
        return Err(format!("the file '{path}' holds more than {} KiB", VALUE_FILE_LIMIT / 1024));
    }
    Ok(text.trim_end_matches(['\r', '\n']).to_owned())
}

/// A variable's text as the value of a key of `kind`. The text is never
/// repeated in an error: it may be a secret set in the wrong variable.
fn typed(kind: Kind, text: &str) -> Result<toml::Value, String> {
    let list = |s: &str| {
        let items = s.split(',').map(str::trim).filter(|i| !i.is_empty());
        toml::Value::Array(items.map(|i| toml::Value::String(i.to_owned())).collect())
    };
    match kind {
        Kind::Text => Ok(toml::Value::String(text.to_owned())),
        Kind::Bool => match text.trim() {
            "true" => Ok(toml::Value::Boolean(true)),
            "false" => Ok(toml::Value::Boolean(false)),
            _ => Err("expected true or false".into()),
        },
        Kind::Whole(max) => text
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= max)
            .and_then(|n| i64::try_from(n).ok())
            .map(toml::Value::Integer)
            .ok_or_else(|| format!("expected a whole number from 0 to {max}")),
        Kind::List => Ok(list(text)),
        Kind::WordOrList => match text.trim() {
            word @ ("everyone" | "no one") => Ok(toml::Value::String(word.to_owned())),
            logins => Ok(list(logins)),
        },
        Kind::FileOnly => Err("this key can only be set in the configuration file".into()),
    }
}

/// Sets the key at `path` in the file's table, making the tables on the way.
fn insert(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    let Some((key, parents)) = path.split_last() else { return Ok(()) };
    let mut t = table;
    for (i, name) in parents.iter().enumerate() {
        let entry = t.entry(name.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        t = entry
            .as_table_mut()
            .ok_or_else(|| format!("{} is a value in the file, not a table", path[..=i].join(".")))?;
    }
    t.insert(key.clone(), value);
    Ok(())
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
    fn calendar_sync_takes_its_policies_and_an_https_push_url() {
        use flowcal_domain::calendar_edits::{EditPolicy, OnDeleted, OnMoved};
        let c = Config::from_parts("", "t", &[]).unwrap();
        assert_eq!(c.calendar_sync.policy(), EditPolicy::default());
        assert_eq!(c.calendar_sync.interval_seconds, 300);
        assert_eq!(c.calendar_sync.push_base("http://localhost:8080"), None, "http: no push");
        assert_eq!(c.calendar_sync.push_base("https://flowcal.example/").as_deref(), Some("https://flowcal.example"));
        let c = Config::from_parts(
            "[calendar_sync]\ndeleted = \"restore\"\nmoved = \"revert\"\npush_url = \"https://hooks.example/\"",
            "t",
            &env(&[("FLOWCAL_CALENDAR_SYNC__INTERVAL_SECONDS", "60")]),
        )
        .unwrap();
        assert_eq!(c.calendar_sync.policy(), EditPolicy { deleted: OnDeleted::Restore, moved: OnMoved::Revert });
        assert_eq!(c.calendar_sync.interval_seconds, 60);
        assert_eq!(c.calendar_sync.push_base("http://localhost").as_deref(), Some("https://hooks.example"));
        for (bad, says) in [
            ("deleted = \"ignore\"", "respect or restore"),
            ("moved = \"keep\"", "propose, accept or revert"),
            ("concurrency = 0", "concurrency"),
            ("push_url = \"http://hooks.example\"", "https"),
        ] {
            let e = Config::from_parts(&format!("[calendar_sync]\n{bad}"), "t", &[]).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
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
    fn nested_keys_from_the_environment_are_typed_by_the_schema() {
        let file = "[delivery]\nworkers = 2\nattempts = 3\n[http]\ntrusted_proxies = [\"192.0.2.1\"]";
        let c = Config::from_parts(
            file,
            "t",
            &env(&[
                ("FLOWCAL_DELIVERY__WORKERS", "4"),
                ("FLOWCAL_FEED__DAYS_AHEAD", "90"),
                ("FLOWCAL_HTTP__TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8,"),
                ("FLOWCAL_HTTP__MAX_CONNECTIONS", "16"),
                ("FLOWCAL_SIGN_IN__PASSWORD", "false"),
                ("FLOWCAL_METRICS__TOKEN_FILE", "/run/secrets/metrics"),
                ("FLOWCAL_CALENDAR_EXPORT__ALLOW", "alice,bob"),
                ("FLOWCAL_CALDAV__ALLOWED_HOSTS", ""),
                // The prefix is upper-case; the rest of the name is not.
                ("flowcal_delivery__workers", "9"),
                ("FLOWCAL_feed__refresh_MINUTES", "15"),
            ]),
        )
        .unwrap();
        // The environment wins over the file, key by key: the file's other keys stay.
        assert_eq!((c.delivery.workers, c.delivery.attempts), (4, 3));
        assert_eq!((c.feed.days_ahead, c.feed.days_back, c.feed.refresh_minutes), (90, 30, 15));
        assert_eq!(c.http.trusted_proxies, ["127.0.0.1", "10.0.0.0/8"]);
        assert_eq!(c.http.max_connections, 16);
        assert!(!c.sign_in.password);
        assert_eq!(c.metrics.token_file.as_deref(), Some(Path::new("/run/secrets/metrics")));
        assert!(c.calendar_export.allow.allows("bob") && !c.calendar_export.allow.allows("carol"));
        assert!(c.caldav.allowed_hosts.is_empty());
        for (word, alice) in [("no one", false), ("everyone", true)] {
            let c = Config::from_parts("", "t", &env(&[("FLOWCAL_CALENDAR_EXPORT__ALLOW", word)])).unwrap();
            assert_eq!(c.calendar_export.allow.allows("alice"), alice, "{word}");
        }
        // One login is a list of one.
        let c = Config::from_parts("", "t", &env(&[("FLOWCAL_CALENDAR_EXPORT__ALLOW", "alice")])).unwrap();
        assert!(c.calendar_export.allow.allows("alice") && !c.calendar_export.allow.allows("bob"));
    }

    #[test]
    fn providers_from_the_environment_are_named_by_the_segment_lower_cased() {
        let file = "[providers.home]\nkind = \"microsoft\"\nclient_id = \"home-id\"\ntenant = \"example.com\"";
        let c = Config::from_parts(
            file,
            "t",
            &env(&[
                ("FLOWCAL_PROVIDERS__WORK_GOOGLE__KIND", "google"),
                ("FLOWCAL_PROVIDERS__WORK_GOOGLE__CLIENT_ID", "id-1"),
                ("FLOWCAL_PROVIDERS__WORK_GOOGLE__ALLOWED_DOMAINS", "example.com,example.org"),
                ("FLOWCAL_PROVIDERS__WORK_GOOGLE__SCOPES", "openid,email"),
                ("FLOWCAL_PROVIDERS__WORK_GOOGLE__SIGN_IN", "true"),
                ("FLOWCAL_PROVIDERS__WORK_GOOGLE__CREATE_USERS", "true"),
                ("FLOWCAL_PROVIDERS__WORK_GOOGLE__TOKEN_AUTH", "client_secret_post"),
                ("FLOWCAL_PROVIDERS__HOME__CLIENT_SECRET", "cs-hunter2"),
            ]),
        )
        .unwrap();
        let work = &c.providers["work_google"];
        assert_eq!((work.kind.as_str(), work.client_id.as_str()), ("google", "id-1"));
        assert_eq!(work.allowed_domains, ["example.com", "example.org"]);
        assert_eq!(work.scopes.as_deref(), Some(&["openid".to_owned(), "email".to_owned()][..]));
        assert!(work.sign_in && work.create_users);
        assert!(matches!(work.token_auth, Some(flowcal_connect::oauth::ClientAuth::ClientSecretPost)));
        // A provider of the file gets the secret from the environment and keeps the rest.
        let home = &c.providers["home"];
        assert_eq!((home.client_id.as_str(), home.client_secret.as_deref()), ("home-id", Some("cs-hunter2")));
        assert_eq!(home.tenant.as_deref(), Some("example.com"));
        assert!(!format!("{c:?}").contains("hunter2"));
        // Set in the environment alone, a provider still needs its kind; the error names the variable.
        let e = Config::from_parts("", "f.toml", &env(&[("FLOWCAL_PROVIDERS__X__CLIENT_ID", "c")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("kind") && e.contains("f.toml with FLOWCAL_PROVIDERS__X__CLIENT_ID"), "{e}");
    }

    #[test]
    fn bad_values_are_refused_naming_the_variable_but_not_the_value() {
        for (variable, value, says) in [
            ("FLOWCAL_DELIVERY__WORKERS", "four", "a whole number from 0 to 4294967295"),
            ("FLOWCAL_DELIVERY__WORKERS", "-1", "a whole number"),
            ("FLOWCAL_DELIVERY__WORKERS", "4294967296", "a whole number from 0 to 4294967295"),
            ("FLOWCAL_DELIVERY__LEASE_SECONDS", "1.5", "a whole number from 0 to 9223372036854775807"),
            ("FLOWCAL_SESSION_HOURS", "twelve", "a whole number"),
            ("FLOWCAL_METRICS__PUBLIC", "yes", "true or false"),
            ("FLOWCAL_PROVIDERS__X__SIGN_IN", "1", "true or false"),
        ] {
            let err = Config::from_parts("", "t", &env(&[(variable, value)])).unwrap_err();
            assert!(matches!(&err, ConfigError::Environment { variable: v, .. } if v == variable), "{err}");
            let e = err.to_string();
            assert!(e.contains(variable) && e.contains(says), "{e}");
            assert!(!e.contains(&format!("'{value}'")) && !e.contains(&format!("\"{value}\"")), "{e}");
        }
    }

    #[test]
    fn unknown_keys_in_the_environment_are_refused() {
        for (variable, says) in [
            ("FLOWCAL_DELIVERY__WORKRS", "no configuration key delivery.workrs"),
            ("FLOWCAL_DELIVRY__WORKERS", "no configuration key delivry.workers"),
            ("FLOWCAL_LISTEN__PORT", "no configuration key listen.port"),
            ("FLOWCAL_PROVIDERS__WORK", "FLOWCAL_PROVIDERS__<NAME>__<KEY>"),
            ("FLOWCAL_PROVIDERS__WORK__SECRET", "no configuration key providers.work.secret"),
            ("FLOWCAL_DELIVERY", "delivery is a table: set its keys, e.g. FLOWCAL_DELIVERY__<KEY>"),
            ("FLOWCAL_DELIVERY____WORKERS", "empty"),
            ("FLOWCAL_DELIVERY__", "empty"),
        ] {
            let err = Config::from_parts("", "t", &env(&[(variable, "1")])).unwrap_err();
            let e = err.to_string();
            assert!(matches!(&err, ConfigError::Environment { variable: v, .. } if v == variable), "{e}");
            assert!(e.contains(says), "{e}");
        }
        // A table in the file that is a value cannot take a key.
        let e = Config::from_parts("delivery = 3", "t", &env(&[("FLOWCAL_DELIVERY__WORKERS", "1")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("FLOWCAL_DELIVERY__WORKERS") && e.contains("delivery is a value in the file"), "{e}");
    }

    #[test]
    fn variables_that_are_not_configuration_pass_by() {
        let c = Config::from_parts(
            "",
            "t",
            &env(&[
                ("FLOWCAL_CONFIG", "/etc/flowcal.toml"),
                ("FLOWCAL_PEER_PYTHON", "/opt/peers/bin/python"),
                ("FLOWCAL_OIDC_PEER", "/opt/peers/oidc"),
                ("FLOWCAL_REQUIRE_PEERS", "1"),
                ("FLOWCAL_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1/x"),
                ("FLOWCAL_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1/y"),
                ("FLOWCAL_CHROMIUM", "/usr/bin/chromium"),
                ("FLOWCAL_CHROMEDRIVER", "/usr/bin/chromedriver"),
                ("FLOWCAL_LIBICAL_PYTHON", "/usr/bin/python3"),
                ("FLOWCAL_ICAL_SEED", "7"),
                ("FLOWCAL_FUZZ_SECONDS", "60"),
                ("FLOWCAL_BIN", "/usr/bin/flowcal"),
                ("FLOWCAL_DELIVERY_FILE", "/nonexistent"),
                ("DELIVERY__WORKERS", "x"),
                ("XFLOWCAL_DELIVERY__WORKERS", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(c.database_url, "sqlite://flowcal-data/flowcal.db");
        assert_eq!(c.delivery.workers, 1);
    }

    #[test]
    fn values_can_come_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, content: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, content).unwrap();
            p.display().to_string()
        };
        let url = file("url", "postgres://u:hunter2@db/flowcal\r\n");
        let workers = file("workers", "4\n");
        let secret = file("secret", "cs-1 \n\n");
        let c = Config::from_parts(
            "",
            "t",
            &env(&[
                ("FLOWCAL_DATABASE_URL_FILE", &url),
                ("FLOWCAL_DELIVERY__WORKERS_FILE", &workers),
                ("FLOWCAL_PROVIDERS__WORK__KIND", "google"),
                ("FLOWCAL_PROVIDERS__WORK__CLIENT_ID", "id"),
                ("FLOWCAL_PROVIDERS__WORK__CLIENT_SECRET_FILE", &secret),
                ("FLOWCAL_SECRET_KEY_FILE", "/run/secrets/key"),
            ]),
        )
        .unwrap();
        // The trailing line breaks go; everything else stays.
        assert_eq!(c.database_url, "postgres://u:hunter2@db/flowcal");
        assert_eq!(c.delivery.workers, 4);
        // A key that ends in _file is that key: the provider reads the file itself.
        let work = &c.providers["work"];
        assert_eq!(
            (work.client_secret.as_deref(), work.client_secret_file.as_deref()),
            (None, Some(Path::new(&secret)))
        );
        assert_eq!(c.secret_key_file, Path::new("/run/secrets/key"));
        let c = Config::from_parts("", "t", &env(&[("FLOWCAL_PROVIDERS__W__CLIENT_SECRET_FILE_FILE", &secret)]));
        assert!(c.unwrap_err().to_string().contains("kind"), "client_secret_file read from a file, then kind missing");

        // Both the key and its file: refused, whichever order the environment has.
        for pairs in [
            [("FLOWCAL_DATABASE_URL", "sqlite://x.db"), ("FLOWCAL_DATABASE_URL_FILE", url.as_str())],
            [("FLOWCAL_DATABASE_URL_FILE", url.as_str()), ("FLOWCAL_DATABASE_URL", "sqlite://x.db")],
        ] {
            let e = Config::from_parts("", "t", &env(&pairs)).unwrap_err().to_string();
            assert!(
                e.contains("FLOWCAL_DATABASE_URL_FILE") && e.contains("FLOWCAL_DATABASE_URL sets database_url too"),
                "{e}"
            );
        }
        let missing = dir.path().join("missing").display().to_string();
        let e = Config::from_parts("", "t", &env(&[("FLOWCAL_LOG_FILE", &missing)])).unwrap_err().to_string();
        assert!(e.contains("FLOWCAL_LOG_FILE") && e.contains(&missing), "{e}");
        let big = file("big", &"x".repeat(64 * 1024 + 1));
        let e = Config::from_parts("", "t", &env(&[("FLOWCAL_LOG_FILE", &big)])).unwrap_err().to_string();
        assert!(e.contains("FLOWCAL_LOG_FILE") && e.contains("more than 64 KiB"), "{e}");
        let e = Config::from_parts("", "t", &env(&[("FLOWCAL_FEED__DAYS_BACK_FILE", &secret)])).unwrap_err();
        assert!(!e.to_string().contains("cs-1"), "{e}");
    }

    /// The names a table of the file accepts, as serde lists them when refusing another.
    fn accepted_fields(table: &str) -> Vec<String> {
        let text = if table.is_empty() { "zz_unknown = 1".to_owned() } else { format!("[{table}]\nzz_unknown = 1") };
        let e = Config::from_parts(&text, "t", &[]).unwrap_err().to_string();
        // "unknown field `zz_unknown`, expected one of `a`, `b`\nin `table`"
        let (_, listed) = e.split_once("expected").unwrap_or_else(|| panic!("{e}"));
        let listed = listed.lines().next().unwrap_or_default();
        let mut names: Vec<String> = listed.split('`').skip(1).step_by(2).map(str::to_owned).collect();
        names.sort();
        names
    }

    #[test]
    fn the_schema_names_every_key_with_its_type() {
        // Every key each struct accepts is in the schema, and no other.
        let tables = [
            "",
            "calendar_export",
            "caldav",
            "sign_in",
            "delivery",
            "feed",
            "http",
            "metrics",
            "work_calendars",
            "retention",
            "providers.x",
        ];
        for table in tables {
            let prefix = table.replace(".x", ".*");
            let mut in_schema: Vec<String> = SCHEMA
                .iter()
                .filter_map(|(p, _)| match prefix.as_str() {
                    "" => Some(p.split('.').next().unwrap_or(p)),
                    _ => p.strip_prefix(&format!("{prefix}.")),
                })
                .map(str::to_owned)
                .collect();
            in_schema.sort();
            in_schema.dedup();
            assert_eq!(in_schema, accepted_fields(table), "[{table}]");
        }
        // Each key takes a value of its kind from the environment (other checks may still refuse it).
        for (path, kind) in SCHEMA {
            let variable = format!("FLOWCAL_{}", path.replace('*', "x").replace('.', "__").to_ascii_uppercase());
            let text = match kind {
                Kind::Text => "x",
                Kind::Bool => "true",
                Kind::Whole(_) => "1",
                Kind::List => "a,b",
                Kind::WordOrList => "a",
                Kind::FileOnly => continue,
            };
            if let Err(e) = Config::from_parts("", "t", &env(&[(&variable, text)])) {
                let e = e.to_string();
                assert!(!e.contains("invalid type") && !e.contains("unknown field"), "{variable}: {e}");
            }
        }
    }

    #[test]
    fn example_is_valid() {
        Config::from_parts(Config::example(), "example", &[]).unwrap();
    }
}
