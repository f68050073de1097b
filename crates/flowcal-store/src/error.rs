//! The store's errors.

use crate::db::DbError;
use flowcal_domain::EngineError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Config(String),
    #[error("cannot connect to the database at {url}")]
    Connect {
        url: String,
        #[source]
        source: DbError,
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
        source: DbError,
    },
    #[error("database error")]
    Db(#[from] DbError),
    /// An operation found nothing to write: rolls its transaction back
    /// ([`crate::Store::change_instance_unless_unchanged`] answers `Ok(false)`).
    #[error("nothing changed")]
    Unchanged,
}
