//! Workflow: process models, instances and tasks, with authorization
//! checked on every object. The engine's transitions are applied by the store
//! in one transaction per change.

use crate::clock::Clock;
use crate::error::{AppError, AppResult};
use crate::models::{Models, Parsed};
use crate::principal::{involved, Principal, DESIGNER_ROLE};
use crate::workcal_data::{CalendarCache, CALENDAR_ACTOR};
use flowcal_domain::user::parse_time_zone;
use flowcal_domain::{CompiledCalendar, InstanceId, ModelId, ProcessModel, TaskId, TimerId};
use flowcal_engine::{Engine, EngineError, InstanceState, OpenTask, Transition};
use flowcal_store::{
    DueTimer, DueWindow, EventRecord, InstanceRecord, Page, Store, StoreError, StoredModel, TaskFilter, TaskRecord,
    TaskSort, TaskState, TimerTarget,
};
use jiff::Timestamp;
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The compiled work calendars an engine counts deadlines in.
type Calendars = BTreeMap<String, Arc<CompiledCalendar>>;

/// What an engine operation inside a store transaction returns.
type EngineResult = Result<Transition, StoreError>;

/// What starting an instance or completing a task returns.
#[derive(Debug)]
pub struct InstanceView {
    pub instance: InstanceRecord,
    pub model: StoredModel,
    pub tasks: Vec<TaskRecord>,
}

/// What a date moved in a calendar changes.
#[derive(Debug, Clone, Copy)]
pub enum CalendarDate<'a> {
    /// A date or date-time item of the instance.
    Item(&'a str),
    /// The deadline of an open task.
    Deadline(TaskId),
}

/// Who may change an instance's dates through the calendar: administrators
/// and the instance's starter.
pub fn may_change_dates(user: &flowcal_store::User, instance: &InstanceRecord) -> bool {
    user.is_admin || instance.starter == user.login
}

/// The value a calendar entry's new start gives an item of `data_type`: a
/// day for a date item (a timed entry's day in its zone), an instant for a
/// date-time item (an all-day entry cannot give one).
fn calendar_value(data_type: flowcal_domain::model::DataType, start: &flowcal_calendar::When) -> AppResult<Json> {
    use flowcal_calendar::When;
    use flowcal_domain::model::DataType;
    match (data_type, start) {
        (DataType::Date, When::Date(d)) => Ok(Json::String(d.to_string())),
        (DataType::Date, When::At { at, zone }) => {
            let day = at.in_tz(zone).map(|z| z.date()).unwrap_or_else(|_| at.to_zoned(jiff::tz::TimeZone::UTC).date());
            Ok(Json::String(day.to_string()))
        }
        (DataType::DateTime, When::At { at, zone }) => {
            let z = at.in_tz(zone).unwrap_or_else(|_| at.to_zoned(jiff::tz::TimeZone::UTC));
            Ok(Json::String(z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()))
        }
        (DataType::DateTime, When::Date(_)) => Err(AppError::Conflict(
            "the entry was made an all-day one in the calendar; a date-time item needs a time".into(),
        )),
        _ => Err(AppError::Conflict("the item no longer holds a date".into())),
    }
}

/// The workflow service.
#[derive(Debug)]
pub struct Workflow {
    store: Store,
    clock: Arc<dyn Clock>,
    models: Arc<Models>,
    calendars: Arc<CalendarCache>,
    /// The zone of deadlines and dates of models that name none.
    time_zone: String,
    max_model_bytes: usize,
    /// Whether a model may name a work calendar that does not exist (yet).
    allow_unknown_calendars: bool,
}

impl Workflow {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        models: Arc<Models>,
        calendars: Arc<CalendarCache>,
        time_zone: String,
        max_model_bytes: usize,
        allow_unknown_calendars: bool,
    ) -> Self {
        Workflow { store, clock, models, calendars, time_zone, max_model_bytes, allow_unknown_calendars }
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Reads, checks and stores a BPMN model as the next version of its key.
    /// A rejected model stores nothing.
    pub async fn import_model(&self, by: Option<&Principal>, bytes: &[u8]) -> AppResult<StoredModel> {
        if let Some(p) = by {
            if !p.is_admin() && !p.roles.iter().any(|r| r == DESIGNER_ROLE) {
                return Err(AppError::Forbidden(format!(
                    "only administrators and members of the role '{DESIGNER_ROLE}' may upload models"
                )));
            }
        }
        let limit = self.max_model_bytes;
        if bytes.len() > limit {
            return Err(AppError::TooLarge {
                message: format!("the model has {} bytes; the limit is {limit} (max_model_bytes)", bytes.len()),
            });
        }
        let xml = std::str::from_utf8(bytes).map_err(|e| {
            let (line, column) = line_col(bytes, e.valid_up_to());
            AppError::InvalidModel {
                line,
                column,
                message: "the file is not UTF-8 text".into(),
                unsupported: Vec::new(),
            }
        })?;
        let model = crate::models::parse(xml.to_owned()).await?.map_err(|e| AppError::InvalidModel {
            line: e.line,
            column: e.column,
            message: e.message,
            unsupported: e.unsupported,
        })?;
        if model.start_timer.is_some() {
            check_timer_start(&model, by)?;
        }
        self.check_calendars(&model).await?;
        let now = self.now();
        let stored = self.store.insert_model(&model.key, &model.name, xml, by.map(|p| p.user.id), now).await?;
        let names: Vec<String> = model.work_calendars().into_iter().map(str::to_owned).collect();
        self.store.set_model_calendars(stored.id, &names).await?;
        // The newest version's start timer replaces an earlier version's.
        let due = self.engine(&model)?.start_timer_due(now, None);
        let timer = model.start().zip(due).map(|(start, due)| (start.id.clone(), due));
        self.store.set_start_timer(&model.key, stored.id, timer, now).await?;
        self.models.keep(stored.clone(), Arc::new(model));
        Ok(stored)
    }

    /// Refuses a model that names a work calendar that does not exist,
    /// naming where, unless the configuration allows it
    /// (`work_calendars.allow_unknown_in_models`: its steps then count in
    /// calendar days until the calendar is created, which recomputes them).
    async fn check_calendars(&self, model: &ProcessModel) -> AppResult<()> {
        if model.calendar_refs.is_empty() || self.allow_unknown_calendars {
            return Ok(());
        }
        let known = self.calendars.names().await?;
        let Some(r) = model.calendar_refs.iter().find(|r| !known.contains(&r.name)) else {
            return Ok(());
        };
        Err(AppError::InvalidModel {
            line: r.line,
            column: r.column,
            message: format!(
                "flowcal:workCalendar names '{}', but there is no such work calendar: an administrator creates it \
                 (PUT /api/v1/admin/work-calendars/{} or the admin pages) before the model is uploaded",
                r.name, r.name
            ),
            unsupported: Vec::new(),
        })
    }

    /// The work calendar `name` changed: every open task of a running
    /// instance whose step counts its deadline in it gets it computed again
    /// with `calendar`, one transaction per instance, the history saying
    /// why (`reason`). Returns how many instances had a deadline moved.
    pub async fn recompute_calendar(
        &self,
        name: &str,
        calendar: Arc<CompiledCalendar>,
        reason: &str,
        page: usize,
    ) -> AppResult<usize> {
        let mut after = None;
        let mut tally = Tally::default();
        // The models and the calendars they count in, read once per model.
        let mut per_model: std::collections::HashMap<ModelId, (Arc<ProcessModel>, Calendars)> = Default::default();
        // Instances are changed a few at a time, each in its own transaction.
        let mut running = tokio::task::JoinSet::new();
        'pages: loop {
            let ids = self.store.instances_using_calendar(name, after, page).await?;
            let Some(last) = ids.last() else { break };
            after = Some(*last);
            let full = ids.len() >= page;
            for (id, model_id) in ids {
                let (model, cals) = match per_model.get(&model_id) {
                    Some(hit) => hit.clone(),
                    None => {
                        let (_, model) = self.model(model_id).await?;
                        let mut cals = self.calendars.for_model(&model).await?;
                        cals.insert(name.to_owned(), calendar.clone());
                        per_model.insert(model_id, (model.clone(), cals.clone()));
                        (model, cals)
                    }
                };
                while running.len() >= RECOMPUTE_CONCURRENCY {
                    if let Some(done) = running.join_next().await {
                        tally.settle(done);
                    }
                }
                if tally.failed.is_some() {
                    break 'pages;
                }
                let (store, zone, now) = (self.store.clone(), self.time_zone.clone(), self.now());
                let (name, reason) = (name.to_owned(), reason.to_owned());
                running.spawn(async move {
                    store
                        .change_instance_unless_unchanged(id, CALENDAR_ACTOR, now, move |rec, open_records| {
                            let open: Vec<OpenTask> = open_records.iter().map(TaskRecord::open_task).collect();
                            let engine = Engine::new(&model, &zone)?.with_calendars(cals);
                            Ok(engine.recompute_deadlines(&rec.state(&model.data_items), &open, &name, &reason)?)
                        })
                        .await
                });
            }
            if !full {
                break;
            }
        }
        while let Some(done) = running.join_next().await {
            tally.settle(done);
        }
        match tally.failed {
            Some(e) => Err(e),
            None => Ok(tally.moved),
        }
    }

    // ---- timers --------------------------------------------------------------------------------

    /// Fires a claimed timer: moves its instance on, or starts an instance of
    /// its model. `Ok(false)` when it was not waiting any more (another
    /// worker fired it, its task ended, or its date moved later).
    pub async fn fire_timer(&self, timer: &DueTimer) -> AppResult<bool> {
        match &timer.target {
            TimerTarget::Instance(id) => self.fire_instance_timer(*id, timer.id).await,
            TimerTarget::Start { key, armed_at, .. } => self.start_by_timer(timer, key, *armed_at).await,
        }
    }

    async fn fire_instance_timer(&self, id: InstanceId, timer: TimerId) -> AppResult<bool> {
        let Some(instance) = self.store.instance(id).await? else {
            return Ok(false);
        };
        let (_, model) = self.model(instance.model_id).await?;
        let cals = self.calendars.for_model(&model).await?;
        let zone = self.time_zone.clone();
        let now = self.now();
        let fired = self
            .store
            .change_instance(id, TIMER_ACTOR, now, move |rec, open_records| {
                let open: Vec<OpenTask> = open_records.iter().map(TaskRecord::open_task).collect();
                let engine = Engine::new(&model, &zone)?.with_calendars(cals);
                Ok(engine.fire_timer(&rec.state(&model.data_items), &open, timer, &rec.starter, now)?)
            })
            .await;
        match fired {
            Ok(_) => Ok(true),
            Err(StoreError::Engine(EngineError::TimerNotWaiting(_) | EngineError::NotRunning(_))) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Starts an instance of the newest version of `key` in the name of the
    /// user who uploaded that version, titled with the model's name and the
    /// date in the model's zone.
    async fn start_by_timer(&self, timer: &DueTimer, key: &str, armed_at: Timestamp) -> AppResult<bool> {
        let (stored, model) = self.latest_model(key).await?;
        let engine = self.engine(&model)?.with_calendars(self.calendars.for_model(&model).await?);
        let now = self.now();
        let next = engine.start_timer_due(armed_at, Some(now));
        let starter = match stored.created_by {
            Some(id) => self.store.user(id).await?.map(|u| u.login),
            None => None,
        };
        let Some(starter) = starter else {
            // Checked at upload; the uploader's account has since been deleted.
            return Err(AppError::Unprocessable(format!(
                "model '{key}' version {} has a timer start event but its uploader no longer exists: upload the model \
                 again to start its instances in your name",
                stored.version
            )));
        };
        let zone = parse_time_zone(engine.zone_name()).map_err(AppError::Unprocessable)?;
        let title = format!("{} {}", model.name, now.to_zoned(zone).strftime("%Y-%m-%d %H:%M"));
        let start = engine.start(&starter, &Map::new(), now)?;
        let started =
            self.store.start_by_timer(timer.id, timer.due, next, stored.id, &title, &starter, start, now).await?;
        if let Some((instance, _)) = &started {
            tracing::info!(model = %key, instance = %instance.id, "a timer started an instance");
        }
        Ok(started.is_some())
    }

    /// The parsed model of a stored version.
    pub async fn model(&self, id: ModelId) -> AppResult<Parsed> {
        Ok(self.models.get(id).await?)
    }

    /// The drawing of a stored model version (see [`Models::drawing`]).
    pub async fn drawing(&self, stored: &StoredModel) -> crate::models::Drawing {
        self.models.drawing(stored).await
    }

    /// The newest version of the model `key`.
    pub async fn latest_model(&self, key: &str) -> AppResult<Parsed> {
        Ok(self.models.latest(key).await?)
    }

    fn engine<'m>(&self, model: &'m ProcessModel) -> AppResult<Engine<'m>> {
        Ok(Engine::new(model, &self.time_zone)?)
    }

    /// Refuses values of `user` items that name no user.
    async fn check_users(&self, model: &ProcessModel, data: &Map<String, Json>) -> AppResult<()> {
        let mut fields = Vec::new();
        for item in model.data_items.iter().filter(|i| i.data_type == flowcal_domain::DataType::User) {
            if let Some(Json::String(login)) = data.get(&item.key) {
                if self.store.user_by_login(login).await?.is_none() {
                    fields.push((item.key.clone(), format!("there is no user '{login}'")));
                }
            }
        }
        if fields.is_empty() {
            Ok(())
        } else {
            Err(AppError::InvalidData {
                message: format!(
                    "invalid data: {}",
                    fields.iter().map(|(k, m)| format!("{k}: {m}")).collect::<Vec<_>>().join("; ")
                ),
                fields,
                unlisted: 0,
            })
        }
    }

    // ---- instances and tasks -------------------------------------------------------------------

    /// Starts an instance of the newest version of a model.
    pub async fn start_instance(
        &self,
        p: &Principal,
        key: &str,
        title: &str,
        data: &Map<String, Json>,
    ) -> AppResult<InstanceView> {
        let title = title.trim();
        if title.is_empty() || title.chars().count() > 500 || title.chars().any(char::is_control) {
            return Err(AppError::Unprocessable(
                "the title must have 1 to 500 characters, without control characters".into(),
            ));
        }
        let (stored, model) = self.latest_model(key).await?;
        let engine = self.engine(&model)?.with_calendars(self.calendars.for_model(&model).await?);
        engine.validate(data)?;
        self.check_users(&model, data).await?;
        let now = self.now();
        let start = engine.start(p.login(), data, now)?;
        let (instance, tasks) = self.store.create_instance(stored.id, title, p.login(), start, now).await?;
        Ok(InstanceView { instance, model: stored, tasks })
    }

    async fn instance_view_unchecked(&self, id: InstanceId) -> AppResult<InstanceView> {
        let instance = self.store.instance(id).await?.ok_or_else(|| AppError::NotFound(format!("instance {id}")))?;
        let (model, _) = self.model(instance.model_id).await?;
        let tasks = self.store.instance_tasks(id).await?;
        Ok(InstanceView { instance, model, tasks })
    }

    /// An instance, for its starter, an administrator, or someone who has or had a task in it.
    pub async fn instance(&self, p: &Principal, id: InstanceId) -> AppResult<InstanceView> {
        let v = self.instance_view_unchecked(id).await?;
        if !involved(&p.user, &p.roles, &v.instance, &v.tasks) {
            return Err(AppError::NotFound(format!("instance {id}")));
        }
        Ok(v)
    }

    /// The domain events of an instance (its starter and administrators).
    pub async fn instance_events(&self, p: &Principal, id: InstanceId) -> AppResult<Vec<EventRecord>> {
        let v = self.instance(p, id).await?;
        if !p.is_admin() && v.instance.starter != p.login() {
            return Err(AppError::Forbidden("only the starter and administrators see an instance's history".into()));
        }
        Ok(self.store.events(id).await?)
    }

    pub async fn tasks(&self, p: &Principal, state: Option<TaskState>) -> AppResult<Vec<TaskRecord>> {
        Ok(self.store.tasks_for_user(p.login(), &p.roles, state).await?)
    }

    /// A page of the caller's tasks (those of [`Workflow::tasks`]): `query`
    /// filters and sorts, `after` is the sort key and id of the last task of
    /// the previous page.
    pub async fn tasks_page(
        &self,
        p: &Principal,
        query: TaskQuery,
        after: Option<(i64, i64)>,
        limit: usize,
    ) -> AppResult<Page<TaskRecord>> {
        let due = query.due.map(|d| self.due_window(p, d));
        let filter = TaskFilter { state: query.state, due, process: query.process, assigned: query.assigned };
        Ok(self.store.tasks_page(p.login(), &p.roles, filter, query.sort, after, limit).await?)
    }

    /// The deadlines `due` keeps, from now and today in the caller's time zone
    /// (the server's when theirs is unknown).
    fn due_window(&self, p: &Principal, due: Due) -> DueWindow {
        let now = self.now();
        let zone = parse_time_zone(&p.user.time_zone)
            .or_else(|_| parse_time_zone(&self.time_zone))
            .unwrap_or(jiff::tz::TimeZone::UTC);
        let today = now.to_zoned(zone).date();
        let now_ms = now.as_millisecond();
        match due {
            Due::Overdue => {
                DueWindow { from_date: String::new(), to_date: today.to_string(), from_ms: i64::MIN, to_ms: now_ms }
            }
            Due::Week => DueWindow {
                from_date: today.to_string(),
                to_date: today.checked_add(jiff::Span::new().days(DUE_WEEK_DAYS)).unwrap_or(today).to_string(),
                from_ms: now_ms,
                to_ms: now_ms.saturating_add(DUE_WEEK_DAYS * 86_400_000),
            },
        }
    }

    /// A page of the instances the caller may see (as [`Workflow::instance`]
    /// decides), newest first, older than the instance `before`.
    pub async fn instances_page(
        &self,
        p: &Principal,
        before: Option<InstanceId>,
        limit: usize,
    ) -> AppResult<Page<InstanceRecord>> {
        let viewer = (!p.is_admin()).then_some((p.login(), p.roles.as_slice()));
        Ok(self.store.instances_page(viewer, before.map(|i| i.0), limit).await?)
    }

    /// A task the principal may see; others get "not found", so ids reveal nothing.
    pub async fn task(&self, p: &Principal, id: TaskId) -> AppResult<TaskRecord> {
        match self.store.task(id).await? {
            Some(t) if p.can_see(&t) => Ok(t),
            _ => Err(AppError::NotFound(format!("task {id}"))),
        }
    }

    /// A task the principal means to work on. Someone who could have had it
    /// (its role, its assignee) learns that it is no longer available (409);
    /// anyone else gets "not found".
    async fn task_to_work(&self, p: &Principal, id: TaskId) -> AppResult<TaskRecord> {
        let t = self.store.task(id).await?.ok_or_else(|| AppError::NotFound(format!("task {id}")))?;
        let related = p.can_see(&t)
            || t.role.as_ref().is_some_and(|r| p.roles.contains(r))
            || t.ended_by.as_deref() == Some(p.login());
        if !related {
            return Err(AppError::NotFound(format!("task {id}")));
        }
        if t.state != TaskState::Open {
            return Err(AppError::Conflict(format!("task {id} is {}, no longer open", t.state.as_str())));
        }
        if !p.can_work(&t) {
            return Err(match &t.assignee {
                Some(a) if t.role.as_ref().is_some_and(|r| p.roles.contains(r)) => {
                    AppError::Conflict(format!("task {id} was claimed by {a}"))
                }
                Some(_) => AppError::Forbidden(format!("task {id} is assigned to someone else")),
                None => AppError::Forbidden(format!(
                    "task {id} is offered to the role '{}', which you are not in",
                    t.role.as_deref().unwrap_or("")
                )),
            });
        }
        Ok(t)
    }

    /// A role member takes an unclaimed task.
    pub async fn claim(&self, p: &Principal, id: TaskId) -> AppResult<TaskRecord> {
        self.task_to_work(p, id).await?;
        let login = p.login().to_owned();
        let roles = p.roles.clone();
        self.store
            .assign_task(id, p.login(), p.login(), self.now(), move |t| match (&t.assignee, &t.role) {
                (Some(a), _) if *a == login => Ok(()),
                (Some(a), _) => Err(StoreError::Conflict(format!("task {id} was claimed by {a}"))),
                (None, Some(r)) if roles.contains(r) => Ok(()),
                _ => Err(StoreError::Conflict(format!("task {id} cannot be claimed by {login}"))),
            })
            .await?;
        self.task(p, id).await
    }

    /// Completes a task with data and moves the instance on. Of two
    /// completions at once, exactly one wins; the other gets a conflict.
    pub async fn complete(&self, p: &Principal, id: TaskId, data: &Map<String, Json>) -> AppResult<InstanceView> {
        let t = self.task_to_work(p, id).await?;
        let (_, model) = self.model(t.model_id).await?;
        self.engine(&model)?.validate(data)?;
        self.check_users(&model, data).await?;
        // Completing a task offered to one of the caller's roles (as
        // `task_to_work` checked) claims it first, in the same transaction.
        let claim = t.assignee.is_none().then_some(id);
        let (now, data, actor) = (self.now(), data.clone(), p.login().to_owned());
        self.change(t.instance_id, t.model_id, claim, p.login(), move |engine, state, rec, open_records, open| {
            // Checked again under the instance's lock: it may have been
            // completed or reassigned since.
            let Some(task) = open_records.iter().find(|o| o.id == id) else {
                return Err(StoreError::Conflict(format!("task {id} is no longer open")));
            };
            if task.assignee.as_deref() != Some(actor.as_str()) {
                return Err(StoreError::Conflict(format!("task {id} was reassigned")));
            }
            Ok(engine.complete(state, open, id, &rec.starter, &data, now)?)
        })
        .await
    }

    /// Runs an engine operation on an instance under its lock and returns the
    /// instance as it left the transaction. `op` gets the engine, the
    /// instance's state, its open tasks as the store has them and as the engine
    /// takes them.
    async fn change<F>(
        &self,
        id: InstanceId,
        model_id: ModelId,
        claim: Option<TaskId>,
        actor: &str,
        op: F,
    ) -> AppResult<InstanceView>
    where
        F: FnOnce(&Engine<'_>, &InstanceState, &InstanceRecord, &[TaskRecord], &[OpenTask]) -> EngineResult
            + Send
            + 'static,
    {
        let (stored, model) = self.model(model_id).await?;
        let cals = self.calendars.for_model(&model).await?;
        let zone = self.time_zone.clone();
        let (instance, tasks) = self
            .store
            .claim_and_change_instance(id, claim, actor, self.now(), move |rec, open_records| {
                let open: Vec<OpenTask> = open_records.iter().map(TaskRecord::open_task).collect();
                let engine = Engine::new(&model, &zone)?.with_calendars(cals);
                op(&engine, &rec.state(&model.data_items), rec, open_records, &open)
            })
            .await?;
        Ok(InstanceView { instance, model: stored, tasks })
    }

    /// An administrator corrects an instance's data; deadlines that depend on it follow.
    pub async fn set_data(&self, p: &Principal, id: InstanceId, data: &Map<String, Json>) -> AppResult<InstanceView> {
        p.require_admin()?;
        let v = self.instance_view_unchecked(id).await?;
        let (_, model) = self.model(v.instance.model_id).await?;
        self.engine(&model)?.validate(data)?;
        self.check_users(&model, data).await?;
        let data = data.clone();
        self.change(id, v.instance.model_id, None, p.login(), move |engine, state, _, _, open| {
            Ok(engine.set_data(state, open, &data)?)
        })
        .await
    }

    /// A date moved in `user`'s calendar becomes the instance's: the new
    /// value of the date item `key`, or (`key` none) the deadline of the
    /// open task `task`. Only for users who may change the instance's dates
    /// ([`may_change_dates`]); recorded in the instance's history as changed
    /// through the calendar by `user`.
    pub async fn use_calendar_date(
        &self,
        user: &flowcal_store::User,
        instance: InstanceId,
        target: CalendarDate<'_>,
        start: &flowcal_calendar::When,
    ) -> AppResult<InstanceView> {
        let v = self.instance_view_unchecked(instance).await?;
        if !may_change_dates(user, &v.instance) {
            return Err(AppError::Forbidden(
                "only the instance's starter or an administrator may change its dates".into(),
            ));
        }
        let (_, model) = self.model(v.instance.model_id).await?;
        let actor = format!("{} (through the calendar)", user.login);
        match target {
            CalendarDate::Item(key) => {
                let item =
                    model.data_items.iter().find(|i| i.key == key).ok_or_else(|| {
                        AppError::Conflict(format!("the process no longer has the date item '{key}'"))
                    })?;
                let value = calendar_value(item.data_type, start)?;
                let data = Map::from_iter([(key.to_owned(), value)]);
                self.engine(&model)?.validate(&data)?;
                self.change(instance, v.instance.model_id, None, &actor, move |engine, state, _, _, open| {
                    Ok(engine.set_data(state, open, &data)?)
                })
                .await
            }
            CalendarDate::Deadline(task) => {
                let deadline = match start {
                    flowcal_calendar::When::Date(d) => flowcal_domain::Deadline::Date(*d),
                    flowcal_calendar::When::At { at, zone } => {
                        flowcal_domain::Deadline::At { at: *at, zone: zone.clone() }
                    }
                };
                self.change(instance, v.instance.model_id, None, &actor, move |engine, state, _, _, open| {
                    Ok(engine.set_deadline(state, open, task, deadline, "changed through the calendar")?)
                })
                .await
            }
        }
    }

    /// An administrator retries the gateways an instance is stuck at.
    pub async fn retry(&self, p: &Principal, id: InstanceId) -> AppResult<InstanceView> {
        p.require_admin()?;
        let v = self.instance_view_unchecked(id).await?;
        let now = self.now();
        self.change(id, v.instance.model_id, None, p.login(), move |engine, state, rec, _, open| {
            Ok(engine.retry(state, open, &rec.starter, now)?)
        })
        .await
    }

    /// Cancels an instance (its starter or an administrator); open tasks are cancelled.
    pub async fn cancel(&self, p: &Principal, id: InstanceId) -> AppResult<InstanceView> {
        let v = self.instance(p, id).await?;
        if !p.is_admin() && v.instance.starter != p.login() {
            return Err(AppError::Forbidden("only the starter or an administrator may cancel an instance".into()));
        }
        self.change(id, v.instance.model_id, None, p.login(), |engine, state, _, _, open| {
            Ok(engine.cancel(state, open)?)
        })
        .await
    }

    /// A page of the instances stopped by an incident (administrators),
    /// oldest first, after the instance `after`.
    pub async fn incidents_page(
        &self,
        p: &Principal,
        after: Option<InstanceId>,
        limit: usize,
    ) -> AppResult<Page<InstanceRecord>> {
        p.require_admin()?;
        Ok(self.store.incidents_page(after.map(|i| i.0), limit).await?)
    }
}

/// Which deadlines a list of tasks keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Passed: an instant before now, a date before today.
    Overdue,
    /// Within the next [`DUE_WEEK_DAYS`] days: an instant from now up to
    /// 7 × 24 hours on, a date from today through the 6th day after it.
    Week,
}

/// How many days `due=week` looks ahead.
pub const DUE_WEEK_DAYS: i64 = 7;

/// How a list of tasks is filtered and sorted.
#[derive(Debug, Clone)]
pub struct TaskQuery {
    pub state: Option<TaskState>,
    pub due: Option<Due>,
    /// A model's key.
    pub process: Option<String>,
    /// Only the caller's own (`true`) or only those to claim (`false`).
    pub assigned: Option<bool>,
    pub sort: TaskSort,
}

/// What a recompute's instances came to: how many moved, the first failure.
#[derive(Default)]
struct Tally {
    moved: usize,
    failed: Option<AppError>,
}

impl Tally {
    fn settle(&mut self, done: Result<Result<bool, StoreError>, tokio::task::JoinError>) {
        match done {
            Ok(Ok(true)) => self.moved += 1,
            Ok(Ok(false) | Err(StoreError::Engine(EngineError::NotRunning(_)))) => {}
            Ok(Err(e)) => {
                self.failed.get_or_insert(e.into());
            }
            Err(e) => {
                self.failed.get_or_insert(AppError::Internal(anyhow::anyhow!("a recompute stopped: {e}")));
            }
        }
    }
}

/// How many instances a work calendar's recompute changes at once (each in
/// its own transaction).
const RECOMPUTE_CONCURRENCY: usize = 8;

/// Who the history names for what a timer did.
pub const TIMER_ACTOR: &str = "timer";

/// A model with a timer start event starts its instances by itself, in the
/// name of its uploader and without data: so it needs an uploader, and no
/// item may be required at the start.
fn check_timer_start(model: &ProcessModel, by: Option<&Principal>) -> AppResult<()> {
    let unprocessable = |message: String| {
        let at = model.start().map_or((1, 1), |s| (s.line, s.column));
        AppError::InvalidModel { line: at.0, column: at.1, message, unsupported: Vec::new() }
    };
    if by.is_none() {
        return Err(unprocessable(
            "the process has a timer start event, and its instances are started in the name of whoever uploads \
             it: upload it through the web app or the API, or name the uploader with flowcal model import --as LOGIN"
                .into(),
        ));
    }
    let required: Vec<&str> = model.data_items.iter().filter(|i| i.required).map(|i| i.key.as_str()).collect();
    if !required.is_empty() {
        return Err(unprocessable(format!(
            "the process has a timer start event, which starts instances without data, but requires the items {}: \
             make them optional",
            required.join(", ")
        )));
    }
    Ok(())
}

/// 1-based line and column of a byte offset.
fn line_col(bytes: &[u8], offset: usize) -> (u32, u32) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
    (u32::try_from(line).unwrap_or(u32::MAX), u32::try_from(col).unwrap_or(u32::MAX))
}
