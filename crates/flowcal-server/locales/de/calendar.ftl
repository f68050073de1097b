# calendar: the calendar view (/calendar) by month, week or as an agenda.
calendar-title = Kalender
# { $zone } is the viewer's time zone, e.g. Europe/Berlin.
calendar-intro = Ihre Fristen und die von Ihnen exportierten Termine, in { $zone }.
calendar-views = Kalenderansichten
calendar-view-month = Monat
calendar-view-week = Woche
calendar-view-agenda = Terminliste
calendar-pages = Kalenderseiten
calendar-previous = Zurück
calendar-today = Heute
calendar-next = Weiter
calendar-later = Später
calendar-cut = Mehr Einträge, als diese Seite zeigen kann: Hier stehen nur die ersten { $count } jeder Art. Die Wochenansicht zeigt weniger Tage auf einmal.
calendar-month-empty = In diesen Wochen ist nichts fällig.
calendar-week-empty = Nichts.
calendar-agenda-empty = In diesen { $count } Tagen ist nichts fällig.
calendar-today-mark = heute
calendar-today-paren = (heute)
calendar-overdue = Überfällig
# Followed by a link (calendar-all-overdue).
calendar-overdue-cut = Nur die ersten { $count } werden gezeigt:
calendar-all-overdue = alle überfälligen Aufgaben
calendar-bad-view = Die Ansicht muss „month“, „week“ oder „agenda“ sein.
calendar-bad-date = Das Datum muss ein Tag im Format JJJJ-MM-TT sein.
calendar-out-of-range = Dieses Datum liegt außerhalb des möglichen Bereichs.

## Headings and day names. The day patterns may use { $weekday } and { $month } (the long
## names below), { $weekday-short } and { $month-short } (common.ftl), { $day },
## { $month-number } and { $year }; { $date } is a whole date as common.ftl writes it.
calendar-month-heading = { $month } { $year }
calendar-week-heading = Woche ab { $date }
calendar-agenda-heading = Ab { $date }
calendar-day-heading = { $weekday }, { $day }. { $month }
calendar-day-heading-year = { $weekday }, { $day }. { $month } { $year }
# A month's day cell shows the weekday and the day's number; screen readers also hear
# these words before and after the number ({ "" } for none).
calendar-cell-before = { "" }
calendar-cell-after = . { $month }
# "N more" entries of a day, then (for screen readers) which day.
calendar-more = { $count } weitere
calendar-more-on = am { $day }. { $month }

## An entry: a task's deadline, and the state of its copy in the viewer's calendar.
calendar-entry-deadline = { $step } — Frist
calendar-deadline = Frist
calendar-no-open-task = (keine offene Aufgabe)
# For screen readers, before the state.
calendar-state-prefix = Kalender:
calendar-state-synced = im Kalender
calendar-state-pending = ausstehend
calendar-state-failed = fehlgeschlagen
calendar-state-waiting = wartet auf erneute Verbindung
calendar-state-removed = entfernt
calendar-state-removed-in-calendar = im Kalender entfernt

calendar-weekday-1 = Montag
calendar-weekday-2 = Dienstag
calendar-weekday-3 = Mittwoch
calendar-weekday-4 = Donnerstag
calendar-weekday-5 = Freitag
calendar-weekday-6 = Samstag
calendar-weekday-7 = Sonntag
calendar-month-1 = Januar
calendar-month-2 = Februar
calendar-month-3 = März
calendar-month-4 = April
calendar-month-5 = Mai
calendar-month-6 = Juni
calendar-month-7 = Juli
calendar-month-8 = August
calendar-month-9 = September
calendar-month-10 = Oktober
calendar-month-11 = November
calendar-month-12 = Dezember
