# calendar: the calendar view (/calendar) by month, week or as an agenda.
calendar-title = Calendar
# { $zone } is the viewer's time zone, e.g. Europe/Berlin.
calendar-intro = Your deadlines and the dates you exported, in { $zone }.
calendar-views = Calendar views
calendar-view-month = Month
calendar-view-week = Week
calendar-view-agenda = Agenda
calendar-pages = Calendar pages
calendar-previous = Previous
calendar-today = Today
calendar-next = Next
calendar-later = Later
calendar-cut = More entries than this page can show: only the first { $count } of each kind are here. The week view shows fewer days at a time.
calendar-month-empty = Nothing due in these weeks.
calendar-week-empty = Nothing.
calendar-agenda-empty = Nothing due in these { $count } days.
calendar-today-mark = today
calendar-today-paren = (today)
calendar-overdue = Overdue
# Followed by a link (calendar-all-overdue).
calendar-overdue-cut = Only the first { $count } are shown:
calendar-all-overdue = all overdue tasks
calendar-bad-view = view must be month, week or agenda
calendar-bad-date = date must be a day as YYYY-MM-DD
calendar-out-of-range = that date is out of range

## Headings and day names. The day patterns may use { $weekday } and { $month } (the long
## names below), { $weekday-short } and { $month-short } (common.ftl), { $day },
## { $month-number } and { $year }; { $date } is a whole date as common.ftl writes it.
calendar-month-heading = { $month } { $year }
calendar-week-heading = Week of { $date }
calendar-agenda-heading = From { $date }
calendar-day-heading = { $weekday } { $day } { $month }
calendar-day-heading-year = { $weekday } { $day } { $month } { $year }
# A month's day cell shows the weekday and the day's number; screen readers also hear
# these words before and after the number ({ "" } for none).
calendar-cell-before = { "" }
calendar-cell-after = { " " }{ $month }
# "N more" entries of a day, then (for screen readers) which day.
calendar-more = { $count } more
calendar-more-on = on { $day } { $month }

## An entry: a task's deadline, and the state of its copy in the viewer's calendar.
calendar-entry-deadline = { $step } — deadline
calendar-deadline = Deadline
calendar-no-open-task = (no open task)
# For screen readers, before the state.
calendar-state-prefix = Calendar:
calendar-state-synced = in calendar
calendar-state-pending = pending
calendar-state-failed = failed
calendar-state-waiting = waiting for reconnection
calendar-state-removed = removed
calendar-state-removed-in-calendar = removed in calendar

calendar-weekday-1 = Monday
calendar-weekday-2 = Tuesday
calendar-weekday-3 = Wednesday
calendar-weekday-4 = Thursday
calendar-weekday-5 = Friday
calendar-weekday-6 = Saturday
calendar-weekday-7 = Sunday
calendar-month-1 = January
calendar-month-2 = February
calendar-month-3 = March
calendar-month-4 = April
calendar-month-5 = May
calendar-month-6 = June
calendar-month-7 = July
calendar-month-8 = August
calendar-month-9 = September
calendar-month-10 = October
calendar-month-11 = November
calendar-month-12 = December
