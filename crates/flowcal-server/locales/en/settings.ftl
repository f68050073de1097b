# settings: the account settings page (/settings) and the notices its forms leave.
settings-title = Settings
settings-save = Save
settings-saved = Saved
settings-copy = Copy
settings-never = never
settings-off = Off

## You
settings-you = You
settings-language = Language
settings-language-browser = As my browser asks
settings-time-zone = Time zone
settings-calendar-export = Calendar export: let flowcal put my deadlines and dates on my calendars
settings-export-not-allowed = The administrator has not enabled calendar export for your account.
settings-reminder = Reminder before each calendar entry (minutes; empty for none)
settings-reminder-invalid = The reminder must be a number of minutes.

## Connected calendars
settings-calendars = Connected calendars
settings-no-calendars = No calendar connected yet.
settings-account-connected = ✓ connected
settings-account-reconnect = ⚠ reconnect needed
# { $read } and { $delivered } are each settings-not-yet or a settings-ago-… text.
settings-account-health = Last read of the calendar: { $read } · last entry delivered: { $delivered }
settings-not-yet = not yet
# { $error } is the calendar service's answer, as it gave it.
settings-reading-failed = reading failed: { $error }
settings-ago-now = just now
settings-ago-minutes = { $count } min ago
settings-ago-hours = { $count } h ago
settings-ago-days =
    { $count ->
        [one] { $count } day ago
       *[other] { $count } days ago
    }
settings-entries-go-to = Entries go to
settings-own-calendar = flowcal's own calendar
settings-use-calendar = Use this calendar
settings-disconnect = Disconnect
# The disconnect button's name for screen readers: it must contain the button's text (settings-disconnect).
settings-disconnect-account = Disconnect { $account }
settings-disconnect-confirm = Disconnect this calendar?
# A button for each calendar service: { $provider } is its name.
settings-connect-provider = Connect { $provider }
settings-export-off-hint = Turn calendar export on (above) to connect a calendar.
settings-connected-notice = Connected { $account }
# { $details } says what happened at the calendar service.
settings-disconnected-notice = Disconnected. { $details }
settings-calendar-chosen = Calendar chosen

## CalDAV
settings-caldav = CalDAV calendar (iCloud, Fastmail, Nextcloud, …)
settings-caldav-url = Server URL
settings-caldav-user = Username
settings-caldav-password = App password
settings-caldav-hint = Use an app password made for flowcal in your provider's security settings, not your main password (iCloud: appleid.apple.com → Sign-In and Security → App-Specific Passwords). It is checked now and stored encrypted.
settings-caldav-connect = Connect

## Keeping deadlines in a calendar
settings-auto-sync = Keep my deadlines in my calendar
settings-auto-sync-hint = Every open task assigned to you that has a deadline is on the chosen calendar, and follows the workflow.
settings-auto-sync-calendar = Calendar
# { $done } is the word added to a completed entry's title (entry-done in common.ftl).
settings-keep-done = Keep completed tasks, marked “✓ { $done }”
settings-auto-sync-on-notice = Your deadlines are kept in your calendar
settings-auto-sync-off-notice = Auto-sync is off

## iCal feed
settings-feed = Subscribe (iCal feed)
settings-feed-hint = For calendars flowcal cannot write to: subscribe to your own feed of open deadlines and exported dates.
settings-feed-your-url = Your feed URL
settings-feed-shown-once = (shown only now; keep it secret — anyone with it can read your deadlines):
settings-feed-url = Feed URL
settings-feed-webcal = Open in my calendar app (webcal)
settings-feed-on = ✓ on
# { $when } is a date and time.
settings-feed-changed = last change { $when }
settings-feed-new-url = New URL (the old one stops working)
settings-feed-turn-off = Turn the feed off
settings-feed-make = Make my feed URL
settings-feed-ready = Your feed URL is ready
settings-feed-off-notice = The feed is off

## Password
settings-password = Password
settings-current-password = Current password
settings-new-password = New password (at least 8 characters)
settings-password-hint = Changing it signs you out everywhere else (other browsers and devices); this page stays signed in.
settings-change-password = Change password
# { $count } is the number of the user's other sessions that were ended.
settings-password-changed =
    { $count ->
        [one] Password changed. You were signed out everywhere else ({ $count } other session ended).
       *[other] Password changed. You were signed out everywhere else ({ $count } other sessions ended).
    }

## API tokens
settings-tokens = API tokens
settings-token-yours = Your new token
settings-token-shown-once = (shown only now; it works like your password for the API):
settings-token-new = New API token
settings-no-tokens = No API tokens.
settings-token-name = Name
settings-token-created = Created
settings-token-last-used = Last used
settings-token-expires = Expires
settings-revoke = Revoke
# The revoke button's name for screen readers: it must contain the button's text (settings-revoke).
settings-revoke-token = Revoke token { $name }
settings-revoke-confirm = Revoke this token?
settings-token-name-label = Name (what the token is for)
settings-token-days = Expires after (days; empty: never)
settings-token-days-invalid = The expiry must be a number of days (or empty for none).
settings-token-create = Create token
settings-token-ready = Your API token is ready
settings-token-revoked = The token was revoked; it no longer works
