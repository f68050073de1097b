//! The calendars of a connected account: the connector that reaches them
//! (with the account's credentials, refreshed once when the service refuses
//! them), listing them, and choosing where entries go.

use super::{internal, Credentials, PURPOSE_CREDENTIALS};
use super::{Access, AccessError};
use crate::error::{AppError, AppResult};
use crate::principal::Principal;
use crate::settings::Connectivity;
use flowcal_calendar::{
    caldav::{CaldavCalendar, CaldavHttp},
    provider::ApiAccount,
    AnyConnector, CalendarChoice, CalendarInfo, Connector, ConnectorError, Credential,
};
use flowcal_connect::outbound::HostPolicy;
use flowcal_store::{AccountKind, AccountStatus, CalendarAccount};

/// What a call on a connector returns.
pub type ConnectorFuture<'c, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, ConnectorError>> + Send + 'c>>;

impl Access {
    /// Stops the account's push channel at the service (a disconnect, a
    /// deletion) and forgets it; failures are logged: the channel ends by
    /// itself.
    pub(crate) async fn stop_push(&self, acc: &CalendarAccount) {
        let ch = match self.store.channel(acc.id).await {
            Ok(Some(ch)) => ch,
            Ok(None) => return,
            Err(e) => return tracing::warn!(account = acc.id, error = %e, "cannot read the push channel"),
        };
        let w = flowcal_calendar::Watch {
            id: ch.channel_id.clone(),
            resource_id: ch.resource_id.clone(),
            expires_at: ch.expires_at,
        };
        let stopped = match self.connectivity().await {
            Ok(c) => AccountSession::new(self, acc.clone(), &c)
                .call(move |conn| {
                    let w = w.clone();
                    Box::pin(async move { conn.unwatch(&w).await })
                })
                .await
                .map_err(|f| match f {
                    Fail::Connector(e) => e.to_string(),
                    Fail::Access(e) => e.to_string(),
                }),
            Err(e) => Err(e.to_string()),
        };
        if let Err(why) = stopped {
            tracing::info!(account = acc.id, error = %why, "cannot stop the push channel; it ends by itself");
        }
        if let Err(e) = self.store.delete_channel(ch.channel_id).await {
            tracing::warn!(account = acc.id, error = %e, "cannot forget the push channel");
        }
    }
}

/// The name of flowcal's own calendar.
pub const OWN_CALENDAR: &str = "flowcal";

impl Access {
    /// The connector for an account, with its current credentials, under
    /// the connectivity settings `c`.
    async fn connector(
        &self,
        acc: &CalendarAccount,
        rejected: Option<&str>,
        c: &Connectivity,
    ) -> AppResult<(AnyConnector, String)> {
        if acc.kind == AccountKind::Caldav {
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
        let Some(connect) = r.kind.calendar_api() else {
            return Err(AppError::Unprocessable(format!(
                "{} is a provider of kind {}: flowcal knows no calendar API for it",
                r.display_name, r.kind
            )));
        };
        let (_, _, granted) = self.oauth_credentials(acc)?;
        let connector = connect(ApiAccount {
            http: self.calendar_api.clone(),
            base_url: r.api_base_url.as_deref(),
            credential: Credential::Bearer(token.clone()),
            granted_scopes: granted.as_deref(),
        })
        .map_err(connector_error)?;
        Ok((connector, token))
    }

    /// The HTTP clients for CalDAV servers under the allow-list of `c`:
    /// made once and shared (so connections are reused between delivery
    /// passes), made again when the allow-list changes (so no connection
    /// opened under the old one is used).
    pub(crate) fn caldav_http(&self, c: &Connectivity) -> AppResult<CaldavHttp> {
        let mut shared = self.caldav_http.lock().unwrap_or_else(|e| e.into_inner());
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
            Fail::Access(e) => e.into(),
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

    /// [`Access::choose_calendar`] for an account whose owner was checked
    /// already (or, for delivery, needs no check: it is the export's account).
    ///
    /// `"own"` finds flowcal's own calendar again by the id stored for it (a
    /// Google app-created calendar cannot be looked for in the calendar list
    /// with the least scope), or makes it: when none is stored, when the
    /// stored one was deleted at the service, and when the stored one is a
    /// calendar the user picked.
    pub(crate) async fn set_calendar(&self, acc: CalendarAccount, calendar: &str) -> AppResult<CalendarAccount> {
        let own = || CalendarChoice::Own { name: OWN_CALENDAR.to_owned() };
        let found = match (calendar, acc.calendar.as_deref(), acc.calendar_own) {
            ("own", Some(stored), Some(true) | None) => {
                match self.with_connector(&acc, ensure(CalendarChoice::Existing { id: stored.to_owned() })).await {
                    // Recorded as flowcal's own, or (chosen before that was
                    // recorded) found to be.
                    Ok(info) if info.own || acc.calendar_own == Some(true) => info,
                    Ok(_) | Err(AppError::NotFound(_)) => self.with_connector(&acc, ensure(own())).await?,
                    Err(e) => return Err(e),
                }
            }
            ("own", _, _) => self.with_connector(&acc, ensure(own())).await?,
            (other, _, _) => {
                self.with_connector(&acc, ensure(CalendarChoice::Existing { id: other.to_owned() })).await?
            }
        };
        let own = calendar == "own" || found.own;
        self.store.set_account_calendar(acc.id, &found.id, own, self.now()).await?;
        self.account_row(acc.id).await
    }

    /// flowcal's own calendar in the account (delivery's choice when the
    /// user made none), created when missing.
    pub(crate) async fn own_calendar(&self, acc: CalendarAccount) -> Result<CalendarAccount, AccessError> {
        Ok(self.set_calendar(acc, "own").await?)
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
    app: &'a Access,
    acc: CalendarAccount,
    connectivity: &'a Connectivity,
    current: Option<(AnyConnector, String)>,
}

impl<'a> AccountSession<'a> {
    pub(crate) fn new(app: &'a Access, acc: CalendarAccount, connectivity: &'a Connectivity) -> Self {
        AccountSession { app, acc, connectivity, current: None }
    }

    /// Makes the connector now, so that its kind is known before the first call.
    pub(crate) async fn open(&mut self) -> Result<&AnyConnector, Fail> {
        self.usable()?;
        if self.current.is_none() {
            let made =
                self.app.connector(&self.acc, None, self.connectivity).await.map_err(|e| Fail::Access(e.into()))?;
            self.current = Some(made);
        }
        match &self.current {
            Some((c, _)) => Ok(c),
            None => Err(Fail::Access(internal(anyhow::anyhow!("no connector")).into())),
        }
    }

    fn usable(&self) -> Result<(), Fail> {
        if self.acc.status == AccountStatus::Active {
            return Ok(());
        }
        Err(Fail::Access(AccessError::Reconnect(format!(
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
            return Err(Fail::Access(internal(anyhow::anyhow!("no connector")).into()));
        };
        let first = f(&c).await;
        let refused = match first {
            Err(ConnectorError::Unauthorized(why)) if self.acc.kind != AccountKind::Caldav => {
                tracing::info!(account = self.acc.id, "the calendar service refused the access token; refreshing once");
                drop(c);
                let fresh = self
                    .app
                    .connector(&self.acc, Some(&token), self.connectivity)
                    .await
                    .map_err(|e| Fail::Access(e.into()))?;
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
        let acc = self.app.account_row(self.acc.id).await.map_err(|e| Fail::Access(e.into()))?;
        self.app.reconnect_required(&acc, &refused).await.map_err(|e| Fail::Access(e.into()))?;
        self.acc.status = AccountStatus::ReconnectRequired;
        Err(Fail::Connector(ConnectorError::Unauthorized(format!(
            "{} refuses flowcal's access ({refused}): connect the calendar again",
            acc.display
        ))))
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
    Access(AccessError),
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
