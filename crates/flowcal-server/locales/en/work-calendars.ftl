# work-calendars: the list of work calendars, a calendar's year, and its edit form.
workcal-forbidden = only administrators change work calendars
workcal-title = Work calendars
workcal-intro = Deadlines of steps that name a work calendar count its working days and hours only.
workcal-empty = No work calendars yet.
workcal-col-name = Name
workcal-time-zone = Time zone
workcal-working-week = Working week
workcal-col-hours = Hours
workcal-sources = Holiday sources
workcal-fetch-failed = fetch failed
workcal-more = More calendars
workcal-new = New work calendar
# Between the items of a list: "Mon, Tue".
workcal-list-separator = {", "}
workcal-no-working-weekdays = no working weekdays
workcal-whole-day = the whole day
workcal-sources-none = none
# The sources in a few words: "2: 1 ok, 1 failed".
workcal-sources-summary = { $count }: { $states }
workcal-count-ok = { $count } ok
workcal-count-failed = { $count } failed
workcal-count-pending = { $count } pending

## The full names of the weekdays (Monday = 1) and months.
workcal-weekday-long-1 = Monday
workcal-weekday-long-2 = Tuesday
workcal-weekday-long-3 = Wednesday
workcal-weekday-long-4 = Thursday
workcal-weekday-long-5 = Friday
workcal-weekday-long-6 = Saturday
workcal-weekday-long-7 = Sunday
workcal-month-long-1 = January
workcal-month-long-2 = February
workcal-month-long-3 = March
workcal-month-long-4 = April
workcal-month-long-5 = May
workcal-month-long-6 = June
workcal-month-long-7 = July
workcal-month-long-8 = August
workcal-month-long-9 = September
workcal-month-long-10 = October
workcal-month-long-11 = November
workcal-month-long-12 = December
# A day of the year shown, without the year ($weekday and $month from common.ftl).
workcal-day-of-year = { $weekday } { $day } { $month }

## The form
workcal-form-name = Name (a-z, 0-9 and -, e.g. de-berlin)
workcal-form-zone = Time zone (IANA, e.g. Europe/Berlin)
workcal-form-week = Working weekdays
workcal-form-hours = Working hours (e.g. 09:00-12:00, 13:00-17:00; empty: the whole day)
workcal-form-holidays = Holidays (one per line: YYYY-MM-DD Name, or YYYY-MM-DD Name 09:00-12:00 for a half day)
workcal-form-working-days = Extra working days (one per line: YYYY-MM-DD Name)
workcal-form-sources = Holiday sources (one per line: URL include=PATTERN;PATTERN exclude=PATTERN, both optional)
workcal-form-sources-hint = An iCalendar file by URL is fetched now and refreshed daily. Patterns pick events by SUMMARY and CATEGORIES (* and ? as wildcards; summary:, category: or description: before a pattern looks only there).
# After "uploaded #N".
workcal-form-sources-hint-uploaded = keeps the uploaded file N of the sources table.
workcal-form-sources-hint-order = Sources count in this order: the first one that names a date gives its name.
workcal-form-paste = Paste an iCalendar file
workcal-form-ics = iCalendar text (BEGIN:VCALENDAR …); it becomes the last source
workcal-form-include = Include (patterns, apart by ;)
workcal-form-exclude = Exclude (patterns, apart by ;)
workcal-create = Create calendar
workcal-save = Save calendar
workcal-field-holidays = Holidays
workcal-field-working-days = Extra working days
workcal-field-sources = Holiday sources
workcal-refused-line = { $field }, line { $line }: { $error }
workcal-not-a-date = '{ $text }' is not a date: start the line with YYYY-MM-DD
workcal-uploaded-number = write '{ $uploaded } #NUMBER' with the number the sources table shows
workcal-no-uploaded-file = this calendar has no uploaded file #{ $id } (any more): paste the file below
workcal-not-an-option = '{ $text }' is neither include=PATTERN;PATTERN nor exclude=PATTERN

## A calendar's page
workcal-calendar-title = Work calendar { $name }
workcal-working-hours = Working hours
workcal-last-change = Last change
workcal-changed-by = { $when } by { $login }
workcal-never = never
workcal-years = Years
workcal-this-year = This year
workcal-bad-year = year must be a year from { $from } to { $to }, e.g. ?year=2026
workcal-legend = Legend
workcal-mark-holiday = H
workcal-mark-half = ½
workcal-mark-extra = W
workcal-legend-holiday = H: holiday (a day off), its name on the day
workcal-legend-half = ½: half day (a holiday with working hours)
workcal-legend-extra = W: extra working day
workcal-legend-off = striped: not a working weekday
workcal-legend-today = outlined: today (in the calendar's zone)
workcal-working-day = working day
workcal-day-off = day off
workcal-holiday = holiday
workcal-half-day = half day: { $hours }
workcal-extra-day = extra working day
# A day's name and what it is: "Christmas Eve (half day: 09:00-12:00)".
workcal-named-day = { $name } ({ $what })
workcal-today-suffix = , today
workcal-holidays-in = Holidays in { $year }
workcal-none = None.
workcal-col-date = Date
workcal-col-day = Day
workcal-col-from = From
workcal-off = off
workcal-origin-calendar = this calendar
workcal-origin-source = source { $number }
workcal-extra-days-in = Extra working days in { $year }
workcal-unusable = This calendar cannot be used: { $error }
workcal-no-sources = No holiday sources: only the holidays this calendar lists count.
workcal-col-source = Source
workcal-col-patterns = Patterns
workcal-col-status = Status
workcal-col-fetched = Last fetch
workcal-col-checked = Last checked
workcal-col-days = Holiday days
workcal-uploaded-file = uploaded file
workcal-all-events = all events
workcal-include = include:
workcal-exclude = exclude:
workcal-status-ok = ok
workcal-status-pending = pending
workcal-status-failed = failed
workcal-last-good-copy = The last good copy is in use.
workcal-no-good-copy = No good copy yet: its holidays do not count.
workcal-uploaded = uploaded
workcal-edit = Edit
workcal-manage = Sources and removal
workcal-refresh = Refresh sources now
workcal-delete-confirm = Delete this work calendar? Models that name it keep it from being deleted.
workcal-delete = Delete
workcal-delete-named = Delete work calendar { $name }

## Notices after a change, and refusals
workcal-name-taken = a work calendar named '{ $name }' exists: change it on its page, or choose another name
workcal-created = Created work calendar { $name }
workcal-saved = Saved work calendar { $name }
workcal-saved-fetch-failed =
    { $count ->
        [one] ; holiday source { $sources } could not be fetched (see below)
       *[other] ; holiday sources { $sources } could not be fetched (see below)
    }
workcal-refreshed = Refreshed the holiday sources of { $name }: { $fetched } fetched, { $unchanged } unchanged, { $failed } failed
workcal-recomputed =
    { $count ->
        [one] ; deadlines recomputed in { $count } instance
       *[other] ; deadlines recomputed in { $count } instances
    }
workcal-deleted = Deleted work calendar { $name }
