# admin: die Verwaltungsseite (/admin) und die Prüfung der Kalender eines Benutzers.
admin-forbidden = diese Seite ist nur für Administratoren
admin-title = Verwaltung
admin-connectivity = Anbindung
admin-redirect-uri = Bei jedem Anbieter zu registrierende Weiterleitungs-URI:
admin-add-provider = Anbieter hinzufügen
admin-save = Speichern
admin-export-heading = Wer in Kalender exportieren darf
admin-export-legend = Kalenderexport ist erlaubt für
admin-export-everyone = alle
admin-export-no-one = niemanden
admin-export-listed = diese Anmeldenamen:
admin-export-logins = Anmeldenamen, die exportieren dürfen
admin-caldav-heading = CalDAV-Server, mit denen sich Benutzer verbinden dürfen
admin-caldav-hosts = Erlaubte Hosts (einer pro Zeile: Host, Host:Port, *.domain oder * für jeden öffentlichen HTTPS-Host)
admin-caldav-networks = Erlaubte private Netze (CIDR, eines pro Zeile)

## Benutzer
admin-users = Benutzer
admin-user-count =
    { $count ->
        [one] { $count } Benutzer
       *[other] { $count } Benutzer
    }
admin-col-login = Anmeldename
admin-col-roles = Rollen
admin-col-role = Rolle
admin-col-password = Passwort
admin-col-access = Zugang
admin-badge-admin = Admin
admin-state-disabled = gesperrt
admin-state-deleting = wird gelöscht
admin-state-deleted = gelöscht
admin-remove-role = Rolle { $role } von { $login } entfernen
admin-role-to-add = Neue Rolle für { $login }
admin-add-role = Rolle hinzufügen
admin-new-password-for = Neues Passwort für { $login }
admin-reset-password = Zurücksetzen
admin-take-admin = Adminrechte entziehen
admin-make-admin = Zum Admin machen
admin-enable = Entsperren
admin-enable-user = Entsperren: { $login }
admin-disable = Sperren
admin-disable-user = Sperren: { $login }
admin-disable-confirm = Diesen Benutzer sperren? Seine Sitzungen enden sofort.
admin-delete = Löschen
admin-delete-user = Löschen: { $login }
admin-delete-confirm = Diesen Benutzer löschen? Seine Kalendereinträge werden entfernt und sein Kalenderzugriff widerrufen.
admin-verify = Kalender prüfen
admin-verify-user = Kalender prüfen: { $login }
admin-user-pages = Seiten der Benutzerliste
admin-first-page = Erste Seite
admin-next-page = Nächste Seite
admin-add-user-heading = Benutzer hinzufügen
admin-new-user-password = Passwort (mindestens 10 Zeichen)
admin-new-user-roles = Rollen (durch Kommas getrennt)
admin-new-user-admin = Administrator
admin-add-user = Benutzer hinzufügen

## Zustellung
admin-delivery = Zustellung
admin-entries-by-state = Kalendereinträge nach Zustand
admin-col-state = Zustand
admin-col-kind = Art
admin-col-entries = Einträge
admin-oldest-waiting = Ältester Eintrag, der auf Zustellung wartet:
admin-oldest-none = keiner
admin-seconds = { $seconds } s
admin-failed-entries = Fehlgeschlagene Einträge
admin-none = Keine.
admin-failed-count = { $count } fehlgeschlagen
admin-retry = Erneut versuchen
admin-failed-pages = Seiten der fehlgeschlagenen Einträge
admin-reconnect = Konten, die neu verbunden werden müssen
admin-reconnect-more = Die { $shown } neuesten von { $total }; jeder Benutzer sieht seine eigenen in seinen Einstellungen.
admin-reading = Kalender lesen
admin-read-lag = Längste Zeit, seit ein Kalender gelesen wurde:
admin-read-lag-none = noch kein Kalender zu lesen
admin-attention-none = Jeder Kalender lässt sich lesen, und kein Zugriff läuft in den nächsten sieben Tagen ab.
admin-reading-failed = Lesen fehlgeschlagen: { $error }
admin-attention-more = Die { $shown } neuesten von { $total }.

## Formular eines Anbieters
admin-new-provider = Neuer Anbieter
admin-provider-name = Name (Buchstaben, Ziffern, - und _)
admin-provider-kind-generic = Anderer OAuth-2.0-/OpenID-Server
admin-provider-display = Anzeigename
admin-provider-client-id = Client-ID
admin-provider-secret = Client-Secret
admin-provider-secret-set = (gesetzt; leer lassen, um es zu behalten)
admin-provider-secret-required = (erforderlich)
admin-provider-domains = Erlaubte Domains (Google Workspace; durch Kommas getrennt)
admin-provider-tenant = Mandant (Microsoft)
admin-provider-endpoints = Endpunkte
admin-provider-issuer = Aussteller (Issuer)
admin-provider-authorization = Autorisierungs-Endpunkt
admin-provider-token = Token-Endpunkt
admin-provider-revocation = Widerrufs-Endpunkt
admin-provider-jwks = JWKS-URI
admin-provider-api-base = Basis-URL der Kalender-API
admin-provider-sign-in = Benutzer dürfen sich damit bei flowcal anmelden
admin-save-provider = Anbieter speichern
admin-delete-provider-confirm = Diesen Anbieter löschen?
admin-delete-provider = Löschen: Anbieter { $name }

## Meldungen nach einer Änderung, und Ablehnungen
admin-saved-provider = Anbieter { $name } gespeichert
admin-deleted-provider = Anbieter { $name } gelöscht
admin-saved-caldav = CalDAV-Freigabeliste gespeichert
admin-saved-export = Gespeichert, wer exportieren darf
admin-added-user = { $login } hinzugefügt
admin-password-too-short = ein Passwort braucht mindestens 10 Zeichen
admin-password-reset = Neues Passwort für { $login } gesetzt; die Sitzungen wurden beendet ({ $count } abgemeldet)
admin-role-granted = { $login } hat die Rolle { $role }
admin-role-removed = { $login } hat die Rolle { $role } nicht mehr
admin-retrying = Wird erneut gesendet
admin-now-admin = { $login } ist Administrator
admin-no-longer-admin = { $login } ist kein Administrator mehr
admin-disabled-user = { $login } ist gesperrt: Sitzungen beendet, API-Tokens und Feed gestoppt
admin-enabled-user = { $login } ist wieder entsperrt
admin-deleting-user = { $login } ist gesperrt und wird gelöscht: Die Kalendereinträge werden entfernt, danach wird der Zugriff widerrufen

## Prüfung der Kalender eines Benutzers
admin-calendars-of = Kalender von { $login }
admin-verified = Geprüft
admin-verified-repaired = Geprüft und repariert
admin-verify-clean = Die Kalender enthalten, was flowcal dort eingetragen hat.
admin-findings = Befunde
admin-col-source = Quelle
admin-col-entry = Eintrag
admin-col-account = Konto
admin-col-details = Details
admin-col-repair = Reparatur
admin-finding-missing = fehlt
admin-finding-extra = überzählig
admin-finding-duplicate = doppelt
admin-finding-different = abweichend
admin-repaired = repariert
admin-not-repaired = nicht repariert
admin-not-repaired-why = nicht repariert: { $error }
admin-findings-shown = Die ersten { $shown } von { $total } Befunden.
admin-repair-hint = Die Reparatur löscht überzählige Einträge und Kopien, legt fehlende Einträge neu an und schreibt abweichende neu; im Kalender gelöschte Einträge bleiben gelöscht.
admin-repair = Reparieren
admin-back = Zurück zur Verwaltung
