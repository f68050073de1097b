//! Stored process models, parsed once: every service that needs a model
//! (workflow, delivery, feeds) reads it here. Model versions never change once
//! stored, so their parse is kept.

use flowcal_domain::{ModelId, ProcessModel};
use flowcal_store::{Store, StoreError, StoredModel};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A stored model with its parse.
pub type Parsed = (StoredModel, Arc<ProcessModel>);

/// A model version's drawing, or why it has none, in words.
pub type Drawing = Arc<Result<flowcal_bpmn::diagram::Diagram, String>>;

/// Why a stored model cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// What was looked for, e.g. `model 7`.
    #[error("{0}")]
    NotFound(String),
    /// The reader ran out of its time budget (a huge model on a busy server).
    #[error("the model could not be read: {0}; try again, or upload a smaller model")]
    Busy(String),
    /// It parsed when stored: failing now means the reader changed.
    #[error("stored model {0} no longer parses: {1}")]
    Unreadable(ModelId, String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The models, parsed once.
#[derive(Debug)]
pub struct Models {
    store: Store,
    parsed: Mutex<HashMap<ModelId, Parsed>>,
    /// Drawings, read on first view.
    drawings: Mutex<HashMap<ModelId, Drawing>>,
}

impl Models {
    pub fn new(store: Store) -> Self {
        Models { store, parsed: Mutex::new(HashMap::new()), drawings: Mutex::new(HashMap::new()) }
    }

    pub(crate) fn keep(&self, stored: StoredModel, m: Arc<ProcessModel>) {
        self.parsed.lock().unwrap_or_else(|p| p.into_inner()).insert(stored.id, (stored, m));
    }

    /// The parsed model of a stored version.
    pub async fn get(&self, id: ModelId) -> Result<Parsed, ModelError> {
        if let Some(hit) = self.parsed.lock().unwrap_or_else(|p| p.into_inner()).get(&id).cloned() {
            return Ok(hit);
        }
        let stored = self.store.model(id).await?.ok_or_else(|| ModelError::NotFound(format!("model {id}")))?;
        let m = parse(stored.bpmn.clone()).await?.map_err(|e| ModelError::Unreadable(id, e.to_string()))?;
        let m = Arc::new(m);
        self.keep(stored.clone(), m.clone());
        Ok((stored, m))
    }

    /// The drawing of a stored version: its diagram interchange, or a layout
    /// when the file has none; read on a blocking thread within the XML time
    /// budget, once per version (a refusal too; running out of time is not kept).
    pub async fn drawing(&self, stored: &StoredModel) -> Drawing {
        if let Some(hit) = self.drawings.lock().unwrap_or_else(|p| p.into_inner()).get(&stored.id).cloned() {
            return hit;
        }
        let xml = stored.bpmn.clone();
        let read = flowcal_xml::off_workers(flowcal_xml::PARSE_BUDGET, move || flowcal_bpmn::diagram::read(&xml)).await;
        let drawing = match read {
            Ok(done) => Arc::new(done.map_err(|e| e.to_string())),
            Err(busy) => return Arc::new(Err(busy.to_string())),
        };
        self.drawings.lock().unwrap_or_else(|p| p.into_inner()).insert(stored.id, drawing.clone());
        drawing
    }

    /// The newest version of the model `key`.
    pub async fn latest(&self, key: &str) -> Result<Parsed, ModelError> {
        if key.is_empty() || key.len() > 256 || key.chars().any(char::is_control) {
            return Err(ModelError::NotFound(format!("model '{}'", key.escape_debug())));
        }
        // The id only: the parsed model usually comes from the cache.
        let id =
            self.store.latest_model_id(key).await?.ok_or_else(|| ModelError::NotFound(format!("model '{key}'")))?;
        self.get(id).await
    }
}

/// Reads a BPMN model on a blocking thread within the XML time budget, so a
/// large upload never holds up an async worker.
pub(crate) async fn parse(xml: String) -> Result<Result<ProcessModel, flowcal_bpmn::BpmnError>, ModelError> {
    flowcal_xml::off_workers(flowcal_xml::PARSE_BUDGET, move || flowcal_bpmn::parse(&xml, None))
        .await
        .map_err(|e| ModelError::Busy(e.to_string()))
}
