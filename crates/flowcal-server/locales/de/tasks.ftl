# tasks
# Meine Aufgaben, die Aufgabenseite (Datenformular, Kalender-Schaltflächen), einen Prozess starten.

## Meine Aufgaben
tasks-title = Meine Aufgaben
tasks-filter-show = Anzeigen
tasks-show-all = Alle
tasks-show-overdue = Überfällig
tasks-show-week = Fällig diese Woche
tasks-show-mine = Mir zugewiesen
tasks-show-claimable = Zu übernehmen
tasks-filter-process = Prozess
tasks-filter-all-processes = Alle Prozesse
tasks-filter-sort = Sortieren nach
tasks-sort-deadline = Frist
tasks-sort-created = Neueste zuerst
tasks-filter-submit = Filtern
tasks-empty = Hier gibt es keine offenen Aufgaben.
tasks-count = { $first }–{ $last } von { $total } offenen { $count ->
        [one] Aufgabe
       *[other] Aufgaben
    }
tasks-thousands-separator = .
tasks-table-caption = Offene Aufgaben
tasks-col-task = Aufgabe
tasks-col-process = Prozess
tasks-col-deadline = Frist
tasks-col-assigned = Zugewiesen
tasks-counted-in = berechnet nach { $calendar }
tasks-no-deadline = keine
tasks-assigned-you = Sie
tasks-assigned-role = Rolle { $role }
tasks-pages = Seiten der Aufgabenliste
tasks-first-page = Erste Seite
tasks-next-page = Nächste Seite

## Die Aufgabenseite
tasks-fact-state = Status
tasks-state-open = offen
tasks-state-done = erledigt
tasks-state-cancelled = abgebrochen
tasks-fact-assigned = Zugewiesen
tasks-not-assigned = noch niemand: Rolle { $role }
tasks-fact-deadline = Frist
tasks-claim = Aufgabe übernehmen
tasks-data = Daten
tasks-complete = Aufgabe abschließen
tasks-claim-first = Übernehmen Sie die Aufgabe, um ihre Daten auszufüllen und sie abzuschließen.
tasks-error-number = Bitte geben Sie eine Zahl ein
tasks-error-date-time = Bitte geben Sie Datum und Uhrzeit ein
tasks-notice-claimed = Die Aufgabe gehört jetzt Ihnen
tasks-notice-completed = Abgeschlossen: { $task }
tasks-notice-started = Gestartet
tasks-notice-started-title = Gestartet: { $title }

## Die Kalender-Schaltflächen neben jedem Datum. { $what } ist „die Frist“ oder die Bezeichnung eines Datenfelds.
## Der zugängliche Name einer Schaltfläche (…-label) muss mit ihrem sichtbaren Text beginnen.
tasks-cal-the-deadline = die Frist
tasks-cal-moved = ↔ In Ihrem Kalender verschoben
tasks-cal-moved-to = auf { $date }
tasks-cal-synced = ✓ Im Kalender
tasks-cal-open-event = Termin öffnen
tasks-cal-pending = ⏳ Ausstehend
tasks-cal-removing = ⏳ Wird entfernt
tasks-cal-failed = ✗ Fehlgeschlagen
tasks-cal-reconnect-needed = ⚠ Neu verbinden nötig
tasks-cal-reconnect = neu verbinden
tasks-cal-removed-there = In Ihrem Kalender entfernt
tasks-cal-not-in = Nicht im Kalender
tasks-cal-retry = Erneut versuchen
tasks-cal-add-again = Erneut eintragen
tasks-cal-add-again-label = Erneut eintragen in den Kalender: { $what }
tasks-cal-use-date = Dieses Datum übernehmen
tasks-cal-use-date-label = Dieses Datum übernehmen für { $what }, wie im Kalender verschoben
tasks-cal-keep = Beibehalten
tasks-cal-keep-label = Beibehalten: { $what }; den Eintrag zurückverschieben
tasks-cal-remove = Aus dem Kalender entfernen
tasks-cal-remove-label = Aus dem Kalender entfernen: { $what }
tasks-cal-add = In den Kalender eintragen
tasks-cal-add-label = In den Kalender eintragen: { $what }
tasks-cal-add-at = In den Kalender eintragen ({ $provider })
tasks-cal-add-connect-label = { $caption }: { $what } ({ $provider } verbinden)
tasks-cal-connect-before = { "" }
tasks-cal-connect = Verbinden Sie einen Kalender
tasks-cal-connect-after = , um Termine einzutragen.
tasks-cal-account-label = Kalenderkonto für { $what }
tasks-cal-off-before = Um dies in Ihren Kalender einzutragen, schalten Sie den Kalenderexport in den{ " " }
tasks-cal-off-settings = Einstellungen
tasks-cal-off-after = { " " }ein.
tasks-cal-off-admin = Der Kalenderexport ist für Ihr Konto vom Administrator nicht freigegeben.
tasks-cal-off-unavailable = Der Kalenderexport ist gerade nicht verfügbar; laden Sie die Seite neu, um es erneut zu versuchen.
tasks-cal-notice-removing = Wird aus Ihrem Kalender entfernt
tasks-cal-notice-retrying = Wird erneut gesendet
tasks-cal-notice-accepted = Das Datum aus Ihrem Kalender wird übernommen
tasks-cal-notice-kept = Das Datum bleibt; der Eintrag wird zurückverschoben
tasks-cal-notice-adding = Wird in Ihren Kalender eingetragen
tasks-cal-which-export = Welcher Export?
tasks-cal-bad-source = Die Quelle muss „deadline“ oder „item:KEY“ sein
tasks-cal-cannot-export = Diese Quelle kann nicht exportiert werden
tasks-cal-choose-account = Wählen Sie ein Kalenderkonto
tasks-cal-unknown-action = Unbekannte Kalenderaktion

## Einen Prozess starten
tasks-start-title = Prozess starten
tasks-start-empty = Noch keine Prozessmodelle.
tasks-start-version = Version { $version }
tasks-start-field-title = Titel
tasks-start-submit = Starten

## Das Diagramm auf der Aufgabenseite (und der Modellseite)
tasks-diagram-heading = Wo diese Aufgabe im Prozess steht
tasks-diagram-laid-out = Diese Datei enthält kein Diagramm: flowcal hat die Schritte von links nach rechts angeordnet.
tasks-diagram-none = Kein Diagramm: { $why }
tasks-diagram-current = Umrahmt: der Schritt dieser Aufgabe,
tasks-diagram-open = Gestrichelt: ebenfalls offen: { $steps }
tasks-diagram-done-none = Häkchen: erledigt (noch keine)
tasks-diagram-done = Häkchen: erledigt: { $steps }
tasks-diagram-hover = Zeigen Sie auf einen Schritt, um seine Fristregel zu sehen.
tasks-diagram-list-separator = ,{ " " }

tasks-diagram-title = Diagramm von {"{"}name{"}"}
tasks-diagram-title-laid-out = Diagramm von {"{"}name{"}"} (von flowcal angeordnet: die Datei enthält kein Diagramm)
tasks-diagram-word-deadline = Frist
tasks-diagram-word-current = aktueller Schritt
tasks-diagram-word-open = offen
tasks-diagram-word-done = erledigt
