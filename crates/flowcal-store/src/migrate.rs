//! Embedded migrations, one folder per backend with the same file names.

use crate::{Backend, StoreError};
use sqlx::AnyPool;

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "0001_core",
    sqlite: include_str!("../migrations/sqlite/0001_core.sql"),
    postgres: include_str!("../migrations/postgres/0001_core.sql"),
}];

pub(crate) async fn run(pool: &AnyPool, backend: Backend) -> Result<Vec<String>, StoreError> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS flowcal_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(pool)
    .await?;
    let mut applied = Vec::new();
    for m in MIGRATIONS {
        let mut tx = pool.begin().await?;
        if backend == Backend::Postgres {
            // Two processes starting at once: the second waits, then sees the row.
            sqlx::query("LOCK TABLE flowcal_migrations IN EXCLUSIVE MODE").execute(&mut *tx).await?;
        }
        let done: Option<(i64,)> = sqlx::query_as("SELECT version FROM flowcal_migrations WHERE version = $1")
            .bind(m.version)
            .fetch_optional(&mut *tx)
            .await?;
        if done.is_some() {
            continue;
        }
        let sql = match backend {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        sqlx::raw_sql(sql)
            .execute(&mut *tx)
            .await
            .map_err(|source| StoreError::Migration { name: m.name.to_owned(), source })?;
        let now = jiff::Timestamp::now().as_millisecond();
        sqlx::query("INSERT INTO flowcal_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(m.version)
            .bind(m.name)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        applied.push(m.name.to_owned());
    }
    Ok(applied)
}
