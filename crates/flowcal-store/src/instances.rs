//! Process instances, their tasks and their domain events.
//!
//! Every change runs in one transaction that first takes the instance's lock
//! (an update of its `lock_version`, which is a row lock on PostgreSQL and the
//! write lock on SQLite), so two changes to one instance never interleave.

use crate::rows::{deadline_cols, deadline_from_cols, ts, DeadlineCols};
use crate::{Store, StoreError};
use flowcal_domain::value::{data_from_json, data_to_json};
use flowcal_domain::{DataItemDef, Deadline, InstanceId, ModelId, TaskId};
use flowcal_engine::{Assignee, Effect, InstanceState, InstanceStatus, OpenTask, Stuck, Transition};
use jiff::Timestamp;
use serde_json::{json, Value as Json};
use sqlx::{Any, Transaction};
use std::collections::BTreeMap;

/// A task's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    Open,
    Done,
    Cancelled,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => Self::Open,
            "done" => Self::Done,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }
}

/// A stored instance.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceRecord {
    pub id: InstanceId,
    pub model_id: ModelId,
    pub title: String,
    pub starter: String,
    pub status: InstanceStatus,
    /// The data as stored (JSON object).
    pub data: serde_json::Map<String, Json>,
    pub joins: BTreeMap<String, u32>,
    pub stuck: Vec<Stuck>,
    pub created_at: Timestamp,
    pub ended_at: Option<Timestamp>,
}

impl InstanceRecord {
    /// The engine's view, with data read against the model's items.
    pub fn state(&self, items: &[DataItemDef]) -> InstanceState {
        InstanceState {
            status: self.status,
            data: data_from_json(items, &self.data),
            joins: self.joins.clone(),
            stuck: self.stuck.clone(),
        }
    }
}

/// A stored task, with its instance's title.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    pub id: TaskId,
    pub instance_id: InstanceId,
    pub instance_title: String,
    pub model_id: ModelId,
    pub step: String,
    pub name: String,
    pub assignee: Option<String>,
    pub role: Option<String>,
    pub state: TaskState,
    pub started_at: Timestamp,
    pub deadline: Option<Deadline>,
    pub ended_at: Option<Timestamp>,
    pub ended_by: Option<String>,
}

impl TaskRecord {
    pub fn open_task(&self) -> OpenTask {
        OpenTask { id: self.id, step: self.step.clone(), started_at: self.started_at, deadline: self.deadline.clone() }
    }
}

/// A domain event: what changed, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub id: i64,
    pub instance_id: InstanceId,
    pub task_id: Option<TaskId>,
    pub kind: String,
    pub payload: Json,
    pub created_at: Timestamp,
}

type InstanceRow = (i64, i64, String, String, String, String, String, String, i64, Option<i64>);
const INSTANCE_COLUMNS: &str = "id, model_id, title, starter, status, data, joins, stuck, created_at, ended_at";

fn instance(r: InstanceRow) -> Result<InstanceRecord, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("instance {}: {what}", r.0));
    Ok(InstanceRecord {
        id: InstanceId(r.0),
        model_id: ModelId(r.1),
        title: r.2,
        starter: r.3,
        status: InstanceStatus::parse(&r.4).ok_or_else(|| corrupt("status"))?,
        data: serde_json::from_str(&r.5).map_err(|_| corrupt("data"))?,
        joins: serde_json::from_str(&r.6).map_err(|_| corrupt("joins"))?,
        stuck: serde_json::from_str(&r.7).map_err(|_| corrupt("stuck"))?,
        created_at: ts(r.8)?,
        ended_at: r.9.map(ts).transpose()?,
    })
}

type TaskRow = (
    i64,
    i64,
    String,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<String>,
);
const TASK_COLUMNS: &str = "t.id, t.instance_id, i.title, i.model_id, t.step, t.name, t.assignee, t.role, t.state, \
     t.started_at, t.deadline_date, t.deadline_at, t.deadline_zone, t.ended_at, t.ended_by";

fn task(r: TaskRow) -> Result<TaskRecord, StoreError> {
    let cols: DeadlineCols = (r.10, r.11, r.12);
    Ok(TaskRecord {
        id: TaskId(r.0),
        instance_id: InstanceId(r.1),
        instance_title: r.2,
        model_id: ModelId(r.3),
        step: r.4,
        name: r.5,
        assignee: r.6,
        role: r.7,
        state: TaskState::parse(&r.8).ok_or_else(|| StoreError::Corrupt(format!("task {} state", r.0)))?,
        started_at: ts(r.9)?,
        deadline: deadline_from_cols(cols)?,
        ended_at: r.13.map(ts).transpose()?,
        ended_by: r.14,
    })
}

fn deadline_json(d: Option<&Deadline>) -> Json {
    d.map_or(Json::Null, Deadline::to_json)
}

fn value_json(v: Option<&flowcal_domain::Value>) -> Json {
    v.map_or(Json::Null, flowcal_domain::Value::to_json)
}

impl Store {
    /// Creates an instance from the engine's start transition, with its tasks
    /// and events, in one transaction.
    pub async fn create_instance(
        &self,
        model_id: ModelId,
        title: &str,
        starter: &str,
        start: &Transition,
        now: Timestamp,
    ) -> Result<(InstanceId, Vec<TaskId>), StoreError> {
        let mut tx = self.pool.begin().await?;
        let s = &start.state;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO instances (model_id, title, starter, status, data, joins, stuck, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(model_id.0)
        .bind(title)
        .bind(starter)
        .bind(s.status.as_str())
        .bind(Json::Object(data_to_json(&s.data)).to_string())
        .bind(json!(s.joins).to_string())
        .bind(json!(s.stuck).to_string())
        .bind(now.as_millisecond())
        .fetch_one(&mut *tx)
        .await?;
        let id = InstanceId(id);
        insert_event(&mut tx, id, None, "instance_started", json!({"title": title, "starter": starter}), now).await?;
        let created = apply(&mut tx, id, start, starter, now).await?;
        tx.commit().await?;
        Ok((id, created))
    }

    pub async fn instance(&self, id: InstanceId) -> Result<Option<InstanceRecord>, StoreError> {
        let r: Option<InstanceRow> = sqlx::query_as(&format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        r.map(instance).transpose()
    }

    /// Instances stopped by an incident, oldest first.
    pub async fn incidents(&self) -> Result<Vec<InstanceRecord>, StoreError> {
        let rows: Vec<InstanceRow> =
            sqlx::query_as(&format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE status = 'incident' ORDER BY id"))
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(instance).collect()
    }

    pub async fn task(&self, id: TaskId) -> Result<Option<TaskRecord>, StoreError> {
        let r: Option<TaskRow> = sqlx::query_as(&format!(
            "SELECT {TASK_COLUMNS} FROM tasks t JOIN instances i ON i.id = t.instance_id WHERE t.id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        r.map(task).transpose()
    }

    /// All tasks of an instance, in creation order.
    pub async fn instance_tasks(&self, id: InstanceId) -> Result<Vec<TaskRecord>, StoreError> {
        let rows: Vec<TaskRow> = sqlx::query_as(&format!(
            "SELECT {TASK_COLUMNS} FROM tasks t JOIN instances i ON i.id = t.instance_id
             WHERE t.instance_id = $1 ORDER BY t.id"
        ))
        .bind(id.0)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(task).collect()
    }

    /// The tasks a user may work on: assigned to them, or unclaimed in one of
    /// their roles. `state` filters when given.
    pub async fn tasks_for_user(
        &self,
        login: &str,
        roles: &[String],
        state: Option<TaskState>,
    ) -> Result<Vec<TaskRecord>, StoreError> {
        let mut sql = format!(
            "SELECT {TASK_COLUMNS} FROM tasks t JOIN instances i ON i.id = t.instance_id WHERE (t.assignee = $1"
        );
        if !roles.is_empty() {
            let marks: Vec<String> = (0..roles.len()).map(|i| format!("${}", i + 3)).collect();
            sql.push_str(&format!(" OR (t.assignee IS NULL AND t.role IN ({}))", marks.join(", ")));
        }
        sql.push_str(") AND ($2 = '' OR t.state = $2) ORDER BY t.id");
        let mut q = sqlx::query_as::<_, TaskRow>(&sql).bind(login).bind(state.map_or("", TaskState::as_str));
        for r in roles {
            q = q.bind(r);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.into_iter().map(task).collect()
    }

    /// The domain events of an instance, in order.
    pub async fn events(&self, id: InstanceId) -> Result<Vec<EventRecord>, StoreError> {
        self.query_events("WHERE instance_id = $1", id.0, i64::MAX).await
    }

    /// Domain events after `after` (an event id), oldest first: how later
    /// stages (delivery) follow what happened.
    pub async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<EventRecord>, StoreError> {
        self.query_events("WHERE id > $1", after, limit).await
    }

    async fn query_events(&self, filter: &str, arg: i64, limit: i64) -> Result<Vec<EventRecord>, StoreError> {
        let rows: Vec<(i64, i64, Option<i64>, String, String, i64)> = sqlx::query_as(&format!(
            "SELECT id, instance_id, task_id, kind, payload, created_at FROM events {filter} ORDER BY id LIMIT $2"
        ))
        .bind(arg)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(EventRecord {
                    id: r.0,
                    instance_id: InstanceId(r.1),
                    task_id: r.2.map(TaskId),
                    kind: r.3,
                    payload: serde_json::from_str(&r.4).map_err(|_| StoreError::Corrupt(format!("event {}", r.0)))?,
                    created_at: ts(r.5)?,
                })
            })
            .collect()
    }

    /// Runs an engine operation on an instance under its lock and stores the
    /// result. `op` gets the instance and its open tasks as they are inside the
    /// transaction. Returns the ids of tasks it created.
    pub async fn change_instance<F>(
        &self,
        id: InstanceId,
        actor: &str,
        now: Timestamp,
        op: F,
    ) -> Result<Vec<TaskId>, StoreError>
    where
        F: FnOnce(&InstanceRecord, &[OpenTask]) -> Result<Transition, StoreError>,
    {
        let mut tx = self.pool.begin().await?;
        // The first statement writes, so SQLite takes its write lock before
        // reading anything (a deferred reader could not upgrade later).
        let locked = sqlx::query("UPDATE instances SET lock_version = lock_version + 1 WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        if locked.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("instance {id}")));
        }
        let r: InstanceRow = sqlx::query_as(&format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = $1"))
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await?;
        let record = instance(r)?;
        let rows: Vec<TaskRow> = sqlx::query_as(&format!(
            "SELECT {TASK_COLUMNS} FROM tasks t JOIN instances i ON i.id = t.instance_id
             WHERE t.instance_id = $1 AND t.state = 'open' ORDER BY t.id"
        ))
        .bind(id.0)
        .fetch_all(&mut *tx)
        .await?;
        let open: Vec<OpenTask> = rows.into_iter().map(|r| task(r).map(|t| t.open_task())).collect::<Result<_, _>>()?;
        let transition = op(&record, &open)?;
        let created = apply(&mut tx, id, &transition, actor, now).await?;
        let s = &transition.state;
        let ended =
            matches!(s.status, InstanceStatus::Completed | InstanceStatus::Cancelled).then_some(now.as_millisecond());
        sqlx::query(
            "UPDATE instances SET status = $1, data = $2, joins = $3, stuck = $4, ended_at = COALESCE(ended_at, $5)
             WHERE id = $6",
        )
        .bind(s.status.as_str())
        .bind(Json::Object(data_to_json(&s.data)).to_string())
        .bind(json!(s.joins).to_string())
        .bind(json!(s.stuck).to_string())
        .bind(ended)
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Gives an open task to a user (a role member's claim, or an
    /// administrator's reassignment), recording `task_reassigned`.
    /// `allowed` sees the task inside the transaction and may refuse.
    pub async fn assign_task<F>(
        &self,
        id: TaskId,
        to: &str,
        by: &str,
        now: Timestamp,
        allowed: F,
    ) -> Result<(), StoreError>
    where
        F: FnOnce(&TaskRecord) -> Result<(), StoreError>,
    {
        let current = self.task(id).await?.ok_or_else(|| StoreError::NotFound(format!("task {id}")))?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE instances SET lock_version = lock_version + 1 WHERE id = $1")
            .bind(current.instance_id.0)
            .execute(&mut *tx)
            .await?;
        let r: TaskRow = sqlx::query_as(&format!(
            "SELECT {TASK_COLUMNS} FROM tasks t JOIN instances i ON i.id = t.instance_id WHERE t.id = $1"
        ))
        .bind(id.0)
        .fetch_one(&mut *tx)
        .await?;
        let t = task(r)?;
        if t.state != TaskState::Open {
            return Err(StoreError::Conflict(format!("task {id} is {}, not open", t.state.as_str())));
        }
        allowed(&t)?;
        if t.assignee.as_deref() == Some(to) {
            return Ok(());
        }
        sqlx::query("UPDATE tasks SET assignee = $1 WHERE id = $2").bind(to).bind(id.0).execute(&mut *tx).await?;
        let payload = json!({"step": t.step, "from": t.assignee, "to": to, "role": t.role, "by": by});
        insert_event(&mut tx, t.instance_id, Some(id), "task_reassigned", payload, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn insert_event(
    tx: &mut Transaction<'_, Any>,
    instance: InstanceId,
    task: Option<TaskId>,
    kind: &str,
    payload: Json,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO events (instance_id, task_id, kind, payload, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(instance.0)
        .bind(task.map(|t| t.0))
        .bind(kind)
        .bind(payload.to_string())
        .bind(now.as_millisecond())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Applies a transition's effects, one domain event each. Returns created task ids.
async fn apply(
    tx: &mut Transaction<'_, Any>,
    instance: InstanceId,
    t: &Transition,
    actor: &str,
    now: Timestamp,
) -> Result<Vec<TaskId>, StoreError> {
    let mut created = Vec::new();
    for e in &t.effects {
        match e {
            Effect::TaskCreated { step, name, assignee, deadline } => {
                let (user, role) = match assignee {
                    Assignee::User(u) => (Some(u.as_str()), None),
                    Assignee::Role(r) => (None, Some(r.as_str())),
                };
                let (d_date, d_at, d_zone) = deadline_cols(deadline.as_ref());
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO tasks (instance_id, step, name, assignee, role, state, started_at,
                                        deadline_date, deadline_at, deadline_zone)
                     VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $9) RETURNING id",
                )
                .bind(instance.0)
                .bind(step)
                .bind(name)
                .bind(user)
                .bind(role)
                .bind(now.as_millisecond())
                .bind(d_date)
                .bind(d_at)
                .bind(d_zone)
                .fetch_one(&mut **tx)
                .await?;
                let id = TaskId(id);
                created.push(id);
                let payload = json!({"step": step, "name": name, "assignee": user, "role": role,
                                     "deadline": deadline_json(deadline.as_ref())});
                insert_event(tx, instance, Some(id), "task_created", payload, now).await?;
            }
            Effect::TaskCompleted { task } | Effect::TaskCancelled { task } => {
                let (state, kind) = match e {
                    Effect::TaskCompleted { .. } => ("done", "task_completed"),
                    _ => ("cancelled", "task_cancelled"),
                };
                let r: Option<(String, Option<String>, Option<String>)> = sqlx::query_as(
                    "UPDATE tasks SET state = $1, ended_at = $2, ended_by = $3
                     WHERE id = $4 AND state = 'open' RETURNING step, assignee, role",
                )
                .bind(state)
                .bind(now.as_millisecond())
                .bind(actor)
                .bind(task.0)
                .fetch_optional(&mut **tx)
                .await?;
                let Some((step, assignee, role)) = r else {
                    return Err(StoreError::Conflict(format!("task {task} is no longer open")));
                };
                let payload = json!({"step": step, "assignee": assignee, "role": role, "by": actor});
                insert_event(tx, instance, Some(*task), kind, payload, now).await?;
            }
            Effect::DeadlineChanged { task, deadline } => {
                let (d_date, d_at, d_zone) = deadline_cols(deadline.as_ref());
                sqlx::query("UPDATE tasks SET deadline_date = $1, deadline_at = $2, deadline_zone = $3 WHERE id = $4")
                    .bind(d_date)
                    .bind(d_at)
                    .bind(d_zone)
                    .bind(task.0)
                    .execute(&mut **tx)
                    .await?;
                let payload = json!({"deadline": deadline_json(deadline.as_ref())});
                insert_event(tx, instance, Some(*task), "task_deadline_changed", payload, now).await?;
            }
            Effect::DataChanged { key, old, new } => {
                let payload =
                    json!({"key": key, "old": value_json(old.as_ref()), "new": value_json(new.as_ref()), "by": actor});
                insert_event(tx, instance, None, "data_changed", payload, now).await?;
            }
            Effect::IncidentRaised { node, message } => {
                insert_event(tx, instance, None, "incident_raised", json!({"node": node, "message": message}), now)
                    .await?;
            }
            Effect::IncidentResolved { node } => {
                insert_event(tx, instance, None, "incident_resolved", json!({"node": node}), now).await?;
            }
            Effect::InstanceCompleted => {
                insert_event(tx, instance, None, "instance_completed", json!({}), now).await?;
            }
            Effect::InstanceCancelled => {
                insert_event(tx, instance, None, "instance_cancelled", json!({"by": actor}), now).await?;
            }
        }
    }
    Ok(created)
}
