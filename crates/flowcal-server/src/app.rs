//! The application services: everything the API and the command line do,
//! with authorization checked on every object. Handlers stay thin.

use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::secrets;
use flowcal_domain::{InstanceId, Login, ModelId, ProcessModel, TaskId};
use flowcal_engine::{Engine, InstanceState, OpenTask, Transition};
use flowcal_store::{
    EventRecord, InstanceRecord, NewUser, SignInLock, SignInRule, SignInRules, Store, StoreError, StoredModel,
    TaskRecord, TaskState, TokenLookup, User,
};
use jiff::Timestamp;
use serde_json::{Map, Value as Json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Where the time comes from: the system clock, or a clock a test sets.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;
}

#[derive(Debug)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        // Stored times have millisecond precision; keep `now` at that precision
        // so that what is computed equals what is read back.
        let now = Timestamp::now();
        Timestamp::from_millisecond(now.as_millisecond()).unwrap_or(now)
    }
}

/// A clock that stays where it is set.
#[derive(Debug)]
pub struct FixedClock(Mutex<Timestamp>);

impl FixedClock {
    pub fn new(at: Timestamp) -> Self {
        FixedClock(Mutex::new(at))
    }

    pub fn set(&self, at: Timestamp) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Who sees a task: an administrator, its assignee, or (while nobody has
/// claimed it) a member of its role. The rule of the API and of delivery.
pub(crate) fn sees_task(user: &User, roles: &[String], t: &TaskRecord) -> bool {
    user.is_admin || works_on(user, roles, t)
}

/// Who may claim or complete a task: its assignee, or a member of its role
/// while nobody has claimed it.
pub(crate) fn works_on(user: &User, roles: &[String], t: &TaskRecord) -> bool {
    match (&t.assignee, &t.role) {
        (Some(a), _) => *a == user.login,
        (None, Some(r)) => roles.contains(r),
        (None, None) => false,
    }
}

/// Who is involved in an instance: an administrator, its starter, or whoever
/// sees one of its tasks or ended one. The rule of the API and of delivery.
pub(crate) fn involved(user: &User, roles: &[String], instance: &InstanceRecord, tasks: &[TaskRecord]) -> bool {
    user.is_admin
        || instance.starter == user.login
        || tasks.iter().any(|t| sees_task(user, roles, t) || t.ended_by.as_deref() == Some(user.login.as_str()))
}

/// A signed-in user with their roles.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub roles: Vec<String>,
}

impl Principal {
    pub fn login(&self) -> &str {
        &self.user.login
    }

    pub fn is_admin(&self) -> bool {
        self.user.is_admin
    }

    /// May see the task: an admin, the assignee, or a member of the role of an unclaimed task.
    pub fn can_see(&self, t: &TaskRecord) -> bool {
        sees_task(&self.user, &self.roles, t)
    }

    /// May claim or complete the task.
    pub fn can_work(&self, t: &TaskRecord) -> bool {
        works_on(&self.user, &self.roles, t)
    }

    pub(crate) fn require_admin(&self) -> AppResult<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(AppError::Forbidden("only an administrator may do this".into()))
        }
    }
}

/// What an engine operation inside a store transaction returns.
type EngineResult = Result<Transition, StoreError>;

/// Who may upload models: administrators and members of this role.
pub const DESIGNER_ROLE: &str = "designers";

/// The application: configuration, store, clock and a cache of parsed models.
#[derive(Debug)]
pub struct App {
    pub config: Config,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// Model versions never change once stored, so their parse can be kept.
    models: Mutex<HashMap<ModelId, (StoredModel, Arc<ProcessModel>)>>,
    /// Password checks running at once.
    password_checks: tokio::sync::Semaphore,
    /// Password sign-ins in flight, per address.
    sign_ins_in_flight: crate::sign_in::InFlight,
    /// The proxies whose `X-Forwarded-For` names the client.
    pub(crate) trusted_proxies: Vec<flowcal_connect::outbound::IpNetwork>,
    /// The SHA-256 of the bearer token that opens `/metrics`, if one is configured.
    pub(crate) metrics_token_hash: Option<String>,
    /// Proxy access: keys, provider metadata, the OAuth client.
    pub(crate) access: crate::access::Access,
    /// Names this process as the holder of claimed exports.
    pub(crate) worker_id: String,
    /// Wakes the delivery workers when exports are requested.
    pub(crate) delivery_wake: tokio::sync::Notify,
    /// Deliveries by this process: (outcome, connector kind) → count.
    pub(crate) delivery_counts: Mutex<std::collections::BTreeMap<(&'static str, String), u64>>,
    /// Rendered iCal feeds, by user.
    pub(crate) feed_cache: crate::feed::FeedCache,
}

/// What starting an instance or completing a task returns.
#[derive(Debug)]
pub struct InstanceView {
    pub instance: InstanceRecord,
    pub model: StoredModel,
    pub tasks: Vec<TaskRecord>,
}

impl App {
    pub fn new(config: Config, store: Store, clock: Arc<dyn Clock>, access: crate::access::Access) -> Self {
        App {
            access,
            worker_id: secrets::new_token("w"),
            delivery_wake: tokio::sync::Notify::new(),
            delivery_counts: Mutex::new(std::collections::BTreeMap::new()),
            feed_cache: crate::feed::FeedCache::default(),
            store,
            clock,
            models: Mutex::new(HashMap::new()),
            password_checks: tokio::sync::Semaphore::new(2),
            sign_ins_in_flight: crate::sign_in::InFlight::default(),
            // Config::check refused invalid entries.
            trusted_proxies: config.http.trusted_ranges().unwrap_or_default(),
            metrics_token_hash: None,
            config,
        }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    // ---- users, tokens, sessions -------------------------------------------------------------

    /// Creates a user. `password`: none makes an account that signs in only with API tokens.
    pub async fn add_user(
        &self,
        login: &str,
        admin: bool,
        roles: &[String],
        password: Option<&str>,
    ) -> AppResult<User> {
        let login = Login::parse(login).map_err(|e| AppError::Unprocessable(e.to_string()))?;
        for r in roles {
            if !flowcal_domain::user::valid_role(r) {
                return Err(AppError::Unprocessable(format!("'{r}' is not a valid role name")));
            }
        }
        let password_hash = match password {
            Some(p) if p.chars().count() < 8 => {
                return Err(AppError::Unprocessable("the password must have at least 8 characters".into()))
            }
            Some(p) => Some(secrets::hash_password(p).map_err(|e| AppError::Internal(e.into()))?),
            None => None,
        };
        let new = NewUser {
            login: login.to_string(),
            display_name: login.to_string(),
            email: String::new(),
            time_zone: self.config.time_zone.clone(),
            is_admin: admin,
            password_hash,
        };
        let id = self.store.create_user(&new, roles, self.now()).await?;
        self.store.user(id).await?.ok_or_else(|| AppError::NotFound(format!("user {login}")))
    }

    /// An administrator sets a new password for a user: every session of
    /// theirs ends, failed sign-ins are forgotten. Returns how many sessions ended.
    pub async fn reset_password(&self, p: &Principal, login: &str, password: &str) -> AppResult<u64> {
        p.require_admin()?;
        crate::people::check_password(password)?;
        let user = self.store.user_by_login(login).await?.ok_or_else(|| AppError::NotFound(format!("user {login}")))?;
        if user.deletion_requested_at.is_some() {
            return Err(AppError::Conflict(format!("{login} is deleted: their password cannot be set")));
        }
        let hash = crate::people::hash_off_thread(password).await?;
        let ended = self.store.replace_password(user.id, hash, None).await?;
        self.store.sign_in_succeeded(&crate::sign_in::login_hash(login), None, SIGN_IN_RULES).await?;
        let detail = serde_json::json!({"login": login, "by": p.login(), "sessions_ended": ended}).to_string();
        let audit = flowcal_store::Audit { action: "password_reset", detail };
        self.store.audit(Some(user.id), None, audit, self.now()).await?;
        Ok(ended)
    }

    /// An administrator gives a user a role.
    pub async fn grant_role(&self, p: &Principal, login: &str, role: &str) -> AppResult<()> {
        p.require_admin()?;
        if !flowcal_domain::user::valid_role(role) {
            return Err(AppError::Unprocessable(format!("'{role}' is not a valid role name")));
        }
        let user = self.store.user_by_login(login).await?.ok_or_else(|| AppError::NotFound(format!("user {login}")))?;
        Ok(self.store.add_role(user.id, role).await?)
    }

    /// Issues a personal API token that does not expire; only its hash is stored.
    pub async fn create_token(&self, login: &str, name: &str) -> AppResult<String> {
        Ok(self.issue_token(login, name, None).await?.1)
    }

    /// The caller a token names. An expired token, or one of a disabled
    /// user, is refused (an error), so the caller learns why.
    pub async fn principal_by_token(&self, token: &str) -> AppResult<Option<Principal>> {
        match self.store.user_by_token_hash(&secrets::token_hash(token), self.now()).await? {
            TokenLookup::Unknown => Ok(None),
            TokenLookup::Expired => Err(AppError::Unauthorized(
                "this API token has expired: create a new one (Settings, or POST /api/v1/me/tokens)".into(),
            )),
            TokenLookup::Found(user, _) if user.is_disabled() => Err(AppError::Forbidden(format!(
                "the account '{}' is disabled, and so are its API tokens: ask an administrator",
                user.login
            ))),
            TokenLookup::Found(user, roles) => Ok(Some(Principal { user: *user, roles })),
        }
    }

    pub async fn principal_by_session(&self, session: &str) -> AppResult<Option<Principal>> {
        let found = self.store.user_by_session(&secrets::token_hash(session), self.now()).await?;
        Ok(found.map(|(user, roles)| Principal { user, roles }))
    }

    /// Checks a password from the client at `from` (`None`: unknown) and
    /// opens a session; returns the session token.
    pub async fn login(&self, login: &str, password: &str, from: Option<std::net::IpAddr>) -> AppResult<String> {
        use crate::sign_in::{address_key, login_hash, IN_FLIGHT_PER_ADDRESS, LONGEST_LOGIN};
        // Before any work: a long login is junk (or an attempt to fill the database and the log).
        if login.len() > LONGEST_LOGIN {
            return Err(AppError::BadRequest(format!(
                "the login is longer than {LONGEST_LOGIN} bytes, so no account has it: check what you typed"
            )));
        }
        let address = address_key(from);
        // Before any database work: one address may not queue many attempts.
        let Some(_ticket) = self.sign_ins_in_flight.enter(&address, IN_FLIGHT_PER_ADDRESS) else {
            return Err(AppError::TooManyRequests {
                message: "too many sign-ins at once from your address: wait a moment and try again".into(),
                retry_after: 1,
            });
        };
        let refused = || AppError::Unauthorized("wrong login or password".into());
        let connectivity = self.connectivity().await?;
        if !connectivity.sign_in.password {
            let with: Vec<String> = connectivity
                .providers
                .iter()
                .filter(|(_, p)| p.sign_in)
                .map(|(name, p)| p.display_name.clone().unwrap_or_else(|| name.clone()))
                .collect();
            return Err(AppError::Forbidden(format!(
                "signing in with a password is turned off here; sign in with {}",
                if with.is_empty() { "your organisation's account".to_owned() } else { with.join(" or ") }
            )));
        }
        // Rate limited per (login, address), per address across logins, and per login
        // for the addresses that failed on it: see SIGN_IN_RULES.
        let hash = login_hash(login);
        let now = self.now();
        if let Some(lock) = self.store.sign_in_locked(&hash, &address, now, SIGN_IN_RULES).await? {
            return Err(too_many_sign_ins(now, lock));
        }
        let found = match Login::parse(login) {
            Ok(_) => self.store.password_hash(login).await?,
            Err(_) => None,
        };
        // Unknown users cost the same work, so timing does not tell which logins exist.
        let stored = match &found {
            Some((_, Some(stored))) => stored.clone(),
            _ => DUMMY_HASH.to_owned(),
        };
        // argon2id takes tens of milliseconds and ~19 MiB: run it off the async
        // workers, a few at a time, so sign-in attempts cannot stall the server.
        let permit = self.password_checks.acquire().await.map_err(|e| AppError::Internal(e.into()))?;
        let password = password.to_owned();
        let verified = tokio::task::spawn_blocking(move || secrets::verify_password(&password, &stored))
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
        drop(permit);
        let ok = verified && matches!(&found, Some((_, Some(_))));
        let Some((user, _)) = found.filter(|_| ok) else {
            let lock = self.store.sign_in_failed(&hash, &address, now, SIGN_IN_RULES).await?;
            // The typed login may be a password or junk: only its hash's prefix is logged.
            tracing::info!(login_hash = &hash[..12], %address, locked = lock.is_some(), "sign-in refused");
            return Err(match lock {
                Some(lock) => too_many_sign_ins(now, lock),
                None => refused(),
            });
        };
        self.store.sign_in_succeeded(&hash, Some(&address), SIGN_IN_RULES).await?;
        if user.is_disabled() {
            // Said only to someone who knows the password.
            return Err(AppError::Forbidden("this account is disabled: ask an administrator to enable it".into()));
        }
        self.open_session(user.id).await
    }

    /// Opens a browser session for a user; returns its token.
    pub(crate) async fn open_session(&self, user: flowcal_domain::UserId) -> AppResult<String> {
        let token = secrets::new_token("");
        let now = self.now();
        // Sign-ins are rare: a good moment to forget expired sessions and old failures.
        self.store.purge_sessions(now).await?;
        self.store.purge_sign_in_failures(now, SIGN_IN_RULES).await?;
        let expires = now
            .checked_add(jiff::SignedDuration::from_hours(i64::from(self.config.session_hours)))
            .map_err(|e| AppError::Internal(e.into()))?;
        self.store.create_session(&secrets::token_hash(&token), user, now, expires).await?;
        Ok(token)
    }

    pub async fn logout(&self, session: &str) -> AppResult<()> {
        Ok(self.store.delete_session(&secrets::token_hash(session)).await?)
    }

    pub async fn update_settings(
        &self,
        p: &Principal,
        time_zone: Option<&str>,
        calendar_export: Option<bool>,
        reminder_minutes: Option<Option<u32>>,
    ) -> AppResult<User> {
        if let Some(z) = time_zone {
            flowcal_domain::user::parse_time_zone(z).map_err(AppError::Unprocessable)?;
        }
        if let Some(Some(m)) = reminder_minutes {
            // Google accepts up to four weeks.
            if m > 40_320 {
                return Err(AppError::Unprocessable("reminder_minutes must be at most 40320 (four weeks)".into()));
            }
        }
        let reminder = reminder_minutes.map(|m| m.map(i64::from));
        self.store.update_settings(p.user.id, time_zone, calendar_export, reminder).await?;
        if calendar_export.is_some_and(|on| on != p.user.calendar_export) {
            // Auto-synced entries follow the switch at once.
            self.store.sync_user_exports(p.user.id, self.now()).await?;
            self.delivery_wake.notify_one();
        }
        self.store.user(p.user.id).await?.ok_or_else(|| AppError::NotFound("user".into()))
    }

    // ---- models ------------------------------------------------------------------------------

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
        let limit = self.config.max_model_bytes;
        if bytes.len() > limit {
            return Err(AppError::TooLarge {
                message: format!("the model has {} bytes; the limit is {limit} (max_model_bytes)", bytes.len()),
            });
        }
        let xml = std::str::from_utf8(bytes).map_err(|e| {
            let (line, column) = line_col(bytes, e.valid_up_to());
            AppError::InvalidModel { line, column, message: "the file is not UTF-8 text".into() }
        })?;
        let model = parse_model(xml.to_owned()).await?.map_err(|e| AppError::InvalidModel {
            line: e.line,
            column: e.column,
            message: e.message,
        })?;
        let stored = self.store.insert_model(&model.key, &model.name, xml, by.map(|p| p.user.id), self.now()).await?;
        self.cache_model(stored.clone(), Arc::new(model));
        Ok(stored)
    }

    fn cache_model(&self, stored: StoredModel, m: Arc<ProcessModel>) {
        self.models.lock().unwrap_or_else(|p| p.into_inner()).insert(stored.id, (stored, m));
    }

    /// The parsed model of a stored version.
    pub async fn model(&self, id: ModelId) -> AppResult<(StoredModel, Arc<ProcessModel>)> {
        if let Some(hit) = self.models.lock().unwrap_or_else(|p| p.into_inner()).get(&id).cloned() {
            return Ok(hit);
        }
        let stored = self.store.model(id).await?.ok_or_else(|| AppError::NotFound(format!("model {id}")))?;
        // It parsed when stored; failing now means the reader changed.
        let m = parse_model(stored.bpmn.clone())
            .await?
            .map_err(|e| AppError::Internal(anyhow::anyhow!("stored model {id} no longer parses: {e}")))?;
        let m = Arc::new(m);
        self.cache_model(stored.clone(), m.clone());
        Ok((stored, m))
    }

    pub async fn latest_model(&self, key: &str) -> AppResult<(StoredModel, Arc<ProcessModel>)> {
        if key.is_empty() || key.len() > 256 || key.chars().any(char::is_control) {
            return Err(AppError::NotFound(format!("model '{}'", key.escape_debug())));
        }
        // The id only: the parsed model usually comes from the cache.
        let id = self.store.latest_model_id(key).await?.ok_or_else(|| AppError::NotFound(format!("model '{key}'")))?;
        self.model(id).await
    }

    fn engine<'m>(&self, model: &'m ProcessModel) -> AppResult<Engine<'m>> {
        Ok(Engine::new(model, &self.config.time_zone)?)
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
        let engine = self.engine(&model)?;
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
        if t.assignee.is_none() {
            // Completing an unclaimed role task claims it first.
            self.claim(p, id).await?;
        }
        let (now, data, actor) = (self.now(), data.clone(), p.login().to_owned());
        self.change(t.instance_id, t.model_id, p.login(), move |engine, state, rec, open_records, open| {
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
    async fn change<F>(&self, id: InstanceId, model_id: ModelId, actor: &str, op: F) -> AppResult<InstanceView>
    where
        F: FnOnce(&Engine<'_>, &InstanceState, &InstanceRecord, &[TaskRecord], &[OpenTask]) -> EngineResult
            + Send
            + 'static,
    {
        let (stored, model) = self.model(model_id).await?;
        let zone = self.config.time_zone.clone();
        let (instance, tasks) = self
            .store
            .change_instance(id, actor, self.now(), move |rec, open_records| {
                let open: Vec<OpenTask> = open_records.iter().map(TaskRecord::open_task).collect();
                let engine = Engine::new(&model, &zone)?;
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
        self.change(id, v.instance.model_id, p.login(), move |engine, state, _, _, open| {
            Ok(engine.set_data(state, open, &data)?)
        })
        .await
    }

    /// An administrator retries the gateways an instance is stuck at.
    pub async fn retry(&self, p: &Principal, id: InstanceId) -> AppResult<InstanceView> {
        p.require_admin()?;
        let v = self.instance_view_unchecked(id).await?;
        let now = self.now();
        self.change(id, v.instance.model_id, p.login(), move |engine, state, rec, _, open| {
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
        self.change(id, v.instance.model_id, p.login(), |engine, state, _, _, open| Ok(engine.cancel(state, open)?))
            .await
    }

    /// Instances stopped by an incident (administrators).
    pub async fn incidents(&self, p: &Principal) -> AppResult<Vec<InstanceRecord>> {
        p.require_admin()?;
        Ok(self.store.incidents().await?)
    }
}

/// An argon2id hash of a random string, verified against for unknown logins.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3ZsQ+mmsSmO03xGOOmYhG8jBuvlA8w/NKkzBG0e7a2o";

/// Reads a BPMN model on a blocking thread within the XML time budget, so a
/// large upload never holds up an async worker.
async fn parse_model(xml: String) -> AppResult<Result<ProcessModel, flowcal_bpmn::BpmnError>> {
    flowcal_xml::off_workers(flowcal_xml::PARSE_BUDGET, move || flowcal_bpmn::parse(&xml, None)).await.map_err(|e| {
        AppError::Unprocessable(format!("the model could not be read: {e}; try again, or upload a smaller model"))
    })
}

/// 1-based line and column of a byte offset.
fn line_col(bytes: &[u8], offset: usize) -> (u32, u32) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
    (u32::try_from(line).unwrap_or(u32::MAX), u32::try_from(col).unwrap_or(u32::MAX))
}

/// Password sign-ins: five failures to a login within 15 minutes lock it for a
/// minute, doubling with every further failure (for the address that failed, and
/// for every address that failed on that login); twenty failures from one address,
/// whatever the logins, lock the address the same way.
pub const SIGN_IN_RULES: SignInRules = SignInRules {
    login: SignInRule { limit: 5, window_ms: 15 * 60 * 1000, lock_ms: 60 * 1000 },
    address: SignInRule { limit: 20, window_ms: 15 * 60 * 1000, lock_ms: 60 * 1000 },
};

fn too_many_sign_ins(now: Timestamp, lock: SignInLock) -> AppError {
    let wait = lock.until.as_second().saturating_sub(now.as_second()).max(1);
    let whom = if lock.whole_address { "from your address" } else { "for this login" };
    AppError::TooManyRequests {
        message: format!("too many failed sign-ins {whom}: try again in {wait} seconds"),
        retry_after: u64::try_from(wait).unwrap_or(60),
    }
}
