# The sign-in page, error pages and what every page shares beyond common.ftl.

## Sign-in page
frame-sign-in = Anmelden
frame-login = Benutzername
frame-password = Passwort
# A button for each OpenID provider: { $provider } is its name.
frame-sign-in-with = Mit { $provider } anmelden

## Error pages: their titles, and the sentence shown instead of an internal error.
frame-error-not-found = Nicht gefunden
frame-error-forbidden = Nicht erlaubt
frame-error-conflict = Derzeit nicht möglich
frame-error-too-many = Zu viele Versuche
frame-error-server = Etwas ist schiefgegangen
frame-error-other = Das hat nicht geklappt
frame-error-internal = Auf dem Server ist etwas schiefgegangen; die Einzelheiten findet die Administration im Protokoll von flowcal.
frame-go-back = Zurück
frame-form-out-of-date = Dieses Formular ist veraltet oder stammt nicht von flowcal: Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.

## The page the browser comes back to from a calendar service or a sign-in provider.
frame-back-to-flowcal = Zurück zu flowcal
frame-calendar-connected = Kalender verbunden
frame-calendar-reconnected = Kalender erneut verbunden
# { $account } is the connected account, as the calendar service names it.
frame-calendar-connected-text = flowcal darf Ihre Termine jetzt in den Kalender von { $account } eintragen.
frame-calendar-not-connected = Kalender nicht verbunden
frame-calendar-declined = Sie haben den Zugriff bei { $provider } abgelehnt, daher wurde nichts verbunden. Sie können es jederzeit erneut versuchen.
frame-cannot-sign-in = Anmeldung nicht möglich
# Notices on the task page when "Add to calendar" led to connecting a calendar first.
frame-export-after-connect = Kalender verbunden; der Eintrag wird in Ihren Kalender übernommen
frame-export-after-connect-failed = Kalender verbunden, aber der Eintrag konnte nicht hinzugefügt werden: { $error }
