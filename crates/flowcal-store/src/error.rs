//! The store's errors.

use flowcal_engine::EngineError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Config(String),
    #[error("cannot connect to the database at {url}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("{0} not found")]
    NotFound(String),
    /// The change lost a race or contradicts the current state.
    #[error("{0}")]
    Conflict(String),
    /// The engine refused the change (bad data, instance not running …).
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    #[error("migration {name} failed")]
    Migration {
        name: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("database error")]
    Db(#[from] sqlx::Error),
}

impl StoreError {
    /// Whether a database error is a unique-constraint violation.
    pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
        match e {
            sqlx::Error::Database(d) => {
                d.kind() == sqlx::error::ErrorKind::UniqueViolation
                    || d.message().contains("UNIQUE constraint failed")
                    || d.code().as_deref() == Some("23505")
            }
            _ => false,
        }
    }
}
