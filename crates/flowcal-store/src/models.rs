//! Stored process models: the BPMN text, versioned by key, and the work
//! calendars each version names.

use crate::db::{params, Row};
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
    /// Who uploaded it (none from the command line).
    pub created_by: Option<UserId>,
}

/// A model version without its text, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSummary {
    pub id: ModelId,
    pub key: String,
    pub version: i64,
    pub name: String,
}

fn model(r: &Row) -> Result<StoredModel, StoreError> {
    Ok(StoredModel {
        id: ModelId(r.int("id")?),
        key: r.text("key")?,
        version: r.int("version")?,
        name: r.text("name")?,
        bpmn: r.text("bpmn")?,
        created_by: r.opt_int("created_by")?.map(UserId),
    })
}

fn summary(r: &Row) -> Result<ModelSummary, StoreError> {
    Ok(ModelSummary {
        id: ModelId(r.int("id")?),
        key: r.text("key")?,
        version: r.int("version")?,
        name: r.text("name")?,
    })
}

/// The most model versions [`Store::models_naming_calendar`] returns.
pub const MODELS_NAMING_CALENDAR: i64 = 100;

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
        let (key, name, bpmn) = (key.to_owned(), name.to_owned(), bpmn.to_owned());
        // Two uploads of one key at once: the loser hits the unique (key, version)
        // constraint and tries the next number.
        for _ in 0..5 {
            let (k, n, b) = (key.clone(), name.clone(), bpmn.clone());
            let r = self
                .read(move |c| {
                    match c.query_one(
                        "INSERT INTO models (key, version, name, bpmn, created_by, created_at)
                         SELECT CAST($1 AS TEXT), COALESCE(MAX(version), 0) + 1, CAST($2 AS TEXT), CAST($3 AS TEXT),
                                CAST($4 AS BIGINT), CAST($5 AS BIGINT)
                         FROM models WHERE key = $1
                         RETURNING id, version",
                        params![&k, &n, &b, by.map(|u| u.0), now.as_millisecond()],
                    ) {
                        Ok(r) => Ok(Some(StoredModel {
                            id: ModelId(r.int("id")?),
                            key: k,
                            version: r.int("version")?,
                            name: n,
                            bpmn: b,
                            created_by: by,
                        })),
                        Err(e) if e.unique_violation => Ok(None),
                        Err(e) => Err(e.into()),
                    }
                })
                .await?;
            if let Some(m) = r {
                return Ok(m);
            }
        }
        Err(StoreError::Conflict(format!("model '{key}' is being uploaded concurrently; try again")))
    }

    pub async fn model(&self, id: ModelId) -> Result<Option<StoredModel>, StoreError> {
        self.read(move |c| {
            c.query_opt("SELECT id, key, version, name, bpmn, created_by FROM models WHERE id = $1", params![id.0])?
                .map(|r| model(&r))
                .transpose()
        })
        .await
    }

    /// The newest version of a key.
    pub async fn latest_model(&self, key: &str) -> Result<Option<StoredModel>, StoreError> {
        let key = key.to_owned();
        self.read(move |c| {
            c.query_opt(
                "SELECT id, key, version, name, bpmn, created_by FROM models WHERE key = $1 ORDER BY version DESC LIMIT 1",
                params![key],
            )?
            .map(|r| model(&r))
            .transpose()
        })
        .await
    }

    /// The id of the newest version of a key (without its text).
    pub async fn latest_model_id(&self, key: &str) -> Result<Option<ModelId>, StoreError> {
        let key = key.to_owned();
        self.read(move |c| {
            c.query_opt("SELECT id FROM models WHERE key = $1 ORDER BY version DESC LIMIT 1", params![key])?
                .map(|r| Ok(ModelId(r.int("id")?)))
                .transpose()
        })
        .await
    }

    /// Records the work calendars a model version names (its process, steps
    /// and lanes), replacing what was recorded for it: a calendar's change
    /// finds the instances to recompute through these. Names may be of
    /// calendars that do not exist (yet).
    pub async fn set_model_calendars(&self, model: ModelId, names: &[String]) -> Result<(), StoreError> {
        let mut names = names.to_vec();
        names.sort_unstable();
        names.dedup();
        self.tx(move |c| {
            c.execute("DELETE FROM model_calendars WHERE model_id = $1", params![model.0])?;
            for name in &names {
                c.execute("INSERT INTO model_calendars (model_id, calendar) VALUES ($1, $2)", params![model.0, name])?;
            }
            Ok(())
        })
        .await
    }

    /// The model versions that name the work calendar `name`, by key and
    /// version; at most [`MODELS_NAMING_CALENDAR`] (enough to say why a
    /// calendar cannot be deleted).
    pub async fn models_naming_calendar(&self, name: &str) -> Result<Vec<ModelSummary>, StoreError> {
        let name = name.to_owned();
        self.read(move |c| {
            c.query(
                "SELECT m.id, m.key, m.version, m.name FROM model_calendars mc JOIN models m ON m.id = mc.model_id
                 WHERE mc.calendar = $1 ORDER BY m.key, m.version LIMIT $2",
                params![name, MODELS_NAMING_CALENDAR],
            )?
            .iter()
            .map(summary)
            .collect()
        })
        .await
    }

    /// The newest version of every key.
    pub async fn list_models(&self) -> Result<Vec<ModelSummary>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT m.id, m.key, m.version, m.name FROM models m
                 WHERE m.version = (SELECT MAX(version) FROM models n WHERE n.key = m.key) ORDER BY m.key",
                &[],
            )?
            .iter()
            .map(summary)
            .collect()
        })
        .await
    }
}
