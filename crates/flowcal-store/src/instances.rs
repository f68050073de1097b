//! Process instances, their tasks and their domain events.
//!
//! Every change runs in one transaction that first takes the instance's lock
//! (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's write transactions run one at
//! a time), so two changes to one instance never interleave.

use crate::db::{params, Conn, Param, Row};
use crate::paging::{deadline_sort_key, fetch, Page, COUNT_CAP};
use crate::rows::{deadline_cols, deadline_from_cols, ts};
use crate::{Backend, Store, StoreError};
use flowcal_domain::instance::{
    Assignee, Effect, InstanceState, InstanceStatus, Joins, OpenTask, OpenTimer, Stuck, TaskState, Transition,
};
use flowcal_domain::value::{data_from_json, data_to_json};
use flowcal_domain::{DataItemDef, Deadline, InstanceId, ModelId, TaskId, TimerId, UserId};
use jiff::Timestamp;
use serde_json::{json, Value as Json};

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
    pub joins: Joins,
    pub stuck: Vec<Stuck>,
    /// Its waiting timers. Read when one instance is read (and kept up to
    /// date by a change); empty in lists of instances.
    pub timers: Vec<OpenTimer>,
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
            timers: self.timers.clone(),
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
    /// The work calendar the deadline was computed in (none: calendar time).
    pub deadline_calendar: Option<String>,
    pub ended_at: Option<Timestamp>,
    pub ended_by: Option<String>,
}

impl TaskRecord {
    pub fn open_task(&self) -> OpenTask {
        OpenTask { id: self.id, step: self.step.clone(), started_at: self.started_at, deadline: self.deadline.clone() }
    }
}

/// How a list of tasks is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskSort {
    /// Earliest deadline first (by [`crate::deadline_sort_key`]: tasks without one last), then by id.
    Deadline,
    /// Newest first: by start, latest first, then by id, highest first.
    Created,
    /// By id.
    Id,
}

impl TaskSort {
    /// The key a task has in this order (its id comes after it).
    pub fn key(self, t: &TaskRecord) -> i64 {
        match self {
            TaskSort::Deadline => deadline_sort_key(t.deadline.as_ref()),
            TaskSort::Created => t.started_at.as_millisecond(),
            TaskSort::Id => t.id.0,
        }
    }

    fn order(self) -> &'static str {
        match self {
            TaskSort::Deadline => "t.deadline_sort, t.id",
            TaskSort::Created => "t.started_at DESC, t.id DESC",
            TaskSort::Id => "t.id",
        }
    }
}

/// Which deadlines a list of tasks keeps: dates from `from_date` up to, not
/// including, `to_date` (`YYYY-MM-DD`), and instants from `from_ms` up to, not
/// including, `to_ms`. Tasks without a deadline pass no window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueWindow {
    pub from_date: String,
    pub to_date: String,
    pub from_ms: i64,
    pub to_ms: i64,
}

impl DueWindow {
    /// The range of `tasks.deadline_sort` (from, up to but not including)
    /// that holds every deadline of the window: instants as they are, dates
    /// at the start of their day in UTC (see [`deadline_sort_key`]). An empty
    /// `from_date` is open below; a date that does not parse leaves its side open.
    pub fn sort_range(&self) -> (i64, i64) {
        let day_start = |d: &str| -> Option<i64> {
            let date: jiff::civil::Date = d.parse().ok()?;
            Some(deadline_sort_key(Some(&Deadline::Date(date))))
        };
        let lo = day_start(&self.from_date).map_or(i64::MIN, |d| d.min(self.from_ms));
        let hi = if self.to_date.is_empty() {
            self.to_ms
        } else {
            day_start(&self.to_date).map_or(i64::MAX, |d| d.max(self.to_ms))
        };
        (lo, hi)
    }
}

/// What a list of tasks keeps: all of them by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    pub state: Option<TaskState>,
    pub due: Option<DueWindow>,
    /// The key of the model (any version) the task's instance runs.
    pub process: Option<String>,
    /// `Some(true)`: only tasks assigned to the user; `Some(false)`: only
    /// unclaimed tasks of their roles.
    pub assigned: Option<bool>,
}

/// Parameters of a statement built piece by piece: each `bind` gives its placeholder.
#[derive(Default)]
struct Binds {
    params: Vec<Param>,
}

impl Binds {
    fn bind(&mut self, v: impl Into<Param>) -> String {
        self.params.push(v.into());
        format!("${}", self.params.len())
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

/// Column lists as macros, so hot statements are `&'static str` built at
/// compile time (the SQLite statement cache is keyed by the text).
macro_rules! instance_columns {
    () => {
        "id, model_id, title, starter, status, data, joins, stuck, created_at, ended_at"
    };
}
macro_rules! task_columns {
    () => {
        "t.id, t.instance_id, i.title AS instance_title, i.model_id, t.step, t.name, t.assignee, t.role, t.state, \
         t.started_at, t.deadline_date, t.deadline_at, t.deadline_zone, t.deadline_calendar, t.ended_at, t.ended_by"
    };
}

fn instance(r: &Row) -> Result<InstanceRecord, StoreError> {
    let id = r.int("id")?;
    let corrupt = |what: &str| StoreError::Corrupt(format!("instance {id}: {what}"));
    Ok(InstanceRecord {
        id: InstanceId(id),
        model_id: ModelId(r.int("model_id")?),
        title: r.text("title")?,
        starter: r.text("starter")?,
        status: InstanceStatus::parse(&r.text("status")?).ok_or_else(|| corrupt("status"))?,
        data: serde_json::from_str(&r.text("data")?).map_err(|_| corrupt("data"))?,
        joins: serde_json::from_str(&r.text("joins")?).map_err(|_| corrupt("joins"))?,
        stuck: serde_json::from_str(&r.text("stuck")?).map_err(|_| corrupt("stuck"))?,
        timers: Vec::new(),
        created_at: ts(r.int("created_at")?)?,
        ended_at: r.opt_int("ended_at")?.map(ts).transpose()?,
    })
}

fn task(r: &Row) -> Result<TaskRecord, StoreError> {
    let id = r.int("id")?;
    Ok(TaskRecord {
        id: TaskId(id),
        instance_id: InstanceId(r.int("instance_id")?),
        instance_title: r.text("instance_title")?,
        model_id: ModelId(r.int("model_id")?),
        step: r.text("step")?,
        name: r.text("name")?,
        assignee: r.opt_text("assignee")?,
        role: r.opt_text("role")?,
        state: TaskState::parse(&r.text("state")?).ok_or_else(|| StoreError::Corrupt(format!("task {id} state")))?,
        started_at: ts(r.int("started_at")?)?,
        deadline: deadline_from_cols((
            r.opt_text("deadline_date")?,
            r.opt_int("deadline_at")?,
            r.opt_text("deadline_zone")?,
        ))?,
        deadline_calendar: r.opt_text("deadline_calendar")?,
        ended_at: r.opt_int("ended_at")?.map(ts).transpose()?,
        ended_by: r.opt_text("ended_by")?,
    })
}

fn deadline_json(d: Option<&Deadline>) -> Json {
    d.map_or(Json::Null, Deadline::to_json)
}

fn value_json(v: Option<&flowcal_domain::Value>) -> Json {
    v.map_or(Json::Null, flowcal_domain::Value::to_json)
}

fn load_instance(c: &mut dyn Conn, id: InstanceId) -> Result<Option<InstanceRecord>, StoreError> {
    let Some(mut record) = c
        .query_opt(concat!("SELECT ", instance_columns!(), " FROM instances WHERE id = $1"), params![id.0])?
        .map(|r| instance(&r))
        .transpose()?
    else {
        return Ok(None);
    };
    record.timers = crate::timers::instance_timers(c, id)?;
    Ok(Some(record))
}

fn load_task(c: &mut dyn Conn, id: TaskId) -> Result<Option<TaskRecord>, StoreError> {
    c.query_opt(
        concat!("SELECT ", task_columns!(), " FROM tasks t JOIN instances i ON i.id = t.instance_id WHERE t.id = $1"),
        params![id.0],
    )?
    .map(|r| task(&r))
    .transpose()
}

/// The tasks of an instance. (The join with `instances` is by primary key and
/// cheap; it keeps one row shape for every task query.)
fn instance_tasks(c: &mut dyn Conn, id: InstanceId, open_only: bool) -> Result<Vec<TaskRecord>, StoreError> {
    let sql = if open_only {
        concat!(
            "SELECT ",
            task_columns!(),
            " FROM tasks t JOIN instances i ON i.id = t.instance_id WHERE t.instance_id = $1 AND t.state = 'open' ORDER BY t.id"
        )
    } else {
        concat!(
            "SELECT ",
            task_columns!(),
            " FROM tasks t JOIN instances i ON i.id = t.instance_id WHERE t.instance_id = $1 ORDER BY t.id"
        )
    };
    c.query(sql, params![id.0])?.iter().map(task).collect()
}

/// Reads an instance and takes its lock for the rest of the transaction:
/// a row lock on PostgreSQL. SQLite needs none: its write transactions run
/// one at a time.
fn lock_instance(c: &mut dyn Conn, id: InstanceId) -> Result<InstanceRecord, StoreError> {
    let sql = match c.backend() {
        Backend::Postgres => concat!("SELECT ", instance_columns!(), " FROM instances WHERE id = $1 FOR UPDATE"),
        Backend::Sqlite => concat!("SELECT ", instance_columns!(), " FROM instances WHERE id = $1"),
    };
    let mut record = c
        .query_opt(sql, params![id.0])?
        .map(|r| instance(&r))
        .transpose()?
        .ok_or_else(|| StoreError::NotFound(format!("instance {id}")))?;
    record.timers = crate::timers::instance_timers(c, id)?;
    Ok(record)
}

/// Inserts an instance with its tasks, timers and events.
fn create_in(
    c: &mut dyn Conn,
    model_id: ModelId,
    title: &str,
    starter: &str,
    start: &Transition,
    now: Timestamp,
) -> Result<(InstanceRecord, Vec<TaskRecord>), StoreError> {
    let s = &start.state;
    let ended = matches!(s.status, InstanceStatus::Completed | InstanceStatus::Cancelled);
    let id = c
        .query_one(
            "INSERT INTO instances (model_id, title, starter, status, data, joins, stuck, created_at, ended_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            params![
                model_id.0,
                title,
                starter,
                s.status.as_str(),
                Json::Object(data_to_json(&s.data)).to_string(),
                json!(s.joins).to_string(),
                json!(s.stuck).to_string(),
                now.as_millisecond(),
                ended.then_some(now.as_millisecond())
            ],
        )?
        .int("id")?;
    let mut record = InstanceRecord {
        id: InstanceId(id),
        model_id,
        title: title.to_owned(),
        starter: starter.to_owned(),
        status: s.status,
        data: data_to_json(&s.data),
        joins: s.joins.clone(),
        stuck: s.stuck.clone(),
        timers: Vec::new(),
        created_at: now,
        ended_at: ended.then_some(now),
    };
    let mut tasks = Vec::new();
    let started = (None, "instance_started", json!({"title": title, "starter": starter}));
    apply(c, &record, &mut tasks, vec![started], start, starter, now)?;
    if touches_timers(start) {
        record.timers = crate::timers::instance_timers(c, record.id)?;
    }
    // Auto-synced calendar entries change in the same transaction.
    crate::exports::sync_instance(c, id, now.as_millisecond())?;
    Ok((record, tasks))
}

impl Store {
    /// Creates an instance from the engine's start transition, with its tasks
    /// and events, in one transaction. Returns it with its tasks.
    pub async fn create_instance(
        &self,
        model_id: ModelId,
        title: &str,
        starter: &str,
        start: Transition,
        now: Timestamp,
    ) -> Result<(InstanceRecord, Vec<TaskRecord>), StoreError> {
        let (title, starter) = (title.to_owned(), starter.to_owned());
        self.tx(move |c| create_in(c, model_id, &title, &starter, &start, now)).await
    }

    /// Starts an instance because the start timer `timer`, claimed as due at
    /// `due`, fired; in the same transaction the timer waits again until
    /// `next` or, without, is done. `None` when the timer is no longer the one
    /// claimed (another worker fired it, or a new model version replaced it):
    /// then nothing is started, so a timer starts one instance each time it
    /// is due however many workers claim it.
    #[allow(clippy::too_many_arguments)]
    pub async fn start_by_timer(
        &self,
        timer: TimerId,
        due: Timestamp,
        next: Option<Timestamp>,
        model_id: ModelId,
        title: &str,
        starter: &str,
        start: Transition,
        now: Timestamp,
    ) -> Result<Option<(InstanceRecord, Vec<TaskRecord>)>, StoreError> {
        let (title, starter) = (title.to_owned(), starter.to_owned());
        self.tx(move |c| {
            if !crate::timers::lock_start_timer(c, timer, due)? {
                return Ok(None);
            }
            match next {
                Some(next) => crate::timers::reschedule(c, timer, next, true)?,
                None => crate::timers::delete(c, timer)?,
            }
            create_in(c, model_id, &title, &starter, &start, now).map(Some)
        })
        .await
    }

    pub async fn instance(&self, id: InstanceId) -> Result<Option<InstanceRecord>, StoreError> {
        self.read(move |c| load_instance(c, id)).await
    }

    pub async fn task(&self, id: TaskId) -> Result<Option<TaskRecord>, StoreError> {
        self.read(move |c| load_task(c, id)).await
    }

    /// All tasks of an instance, in creation order.
    pub async fn instance_tasks(&self, id: InstanceId) -> Result<Vec<TaskRecord>, StoreError> {
        self.read(move |c| instance_tasks(c, id, false)).await
    }

    /// The tasks a user may work on: assigned to them, or unclaimed in one of
    /// their roles. `state` filters when given.
    pub async fn tasks_for_user(
        &self,
        login: &str,
        roles: &[String],
        state: Option<TaskState>,
    ) -> Result<Vec<TaskRecord>, StoreError> {
        let mut sql = concat!(
            "SELECT ",
            task_columns!(),
            " FROM tasks t JOIN instances i ON i.id = t.instance_id WHERE (t.assignee = $1"
        )
        .to_owned();
        if !roles.is_empty() {
            let marks: Vec<String> = (0..roles.len()).map(|i| format!("${}", i + 3)).collect();
            sql.push_str(&format!(" OR (t.assignee IS NULL AND t.role IN ({}))", marks.join(", ")));
        }
        sql.push_str(") AND ($2 = '' OR t.state = $2) ORDER BY t.id");
        let mut p = vec![Param::from(login), Param::from(state.map_or("", TaskState::as_str))];
        p.extend(roles.iter().map(Param::from));
        self.read(move |c| c.query(&sql, &p)?.iter().map(task).collect()).await
    }

    /// A page of the tasks a user may work on (those of
    /// [`Store::tasks_for_user`]) that pass `filter`, in `sort`'s order after
    /// the task `after` (its sort key and id), with their count up to
    /// [`COUNT_CAP`] per way in.
    ///
    /// Each way in (assigned to the user, offered to one of their roles) and
    /// state is read in order from its own index (`0011_task_lists`: who,
    /// state, sort key, id), at most a page from each, and the branches
    /// merged; a due window also bounds the sort key, so a page reads about
    /// as many index entries as it returns however long the list.
    pub async fn tasks_page(
        &self,
        login: &str,
        roles: &[String],
        filter: TaskFilter,
        sort: TaskSort,
        after: Option<(i64, i64)>,
        limit: usize,
    ) -> Result<Page<TaskRecord>, StoreError> {
        let (limit, fetch) = fetch(limit);
        let mut b = Binds::default();
        let mut conds = Vec::new();
        if let Some(w) = &filter.due {
            conds.push(format!(
                "((t.deadline_date >= {} AND t.deadline_date < {}) OR (t.deadline_at >= {} AND t.deadline_at < {}))",
                b.bind(w.from_date.as_str()),
                b.bind(w.to_date.as_str()),
                b.bind(w.from_ms),
                b.bind(w.to_ms)
            ));
            // The same window as a range of the sort key, which the index holds in
            // order (a date sorts at the start of its day in UTC): it holds every
            // task the window keeps, and the condition above decides.
            let (lo, hi) = w.sort_range();
            conds.push(format!("t.deadline_sort >= {} AND t.deadline_sort < {}", b.bind(lo), b.bind(hi)));
        }
        if let Some(key) = &filter.process {
            conds.push(format!(
                "t.instance_id IN (SELECT i.id FROM instances i JOIN models m ON m.id = i.model_id WHERE m.key = {})",
                b.bind(key.as_str())
            ));
        }
        let mut who = Vec::new();
        if filter.assigned != Some(false) {
            // (Bound only when used: PostgreSQL cannot type a parameter no statement names.)
            who.push(format!("t.assignee = {}", b.bind(login)));
        }
        if filter.assigned != Some(true) {
            let role_marks: Vec<String> = roles.iter().map(|r| b.bind(r.as_str())).collect();
            who.extend(role_marks.iter().map(|r| format!("t.assignee IS NULL AND t.role = {r}")));
        }
        let states: Vec<String> = match filter.state {
            Some(state) => vec![b.bind(state.as_str())],
            None => [TaskState::Open, TaskState::Done, TaskState::Cancelled].map(|s| b.bind(s.as_str())).to_vec(),
        };
        // One branch per way in and state: each an equality prefix of its index.
        let filters: String = conds.iter().map(|c| format!(" AND {c}")).collect();
        let filters = filters.as_str();
        let wheres: Vec<String> =
            who.iter().flat_map(|w| states.iter().map(move |s| format!("{w} AND t.state = {s}{filters}"))).collect();
        if wheres.is_empty() {
            // Unclaimed tasks of no role.
            return Ok(Page { items: Vec::new(), more: false, total: Some(0), total_exact: true });
        }
        // Each branch counted up to the cap, in a column of its own.
        let count_sql = format!(
            "SELECT {}",
            wheres
                .iter()
                .enumerate()
                .map(|(n, w)| {
                    format!("(SELECT COUNT(*) FROM (SELECT 1 AS one FROM tasks t WHERE {w} LIMIT {COUNT_CAP}) AS c) AS c{n}")
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        let count_params = b.params.clone();
        let keyset = match (sort, after) {
            (_, None) => String::new(),
            (TaskSort::Deadline, Some((k, id))) => {
                format!(" AND (t.deadline_sort, t.id) > ({}, {})", b.bind(k), b.bind(id))
            }
            (TaskSort::Created, Some((k, id))) => {
                format!(" AND (t.started_at, t.id) < ({}, {})", b.bind(k), b.bind(id))
            }
            (TaskSort::Id, Some((_, id))) => format!(" AND t.id > {}", b.bind(id)),
        };
        let order = sort.order();
        let branches: Vec<String> = wheres
            .iter()
            .enumerate()
            .map(|(n, w)| {
                format!("SELECT id FROM (SELECT t.id FROM tasks t WHERE {w}{keyset} ORDER BY {order} LIMIT {fetch}) AS b{n}")
            })
            .collect();
        let sql = format!(
            concat!(
                "SELECT ",
                task_columns!(),
                " FROM tasks t JOIN instances i ON i.id = t.instance_id WHERE t.id IN ({}) ORDER BY {} LIMIT {}"
            ),
            branches.join(" UNION ALL "),
            order,
            fetch
        );
        let params = b.params;
        let branch_count = wheres.len();
        self.read(move |c| {
            let counts = c.query_one(&count_sql, &count_params)?;
            let counts = (0..branch_count).map(|n| counts.int(&format!("c{n}"))).collect::<Result<Vec<_>, _>>()?;
            let rows = c.query(&sql, &params)?.iter().map(task).collect::<Result<Vec<_>, _>>()?;
            let mut page = Page::from_rows(rows, limit, Some(counts.iter().sum()));
            // A branch that reached the cap holds at least that many: the sum is then a lower bound.
            page.total_exact = counts.iter().all(|&n| n < COUNT_CAP);
            Ok(page)
        })
        .await
    }

    /// The open tasks of a role, claimed or not, whose deadline sorts before
    /// `before` (a [`deadline_sort_key`]; so overdue ones too), earliest
    /// first, at most `limit`; `process`: only instances of that model key.
    /// Tasks without a deadline sort last and are never kept.
    pub async fn role_tasks(
        &self,
        role: &str,
        process: Option<&str>,
        before: i64,
        limit: usize,
    ) -> Result<Page<TaskRecord>, StoreError> {
        let (limit, fetch) = fetch(limit);
        let mut b = Binds::default();
        let mut sql = format!(
            concat!(
                "SELECT ",
                task_columns!(),
                " FROM tasks t JOIN instances i ON i.id = t.instance_id
                 WHERE t.role = {} AND t.state = 'open' AND t.deadline_sort < {}"
            ),
            b.bind(role),
            b.bind(before.min(i64::MAX - 1))
        );
        if let Some(key) = process {
            sql.push_str(&format!(" AND i.model_id IN (SELECT m.id FROM models m WHERE m.key = {})", b.bind(key)));
        }
        sql.push_str(&format!(" ORDER BY t.deadline_sort, t.id LIMIT {}", b.bind(fetch)));
        let params = b.params;
        self.read(move |c| {
            let rows = c.query(&sql, &params)?.iter().map(task).collect::<Result<Vec<_>, _>>()?;
            Ok(Page::from_rows(rows, limit, None))
        })
        .await
    }

    /// A page of the instances `viewer` may see, newest first, after the
    /// instance `before` (so: older than it), with the count of all of them.
    /// `None` for `viewer`: all instances (an administrator). The rule is
    /// the API's (`principal::involved`): the starter, and whoever sees a
    /// task of it (its assignee, a member of the role of an unclaimed one)
    /// or ended one.
    pub async fn instances_page(
        &self,
        viewer: Option<(&str, &[String])>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Page<InstanceRecord>, StoreError> {
        let (limit, fetch) = fetch(limit);
        let mut b = Binds::default();
        let visible = match viewer {
            None => "1 = 1".to_owned(),
            Some((login, roles)) => {
                let login = b.bind(login);
                let roles: Vec<String> = roles.iter().map(|r| b.bind(r.as_str())).collect();
                let by_role = if roles.is_empty() {
                    String::new()
                } else {
                    format!(" OR (t.assignee IS NULL AND t.role IN ({}))", roles.join(", "))
                };
                format!(
                    "(starter = {login} OR id IN (SELECT t.instance_id FROM tasks t
                                                   WHERE t.assignee = {login} OR t.ended_by = {login}{by_role}))"
                )
            }
        };
        let count_sql = format!("SELECT COUNT(*) AS n FROM instances WHERE {visible}");
        let count_params = b.params.clone();
        let keyset = before.map(|id| format!(" AND id < {}", b.bind(id))).unwrap_or_default();
        let sql = format!(
            concat!("SELECT ", instance_columns!(), " FROM instances WHERE {}{} ORDER BY id DESC LIMIT {}"),
            visible, keyset, fetch
        );
        let params = b.params;
        self.read(move |c| {
            let total = c.query_one(&count_sql, &count_params)?.int("n")?;
            let rows = c.query(&sql, &params)?.iter().map(instance).collect::<Result<Vec<_>, _>>()?;
            Ok(Page::from_rows(rows, limit, Some(total)))
        })
        .await
    }

    /// A page of the instances stopped by an incident, oldest first, after
    /// the instance `after`, with the count of all of them.
    pub async fn incidents_page(&self, after: Option<i64>, limit: usize) -> Result<Page<InstanceRecord>, StoreError> {
        let (limit, fetch) = fetch(limit);
        self.read(move |c| {
            let total = c.query_one("SELECT COUNT(*) AS n FROM instances WHERE status = 'incident'", &[])?.int("n")?;
            let rows = c
                .query(
                    concat!(
                        "SELECT ",
                        instance_columns!(),
                        " FROM instances WHERE status = 'incident' AND id > $1 ORDER BY id LIMIT $2"
                    ),
                    params![after.unwrap_or(0), fetch],
                )?
                .iter()
                .map(instance)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Page::from_rows(rows, limit, Some(total)))
        })
        .await
    }

    /// The open tasks a user's feed shows: assigned to them, or with a
    /// deadline they exported, whose deadline lies in the window (dates from
    /// `from_date` to `to_date`, instants from `from_ms` up to, not including, `to_ms`).
    pub async fn feed_tasks(
        &self,
        user: UserId,
        login: &str,
        (from_date, to_date): (String, String),
        (from_ms, to_ms): (i64, i64),
    ) -> Result<Vec<TaskRecord>, StoreError> {
        let login = login.to_owned();
        let sql = concat!(
            "SELECT ",
            task_columns!(),
            " FROM tasks t JOIN instances i ON i.id = t.instance_id
             WHERE t.state = 'open'
               AND (t.assignee = $1 OR t.id IN (SELECT e.task_id FROM exports e WHERE e.user_id = $2 AND e.auto = 0
                                                 AND e.wanted = 'present' AND e.source LIKE 'task:%'))
               AND ((t.deadline_date >= $3 AND t.deadline_date <= $4) OR (t.deadline_at >= $5 AND t.deadline_at < $6))
             ORDER BY t.id"
        );
        self.read(move |c| {
            c.query(sql, params![login, user.0, from_date, to_date, from_ms, to_ms])?.iter().map(task).collect()
        })
        .await
    }

    /// The domain events of an instance, in order.
    pub async fn events(&self, id: InstanceId) -> Result<Vec<EventRecord>, StoreError> {
        self.read(move |c| {
            c.query(
                "SELECT id, instance_id, task_id, kind, payload, created_at FROM events WHERE instance_id = $1 ORDER BY id",
                params![id.0],
            )?
            .iter()
            .map(|r| {
                let id = r.int("id")?;
                Ok(EventRecord {
                    id,
                    instance_id: InstanceId(r.int("instance_id")?),
                    task_id: r.opt_int("task_id")?.map(TaskId),
                    kind: r.text("kind")?,
                    payload: serde_json::from_str(&r.text("payload")?).map_err(|_| StoreError::Corrupt(format!("event {id}")))?,
                    created_at: ts(r.int("created_at")?)?,
                })
            })
            .collect()
        })
        .await
    }

    /// Runs an engine operation on an instance under its lock and stores the
    /// result. `op` gets the instance and its open tasks as they are inside the
    /// transaction (so it can check who holds a task under the lock). Returns
    /// the instance and all its tasks afterwards.
    pub async fn change_instance<F>(
        &self,
        id: InstanceId,
        actor: &str,
        now: Timestamp,
        op: F,
    ) -> Result<(InstanceRecord, Vec<TaskRecord>), StoreError>
    where
        F: FnOnce(&InstanceRecord, &[TaskRecord]) -> Result<Transition, StoreError> + Send + 'static,
    {
        self.claim_and_change_instance(id, None, actor, now, op).await
    }

    /// [`Store::change_instance`], where the actor first takes the task
    /// `claim` in the same transaction when it is open and nobody has it,
    /// as [`Store::assign_task`] would (its `task_reassigned` event, button
    /// entries of others withdrawn, auto-sync following): completing a task
    /// offered to a role claims it and moves on in one step. Whether the actor
    /// may take it (one of their roles) is the caller's to check before; `op`
    /// sees the task as the actor's.
    pub async fn claim_and_change_instance<F>(
        &self,
        id: InstanceId,
        claim: Option<TaskId>,
        actor: &str,
        now: Timestamp,
        op: F,
    ) -> Result<(InstanceRecord, Vec<TaskRecord>), StoreError>
    where
        F: FnOnce(&InstanceRecord, &[TaskRecord]) -> Result<Transition, StoreError> + Send + 'static,
    {
        let actor = actor.to_owned();
        self.tx(move |c| {
            let record = lock_instance(c, id)?;
            let mut tasks = instance_tasks(c, id, false)?;
            let claimed = claim.and_then(|task| {
                tasks.iter_mut().find(|t| t.id == task && t.state == TaskState::Open && t.assignee.is_none())
            });
            if let Some(t) = claimed {
                c.execute("UPDATE tasks SET assignee = $1 WHERE id = $2", params![&actor, t.id.0])?;
                let withdrawn = crate::exports::Withdrawn::Reassigned { task: t.id.0, to: &actor };
                crate::exports::withdraw_button_exports(c, withdrawn, now.as_millisecond())?;
                let payload = json!({"step": t.step, "from": Json::Null, "to": actor, "role": t.role, "by": actor});
                insert_events(c, id, &[(Some(t.id), "task_reassigned", payload)], now)?;
                t.assignee = Some(actor.clone());
                // The claim's own auto-sync, as if it had been a change of its own.
                crate::exports::sync_instance(c, id.0, now.as_millisecond())?;
            }
            let open: Vec<TaskRecord> = tasks.iter().filter(|t| t.state == TaskState::Open).cloned().collect();
            let transition = op(&record, &open)?;
            apply(c, &record, &mut tasks, Vec::new(), &transition, &actor, now)?;
            crate::exports::sync_instance(c, id.0, now.as_millisecond())?;
            let s = &transition.state;
            let ended = matches!(s.status, InstanceStatus::Completed | InstanceStatus::Cancelled)
                .then_some(now.as_millisecond());
            // Read again only when the change started, fired, moved or ended one.
            let mut timers = if touches_timers(&transition) {
                crate::timers::instance_timers(c, id)?
            } else {
                record.timers.clone()
            };
            if ended.is_some() && !timers.is_empty() {
                // An instance that ended waits for nothing (the engine ends
                // its timers itself; this keeps a stray row from firing).
                crate::timers::delete_instance_timers(c, id)?;
                timers.clear();
            }
            c.execute(
                "UPDATE instances SET status = $1, data = $2, joins = $3, stuck = $4,
                                      ended_at = COALESCE(ended_at, CAST($5 AS BIGINT))
                 WHERE id = $6",
                params![
                    s.status.as_str(),
                    Json::Object(data_to_json(&s.data)).to_string(),
                    json!(s.joins).to_string(),
                    json!(s.stuck).to_string(),
                    ended,
                    id.0
                ],
            )?;
            let record = InstanceRecord {
                status: s.status,
                data: data_to_json(&s.data),
                joins: s.joins.clone(),
                stuck: s.stuck.clone(),
                timers,
                ended_at: record.ended_at.or(ended.map(ts).transpose()?),
                ..record
            };
            Ok((record, tasks))
        })
        .await
    }

    /// [`Store::change_instance`] for an operation that often changes
    /// nothing (a work calendar's recompute): when the transition has no
    /// effects, nothing is written and `Ok(false)` is returned.
    pub async fn change_instance_unless_unchanged<F>(
        &self,
        id: InstanceId,
        actor: &str,
        now: Timestamp,
        op: F,
    ) -> Result<bool, StoreError>
    where
        F: FnOnce(&InstanceRecord, &[TaskRecord]) -> Result<Transition, StoreError> + Send + 'static,
    {
        let changed = self
            .change_instance(id, actor, now, move |rec, open| {
                let t = op(rec, open)?;
                if t.effects.is_empty() {
                    // Rolls the transaction back: nothing to write.
                    return Err(StoreError::Unchanged);
                }
                Ok(t)
            })
            .await;
        match changed {
            Ok(_) => Ok(true),
            Err(StoreError::Unchanged) => Ok(false),
            Err(e) => Err(e),
        }
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
        F: FnOnce(&TaskRecord) -> Result<(), StoreError> + Send + 'static,
    {
        let (to, by) = (to.to_owned(), by.to_owned());
        let instance = self.task(id).await?.ok_or_else(|| StoreError::NotFound(format!("task {id}")))?.instance_id;
        self.tx(move |c| {
            lock_instance(c, instance)?;
            let t = load_task(c, id)?.ok_or_else(|| StoreError::NotFound(format!("task {id}")))?;
            if t.state != TaskState::Open {
                return Err(StoreError::Conflict(format!("task {id} is {}, not open", t.state.as_str())));
            }
            allowed(&t)?;
            if t.assignee.as_deref() == Some(to.as_str()) {
                return Ok(());
            }
            c.execute("UPDATE tasks SET assignee = $1 WHERE id = $2", params![&to, id.0])?;
            // The task leaves the feed, and the calendars, of whoever had it.
            if let Some(from) = &t.assignee {
                crate::feed_version::touch_login(c, from, now.as_millisecond())?;
            }
            let withdrawn = crate::exports::Withdrawn::Reassigned { task: id.0, to: &to };
            crate::exports::withdraw_button_exports(c, withdrawn, now.as_millisecond())?;
            let payload = json!({"step": t.step, "from": t.assignee, "to": to, "role": t.role, "by": by});
            insert_events(c, t.instance_id, &[(Some(id), "task_reassigned", payload)], now)?;
            crate::exports::sync_instance(c, t.instance_id.0, now.as_millisecond())
        })
        .await
    }
}

/// Whether a transition changes the instance's timers.
fn touches_timers(t: &Transition) -> bool {
    t.effects.iter().any(|e| {
        matches!(
            e,
            Effect::TimerStarted { .. }
                | Effect::TimerFired { .. }
                | Effect::TimerMoved { .. }
                | Effect::TimerCancelled { .. }
        )
    })
}

/// A domain event waiting to be written: task, kind, payload.
type NewEvent = (Option<TaskId>, &'static str, Json);

/// Writes events in one statement, in order.
fn insert_events(
    c: &mut dyn Conn,
    instance: InstanceId,
    events: &[NewEvent],
    now: Timestamp,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let rows: Vec<String> = (0..events.len())
        .map(|i| format!("(${}, ${}, ${}, ${}, ${})", 5 * i + 1, 5 * i + 2, 5 * i + 3, 5 * i + 4, 5 * i + 5))
        .collect();
    let sql =
        format!("INSERT INTO events (instance_id, task_id, kind, payload, created_at) VALUES {}", rows.join(", "));
    let mut p = Vec::with_capacity(events.len() * 5);
    for (task, kind, payload) in events {
        p.extend([
            Param::from(instance.0),
            Param::from(task.map(|t| t.0)),
            Param::from(*kind),
            Param::from(payload.to_string()),
            Param::from(now.as_millisecond()),
        ]);
    }
    c.execute(&sql, &p)?;
    Ok(())
}

/// Applies a transition's effects to the database and to `tasks` (the
/// instance's tasks as they were), recording one domain event per effect
/// after `events`.
fn apply(
    c: &mut dyn Conn,
    instance: &InstanceRecord,
    tasks: &mut Vec<TaskRecord>,
    mut events: Vec<NewEvent>,
    t: &Transition,
    actor: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    // The task the next boundary timer starts with.
    let mut last_created: Option<TaskId> = None;
    let node_of =
        |timer: TimerId| instance.timers.iter().find(|o| o.id == timer).map(|o| o.node.clone()).unwrap_or_default();
    for e in &t.effects {
        match e {
            Effect::TaskCreated { step, name, assignee, deadline, calendar } => {
                let (user, role) = match assignee {
                    Assignee::User(u) => (Some(u.as_str()), None),
                    Assignee::Role(r) => (None, Some(r.as_str())),
                };
                let (d_date, d_at, d_zone) = deadline_cols(deadline.as_ref());
                let id = c
                    .query_one(
                        "INSERT INTO tasks (instance_id, step, name, assignee, role, state, started_at,
                                            deadline_date, deadline_at, deadline_zone, deadline_calendar, deadline_sort)
                         VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $9, $10, $11) RETURNING id",
                        params![
                            instance.id.0,
                            step,
                            name,
                            user,
                            role,
                            now.as_millisecond(),
                            d_date,
                            d_at,
                            d_zone,
                            calendar.as_deref(),
                            deadline_sort_key(deadline.as_ref())
                        ],
                    )?
                    .int("id")?;
                let id = TaskId(id);
                last_created = Some(id);
                let mut payload = json!({"step": step, "name": name, "assignee": user, "role": role,
                                         "deadline": deadline_json(deadline.as_ref())});
                if let Some(calendar) = calendar {
                    payload["calendar"] = json!(calendar);
                }
                events.push((Some(id), "task_created", payload));
                tasks.push(TaskRecord {
                    id,
                    instance_id: instance.id,
                    instance_title: instance.title.clone(),
                    model_id: instance.model_id,
                    step: step.clone(),
                    name: name.clone(),
                    assignee: user.map(str::to_owned),
                    role: role.map(str::to_owned),
                    state: TaskState::Open,
                    started_at: now,
                    deadline: deadline.clone(),
                    deadline_calendar: calendar.clone(),
                    ended_at: None,
                    ended_by: None,
                });
            }
            Effect::TaskCompleted { task } | Effect::TaskCancelled { task } => {
                let (state, kind) = match e {
                    Effect::TaskCompleted { .. } => (TaskState::Done, "task_completed"),
                    _ => (TaskState::Cancelled, "task_cancelled"),
                };
                let changed = c.execute(
                    "UPDATE tasks SET state = $1, ended_at = $2, ended_by = $3 WHERE id = $4 AND state = 'open'",
                    params![state.as_str(), now.as_millisecond(), actor, task.0],
                )?;
                let found = tasks.iter_mut().find(|t| t.id == *task);
                let (1, Some(record)) = (changed, found) else {
                    return Err(StoreError::Conflict(format!("task {task} is no longer open")));
                };
                record.state = state;
                record.ended_at = Some(now);
                record.ended_by = Some(actor.to_owned());
                if state == TaskState::Cancelled {
                    // A done task's entry stays, marked done; a cancelled one's leaves.
                    let withdrawn = crate::exports::Withdrawn::Task(task.0);
                    crate::exports::withdraw_button_exports(c, withdrawn, now.as_millisecond())?;
                }
                let payload =
                    json!({"step": record.step, "assignee": record.assignee, "role": record.role, "by": actor});
                events.push((Some(*task), kind, payload));
            }
            Effect::DeadlineChanged { task, deadline, calendar, reason } => {
                let (d_date, d_at, d_zone) = deadline_cols(deadline.as_ref());
                c.execute(
                    "UPDATE tasks SET deadline_date = $1, deadline_at = $2, deadline_zone = $3, deadline_calendar = $4,
                                      deadline_sort = $5
                     WHERE id = $6",
                    params![d_date, d_at, d_zone, calendar.as_deref(), deadline_sort_key(deadline.as_ref()), task.0],
                )?;
                if let Some(record) = tasks.iter_mut().find(|t| t.id == *task) {
                    record.deadline = deadline.clone();
                    record.deadline_calendar = calendar.clone();
                }
                let mut payload = json!({"deadline": deadline_json(deadline.as_ref())});
                if let Some(calendar) = calendar {
                    payload["calendar"] = json!(calendar);
                }
                if let Some(reason) = reason {
                    payload["reason"] = json!(reason);
                }
                events.push((Some(*task), "task_deadline_changed", payload));
            }
            Effect::TaskReassigned { task, assignee } => {
                let Some(record) = tasks.iter_mut().find(|t| t.id == *task && t.state == TaskState::Open) else {
                    return Err(StoreError::Conflict(format!("task {task} is no longer open")));
                };
                if record.assignee.as_deref() == Some(assignee.as_str()) {
                    continue;
                }
                c.execute("UPDATE tasks SET assignee = $1 WHERE id = $2", params![assignee, task.0])?;
                if let Some(from) = &record.assignee {
                    crate::feed_version::touch_login(c, from, now.as_millisecond())?;
                }
                let withdrawn = crate::exports::Withdrawn::Reassigned { task: task.0, to: assignee };
                crate::exports::withdraw_button_exports(c, withdrawn, now.as_millisecond())?;
                let payload = json!({"step": record.step, "from": record.assignee, "to": assignee,
                                     "role": record.role, "by": actor});
                events.push((Some(*task), "task_reassigned", payload));
                record.assignee = Some(assignee.clone());
            }
            Effect::DataChanged { key, old, new } => {
                let payload =
                    json!({"key": key, "old": value_json(old.as_ref()), "new": value_json(new.as_ref()), "by": actor});
                events.push((None, "data_changed", payload));
            }
            Effect::IncidentRaised { node, message } => {
                events.push((None, "incident_raised", json!({"node": node, "message": message})));
            }
            Effect::IncidentResolved { node } => events.push((None, "incident_resolved", json!({"node": node}))),
            Effect::TimerStarted { node, boundary, task, due } => {
                let task = if *boundary {
                    Some(task.or(last_created).ok_or_else(|| {
                        StoreError::Corrupt(format!("boundary timer '{node}' started without its task"))
                    })?)
                } else {
                    None
                };
                crate::timers::insert(c, instance.id, task, node, now, *due)?;
                events.push((task, "timer_started", json!({"node": node, "due": due.to_string()})));
            }
            Effect::TimerFired { timer, node, next } => {
                match next {
                    Some(next) => crate::timers::reschedule(c, *timer, *next, true)?,
                    None => crate::timers::delete(c, *timer)?,
                }
                let next = next.map(|n| n.to_string());
                events.push((None, "timer_fired", json!({"node": node, "next": next})));
            }
            Effect::TimerMoved { timer, due } => {
                crate::timers::reschedule(c, *timer, *due, false)?;
                events.push((None, "timer_moved", json!({"node": node_of(*timer), "due": due.to_string()})));
            }
            Effect::TimerCancelled { timer } => {
                crate::timers::delete(c, *timer)?;
                events.push((None, "timer_cancelled", json!({"node": node_of(*timer)})));
            }
            Effect::MilestoneReached { node, name } => {
                events.push((None, "milestone_reached", json!({"node": node, "name": name})));
            }
            Effect::InstanceCompleted => events.push((None, "instance_completed", json!({}))),
            Effect::InstanceCancelled => {
                let withdrawn = crate::exports::Withdrawn::Instance(instance.id.0);
                crate::exports::withdraw_button_exports(c, withdrawn, now.as_millisecond())?;
                events.push((None, "instance_cancelled", json!({"by": actor})));
            }
        }
    }
    insert_events(c, instance.id, &events, now)
}
