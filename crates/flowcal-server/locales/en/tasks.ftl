# tasks
# My tasks, the task page (its data form, its calendar controls), starting a process.

## My tasks
tasks-title = My tasks
tasks-filter-show = Show
tasks-show-all = All
tasks-show-overdue = Overdue
tasks-show-week = Due this week
tasks-show-mine = Assigned to me
tasks-show-claimable = To claim
tasks-filter-process = Process
tasks-filter-all-processes = All processes
tasks-filter-sort = Sort by
tasks-sort-deadline = Deadline
tasks-sort-created = Newest
tasks-filter-submit = Filter
tasks-empty = No open tasks here.
# Rows { $first } to { $last } of { $total } (a number already written out, perhaps with "+"); { $count } is the total as a number.
tasks-count = { $first }–{ $last } of { $total } open { $count ->
        [one] task
       *[other] tasks
    }
# The separator between thousands in counts: 15,000.
tasks-thousands-separator = ,
tasks-table-caption = Open tasks
tasks-col-task = Task
tasks-col-process = Process
tasks-col-deadline = Deadline
tasks-col-assigned = Assigned
# Under a deadline: the work calendar it was counted in.
tasks-counted-in = counted in { $calendar }
tasks-no-deadline = none
tasks-assigned-you = you
tasks-assigned-role = role { $role }
tasks-pages = Pages of tasks
tasks-first-page = First page
tasks-next-page = Next page

## The task page
tasks-fact-state = State
tasks-state-open = open
tasks-state-done = done
tasks-state-cancelled = cancelled
tasks-fact-assigned = Assigned
tasks-not-assigned = not yet: role { $role }
tasks-fact-deadline = Deadline
tasks-claim = Claim this task
tasks-data = Data
tasks-complete = Complete task
tasks-claim-first = Claim the task to fill in its data and complete it.
# Errors beside a data field.
tasks-error-number = enter a number
tasks-error-date-time = enter a date and time
# Notices after a button.
tasks-notice-claimed = The task is yours
tasks-notice-completed = Completed: { $task }
tasks-notice-started = Started
tasks-notice-started-title = Started: { $title }

## The calendar controls beside each date. { $what } is "the deadline" or a data field's label.
## A button's accessible name (…-label) must begin with its visible text.
tasks-cal-the-deadline = the deadline
tasks-cal-moved = ↔ Moved in your calendar
# { $date }: the date (and time) the entry was moved to.
tasks-cal-moved-to = to { $date }
tasks-cal-synced = ✓ In calendar
tasks-cal-open-event = open event
tasks-cal-pending = ⏳ Pending
tasks-cal-removing = ⏳ Being removed
tasks-cal-failed = ✗ Failed
tasks-cal-reconnect-needed = ⚠ Reconnect needed
tasks-cal-reconnect = reconnect
tasks-cal-removed-there = Removed in your calendar
tasks-cal-not-in = Not in calendar
tasks-cal-retry = Retry
tasks-cal-add-again = Add again
tasks-cal-add-again-label = Add again to calendar: { $what }
tasks-cal-use-date = Use this date
tasks-cal-use-date-label = Use this date for { $what }, as moved in the calendar
tasks-cal-keep = Keep
tasks-cal-keep-label = Keep { $what } and move the entry back
tasks-cal-remove = Remove from calendar
tasks-cal-remove-label = Remove from calendar: { $what }
tasks-cal-add = Add to calendar
tasks-cal-add-label = Add to calendar: { $what }
# With several providers to choose from: the button names its provider.
tasks-cal-add-at = Add to calendar ({ $provider })
# { $caption } is the button's text (tasks-cal-add or tasks-cal-add-at): keep it first.
tasks-cal-add-connect-label = { $caption }: { $what } (connect { $provider })
# "[Connect a calendar] to add dates.": the text before the link, the link, the text after it.
tasks-cal-connect-before = { "" }
tasks-cal-connect = Connect a calendar
tasks-cal-connect-after = { " " }to add dates.
tasks-cal-account-label = Calendar account for { $what }
# "To add this to your calendar, turn calendar export on in [Settings].": before the link, the link, after it.
tasks-cal-off-before = To add this to your calendar, turn calendar export on in{ " " }
tasks-cal-off-settings = Settings
tasks-cal-off-after = .
tasks-cal-off-admin = Calendar export is not enabled for your account by the administrator.
tasks-cal-off-unavailable = Calendar export is unavailable just now; reload the page to try again.
# Notices after a calendar button.
tasks-cal-notice-removing = Removing it from your calendar
tasks-cal-notice-retrying = Sending it again
tasks-cal-notice-accepted = Using the date from your calendar
tasks-cal-notice-kept = Keeping the date; moving the entry back
tasks-cal-notice-adding = Adding it to your calendar
# Refusals of a calendar form that did not come from this page.
tasks-cal-which-export = which export?
tasks-cal-bad-source = source must be "deadline" or "item:KEY"
tasks-cal-cannot-export = that source cannot be exported
tasks-cal-choose-account = choose a calendar account
tasks-cal-unknown-action = unknown calendar action

## Starting a process
tasks-start-title = Start a process
tasks-start-empty = No process models yet.
tasks-start-version = version { $version }
tasks-start-field-title = Title
tasks-start-submit = Start

## The diagram on the task page (and the model page)
tasks-diagram-heading = Where this task is in the process
tasks-diagram-laid-out = This file has no diagram: flowcal laid the steps out from left to right.
# { $why }: what was wrong with the file's drawing (in English).
tasks-diagram-none = No diagram: { $why }
# Followed by the step's name, in bold.
tasks-diagram-current = Framed: this task's step,
tasks-diagram-open = Dashed outline: open as well: { $steps }
tasks-diagram-done-none = Tick: done (none yet)
tasks-diagram-done = Tick: done: { $steps }
tasks-diagram-hover = Hover a step for its deadline rule.
# Between the names of steps in a list.
tasks-diagram-list-separator = ,{ " " }

# The drawing's own words: its title ({ $name } stays as it is: the drawing puts the
# process's name there) and the labels of a step's hover text.
tasks-diagram-title = Diagram of {"{"}name{"}"}
tasks-diagram-title-laid-out = Diagram of {"{"}name{"}"} (laid out by flowcal: the file has no diagram)
tasks-diagram-word-deadline = deadline
tasks-diagram-word-current = current step
tasks-diagram-word-open = open
tasks-diagram-word-done = done
