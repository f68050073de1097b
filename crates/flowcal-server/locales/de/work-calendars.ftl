# work-calendars: die Liste der Arbeitskalender, das Jahr eines Kalenders und sein Formular.
workcal-forbidden = nur Administratoren ändern Arbeitskalender
workcal-title = Arbeitskalender
workcal-intro = Fristen von Schritten, die einen Arbeitskalender nennen, zählen nur dessen Arbeitstage und -stunden.
workcal-empty = Noch keine Arbeitskalender.
workcal-col-name = Name
workcal-time-zone = Zeitzone
workcal-working-week = Arbeitswoche
workcal-col-hours = Stunden
workcal-sources = Feiertagsquellen
workcal-fetch-failed = Abruf fehlgeschlagen
workcal-more = Weitere Kalender
workcal-new = Neuer Arbeitskalender
workcal-list-separator = {", "}
workcal-no-working-weekdays = keine Arbeitstage in der Woche
workcal-whole-day = der ganze Tag
workcal-sources-none = keine
workcal-sources-summary = { $count }: { $states }
workcal-count-ok = { $count } in Ordnung
workcal-count-failed = { $count } fehlgeschlagen
workcal-count-pending = { $count } ausstehend

## Die vollen Namen der Wochentage (Montag = 1) und Monate.
workcal-weekday-long-1 = Montag
workcal-weekday-long-2 = Dienstag
workcal-weekday-long-3 = Mittwoch
workcal-weekday-long-4 = Donnerstag
workcal-weekday-long-5 = Freitag
workcal-weekday-long-6 = Samstag
workcal-weekday-long-7 = Sonntag
workcal-month-long-1 = Januar
workcal-month-long-2 = Februar
workcal-month-long-3 = März
workcal-month-long-4 = April
workcal-month-long-5 = Mai
workcal-month-long-6 = Juni
workcal-month-long-7 = Juli
workcal-month-long-8 = August
workcal-month-long-9 = September
workcal-month-long-10 = Oktober
workcal-month-long-11 = November
workcal-month-long-12 = Dezember
workcal-day-of-year = { $weekday }, { $day }. { $month }

## Das Formular
workcal-form-name = Name (a-z, 0-9 und -, z. B. de-berlin)
workcal-form-zone = Zeitzone (IANA, z. B. Europe/Berlin)
workcal-form-week = Arbeitstage der Woche
workcal-form-hours = Arbeitszeiten (z. B. 09:00-12:00, 13:00-17:00; leer: der ganze Tag)
workcal-form-holidays = Feiertage (einer pro Zeile: JJJJ-MM-TT Name, oder JJJJ-MM-TT Name 09:00-12:00 für einen halben Tag)
workcal-form-working-days = Zusätzliche Arbeitstage (einer pro Zeile: JJJJ-MM-TT Name)
workcal-form-sources = Feiertagsquellen (eine pro Zeile: URL include=MUSTER;MUSTER exclude=MUSTER, beides optional)
workcal-form-sources-hint = Eine iCalendar-Datei per URL wird sofort abgerufen und täglich aktualisiert. Muster wählen Termine nach SUMMARY und CATEGORIES aus (* und ? als Platzhalter; summary:, category: oder description: vor einem Muster sucht nur dort).
workcal-form-sources-hint-uploaded = behält die hochgeladene Datei N aus der Quellentabelle.
workcal-form-sources-hint-order = Die Quellen zählen in dieser Reihenfolge: Die erste, die ein Datum nennt, gibt ihm seinen Namen.
workcal-form-paste = iCalendar-Datei einfügen
workcal-form-ics = iCalendar-Text (BEGIN:VCALENDAR …); er wird die letzte Quelle
workcal-form-include = Einschließen (Muster, getrennt durch ;)
workcal-form-exclude = Ausschließen (Muster, getrennt durch ;)
workcal-create = Kalender anlegen
workcal-save = Kalender speichern
workcal-field-holidays = Feiertage
workcal-field-working-days = Zusätzliche Arbeitstage
workcal-field-sources = Feiertagsquellen
workcal-refused-line = { $field }, Zeile { $line }: { $error }
workcal-not-a-date = „{ $text }“ ist kein Datum: Beginnen Sie die Zeile mit JJJJ-MM-TT
workcal-uploaded-number = Schreiben Sie „{ $uploaded } #NUMMER“ mit der Nummer, die die Quellentabelle zeigt
workcal-no-uploaded-file = dieser Kalender hat (inzwischen) keine hochgeladene Datei #{ $id }: Fügen Sie die Datei unten ein
workcal-not-an-option = „{ $text }“ ist weder include=MUSTER;MUSTER noch exclude=MUSTER

## Die Seite eines Kalenders
workcal-calendar-title = Arbeitskalender { $name }
workcal-working-hours = Arbeitszeiten
workcal-last-change = Letzte Änderung
workcal-changed-by = { $when } von { $login }
workcal-never = nie
workcal-years = Jahre
workcal-this-year = Dieses Jahr
workcal-bad-year = das Jahr muss zwischen { $from } und { $to } liegen, z. B. ?year=2026
workcal-legend = Legende
workcal-mark-holiday = F
workcal-mark-half = ½
workcal-mark-extra = A
workcal-legend-holiday = F: Feiertag (arbeitsfrei), sein Name am Tag
workcal-legend-half = ½: halber Tag (ein Feiertag mit Arbeitszeiten)
workcal-legend-extra = A: zusätzlicher Arbeitstag
workcal-legend-off = schraffiert: kein Arbeitstag der Woche
workcal-legend-today = umrandet: heute (in der Zeitzone des Kalenders)
workcal-working-day = Arbeitstag
workcal-day-off = arbeitsfrei
workcal-holiday = Feiertag
workcal-half-day = halber Tag: { $hours }
workcal-extra-day = zusätzlicher Arbeitstag
workcal-named-day = { $name } ({ $what })
workcal-today-suffix = , heute
workcal-holidays-in = Feiertage { $year }
workcal-none = Keine.
workcal-col-date = Datum
workcal-col-day = Tag
workcal-col-from = Herkunft
workcal-off = frei
workcal-origin-calendar = dieser Kalender
workcal-origin-source = Quelle { $number }
workcal-extra-days-in = Zusätzliche Arbeitstage { $year }
workcal-unusable = Dieser Kalender ist nicht verwendbar: { $error }
workcal-no-sources = Keine Feiertagsquellen: Es zählen nur die Feiertage, die dieser Kalender aufführt.
workcal-col-source = Quelle
workcal-col-patterns = Muster
workcal-col-status = Status
workcal-col-fetched = Letzter Abruf
workcal-col-checked = Zuletzt geprüft
workcal-col-days = Feiertage
workcal-uploaded-file = hochgeladene Datei
workcal-all-events = alle Termine
workcal-include = einschließen:
workcal-exclude = ausschließen:
workcal-status-ok = in Ordnung
workcal-status-pending = ausstehend
workcal-status-failed = fehlgeschlagen
workcal-last-good-copy = Die letzte fehlerfreie Kopie wird verwendet.
workcal-no-good-copy = Noch keine fehlerfreie Kopie: Ihre Feiertage zählen nicht.
workcal-uploaded = hochgeladen
workcal-edit = Bearbeiten
workcal-manage = Quellen und Löschen
workcal-refresh = Quellen jetzt aktualisieren
workcal-delete-confirm = Diesen Arbeitskalender löschen? Solange Modelle ihn nennen, kann er nicht gelöscht werden.
workcal-delete = Löschen
workcal-delete-named = Löschen: Arbeitskalender { $name }

## Meldungen nach einer Änderung, und Ablehnungen
workcal-name-taken = ein Arbeitskalender namens „{ $name }“ existiert bereits: Ändern Sie ihn auf seiner Seite, oder wählen Sie einen anderen Namen
workcal-created = Arbeitskalender { $name } angelegt
workcal-saved = Arbeitskalender { $name } gespeichert
workcal-saved-fetch-failed =
    { $count ->
        [one] ; Feiertagsquelle { $sources } konnte nicht abgerufen werden (siehe unten)
       *[other] ; Feiertagsquellen { $sources } konnten nicht abgerufen werden (siehe unten)
    }
workcal-refreshed = Feiertagsquellen von { $name } aktualisiert: { $fetched } abgerufen, { $unchanged } unverändert, { $failed } fehlgeschlagen
workcal-recomputed =
    { $count ->
        [one] ; Fristen in { $count } Instanz neu berechnet
       *[other] ; Fristen in { $count } Instanzen neu berechnet
    }
workcal-deleted = Arbeitskalender { $name } gelöscht
