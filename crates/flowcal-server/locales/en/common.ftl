# Words used on every page.
language-name = English
skip-to-content = Skip to content
nav-main = Main
nav-my-tasks = My tasks
nav-start = Start a process
nav-models = Models
nav-calendar = Calendar
nav-team = Team
nav-work-calendars = Work calendars
nav-settings = Settings
nav-admin = Admin
sign-out = Sign out
overdue = Overdue
due-soon = Due soon

# Dates: { $weekday } { $day } { $month } { $year }, and a time as 24-hour { $time }.
date-long = { $weekday } { $day } { $month } { $year }
date-time = { $date }, { $time }
weekday-1 = Mon
weekday-2 = Tue
weekday-3 = Wed
weekday-4 = Thu
weekday-5 = Fri
weekday-6 = Sat
weekday-7 = Sun
month-1 = Jan
month-2 = Feb
month-3 = Mar
month-4 = Apr
month-5 = May
month-6 = Jun
month-7 = Jul
month-8 = Aug
month-9 = Sep
month-10 = Oct
month-11 = Nov
month-12 = Dec

# The words flowcal adds to calendar entries: the title of a step kept after it is done,
# and the labels in the description (the rest comes from the process).
entry-done = ✓ done: { $step }
entry-process = Process
entry-open = Open in flowcal

# A step's deadline rule in words. Without a work calendar: { $offset } is an ISO 8601
# duration such as -P1D. With one: { $amount } is a number of working days, hours …
rule-from = from { $item }
rule-from-offset = from { $item } { $offset }
rule-on = on { $item }
rule-before = { $amount } before { $item }
rule-after = { $amount } after { $item }
rule-in-calendar = { $rule }, calendar { $calendar }
rule-working-weeks =
    { $n ->
        [one] { $n } working week
       *[other] { $n } working weeks
    }
rule-working-days =
    { $n ->
        [one] { $n } working day
       *[other] { $n } working days
    }
rule-working-hours =
    { $n ->
        [one] { $n } working hour
       *[other] { $n } working hours
    }
rule-working-minutes =
    { $n ->
        [one] { $n } working minute
       *[other] { $n } working minutes
    }
rule-working-seconds =
    { $n ->
        [one] { $n } working second
       *[other] { $n } working seconds
    }
