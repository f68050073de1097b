# The sign-in page, error pages and what every page shares beyond common.ftl.

## Sign-in page
frame-sign-in = Sign in
frame-login = Login
frame-password = Password
# A button for each OpenID provider: { $provider } is its name.
frame-sign-in-with = Sign in with { $provider }

## Error pages: their titles, and the sentence shown instead of an internal error.
frame-error-not-found = Not found
frame-error-forbidden = Not allowed
frame-error-conflict = Not possible now
frame-error-too-many = Too many attempts
frame-error-server = Something went wrong
frame-error-other = That did not work
frame-error-internal = Something went wrong on the server; the administrator can find the details in flowcal's log.
frame-go-back = Go back
frame-form-out-of-date = this form is out of date or did not come from flowcal: reload the page and try again

## The page the browser comes back to from a calendar service or a sign-in provider.
frame-back-to-flowcal = Back to flowcal
frame-calendar-connected = Calendar connected
frame-calendar-reconnected = Calendar reconnected
# { $account } is the connected account, as the calendar service names it.
frame-calendar-connected-text = flowcal may now put your dates on the calendar of { $account }.
frame-calendar-not-connected = Calendar not connected
frame-calendar-declined = You declined access at { $provider }, so nothing was connected. You can try again at any time.
frame-cannot-sign-in = Cannot sign in
# Notices on the task page when "Add to calendar" led to connecting a calendar first.
frame-export-after-connect = Calendar connected; adding it to your calendar
frame-export-after-connect-failed = Calendar connected, but the entry could not be added: { $error }
