//! The calendars of a connected account: the connector that reaches them
//! (with the account's credentials, refreshed once when the service refuses
//! them), listing them, and choosing where entries go.

use super::{internal, Credentials, PURPOSE_CREDENTIALS};
use crate::access::settings::{Connectivity, ProviderKind};
use crate::app::{App, Principal};
use crate::error::{AppError, AppResult};
use flowcal_calendar::{
    caldav::{CaldavCalendar, CaldavHttp},
    entry,
    google::GoogleCalendar,
    graph::GraphCalendar,
    AnyConnector, CalendarChoice, CalendarInfo, Connector, ConnectorError, Credential, EntrySource, EventSpec, When,
};
use flowcal_connect::outbound::HostPolicy;
use flowcal_domain::ProcessModel;
use flowcal_domain::{DataType, Deadline, InstanceId, TaskId};
use flowcal_store::{AccountStatus, CalendarAccount, InstanceRecord, TaskRecord, User};
use jiff::Timestamp;

/// What a call on a connector returns.
pub type ConnectorFuture<'c, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, ConnectorError>> + Send + 'c>>;

/// The name of flowcal's own calendar.
pub const OWN_CALENDAR: &str = "flowcal";

impl App {
    /// The connector for an account, with its current credentials, under
    /// the connectivity settings `c`.
    async fn connector(
        &self,
        acc: &CalendarAccount,
        rejected: Option<&str>,
        c: &Connectivity,
    ) -> AppResult<(AnyConnector, String)> {
        if acc.kind == "caldav" {
            let Credentials::Basic { username, password } =
                serde_json::from_str(&self.open(PURPOSE_CREDENTIALS, &acc.credentials_sealed)?).map_err(internal)?
            else {
                return Err(internal(anyhow::anyhow!("CalDAV account {} holds tokens", acc.id)));
            };
            let http = self.caldav_http(c)?;
            let home = acc.url.as_deref().unwrap_or_default();
            let home =
                reqwest::Url::parse(home).map_err(|e| internal(anyhow::anyhow!("account {}: url: {e}", acc.id)))?;
            let cal = CaldavCalendar::new(&http, home.clone(), Credential::Basic { username, password })
                .and_then(|c| c.with_calendar_home(home))
                .map_err(connector_error)?;
            return Ok((AnyConnector::Caldav(cal), String::new()));
        }
        let token = self.access_token_unless(acc.id, rejected).await?;
        let r = self.resolve_provider(c, &acc.provider).await?;
        let credential = Credential::Bearer(token.clone());
        let connector = match r.kind {
            ProviderKind::Google => {
                // What the user granted decides which calls are made (with
                // calendar.app.created, not the calendar list).
                let (_, _, granted) = self.oauth_credentials(acc)?;
                AnyConnector::Google(
                    GoogleCalendar::new(
                        self.access.calendar_api.clone(),
                        r.api_base_url.as_deref().unwrap_or(flowcal_calendar::google::DEFAULT_BASE_URL),
                        credential,
                    )
                    .map_err(connector_error)?
                    .with_granted_scopes(granted.as_deref()),
                )
            }
            ProviderKind::Microsoft => AnyConnector::Graph(
                GraphCalendar::new(
                    self.access.calendar_api.clone(),
                    r.api_base_url.as_deref().unwrap_or(flowcal_calendar::graph::DEFAULT_BASE_URL),
                    credential,
                )
                .map_err(connector_error)?,
            ),
            ProviderKind::Oauth => {
                return Err(AppError::Unprocessable(format!(
                    "{} is a generic OAuth provider: flowcal knows no calendar API for it",
                    r.display_name
                )))
            }
        };
        Ok((connector, token))
    }

    /// The HTTP clients for CalDAV servers under the allow-list of `c`:
    /// made once and shared (so connections are reused between delivery
    /// passes), made again when the allow-list changes (so no connection
    /// opened under the old one is used).
    pub(crate) fn caldav_http(&self, c: &Connectivity) -> AppResult<CaldavHttp> {
        let mut shared = self.access.caldav_http.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((made_for, http)) = shared.as_ref() {
            if *made_for == c.caldav {
                return Ok(http.clone());
            }
        }
        let policy = HostPolicy::new(&c.caldav.allowed_hosts, &c.caldav.allowed_networks)
            .map_err(|e| internal(anyhow::anyhow!("the CalDAV allow-list is invalid: {e}")))?;
        let http = CaldavHttp::new(policy).map_err(internal)?;
        *shared = Some((c.caldav.clone(), http.clone()));
        Ok(http)
    }

    /// Runs `f` with the account's connector. When the service refuses the
    /// access token, it is refreshed once and `f` runs again; refused again
    /// (or, for an app password, refused at all), the account needs reconnecting.
    pub async fn with_connector<T, F>(&self, acc: &CalendarAccount, f: F) -> AppResult<T>
    where
        F: for<'c> Fn(&'c AnyConnector) -> ConnectorFuture<'c, T>,
    {
        let c = self.connectivity().await?;
        AccountSession::new(self, acc.clone(), &c).call(f).await.map_err(|e| match e {
            Fail::Connector(e) => connector_error(e),
            Fail::App(e) => e,
        })
    }

    /// The calendars of one of `p`'s accounts.
    pub async fn account_calendars(&self, p: &Principal, id: i64) -> AppResult<Vec<CalendarInfo>> {
        let acc = self.owned_account(p, id).await?;
        self.with_connector(&acc, |c| Box::pin(c.list_calendars())).await
    }

    /// Chooses where the account's entries go: `"own"` (flowcal's own
    /// calendar, created when missing) or the id of one of the account's calendars.
    pub async fn choose_calendar(&self, p: &Principal, id: i64, calendar: &str) -> AppResult<CalendarAccount> {
        let acc = self.owned_account(p, id).await?;
        self.set_calendar(acc, calendar).await
    }

    /// [`App::choose_calendar`] for an account whose owner was checked
    /// already (or, for delivery, needs no check: it is the export's account).
    pub(crate) async fn set_calendar(&self, acc: CalendarAccount, calendar: &str) -> AppResult<CalendarAccount> {
        let choice = match (calendar, acc.calendar.as_deref()) {
            ("own", Some(stored)) => {
                // Found again by its id: a Google app-created calendar cannot be
                // looked for in the calendar list with the least scope.
                CalendarChoice::Existing { id: stored.to_owned() }
            }
            ("own", None) => CalendarChoice::Own { name: OWN_CALENDAR.to_owned() },
            (other, _) => CalendarChoice::Existing { id: other.to_owned() },
        };
        let found = match self.with_connector(&acc, ensure(choice)).await {
            // The stored own calendar was deleted at the service: make a new one.
            Err(AppError::NotFound(_)) if calendar == "own" && acc.calendar.is_some() => {
                let own = CalendarChoice::Own { name: OWN_CALENDAR.to_owned() };
                self.with_connector(&acc, ensure(own)).await?
            }
            r => r?,
        };
        self.store.set_account_calendar(acc.id, &found.id, self.now()).await?;
        self.account_row(acc.id).await
    }

    /// The calendar entry for a step's deadline, as `p` would export it.
    pub async fn deadline_entry(&self, p: &Principal, task: TaskId, sequence: u32) -> AppResult<EventSpec> {
        let t = self.task(p, task).await?;
        let c = self.connectivity().await?;
        self.deadline_entry_of(p, &t, sequence, &c).await
    }

    /// [`App::deadline_entry`] for a task read already, under the connectivity settings `c`.
    pub(crate) async fn deadline_entry_of(
        &self,
        p: &Principal,
        t: &flowcal_store::TaskRecord,
        sequence: u32,
        c: &Connectivity,
    ) -> AppResult<EventSpec> {
        let (model, _) = self.model(t.model_id).await?;
        Ok(deadline_entry(t, &model.name, &self.entry_context(&p.user, c), sequence)?)
    }

    /// What entries for `user` take from the settings.
    pub(crate) fn entry_context<'a>(&'a self, user: &'a User, c: &Connectivity) -> EntryContext<'a> {
        EntryContext {
            user,
            public_url: &self.config.public_url,
            time_zone: &self.config.time_zone,
            event_minutes: c.calendar_export.event_minutes,
            now: self.now(),
        }
    }

    /// The calendar entry for a date or datetime item of an instance.
    pub async fn item_entry(
        &self,
        p: &Principal,
        instance: InstanceId,
        key: &str,
        sequence: u32,
    ) -> AppResult<EventSpec> {
        let c = self.connectivity().await?;
        self.item_entry_in(p, instance, key, sequence, &c).await
    }

    /// [`App::item_entry`] under the connectivity settings `c`.
    pub(crate) async fn item_entry_in(
        &self,
        p: &Principal,
        instance: InstanceId,
        key: &str,
        sequence: u32,
        c: &Connectivity,
    ) -> AppResult<EventSpec> {
        let view = self.instance(p, instance).await?;
        let (_, model) = self.model(view.instance.model_id).await?;
        Ok(item_entry(&view.instance, &view.model.name, &model, key, &self.entry_context(&p.user, c), sequence)?)
    }

    async fn owned_account(&self, p: &Principal, id: i64) -> AppResult<CalendarAccount> {
        let acc = self.calendar_account(p, id).await?;
        if acc.user_id != p.user.id {
            return Err(AppError::Forbidden("only the account's owner may use its calendars".into()));
        }
        Ok(acc)
    }
}

/// An account's connector, made once and used for many calls (a worker's
/// batch of the account's exports). A refused access token is refreshed once
/// and the call repeated; refused again (or, for an app password, refused at
/// all), the account needs reconnecting and later calls are not made.
pub(crate) struct AccountSession<'a> {
    app: &'a App,
    acc: CalendarAccount,
    connectivity: &'a Connectivity,
    current: Option<(AnyConnector, String)>,
}

impl<'a> AccountSession<'a> {
    pub(crate) fn new(app: &'a App, acc: CalendarAccount, connectivity: &'a Connectivity) -> Self {
        AccountSession { app, acc, connectivity, current: None }
    }

    /// Makes the connector now, so that its kind is known before the first call.
    pub(crate) async fn open(&mut self) -> Result<&AnyConnector, Fail> {
        self.usable()?;
        if self.current.is_none() {
            let made = self.app.connector(&self.acc, None, self.connectivity).await.map_err(Fail::App)?;
            self.current = Some(made);
        }
        match &self.current {
            Some((c, _)) => Ok(c),
            None => Err(Fail::App(internal(anyhow::anyhow!("no connector")))),
        }
    }

    fn usable(&self) -> Result<(), Fail> {
        if self.acc.status == AccountStatus::Active {
            return Ok(());
        }
        Err(Fail::App(AppError::Conflict(format!(
            "the calendar account {} needs to be connected again",
            self.acc.display
        ))))
    }

    /// Runs `f` with the connector (see the type's description).
    pub(crate) async fn call<T, F>(&mut self, f: F) -> Result<T, Fail>
    where
        F: for<'c> Fn(&'c AnyConnector) -> ConnectorFuture<'c, T>,
    {
        self.open().await?;
        let Some((c, token)) = self.current.take() else {
            return Err(Fail::App(internal(anyhow::anyhow!("no connector"))));
        };
        let first = f(&c).await;
        let refused = match first {
            Err(ConnectorError::Unauthorized(why)) if self.acc.kind != "caldav" => {
                tracing::info!(account = self.acc.id, "the calendar service refused the access token; refreshing once");
                drop(c);
                let fresh = self.app.connector(&self.acc, Some(&token), self.connectivity).await.map_err(Fail::App)?;
                let again = f(&fresh.0).await;
                self.current = Some(fresh);
                match again {
                    Err(ConnectorError::Unauthorized(why2)) => format!("{why}; after a refresh: {why2}"),
                    r => return r.map_err(Fail::Connector),
                }
            }
            Err(ConnectorError::Unauthorized(why)) => {
                self.current = Some((c, token));
                why
            }
            r => {
                self.current = Some((c, token));
                return r.map_err(Fail::Connector);
            }
        };
        let acc = self.app.account_row(self.acc.id).await.map_err(Fail::App)?;
        self.app.reconnect_required(&acc, &refused).await.map_err(Fail::App)?;
        self.acc.status = AccountStatus::ReconnectRequired;
        Err(Fail::Connector(ConnectorError::Unauthorized(format!(
            "{} refuses flowcal's access ({refused}): connect the calendar again",
            acc.display
        ))))
    }
}

/// What every entry for one user takes from their settings and the
/// export configuration.
pub(crate) struct EntryContext<'a> {
    pub user: &'a User,
    pub public_url: &'a str,
    /// The server's time zone, for items of models that name none.
    pub time_zone: &'a str,
    pub event_minutes: u32,
    /// The entry's stamp.
    pub now: Timestamp,
}

/// Why no entry can be made.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum EntryError {
    /// The source does not exist (a data item the model lacks).
    #[error("{0}")]
    Missing(String),
    /// The source holds nothing a calendar can show.
    #[error("{0}")]
    Unfit(String),
}

impl From<EntryError> for AppError {
    fn from(e: EntryError) -> Self {
        match e {
            EntryError::Missing(m) => AppError::NotFound(m),
            EntryError::Unfit(m) => AppError::Unprocessable(m),
        }
    }
}

/// The calendar entry for a step's deadline: a function of the task, its
/// process's name, the user's settings and the export configuration only.
pub(crate) fn deadline_entry(
    t: &TaskRecord,
    process_name: &str,
    cx: &EntryContext<'_>,
    sequence: u32,
) -> Result<EventSpec, EntryError> {
    let Some(deadline) = &t.deadline else {
        return Err(EntryError::Unfit(format!("the step '{}' has no deadline", t.name)));
    };
    let link = format!("{}/tasks/{}", cx.public_url, t.id.0);
    let source = format!("task:{}:deadline", t.id.0);
    // A completed task kept on the calendar says so.
    let what = if t.state == flowcal_store::TaskState::Done { format!("✓ done: {}", t.name) } else { t.name.clone() };
    expressible(entry(&EntrySource {
        user: cx.user.id.0,
        source: &source,
        what: &what,
        instance_title: &t.instance_title,
        process_name,
        link: &link,
        when: when_of(deadline),
        duration_minutes: cx.event_minutes,
        reminder_minutes: cx.user.reminder_minutes.and_then(|m| u32::try_from(m).ok()),
        sequence,
        stamp: cx.now,
    }))
}

/// The calendar entry for a date or date-time item of an instance: a
/// function of the instance, its model, the user's settings and the export
/// configuration only.
pub(crate) fn item_entry(
    instance: &InstanceRecord,
    process_name: &str,
    model: &ProcessModel,
    key: &str,
    cx: &EntryContext<'_>,
    sequence: u32,
) -> Result<EventSpec, EntryError> {
    let item = model.item(key).ok_or_else(|| EntryError::Missing(format!("data item '{key}'")))?;
    let zone = model.time_zone.clone().unwrap_or_else(|| cx.time_zone.to_owned());
    let value = instance.data.get(key).and_then(|v| v.as_str()).unwrap_or_default();
    let when = match item.data_type {
        DataType::Date => When::Date(
            value.parse().map_err(|_| EntryError::Unfit(format!("the item '{}' holds no date", item.label)))?,
        ),
        DataType::DateTime => When::At {
            at: value
                .parse()
                .map_err(|_| EntryError::Unfit(format!("the item '{}' holds no date-time", item.label)))?,
            zone,
        },
        _ => return Err(EntryError::Unfit(format!("the item '{}' is not a date or date-time", item.label))),
    };
    let link = format!("{}/instances/{}", cx.public_url, instance.id.0);
    let source = format!("instance:{}:item:{key}", instance.id.0);
    expressible(entry(&EntrySource {
        user: cx.user.id.0,
        source: &source,
        what: &item.label,
        instance_title: &instance.title,
        process_name,
        link: &link,
        when,
        duration_minutes: cx.event_minutes,
        reminder_minutes: cx.user.reminder_minutes.and_then(|m| u32::try_from(m).ok()),
        sequence,
        stamp: cx.now,
    }))
}

/// The entry, if calendars can show it: a deadline computed into a year
/// outside 1 to 9999 is refused with a plain reason (the export fails and
/// says why) instead of being written as something no calendar can read.
fn expressible(e: EventSpec) -> Result<EventSpec, EntryError> {
    e.check().map_err(EntryError::Unfit)?;
    Ok(e)
}

/// A deadline as an entry's time.
pub fn when_of(d: &Deadline) -> When {
    match d {
        Deadline::Date(date) => When::Date(*date),
        Deadline::At { at, zone } => When::At { at: *at, zone: zone.clone() },
    }
}

/// The call that makes sure `choice` exists.
fn ensure(choice: CalendarChoice) -> impl for<'c> Fn(&'c AnyConnector) -> ConnectorFuture<'c, CalendarInfo> {
    move |c| {
        let choice = choice.clone();
        Box::pin(async move { c.ensure_calendar(&choice).await })
    }
}

/// Why a call through an account's connector failed.
#[derive(Debug)]
pub(crate) enum Fail {
    /// The calendar service's answer, classified.
    Connector(ConnectorError),
    /// Before any call: the account, its credentials, the provider's settings.
    App(AppError),
}

/// A connector failure, as the API reports it.
pub(crate) fn connector_error(e: ConnectorError) -> AppError {
    match e {
        ConnectorError::RetryLater { .. } => AppError::Unavailable(e.to_string()),
        ConnectorError::Unauthorized(_) => AppError::Conflict(e.to_string()),
        ConnectorError::Gone(_) => AppError::NotFound(e.to_string()),
        ConnectorError::Permanent(_) => AppError::Unprocessable(e.to_string()),
    }
}
