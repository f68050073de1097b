//! Persistence for flowcal: one store over SQLite (the embedded default) or
//! PostgreSQL, picked from the database URL's scheme.
//!
//! Both backends share one implementation written in the SQL both understand
//! (see [`db`]); only the migrations differ per backend. Every change to an
//! instance and the domain events it causes are written in one transaction.
//! This crate decides nothing about workflows: the engine does, and the
//! domain's pure functions (which exports auto-sync wants:
//! `flowcal_domain::export::auto_sync_plan`); the store reads their inputs
//! and writes their results.
//!
//! Modules import one another one way only. From the bottom up, each uses
//! only modules above it in this list (and the crate root's `Store`,
//! `Backend` and `StoreError`, which every module may use):
//!
//! 1. `db`: connections, the pool, rows read by column name; under it,
//!    `pg_tls`: TLS for PostgreSQL by libpq's `sslmode` rules
//! 2. `error`, then `rows`: the error type; domain values in columns;
//!    `paging`: pages of lists and the keys they are sorted by
//! 3. `migrate`
//! 4. `feed_version`: moving the feed version of whoever a change concerns
//! 5. `access`: settings, providers, calendar accounts, the audit log
//! 6. `users`
//! 7. `feeds`
//! 8. `models`: models and the work calendars they name
//! 9. `workcals`: work calendars, their holiday sources, and the instances
//!    a calendar's change must recompute
//! 10. `exports`: the outbox and auto-sync
//! 11. `timers`: waiting timers, claimed by workers
//! 12. `instances`: instances and tasks; every change syncs exports and timers
//! 13. `web`: what the pages read across users, exports and accounts
#![forbid(unsafe_code)]

mod access;
mod calendar_reads;
mod db;
mod error;
mod exports;
mod feed_version;
mod feeds;
mod instances;
mod migrate;
mod models;
mod paging;
mod pg_tls;
mod rows;
mod timers;
mod users;
mod web;
mod workcals;

pub use access::{
    AccountKind, AccountStatus, Audit, AuditRecord, CalendarAccount, NewAccount, OAuthState, SealedColumn,
    StatePurpose, StoredProvider,
};
pub use calendar_reads::{Channel, ReadClaim, ReadOutcome, RemoteChange};
pub use db::{postgres_session_tls, DbError};
pub use error::StoreError;
pub use exports::{ExportOutcome, ExportRecord, NewExport};
pub use feeds::{FeedMark, FeedOwner};
pub use flowcal_domain::instance::TaskState;
pub use instances::{DueWindow, EventRecord, InstanceRecord, TaskFilter, TaskRecord, TaskSort};
pub use models::{ModelSummary, StoredModel, MODELS_NAMING_CALENDAR};
pub use paging::{deadline_sort_key, Page, COUNT_CAP, MAX_PAGE};
pub use timers::{DueTimer, TimerTarget};
pub use users::{AccessChange, ApiToken, NewUser, TokenLookup, User};
pub use web::{SignInCounter, SignInLock, SignInRule, SignInRules};
pub use workcals::{FetchOutcome, SourceRecord, SourceSpec, SourceStatus, StoredWorkCalendar};

use db::{Conn, Pool};
use std::sync::Arc;

/// Which database the store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Picks the backend from a URL's scheme.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Config(format!(
                "the database URL must start with sqlite:// or postgres:// (got '{}')",
                redact_url(url)
            )))
        }
    }
}

/// The store. Cheap to clone: it holds a connection pool.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Arc<Pool>,
    backend: Backend,
}

impl Store {
    /// Connects (and checks the connection); a SQLite file and its folder are
    /// created when missing.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let backend = Backend::from_url(url)?;
        let (target, size) = match backend {
            Backend::Sqlite => {
                let path = sqlite_path(url);
                prepare_sqlite_file(&path)?;
                (path, 4)
            }
            Backend::Postgres => (url.to_owned(), 10),
        };
        let pool =
            Pool::new(backend, target, size).map_err(|source| StoreError::Connect { url: redact_url(url), source })?;
        let store = Store { pool: Arc::new(pool), backend };
        store
            .pool
            .run(false, |c: &mut dyn Conn| c.query("SELECT 1", &[]).map(|_| ()))
            .await
            .map_err(|source: DbError| StoreError::Connect { url: redact_url(url), source })?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies the embedded migrations that are not applied yet; returns their names.
    pub async fn migrate(&self) -> Result<Vec<String>, StoreError> {
        let now = jiff::Timestamp::now().as_millisecond();
        self.pool.run(false, move |c| migrate::run(c, now)).await
    }

    /// The migrations this flowcal has that the database lacks (empty: the
    /// schema is current).
    pub async fn pending_migrations(&self) -> Result<Vec<String>, StoreError> {
        self.read(migrate::pending).await
    }

    /// Rung once a transaction that wrote to the outbox has committed: for
    /// this process's writes always, and on PostgreSQL for every process's
    /// while [`Store::watch_outbox`] runs.
    pub fn outbox_signal(&self) -> Arc<tokio::sync::Notify> {
        self.pool.outbox_signal()
    }

    /// On PostgreSQL, rings [`Store::outbox_signal`] for the outbox writes of
    /// every process (`LISTEN`/`NOTIFY`, on a thread and a connection of its
    /// own) until the returned watch is dropped. `None` on SQLite, where only
    /// one process writes.
    pub fn watch_outbox(&self) -> Result<Option<OutboxWatch>, StoreError> {
        if self.backend != Backend::Postgres {
            return Ok(None);
        }
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        db::listen_outbox(self.pool.target().to_owned(), self.outbox_signal(), stop.clone())
            .map_err(|e| StoreError::Config(format!("cannot start listening for outbox changes: {e}")))?;
        Ok(Some(OutboxWatch { stop }))
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.pool.run(false, |c| Ok::<_, StoreError>(c.query("SELECT 1", &[]).map(|_| ())?)).await
    }

    /// Copies a SQLite database to `path` (a new file) while flowcal runs and
    /// writes: `VACUUM INTO` writes one consistent snapshot of the database
    /// as it was when the copy began. Refused for PostgreSQL, whose own tools
    /// (`pg_dump`, base backups) do this.
    pub async fn backup_to(&self, path: &std::path::Path) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Config(
                "flowcal backup copies SQLite databases; back up PostgreSQL with pg_dump or the provider's \
                 backups (docs/deploy.md)"
                    .into(),
            ));
        }
        if path.exists() {
            return Err(StoreError::Config(format!("{} exists already: name a new file", path.display())));
        }
        let target = path.to_str().ok_or_else(|| StoreError::Config("the backup's path is not UTF-8".into()))?;
        let target = target.to_owned();
        self.read(move |c| Ok(c.execute("VACUUM INTO $1", db::params![target]).map(|_| ())?)).await
    }

    /// Closes idle connections.
    /// On SQLite, the rows this process's statements stepped through in full
    /// table scans of this database so far; `None` on PostgreSQL (whose own
    /// `pg_stat_user_tables.seq_tup_read` tells the same).
    pub fn sqlite_full_scan_steps(&self) -> Option<u64> {
        (self.backend == Backend::Sqlite)
            .then(|| db::full_scan_counter(self.pool.target()).load(std::sync::atomic::Ordering::Relaxed))
    }

    pub fn close(&self) {
        self.pool.close();
    }

    /// Runs `f` in one transaction.
    pub(crate) async fn tx<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<T, StoreError> + Send + 'static,
    {
        self.pool.run(true, f).await
    }

    /// Runs `f` outside a transaction (single statements, reads).
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<T, StoreError> + Send + 'static,
    {
        self.pool.run(false, f).await
    }
}

/// Listens for other processes' outbox writes while it lives.
#[derive(Debug)]
pub struct OutboxWatch {
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for OutboxWatch {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The file path of a `sqlite://PATH?options` URL.
fn sqlite_path(url: &str) -> String {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    rest.split('?').next().unwrap_or(rest).to_owned()
}

/// Creates the folder a SQLite database file goes in (mode 0700) and the
/// file itself (mode 0600): it holds sealed credentials, password hashes and
/// everyone's data. SQLite gives its `-wal` and `-shm` files the database
/// file's mode, so they are private too. An existing database readable by
/// others is made private.
fn prepare_sqlite_file(path: &str) -> Result<(), StoreError> {
    if path.is_empty() || path.starts_with(":memory:") || path.contains("mode=memory") {
        // Each pooled connection would get its own empty database.
        return Err(StoreError::Config(
            "an in-memory SQLite database is not supported: give a file, e.g. sqlite://flowcal-data/flowcal.db".into(),
        ));
    }
    let file = std::path::Path::new(path);
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(|e| {
            StoreError::Config(format!("cannot create the folder {} for the database: {e}", dir.display()))
        })?;
    }
    private_file(file)
        .map_err(|e| StoreError::Config(format!("cannot create the database file {}: {e}", file.display())))
}

#[cfg(unix)]
fn private_file(file: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::OpenOptions::new().write(true).create(true).truncate(false).mode(0o600).open(file)?;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        let p = std::path::Path::new(&name);
        match std::fs::metadata(p) {
            Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600))?;
                tracing::warn!(file = %p.display(), "the database file was readable by others; made it private (0600)");
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn private_file(_: &std::path::Path) -> std::io::Result<()> {
    Ok(())
}

/// Hides the password in a database URL (in the user part and in a
/// `password=` query parameter), for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority_end, _) = rest.char_indices().find(|(_, c)| matches!(c, '/' | '?')).unwrap_or((rest.len(), ' '));
    let (authority, tail) = rest.split_at(authority_end);
    // The password may hold an unencoded '@': the host follows the last one.
    let authority = match authority.rsplit_once('@') {
        Some((creds, host)) => {
            let user = creds.split(':').next().unwrap_or("");
            format!("{user}:***@{host}")
        }
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_and_redaction() {
        assert_eq!(Backend::from_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::from_url("postgres://u@h/db").unwrap(), Backend::Postgres);
        assert!(Backend::from_url("mysql://h/db").is_err());
        assert_eq!(redact_url("postgres://bob:secret@db:5432/x"), "postgres://bob:***@db:5432/x");
        assert_eq!(redact_url("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
        assert_eq!(redact_url("postgres://u:p@ss@db/x?sslmode=require"), "postgres://u:***@db/x?sslmode=require");
        assert_eq!(redact_url("postgres://db/x?user=u&password=s3cret"), "postgres://db/x?user=u&password=***");
        assert!(prepare_sqlite_file(":memory:").is_err());
        assert_eq!(sqlite_path("sqlite:///tmp/x.db?mode=rwc"), "/tmp/x.db");
        assert_eq!(sqlite_path("sqlite://data/x.db"), "data/x.db");
    }
}
