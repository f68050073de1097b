//! The thin layer under the store: one connection interface with a SQLite
//! implementation (rusqlite, in-process) and a PostgreSQL one (the `postgres`
//! client), plus a small pool. Store code is written once against [`Conn`] in
//! the SQL both databases understand (`$1` placeholders, `CAST`, `RETURNING`),
//! and reads every row by column name.
//!
//! Calls are synchronous and run on Tokio's blocking threads, one hop per
//! store operation rather than per statement: SQLite answers in microseconds,
//! so a thread hop per statement would cost more than the work.

use crate::pg_tls;
use crate::Backend;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A statement parameter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param {
    Int(i64),
    Text(String),
    Null,
}

impl From<i64> for Param {
    fn from(v: i64) -> Self {
        Param::Int(v)
    }
}
impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Param::Text(v.to_owned())
    }
}
impl From<String> for Param {
    fn from(v: String) -> Self {
        Param::Text(v)
    }
}
impl From<&String> for Param {
    fn from(v: &String) -> Self {
        Param::Text(v.clone())
    }
}
impl<T: Into<Param>> From<Option<T>> for Param {
    fn from(v: Option<T>) -> Self {
        v.map_or(Param::Null, Into::into)
    }
}

/// Builds a parameter list: `params![a, b, c]`.
macro_rules! params {
    ($($p:expr),* $(,)?) => { &[$($crate::db::Param::from($p)),*] as &[$crate::db::Param] };
}
pub(crate) use params;

/// A value read from a row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Int(i64),
    Text(String),
    Null,
}

/// The column names of a result, shared by its rows and kept with the
/// prepared statement. SQLite names a plain column by the column itself
/// (`e.id` is `id`, as on PostgreSQL); an expression needs an alias.
pub(crate) type Columns = Arc<[Box<str>]>;

/// The names of a statement's columns; refused when one name appears twice,
/// since reading by that name would be ambiguous.
fn columns<'a>(names: impl Iterator<Item = &'a str>) -> Result<Columns, DbError> {
    let names: Vec<Box<str>> = names.map(Box::from).collect();
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            return Err(DbError::other(format!("the query has two columns named '{n}': give one an alias")));
        }
    }
    Ok(names.into())
}

/// One result row, read by column name.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    columns: Columns,
    cells: Vec<Cell>,
}

impl Row {
    fn cell(&self, name: &str) -> Result<&Cell, DbError> {
        // A handful of short names: a scan costs less than hashing.
        self.columns
            .iter()
            .position(|c| &**c == name)
            .and_then(|i| self.cells.get(i))
            .ok_or_else(|| DbError::other(format!("the query has no column '{name}'")))
    }

    pub(crate) fn int(&self, name: &str) -> Result<i64, DbError> {
        match self.cell(name)? {
            Cell::Int(v) => Ok(*v),
            c => Err(DbError::other(format!("column {name}: expected an integer, found {c:?}"))),
        }
    }

    pub(crate) fn opt_int(&self, name: &str) -> Result<Option<i64>, DbError> {
        match self.cell(name)? {
            Cell::Null => Ok(None),
            _ => self.int(name).map(Some),
        }
    }

    pub(crate) fn text(&self, name: &str) -> Result<String, DbError> {
        match self.cell(name)? {
            Cell::Text(v) => Ok(v.clone()),
            c => Err(DbError::other(format!("column {name}: expected text, found {c:?}"))),
        }
    }

    pub(crate) fn opt_text(&self, name: &str) -> Result<Option<String>, DbError> {
        match self.cell(name)? {
            Cell::Null => Ok(None),
            _ => self.text(name).map(Some),
        }
    }
}

/// A database error, classified as far as the store needs.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct DbError {
    pub(crate) unique_violation: bool,
    /// The connection cannot be used again.
    pub(crate) broken: bool,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl DbError {
    pub(crate) fn other(message: String) -> Self {
        DbError { unique_violation: false, broken: false, message, source: None }
    }

    /// The same error, for a second receiver (the source chain stays with the first).
    fn copy(&self) -> Self {
        DbError {
            unique_violation: self.unique_violation,
            broken: self.broken,
            message: self.message.clone(),
            source: None,
        }
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        let unique = matches!(&e, rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY);
        DbError { unique_violation: unique, broken: false, message: format!("SQLite: {e}"), source: Some(Box::new(e)) }
    }
}

impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> Self {
        let unique = e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION);
        let broken = e.is_closed();
        let message = match e.as_db_error() {
            Some(db) => format!("PostgreSQL: {}: {}", db.code().code(), db.message()),
            None => format!("PostgreSQL: {e}"),
        };
        DbError { unique_violation: unique, broken, message, source: Some(Box::new(e)) }
    }
}

/// One database connection.
pub(crate) trait Conn: Send {
    /// Runs a statement; returns the number of rows changed.
    fn execute(&mut self, sql: &str, params: &[Param]) -> Result<u64, DbError>;
    /// Runs a query; returns all rows.
    fn query(&mut self, sql: &str, params: &[Param]) -> Result<Vec<Row>, DbError>;
    /// Runs several statements without parameters (migrations).
    fn batch(&mut self, sql: &str) -> Result<(), DbError>;
    /// Starts a transaction that will write: SQLite takes its write lock at
    /// once (`BEGIN IMMEDIATE`), so two writers queue instead of deadlocking.
    fn begin(&mut self) -> Result<(), DbError>;
    fn backend(&self) -> Backend;
    /// The connection died and must not go back to the pool.
    fn is_broken(&self) -> bool {
        false
    }
    /// Whether a transaction is open.
    fn in_transaction(&self) -> bool;

    fn query_one(&mut self, sql: &str, params: &[Param]) -> Result<Row, DbError> {
        self.query_opt(sql, params)?.ok_or_else(|| DbError::other("the query returned no row".into()))
    }

    fn query_opt(&mut self, sql: &str, params: &[Param]) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
}

// ---- SQLite -------------------------------------------------------------------------------------

/// Per SQLite database file, the rows its statements stepped through in
/// full table scans (`SQLITE_STMTSTATUS_FULLSCAN_STEP`), summed over every
/// connection of this process: a statement that should read by an index and
/// scans a growing table shows here (`flowcal_sqlite_full_scan_steps_total`).
pub(crate) fn full_scan_counter(path: &str) -> Arc<std::sync::atomic::AtomicU64> {
    static COUNTERS: std::sync::OnceLock<Mutex<std::collections::HashMap<String, Arc<std::sync::atomic::AtomicU64>>>> =
        std::sync::OnceLock::new();
    let counters = COUNTERS.get_or_init(Default::default);
    counters.lock().unwrap_or_else(|p| p.into_inner()).entry(path.to_owned()).or_default().clone()
}

struct Sqlite {
    conn: rusqlite::Connection,
    /// [`full_scan_counter`] of its file.
    scans: Arc<std::sync::atomic::AtomicU64>,
    /// By the store's SQL text: the text SQLite runs (the store uses `$N`;
    /// SQLite binds `?N` by number without a name lookup) and, once queried,
    /// the column names.
    rewritten: std::collections::HashMap<String, (String, Option<Columns>)>,
}

impl Sqlite {
    fn open(path: &str) -> Result<Self, DbError> {
        let c = rusqlite::Connection::open(path)?;
        c.busy_timeout(Duration::from_secs(10))?;
        // WAL lets readers run beside the writer; NORMAL sync is durable at
        // checkpoints and never corrupts the database.
        c.pragma_update(None, "journal_mode", "WAL")?;
        c.pragma_update(None, "synchronous", "NORMAL")?;
        c.pragma_update(None, "foreign_keys", "ON")?;
        // Savepoints of the batched writer keep their undo pages in memory.
        c.pragma_update(None, "temp_store", "MEMORY")?;
        c.set_prepared_statement_cache_capacity(128);
        // Plans must not depend on bound values: without this, the bundled
        // SQLite (built with STAT4) re-prepares a statement for every new
        // binding of an indexed column, which costs more than running it.
        c.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        // A larger page cache than SQLite's 2 MiB: the indexes a busy
        // instance reads stay in memory instead of being read again.
        c.pragma_update(None, "cache_size", -16_384)?;
        Ok(Sqlite { conn: c, scans: full_scan_counter(path), rewritten: std::collections::HashMap::new() })
    }

    /// The statement, and its column names when `named`.
    fn prepare(&mut self, sql: &str, named: bool) -> Result<(rusqlite::CachedStatement<'_>, Option<Columns>), DbError> {
        if !self.rewritten.contains_key(sql) {
            self.rewritten.insert(sql.to_owned(), (sql.replace('$', "?"), None));
        }
        let Some((text, names)) = self.rewritten.get_mut(sql) else {
            return Err(DbError::other("a rewritten statement went missing".into()));
        };
        let stmt = self.conn.prepare_cached(text)?;
        if named && names.is_none() {
            *names = Some(columns(stmt.column_names())?);
        }
        Ok((stmt, names.clone()))
    }

    /// Adds what the statement stepped through in full scans since it last
    /// ran to the file's counter.
    fn count_scans(stmt: &rusqlite::Statement<'_>, scans: &std::sync::atomic::AtomicU64) {
        let steps = stmt.reset_status(rusqlite::StatementStatus::FullscanStep);
        if steps > 0 {
            scans.fetch_add(u64::try_from(steps).unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn bind(stmt: &mut rusqlite::CachedStatement<'_>, params: &[Param]) -> Result<(), DbError> {
        let used = stmt.parameter_count();
        for (i, p) in params.iter().enumerate() {
            // `?N` has index N; a parameter the text does not use is skipped.
            let idx = i + 1;
            if idx > used {
                break;
            }
            match p {
                Param::Int(v) => stmt.raw_bind_parameter(idx, v)?,
                Param::Text(v) => stmt.raw_bind_parameter(idx, v)?,
                Param::Null => stmt.raw_bind_parameter(idx, rusqlite::types::Null)?,
            }
        }
        Ok(())
    }
}

impl Conn for Sqlite {
    fn execute(&mut self, sql: &str, params: &[Param]) -> Result<u64, DbError> {
        let scans = self.scans.clone();
        let (mut stmt, _) = self.prepare(sql, false)?;
        Self::bind(&mut stmt, params)?;
        let changed = stmt.raw_execute();
        Self::count_scans(&stmt, &scans);
        Ok(changed? as u64)
    }

    fn query(&mut self, sql: &str, params: &[Param]) -> Result<Vec<Row>, DbError> {
        let scans = self.scans.clone();
        let (mut stmt, names) = self.prepare(sql, true)?;
        let names = names.ok_or_else(|| DbError::other("a query without column names".into()))?;
        Self::bind(&mut stmt, params)?;
        let n = stmt.column_count();
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut cells = Vec::with_capacity(n);
            for i in 0..n {
                cells.push(match r.get_ref(i)? {
                    rusqlite::types::ValueRef::Integer(v) => Cell::Int(v),
                    rusqlite::types::ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                    rusqlite::types::ValueRef::Null => Cell::Null,
                    other => return Err(DbError::other(format!("unexpected SQLite value {other:?}"))),
                });
            }
            out.push(Row { columns: names.clone(), cells });
        }
        drop(rows);
        Self::count_scans(&stmt, &scans);
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.conn.execute_batch(sql)?)
    }

    fn begin(&mut self) -> Result<(), DbError> {
        self.execute("BEGIN IMMEDIATE", &[]).map(|_| ())
    }

    fn in_transaction(&self) -> bool {
        !self.conn.is_autocommit()
    }

    fn backend(&self) -> Backend {
        Backend::Sqlite
    }
}

// ---- PostgreSQL ---------------------------------------------------------------------------------

struct Pg {
    client: postgres::Client,
    /// Prepared statements and their column names by SQL text: preparing
    /// costs a round trip.
    statements: std::collections::HashMap<String, (postgres::Statement, Columns)>,
}

impl postgres::types::ToSql for Param {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use postgres::types::Type;
        match self {
            Param::Null => Ok(postgres::types::IsNull::Yes),
            Param::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                _ => Err(format!("cannot send an integer as {ty}").into()),
            },
            Param::Text(v) => v.as_str().to_sql(ty, out),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

impl Pg {
    fn rows(rows: Vec<postgres::Row>, names: &Columns) -> Result<Vec<Row>, DbError> {
        use postgres::types::Type;
        rows.into_iter()
            .map(|r| {
                let mut cells = Vec::with_capacity(r.len());
                for (i, col) in r.columns().iter().enumerate() {
                    let cell = match *col.type_() {
                        Type::INT8 => r.try_get::<_, Option<i64>>(i)?.map_or(Cell::Null, Cell::Int),
                        Type::INT4 => r.try_get::<_, Option<i32>>(i)?.map_or(Cell::Null, |v| Cell::Int(v.into())),
                        Type::INT2 => r.try_get::<_, Option<i16>>(i)?.map_or(Cell::Null, |v| Cell::Int(v.into())),
                        Type::BOOL => r.try_get::<_, Option<bool>>(i)?.map_or(Cell::Null, |v| Cell::Int(v.into())),
                        _ => r.try_get::<_, Option<String>>(i)?.map_or(Cell::Null, Cell::Text),
                    };
                    cells.push(cell);
                }
                Ok(Row { columns: names.clone(), cells })
            })
            .collect()
    }

    fn refs(params: &[Param]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
        params.iter().map(|p| p as &(dyn postgres::types::ToSql + Sync)).collect()
    }
}

impl Pg {
    fn statement(&mut self, sql: &str) -> Result<(postgres::Statement, Columns), DbError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        let names = columns(s.columns().iter().map(postgres::Column::name))?;
        self.statements.insert(sql.to_owned(), (s.clone(), names.clone()));
        Ok((s, names))
    }
}

impl Conn for Pg {
    fn execute(&mut self, sql: &str, params: &[Param]) -> Result<u64, DbError> {
        let (stmt, _) = self.statement(sql)?;
        Ok(self.client.execute(&stmt, &Self::refs(params))?)
    }

    fn query(&mut self, sql: &str, params: &[Param]) -> Result<Vec<Row>, DbError> {
        let (stmt, names) = self.statement(sql)?;
        Self::rows(self.client.query(&stmt, &Self::refs(params))?, &names)
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.client.batch_execute(sql)?)
    }

    fn is_broken(&self) -> bool {
        self.client.is_closed()
    }

    fn begin(&mut self) -> Result<(), DbError> {
        self.batch("BEGIN")
    }

    fn in_transaction(&self) -> bool {
        // The pool rolls back or commits every transaction it opens; the
        // client keeps no flag for it.
        false
    }

    fn backend(&self) -> Backend {
        Backend::Postgres
    }
}

// ---- the pool ----------------------------------------------------------------------------------

/// A bounded pool of connections, opened on demand. On SQLite, transactions
/// go to one writer thread instead (see [`Writer`]).
pub(crate) struct Pool {
    backend: Backend,
    target: String,
    idle: Arc<Mutex<Vec<Box<dyn Conn>>>>,
    permits: Arc<tokio::sync::Semaphore>,
    writer: Option<Writer>,
    /// Rung after every transaction that wrote to the outbox (see [`mark_outbox`]).
    outbox: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("backend", &self.backend).finish_non_exhaustive()
    }
}

/// Opens a PostgreSQL client (blocking): every connection flowcal opens to
/// PostgreSQL, pooled or not, comes from here. `target` is a `postgres://`
/// URL or a `key=value` string; its `sslmode` and `sslrootcert` are applied
/// as libpq applies them (see [`crate::pg_tls`]).
pub(crate) fn pg_client(target: &str) -> Result<postgres::Client, DbError> {
    pg_tls::connect(target).map_err(|failure| match failure {
        pg_tls::Failure::Explained(message) => DbError::other(message),
        pg_tls::Failure::Postgres(e) => e.into(),
    })
}

/// Whether a PostgreSQL session opened from `url` (as flowcal opens every
/// one) is encrypted, as the server sees it: the TLS version (`TLSv1.3`), or
/// `None` in the clear. For checking a deployment's `database_url`.
pub async fn postgres_session_tls(url: &str) -> Result<Option<String>, DbError> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut client = pg_client(&url)?;
        let row = client.query_one("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])?;
        let version: Option<String> = row.try_get("version")?;
        Ok(if row.try_get::<_, bool>("ssl")? { Some(version.unwrap_or_default()) } else { None })
    })
    .await
    .map_err(|e| DbError::other(format!("a database task failed: {e}")))?
}

/// The PostgreSQL channel that tells every flowcal process of a change to the
/// outbox (`LISTEN`/`NOTIFY`).
pub(crate) const OUTBOX_CHANNEL: &str = "flowcal_outbox";

std::thread_local! {
    /// Set by [`mark_outbox`] on the thread that runs a store operation.
    static OUTBOX_MARK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Records that the running operation wrote to the outbox (an export made or
/// made pending again): once it commits, the delivery workers of this process
/// are woken, and on PostgreSQL a `NOTIFY` in the same transaction wakes
/// those of every other process.
pub(crate) fn mark_outbox(c: &mut dyn Conn) -> Result<(), DbError> {
    if !OUTBOX_MARK.with(|m| m.replace(true)) && c.backend() == Backend::Postgres {
        c.execute(&format!("NOTIFY {OUTBOX_CHANNEL}"), &[])?;
    }
    Ok(())
}

/// Listens on PostgreSQL for every process's outbox writes and rings `signal`
/// for each, until `stop` is set: on a thread of its own, with one
/// connection, opened again (after a pause) when it breaks. The signal is
/// also rung each time listening (re)starts, for what came while it did not.
pub(crate) fn listen_outbox(
    target: String,
    signal: Arc<tokio::sync::Notify>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    use postgres::fallible_iterator::FallibleIterator;
    let stopped = move || stop.load(std::sync::atomic::Ordering::SeqCst);
    std::thread::Builder::new().name("flowcal-outbox-listen".into()).spawn(move || {
        while !stopped() {
            let mut client = match pg_client(&target).and_then(|mut c| {
                c.batch_execute(&format!("LISTEN {OUTBOX_CHANNEL}"))?;
                Ok(c)
            }) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for outbox changes; the workers poll meanwhile");
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
            };
            ring(&signal);
            while !stopped() {
                // Short waits, so that `stop` is seen soon.
                let next = client.notifications().timeout_iter(Duration::from_millis(250)).next().map(|n| n.is_some());
                match next {
                    Ok(true) => {
                        // Every notification waiting now is answered by one ring.
                        while let Ok(Some(_)) = client.notifications().iter().next() {}
                        ring(&signal);
                    }
                    Ok(false) if !client.is_closed() => {}
                    Ok(false) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "the connection that listens for outbox changes broke; opening another");
                        break;
                    }
                }
            }
        }
    })
}

/// Wakes every waiting worker, and the next one to wait if none is.
pub(crate) fn ring(signal: &tokio::sync::Notify) {
    signal.notify_waiters();
    signal.notify_one();
}

impl Pool {
    /// `target`: the SQLite file path, or the PostgreSQL URL.
    pub(crate) fn new(backend: Backend, target: String, size: usize) -> Result<Self, DbError> {
        let writer = match backend {
            Backend::Sqlite => Some(Writer::start(target.clone())?),
            Backend::Postgres => None,
        };
        Ok(Pool {
            backend,
            target,
            idle: Arc::new(Mutex::new(Vec::new())),
            permits: Arc::new(tokio::sync::Semaphore::new(size)),
            writer,
            outbox: Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// Opens a connection (blocking).
    pub(crate) fn connect(backend: Backend, target: &str) -> Result<Box<dyn Conn>, DbError> {
        Ok(match backend {
            Backend::Sqlite => Box::new(Sqlite::open(target)?),
            Backend::Postgres => {
                Box::new(Pg { client: pg_client(target)?, statements: std::collections::HashMap::new() })
            }
        })
    }

    /// Runs `f` with a connection on a blocking thread. Without `tx`, `f`
    /// runs in autocommit mode; with it, in a transaction committed when `f`
    /// returns `Ok` and rolled back otherwise.
    pub(crate) async fn run<T, E, F>(&self, tx: bool, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<T, E> + Send + 'static,
    {
        // The mark is read on the thread that ran `f`, right after it; the
        // answer comes back once the transaction is committed.
        let marked = move |c: &mut dyn Conn| match f(c) {
            Ok(v) => Ok((v, OUTBOX_MARK.with(|m| m.replace(false)))),
            Err(e) => {
                OUTBOX_MARK.with(|m| m.set(false));
                Err(e)
            }
        };
        let (value, wrote_outbox) = match (tx, &self.writer) {
            (true, Some(writer)) => writer.run(marked).await?,
            _ => self.run_pooled(tx, marked).await?,
        };
        if wrote_outbox {
            ring(&self.outbox);
        }
        Ok(value)
    }

    /// The SQLite file path, or the PostgreSQL URL.
    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    /// Rung after every committed transaction that wrote to the outbox.
    pub(crate) fn outbox_signal(&self) -> Arc<tokio::sync::Notify> {
        self.outbox.clone()
    }

    async fn run_pooled<T, E, F>(&self, tx: bool, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<T, E> + Send + 'static,
    {
        let permit = self.permits.clone().acquire_owned().await.map_err(|_| DbError::other("pool closed".into()))?;
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match idle {
            Some(c) => c,
            None => self.open_blocking().await?,
        };
        let pool = self.idle.clone();
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let result = if tx { in_transaction(conn.as_mut(), f) } else { f(conn.as_mut()).map_err(Outcome::App) };
            let broken = conn.is_broken() || matches!(&result, Err(Outcome::Db(e)) if e.broken);
            // The connection goes back (or, dead, is dropped) here, on the
            // blocking thread: closing a PostgreSQL client blocks.
            if !broken {
                pool.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
            }
            result
        })
        .await
        .map_err(|e| DbError::other(format!("a database task failed: {e}")))?;
        result.map_err(Outcome::into_app)
    }

    async fn open_blocking(&self) -> Result<Box<dyn Conn>, DbError> {
        let (backend, target) = (self.backend, self.target.clone());
        tokio::task::spawn_blocking(move || Pool::connect(backend, &target))
            .await
            .map_err(|e| DbError::other(format!("opening a connection failed: {e}")))?
    }

    /// Closes idle connections.
    pub(crate) fn close(&self) {
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|p| p.into_inner()));
        close_off_runtime(idle);
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.close();
    }
}

/// Drops connections on a plain thread: a PostgreSQL client blocks while it
/// closes, which must not happen on an async worker.
fn close_off_runtime(conns: Vec<Box<dyn Conn>>) {
    if conns.is_empty() {
        return;
    }
    if let Err(e) = std::thread::Builder::new().name("flowcal-db-close".into()).spawn(move || drop(conns)) {
        tracing::warn!(error = %e, "could not start a thread to close database connections");
    }
}

// ---- the SQLite writer --------------------------------------------------------------------------

/// SQLite allows one writer at a time, and every commit writes its pages to
/// the WAL. So all of this process's write transactions go to one thread,
/// which runs the ones waiting together in a single database transaction,
/// each inside its own savepoint: a job that fails rolls back alone, and no
/// job's result is handed out before the commit that makes it durable.
struct Writer {
    jobs: std::sync::mpsc::Sender<Box<dyn WriteJob>>,
}

/// At most this many jobs share one commit.
const MAX_BATCH: usize = 64;

/// Hands a job's result out once its batch is committed (or failed).
type Delivery = Box<dyn FnOnce(Option<&DbError>) + Send>;

trait WriteJob: Send {
    /// Runs the job (in a savepoint when it shares the transaction).
    fn run(self: Box<Self>, c: &mut dyn Conn, alone: bool) -> Ran;
    fn fail(self: Box<Self>, e: &DbError);
}

/// What running a job left behind.
struct Ran {
    /// How to hand out its result once the batch is committed (or failed).
    delivery: Delivery,
    /// A statement that brackets the job failed: the transaction can no
    /// longer be trusted and the whole batch must be rolled back.
    poisoned: bool,
    /// The job returned an error (and, alone, rolled its transaction back).
    failed: bool,
}

struct Job<T, E, F> {
    f: F,
    reply: tokio::sync::oneshot::Sender<Result<T, Outcome<E>>>,
}

impl<T, E, F> WriteJob for Job<T, E, F>
where
    T: Send + 'static,
    E: Send + 'static,
    F: FnOnce(&mut dyn Conn) -> Result<T, E> + Send + 'static,
{
    fn run(self: Box<Self>, c: &mut dyn Conn, alone: bool) -> Ran {
        let Job { f, reply } = *self;
        // Alone in its transaction, a failed job rolls back the transaction itself.
        // (Single statements through `execute`: they stay prepared.)
        let (open, ok, failed): (&[&str], &[&str], &[&str]) = if alone {
            (&[], &[], &["ROLLBACK"])
        } else {
            (&["SAVEPOINT job"], &["RELEASE job"], &["ROLLBACK TO job", "RELEASE job"])
        };
        let mut poisoned = false;
        let result = match run_all(c, open) {
            Err(e) => {
                poisoned = true;
                Err(Outcome::Db(e))
            }
            Ok(()) => {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(c)));
                let r = match r {
                    Ok(Ok(v)) => Ok(v),
                    Ok(Err(e)) => Err(Outcome::App(e)),
                    Err(_) => Err(Outcome::Db(DbError::other("a database job panicked".into()))),
                };
                match run_all(c, if r.is_ok() { ok } else { failed }) {
                    Ok(()) => r,
                    Err(e) => {
                        poisoned = true;
                        Err(Outcome::Db(e))
                    }
                }
            }
        };
        let failed = result.is_err();
        let delivery: Delivery = Box::new(move |commit: Option<&DbError>| {
            let result = match (result, commit) {
                (Ok(_), Some(e)) => Err(Outcome::Db(e.copy())),
                (r, _) => r,
            };
            let _ = reply.send(result);
        });
        Ran { delivery, poisoned, failed }
    }

    fn fail(self: Box<Self>, e: &DbError) {
        let _ = self.reply.send(Err(Outcome::Db(e.copy())));
    }
}

fn run_all(c: &mut dyn Conn, statements: &[&str]) -> Result<(), DbError> {
    statements.iter().try_for_each(|sql| c.execute(sql, &[]).map(|_| ()))
}

impl Writer {
    fn start(path: String) -> Result<Writer, DbError> {
        let (jobs, queue) = std::sync::mpsc::channel::<Box<dyn WriteJob>>();
        std::thread::Builder::new()
            .name("flowcal-sqlite-writer".into())
            .spawn(move || Self::work(&path, &queue))
            .map_err(|e| DbError::other(format!("cannot start the SQLite writer thread: {e}")))?;
        Ok(Writer { jobs })
    }

    fn work(path: &str, queue: &std::sync::mpsc::Receiver<Box<dyn WriteJob>>) {
        let mut conn: Option<Sqlite> = None;
        while let Ok(first) = queue.recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(j) => batch.push(j),
                    Err(_) => break,
                }
            }
            if conn.is_none() {
                match Sqlite::open(path) {
                    Ok(c) => conn = Some(c),
                    Err(e) => {
                        batch.into_iter().for_each(|j| j.fail(&e));
                        continue;
                    }
                }
            }
            let Some(c) = conn.as_mut() else { continue };
            if let Err(e) = c.begin() {
                batch.into_iter().for_each(|j| j.fail(&e));
                continue;
            }
            let alone = batch.len() == 1;
            let mut deliveries = Vec::with_capacity(batch.len());
            // Set when the batch's transaction is no longer whole: SQLite rolls
            // a transaction back by itself on some errors (disk full, I/O).
            let mut lost: Option<DbError> = None;
            for job in batch {
                if let Some(e) = &lost {
                    job.fail(e);
                    continue;
                }
                let ran = job.run(c, alone);
                deliveries.push(ran.delivery);
                // Only a job alone that failed may end the transaction.
                let ended_as_expected = c.in_transaction() || (alone && ran.failed);
                if ran.poisoned || !ended_as_expected {
                    lost = Some(DbError::other("the database transaction was lost; nothing of it was saved".into()));
                }
            }
            let err = match lost {
                Some(e) => {
                    if c.in_transaction() {
                        let _ = c.execute("ROLLBACK", &[]);
                    }
                    Some(e)
                }
                // A job alone that failed has rolled back already.
                None if !c.in_transaction() => None,
                None => match c.execute("COMMIT", &[]) {
                    Ok(_) => None,
                    Err(e) => {
                        let _ = c.execute("ROLLBACK", &[]);
                        Some(e)
                    }
                },
            };
            if c.in_transaction() {
                // Still open after a failed rollback: start afresh.
                conn = None;
            }
            deliveries.into_iter().for_each(|d| d(err.as_ref()));
        }
    }

    async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<T, E> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(Job { f, reply }))
            .map_err(|_| DbError::other("the SQLite writer has stopped".into()))?;
        let result = answer.await.map_err(|_| DbError::other("the SQLite writer dropped a job".into()))?;
        result.map_err(Outcome::into_app)
    }
}

enum Outcome<E> {
    App(E),
    Db(DbError),
}

impl<E: From<DbError>> Outcome<E> {
    fn into_app(self) -> E {
        match self {
            Outcome::App(e) => e,
            Outcome::Db(e) => e.into(),
        }
    }
}

fn in_transaction<T, E, F>(conn: &mut dyn Conn, f: F) -> Result<T, Outcome<E>>
where
    F: FnOnce(&mut dyn Conn) -> Result<T, E>,
{
    conn.begin().map_err(Outcome::Db)?;
    match f(conn) {
        Ok(v) => {
            if let Err(e) = conn.batch("COMMIT") {
                let _ = conn.batch("ROLLBACK");
                return Err(Outcome::Db(e));
            }
            Ok(v)
        }
        Err(e) => {
            // A failed rollback leaves the connection unusable: drop it.
            if let Err(re) = conn.batch("ROLLBACK") {
                return Err(Outcome::Db(DbError { broken: true, ..re }));
            }
            Err(Outcome::App(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SQLite connection, and a PostgreSQL one when `FLOWCAL_TEST_DATABASE_URL` is set.
    fn connections(dir: &tempfile::TempDir) -> Vec<Box<dyn Conn>> {
        let path = dir.path().join("rows.db");
        let mut out = vec![Pool::connect(Backend::Sqlite, &path.to_string_lossy()).unwrap()];
        if let Ok(url) = std::env::var("FLOWCAL_TEST_DATABASE_URL") {
            out.push(Pool::connect(Backend::Postgres, &url).unwrap());
        }
        out
    }

    #[test]
    fn rows_are_read_by_column_name() {
        let dir = tempfile::tempdir().unwrap();
        for mut c in connections(&dir) {
            let backend = c.backend();
            let r = c.query_one("SELECT 'x' AS a, CAST(2 AS BIGINT) AS b, NULL AS n", &[]).unwrap();
            assert_eq!((r.text("a").unwrap(), r.int("b").unwrap()), ("x".to_owned(), 2), "{backend:?}");
            assert_eq!((r.opt_int("n").unwrap(), r.opt_text("n").unwrap()), (None, None));
            assert!(r.int("a").is_err() && r.text("b").is_err());
            assert!(r.int("c").unwrap_err().to_string().contains("no column 'c'"));

            // A plain column is named by the column alone, on both backends.
            c.batch("CREATE TEMPORARY TABLE named (id BIGINT, label TEXT)").unwrap();
            c.execute("INSERT INTO named (id, label) VALUES ($1, $2)", params![7, "seven"]).unwrap();
            let r = c.query_one("SELECT t.label, t.id FROM named t", &[]).unwrap();
            assert_eq!((r.int("id").unwrap(), r.text("label").unwrap()), (7, "seven".to_owned()), "{backend:?}");

            // Two columns of one name would make reading by name ambiguous.
            let e = c.query("SELECT t.id, u.id FROM named t JOIN named u ON u.id = t.id", &[]).unwrap_err();
            assert!(e.to_string().contains("two columns named 'id'"), "{backend:?}: {e}");
            let r = c.query_one("SELECT t.id, u.id AS other_id FROM named t JOIN named u ON u.id = t.id", &[]).unwrap();
            assert_eq!((r.int("id").unwrap(), r.int("other_id").unwrap()), (7, 7));
        }
    }
}
