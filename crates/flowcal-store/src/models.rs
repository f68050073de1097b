//! Stored process models: the BPMN text, versioned by key.

use crate::{Store, StoreError};
use flowcal_domain::{ModelId, UserId};
use jiff::Timestamp;

/// One stored model version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredModel {
    pub id: ModelId,
    pub key: String,
    pub version: i64,
    pub name: String,
    pub bpmn: String,
}

/// The latest version of a model, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSummary {
    pub id: ModelId,
    pub key: String,
    pub version: i64,
    pub name: String,
}

impl Store {
    /// Stores a model as the next version of its key.
    pub async fn insert_model(
        &self,
        key: &str,
        name: &str,
        bpmn: &str,
        by: Option<UserId>,
        now: Timestamp,
    ) -> Result<StoredModel, StoreError> {
        // Two uploads of one key at once: the loser hits the unique (key, version)
        // constraint and tries the next number.
        for _ in 0..5 {
            let r: Result<(i64, i64), sqlx::Error> = sqlx::query_as(
                "INSERT INTO models (key, version, name, bpmn, created_by, created_at)
                 SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5 FROM models WHERE key = $1
                 RETURNING id, version",
            )
            .bind(key)
            .bind(name)
            .bind(bpmn)
            .bind(by.map(|u| u.0))
            .bind(now.as_millisecond())
            .fetch_one(&self.pool)
            .await;
            match r {
                Ok((id, version)) => {
                    return Ok(StoredModel {
                        id: ModelId(id),
                        key: key.to_owned(),
                        version,
                        name: name.to_owned(),
                        bpmn: bpmn.to_owned(),
                    })
                }
                Err(e) if StoreError::is_unique_violation(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict(format!("model '{key}' is being uploaded concurrently; try again")))
    }

    pub async fn model(&self, id: ModelId) -> Result<Option<StoredModel>, StoreError> {
        let r: Option<(i64, String, i64, String, String)> =
            sqlx::query_as("SELECT id, key, version, name, bpmn FROM models WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(r.map(|r| StoredModel { id: ModelId(r.0), key: r.1, version: r.2, name: r.3, bpmn: r.4 }))
    }

    /// The newest version of a key.
    pub async fn latest_model(&self, key: &str) -> Result<Option<StoredModel>, StoreError> {
        let r: Option<(i64, String, i64, String, String)> = sqlx::query_as(
            "SELECT id, key, version, name, bpmn FROM models WHERE key = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.map(|r| StoredModel { id: ModelId(r.0), key: r.1, version: r.2, name: r.3, bpmn: r.4 }))
    }

    /// The newest version of every key.
    pub async fn list_models(&self) -> Result<Vec<ModelSummary>, StoreError> {
        let rows: Vec<(i64, String, i64, String)> = sqlx::query_as(
            "SELECT m.id, m.key, m.version, m.name FROM models m
             WHERE m.version = (SELECT MAX(version) FROM models n WHERE n.key = m.key) ORDER BY m.key",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| ModelSummary { id: ModelId(r.0), key: r.1, version: r.2, name: r.3 }).collect())
    }
}
