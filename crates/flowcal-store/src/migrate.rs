//! Embedded migrations, one folder per backend with the same file names.

use crate::db::{params, Conn};
use crate::{Backend, StoreError};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_core",
        sqlite: include_str!("../migrations/sqlite/0001_core.sql"),
        postgres: include_str!("../migrations/postgres/0001_core.sql"),
    },
    Migration {
        version: 2,
        name: "0002_access",
        sqlite: include_str!("../migrations/sqlite/0002_access.sql"),
        postgres: include_str!("../migrations/postgres/0002_access.sql"),
    },
    Migration {
        version: 3,
        name: "0003_exports",
        sqlite: include_str!("../migrations/sqlite/0003_exports.sql"),
        postgres: include_str!("../migrations/postgres/0003_exports.sql"),
    },
    Migration {
        version: 4,
        name: "0004_feeds",
        sqlite: include_str!("../migrations/sqlite/0004_feeds.sql"),
        postgres: include_str!("../migrations/postgres/0004_feeds.sql"),
    },
    Migration {
        version: 5,
        name: "0005_web",
        sqlite: include_str!("../migrations/sqlite/0005_web.sql"),
        postgres: include_str!("../migrations/postgres/0005_web.sql"),
    },
    Migration {
        version: 6,
        name: "0006_credentials",
        sqlite: include_str!("../migrations/sqlite/0006_credentials.sql"),
        postgres: include_str!("../migrations/postgres/0006_credentials.sql"),
    },
    Migration {
        version: 7,
        name: "0007_sign_in",
        sqlite: include_str!("../migrations/sqlite/0007_sign_in.sql"),
        postgres: include_str!("../migrations/postgres/0007_sign_in.sql"),
    },
    Migration {
        version: 8,
        name: "0008_timers",
        sqlite: include_str!("../migrations/sqlite/0008_timers.sql"),
        postgres: include_str!("../migrations/postgres/0008_timers.sql"),
    },
    Migration {
        version: 9,
        name: "0009_work_calendars",
        sqlite: include_str!("../migrations/sqlite/0009_work_calendars.sql"),
        postgres: include_str!("../migrations/postgres/0009_work_calendars.sql"),
    },
    Migration {
        version: 10,
        name: "0010_paging",
        sqlite: include_str!("../migrations/sqlite/0010_paging.sql"),
        postgres: include_str!("../migrations/postgres/0010_paging.sql"),
    },
    Migration {
        version: 11,
        name: "0011_task_lists",
        sqlite: include_str!("../migrations/sqlite/0011_task_lists.sql"),
        postgres: include_str!("../migrations/postgres/0011_task_lists.sql"),
    },
    Migration {
        version: 12,
        name: "0012_calendar_edits",
        sqlite: include_str!("../migrations/sqlite/0012_calendar_edits.sql"),
        postgres: include_str!("../migrations/postgres/0012_calendar_edits.sql"),
    },
    Migration {
        version: 13,
        name: "0013_calendar_reads",
        sqlite: include_str!("../migrations/sqlite/0013_calendar_reads.sql"),
        postgres: include_str!("../migrations/postgres/0013_calendar_reads.sql"),
    },
    Migration {
        version: 14,
        name: "0014_language",
        sqlite: include_str!("../migrations/sqlite/0014_language.sql"),
        postgres: include_str!("../migrations/postgres/0014_language.sql"),
    },
];

/// Any fixed number: the key of the advisory lock that serializes migrations
/// of processes starting together on one PostgreSQL database.
const PG_MIGRATION_LOCK: i64 = 0x666c_6f77_6361_6c01;

pub(crate) fn run(c: &mut dyn Conn, now: i64) -> Result<Vec<String>, StoreError> {
    if c.backend() == Backend::Postgres {
        // (`batch`: these functions return `void`, which is no column type.)
        c.batch(&format!("SELECT pg_advisory_lock({PG_MIGRATION_LOCK})"))?;
        let result = run_locked(c, now);
        let unlocked = c.batch(&format!("SELECT pg_advisory_unlock({PG_MIGRATION_LOCK})"));
        let applied = result?;
        unlocked?;
        return Ok(applied);
    }
    run_locked(c, now)
}

/// The embedded migrations not applied to this database, by name (all of
/// them on a database flowcal never migrated).
pub(crate) fn pending(c: &mut dyn Conn) -> Result<Vec<String>, StoreError> {
    let table = match c.backend() {
        Backend::Sqlite => "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'flowcal_migrations'",
        Backend::Postgres => "SELECT 1 FROM information_schema.tables WHERE table_name = 'flowcal_migrations'",
    };
    if c.query_opt(table, &[])?.is_none() {
        return Ok(MIGRATIONS.iter().map(|m| m.name.to_owned()).collect());
    }
    let applied: Vec<i64> = c
        .query("SELECT version FROM flowcal_migrations", &[])?
        .iter()
        .map(|r| r.int("version"))
        .collect::<Result<_, _>>()?;
    Ok(MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)).map(|m| m.name.to_owned()).collect())
}

fn run_locked(c: &mut dyn Conn, now: i64) -> Result<Vec<String>, StoreError> {
    c.batch(
        "CREATE TABLE IF NOT EXISTS flowcal_migrations
         (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )?;
    let mut applied = Vec::new();
    for m in MIGRATIONS {
        c.begin()?;
        let result = apply(c, m, now);
        match result {
            Ok(true) => {
                if let Err(e) = c.batch("COMMIT") {
                    let _ = c.batch("ROLLBACK");
                    return Err(e.into());
                }
                applied.push(m.name.to_owned());
            }
            Ok(false) => c.batch("ROLLBACK")?,
            Err(e) => {
                let _ = c.batch("ROLLBACK");
                return Err(e);
            }
        }
    }
    Ok(applied)
}

/// Applies one migration inside the open transaction; false if it was applied before.
fn apply(c: &mut dyn Conn, m: &Migration, now: i64) -> Result<bool, StoreError> {
    if c.query_opt("SELECT version FROM flowcal_migrations WHERE version = $1", params![m.version])?.is_some() {
        return Ok(false);
    }
    let sql = match c.backend() {
        Backend::Sqlite => m.sqlite,
        Backend::Postgres => m.postgres,
    };
    c.batch(sql).map_err(|source| StoreError::Migration { name: m.name.to_owned(), source })?;
    c.execute(
        "INSERT INTO flowcal_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        params![m.version, m.name, now],
    )?;
    Ok(true)
}
