# admin: the administrator's page (/admin) and a user's calendars verified.
admin-forbidden = this page is for administrators
admin-title = Administration
admin-connectivity = Connectivity
admin-redirect-uri = Redirect URI to register at every provider:
admin-add-provider = Add a provider
admin-save = Save
admin-export-heading = Who may export to calendars
admin-export-legend = Calendar export is allowed for
admin-export-everyone = everyone
admin-export-no-one = no one
admin-export-listed = these logins:
admin-export-logins = Logins allowed to export
admin-caldav-heading = CalDAV servers users may connect to
admin-caldav-hosts = Allowed hosts (one per line: host, host:port, *.domain, or * for any public https host)
admin-caldav-networks = Allowed private networks (CIDR, one per line)

## Users
admin-users = Users
admin-user-count =
    { $count ->
        [one] { $count } user
       *[other] { $count } users
    }
admin-col-login = Login
admin-col-roles = Roles
admin-col-role = Role
admin-col-password = Password
admin-col-access = Access
admin-badge-admin = admin
admin-state-disabled = disabled
admin-state-deleting = deleting
admin-state-deleted = deleted
admin-remove-role = Remove the role { $role } from { $login }
admin-role-to-add = Role to add for { $login }
admin-add-role = Add role
admin-new-password-for = New password for { $login }
admin-reset-password = Reset
admin-take-admin = Take admin rights
admin-make-admin = Make admin
admin-enable = Enable
admin-enable-user = Enable { $login }
admin-disable = Disable
admin-disable-user = Disable { $login }
admin-disable-confirm = Disable this user? Their sessions end at once.
admin-delete = Delete
admin-delete-user = Delete { $login }
admin-delete-confirm = Delete this user? Their calendar entries are removed and their calendar access revoked.
admin-verify = Verify calendars
admin-verify-user = Verify calendars of { $login }
admin-user-pages = Pages of users
admin-first-page = First page
admin-next-page = Next page
admin-add-user-heading = Add a user
admin-new-user-password = Password (at least 10 characters)
admin-new-user-roles = Roles (comma-separated)
admin-new-user-admin = Administrator
admin-add-user = Add user

## Delivery health
admin-delivery = Delivery health
admin-entries-by-state = Calendar entries by state
admin-col-state = State
admin-col-kind = Kind
admin-col-entries = Entries
admin-oldest-waiting = Oldest entry waiting for delivery:
admin-oldest-none = none
admin-seconds = { $seconds } s
admin-failed-entries = Failed entries
admin-none = None.
admin-failed-count = { $count } failed
admin-retry = Retry
admin-failed-pages = Pages of failed entries
admin-reconnect = Accounts needing reconnect
admin-reconnect-more = The { $shown } most recent of { $total }; each user sees their own in their settings.
admin-reading = Reading calendars
admin-read-lag = Longest since a calendar was read:
admin-read-lag-none = no calendar to read yet
admin-attention-none = No calendar fails to be read, and no access lapses within seven days.
admin-reading-failed = reading failed: { $error }
admin-attention-more = The { $shown } most recent of { $total }.

## A provider's form
admin-new-provider = New provider
admin-provider-name = Name (letters, digits, - and _)
admin-provider-kind-generic = Other OAuth 2.0 / OpenID
admin-provider-display = Display name
admin-provider-client-id = Client id
admin-provider-secret = Client secret
admin-provider-secret-set = (set; leave empty to keep it)
admin-provider-secret-required = (required)
admin-provider-domains = Allowed domains (Google Workspace; comma-separated)
admin-provider-tenant = Tenant (Microsoft)
admin-provider-endpoints = Endpoints
admin-provider-issuer = Issuer
admin-provider-authorization = Authorization endpoint
admin-provider-token = Token endpoint
admin-provider-revocation = Revocation endpoint
admin-provider-jwks = JWKS URI
admin-provider-api-base = Calendar API base URL
admin-provider-sign-in = Users may sign in to flowcal with it
admin-save-provider = Save provider
admin-delete-provider-confirm = Delete this provider?
admin-delete-provider = Delete provider { $name }

## Notices after a change, and refusals
admin-saved-provider = Saved provider { $name }
admin-deleted-provider = Deleted provider { $name }
admin-saved-caldav = Saved the CalDAV allow-list
admin-saved-export = Saved who may export
admin-added-user = Added { $login }
admin-password-too-short = a password needs at least 10 characters
admin-password-reset = New password set for { $login }; their sessions ended ({ $count } signed out)
admin-role-granted = { $login } has the role { $role }
admin-role-removed = { $login } no longer has the role { $role }
admin-retrying = Sending it again
admin-now-admin = { $login } is an administrator
admin-no-longer-admin = { $login } is no longer an administrator
admin-disabled-user = { $login } is disabled: their sessions ended, their API tokens and feed stopped
admin-enabled-user = { $login } is enabled again
admin-deleting-user = { $login } is disabled and being deleted: their calendar entries are removed, then their access revoked

## A user's calendars verified
admin-calendars-of = Calendars of { $login }
admin-verified = Verified
admin-verified-repaired = Verified and repaired
admin-verify-clean = The calendars hold what flowcal put there.
admin-findings = Findings
admin-col-source = Source
admin-col-entry = Entry
admin-col-account = Account
admin-col-details = Details
admin-col-repair = Repair
admin-finding-missing = missing
admin-finding-extra = extra
admin-finding-duplicate = duplicate
admin-finding-different = different
admin-repaired = repaired
admin-not-repaired = not repaired
admin-not-repaired-why = not repaired: { $error }
admin-findings-shown = The first { $shown } of { $total } findings.
admin-repair-hint = Repair deletes the extra entries and copies, makes the missing entries again and writes the different ones again; entries deleted in the calendar stay deleted.
admin-repair = Repair
admin-back = Back to the administration
