# settings: the account settings page (/settings) and the notices its forms leave.
settings-title = Einstellungen
settings-save = Speichern
settings-saved = Gespeichert
settings-copy = Kopieren
settings-never = nie
settings-off = Aus

## You
settings-you = Ihr Konto
settings-language = Sprache
settings-language-browser = Wie mein Browser es wünscht
settings-time-zone = Zeitzone
settings-calendar-export = Kalenderexport: flowcal darf meine Fristen und Termine in meine Kalender eintragen
settings-export-not-allowed = Die Administration hat den Kalenderexport für Ihr Konto nicht freigegeben.
settings-reminder = Erinnerung vor jedem Kalendereintrag (Minuten; leer für keine)
settings-reminder-invalid = Die Erinnerung muss eine Anzahl von Minuten sein.

## Connected calendars
settings-calendars = Verbundene Kalender
settings-no-calendars = Noch kein Kalender verbunden.
settings-account-connected = ✓ verbunden
settings-account-reconnect = ⚠ erneute Verbindung nötig
# { $read } and { $delivered } are each settings-not-yet or a settings-ago-… text.
settings-account-health = Zuletzt aus dem Kalender gelesen: { $read } · letzter Eintrag übertragen: { $delivered }
settings-not-yet = noch nicht
# { $error } is the calendar service's answer, as it gave it.
settings-reading-failed = Lesen fehlgeschlagen: { $error }
settings-ago-now = gerade eben
settings-ago-minutes = vor { $count } Min.
settings-ago-hours = vor { $count } Std.
settings-ago-days =
    { $count ->
        [one] vor { $count } Tag
       *[other] vor { $count } Tagen
    }
settings-entries-go-to = Einträge kommen in
settings-own-calendar = flowcals eigener Kalender
settings-use-calendar = Diesen Kalender verwenden
settings-disconnect = Trennen
# The disconnect button's name for screen readers: it must contain the button's text (settings-disconnect).
settings-disconnect-account = Trennen: { $account }
settings-disconnect-confirm = Diesen Kalender trennen?
# A button for each calendar service: { $provider } is its name.
settings-connect-provider = Mit { $provider } verbinden
settings-export-off-hint = Schalten Sie den Kalenderexport (oben) ein, um einen Kalender zu verbinden.
settings-connected-notice = { $account } verbunden
# { $details } says what happened at the calendar service.
settings-disconnected-notice = Getrennt. { $details }
settings-calendar-chosen = Kalender ausgewählt

## CalDAV
settings-caldav = CalDAV-Kalender (iCloud, Fastmail, Nextcloud, …)
settings-caldav-url = Server-URL
settings-caldav-user = Benutzername
settings-caldav-password = App-Passwort
settings-caldav-hint = Verwenden Sie ein App-Passwort, das Sie in den Sicherheitseinstellungen Ihres Anbieters für flowcal erstellt haben, nicht Ihr Hauptpasswort (iCloud: appleid.apple.com → Anmeldung und Sicherheit → App-spezifische Passwörter). Es wird jetzt geprüft und verschlüsselt gespeichert.
settings-caldav-connect = Verbinden

## Keeping deadlines in a calendar
settings-auto-sync = Meine Fristen in meinem Kalender halten
settings-auto-sync-hint = Jede offene Aufgabe mit Frist, die Ihnen zugewiesen ist, steht im gewählten Kalender und folgt dem Ablauf.
settings-auto-sync-calendar = Kalender
# { $done } is the word added to a completed entry's title (entry-done in common.ftl).
settings-keep-done = Erledigte Aufgaben behalten, markiert mit „✓ { $done }“
settings-auto-sync-on-notice = Ihre Fristen werden in Ihrem Kalender gehalten
settings-auto-sync-off-notice = Die automatische Synchronisierung ist aus

## iCal feed
settings-feed = Abonnieren (iCal-Feed)
settings-feed-hint = Für Kalender, in die flowcal nicht schreiben kann: Abonnieren Sie Ihren eigenen Feed mit offenen Fristen und exportierten Terminen.
settings-feed-your-url = Ihre Feed-URL
settings-feed-shown-once = (wird nur jetzt angezeigt; halten Sie sie geheim – wer sie kennt, kann Ihre Fristen lesen):
settings-feed-url = Feed-URL
settings-feed-webcal = In meiner Kalender-App öffnen (webcal)
settings-feed-on = ✓ an
# { $when } is a date and time.
settings-feed-changed = zuletzt geändert { $when }
settings-feed-new-url = Neue URL (die alte funktioniert dann nicht mehr)
settings-feed-turn-off = Feed ausschalten
settings-feed-make = Meine Feed-URL erstellen
settings-feed-ready = Ihre Feed-URL ist bereit
settings-feed-off-notice = Der Feed ist aus

## Password
settings-password = Passwort
settings-current-password = Aktuelles Passwort
settings-new-password = Neues Passwort (mindestens 8 Zeichen)
settings-password-hint = Eine Änderung meldet Sie überall sonst ab (andere Browser und Geräte); diese Seite bleibt angemeldet.
settings-change-password = Passwort ändern
# { $count } is the number of the user's other sessions that were ended.
settings-password-changed =
    { $count ->
        [one] Passwort geändert. Sie wurden überall sonst abgemeldet ({ $count } andere Sitzung beendet).
       *[other] Passwort geändert. Sie wurden überall sonst abgemeldet ({ $count } andere Sitzungen beendet).
    }

## API tokens
settings-tokens = API-Tokens
settings-token-yours = Ihr neues Token
settings-token-shown-once = (wird nur jetzt angezeigt; es wirkt für die API wie Ihr Passwort):
settings-token-new = Neues API-Token
settings-no-tokens = Keine API-Tokens.
settings-token-name = Name
settings-token-created = Erstellt
settings-token-last-used = Zuletzt verwendet
settings-token-expires = Läuft ab
settings-revoke = Widerrufen
# The revoke button's name for screen readers: it must contain the button's text (settings-revoke).
settings-revoke-token = Widerrufen: Token { $name }
settings-revoke-confirm = Dieses Token widerrufen?
settings-token-name-label = Name (wofür das Token ist)
settings-token-days = Läuft ab nach (Tagen; leer: nie)
settings-token-days-invalid = Die Gültigkeit muss eine Anzahl von Tagen sein (oder leer für unbegrenzt).
settings-token-create = Token erstellen
settings-token-ready = Ihr API-Token ist bereit
settings-token-revoked = Das Token wurde widerrufen; es funktioniert nicht mehr
