# Messages flowcal's services write, which pages show in the reader's language.
# The English text is matched as written; $variables are filled from it.

data-value = { $key }: { $message }
data-is-outside-the-dates-flowcal-accepts = '{ $s }' is outside the dates flowcal accepts ({ $EARLIEST_DATE } to { $LATEST_DATE })
data-a-value-is-required = a value is required
data-expected-a-string = expected a string
data-longer-than-bytes = longer than { $MAX_TEXT } bytes
data-a-single-line-is-expected-use = a single line is expected (use a text item for several lines)
data-is-not-one-of = '{ $s }' is not one of: { $arg1 }
data-expected-a-number = expected a number
data-expected-a-finite-number = expected a finite number
data-expected-true-or-false = expected true or false
data-expected-a-date-yyyy-mm-dd = expected a date "YYYY-MM-DD"
data-is-not-a-date-write-yyyy = '{ $s }' is not a date; write YYYY-MM-DD
data-expected-an-rfc-3339-date-time = expected an RFC 3339 date-time
data-is-not-a-date-time-with = '{ $s }' is not a date-time with a UTC offset (-23:59 to +23:59); write for example 2026-03-28T09:30:00+01:00
data-expected-a-user-s-login = expected a user's login
data-this-process-has-no-such-data = this process has no such data item
data-the-instance-is-not-running = the instance is { $arg1 }, not running
data-task-is-not-open = task { $arg0 } is not open
data-the-model-s-time-zone-is = the model's time zone is unusable: { $arg0 }
data-the-model-has-no-start-event = the model has no start event
data-the-instance-has-no-incident-to = the instance has no incident to retry
data-timer-is-not-waiting = timer { $arg0 } is not waiting
data-the-deadline-falls-outside-the-supported = the deadline falls outside the supported range of dates
data-data-item-holds-neither-a-date = data item '{ $arg0 }' holds neither a date nor a date-time
data-the-work-calendar-has-no-working = the work calendar has no working time in that direction
data-months-and-years-cannot-be-counted = months and years cannot be counted in working time: write days (P20D) or weeks (P4W)
data-is-not-a-weekday-write-mon = '{ $arg0 }' is not a weekday: write mon, tue, wed, thu, fri, sat or sun
data-the-weekday-is-listed-twice-in = the weekday '{ $arg0 }' is listed twice in the working week: list each day once
data-is-not-a-period-of-working = '{ $text }' is not a period of working hours ({ $reason }); write for example 09:00-12:00
data-the-working-hours-and-overlap-or = the working hours { $first } and { $second } { $place }overlap or are out of order: list the periods from the earliest, for example 09:00-12:00, 13:00-17:00
data-the-holiday-on-has-an-empty = the holiday on { $arg0 } has an empty list of hours: give at least one period, or leave hours out for a day off
data-has-periods-of-working-hours-at = { $what } has { $count } periods of working hours; at most { $MAX_PERIODS } are allowed
data-is-not-a-valid-work-calendar = '{ $arg0 }' is not a valid work calendar name: use 1 to 64 characters a-z, 0-9 or '-', starting and ending with a letter or digit (for example de-berlin)
data-is-not-a-known-iana-time = '{ $arg0 }' is not a known IANA time zone (for example Europe/Berlin or America/New_York)
data-the-calendar-lists-at-most-are = the calendar lists { $count } { $what }; at most { $MAX_DATES } are allowed: remove past years
data-is-listed-twice-as-list-each = { $date } is listed twice as { $what }: list each date once
data-is-both-a-holiday-and-an = { $arg0 } is both a holiday and an extra working day: remove one of them (a holiday with hours is a shortened working day)
data-the-name-of-is-too-long = the name of { $date } is too long or holds control characters: use at most { $MAX_DAY_NAME } characters of text
data-is-not-a-roll-write-forward = '{ $arg0 }' is not a roll: write forward or backward
data-its-times-must-be-whole-minutes = its times must be whole minutes
data-it-must-end-after-it-starts = it must end after it starts, on the same day
data-the-holiday-on = the holiday on { $date }
data-the-working-day = the working day
data-of-the-holiday-on = of the holiday on { $date }{" "}
data-is-not-an-iso-8601-duration = '{ $text }' is not an ISO 8601 duration ({ $reason }); write for example P3D, PT4H, P1DT12H or -P1D
data-item = item '{ $v }'
data-the-number = the number { $n }
data-the-string = the string "{ $s }"
data-a-condition-in-parentheses = a condition in parentheses
data-unsupported-syntax-at-character = unsupported syntax at '{ $snippet }' (character { $arg1 }): { $HINT }
data-the-condition-has-a-that-is = the condition '{ $arg1 }' has a '(' that is not closed
data-is-a-item = '{ $arg1 }' is a { $arg2 } item
data-it-cannot-be-compared-with = { $arg1 }; it cannot be compared with { $arg2 }: { $hint }
data-it-can-only-be-compared-with = { $arg1 }; it can only be compared with == or !=, not { $arg2 }
data-and-is-not-one-of-its = { $arg1 } and "{ $s }" is not one of its options ({ $arg2 })
data-so-it-cannot-be-a-condition = { $arg1 }, so it cannot be a condition on its own: compare it with == != < <= > or >=
data-and-is-a-item-they-cannot = { $arg1 } and '{ $arg2 }' is a { $arg3 } item: they cannot be compared
data-and-are-boolean-items-they-can = '{ $arg1 }' and '{ $arg2 }' are boolean items; they can only be compared with == or !=, not { $arg3 }
data-is-not-a-valid-login-use = '{ $arg0 }' is not a valid login: use 1 to 64 characters a-z, 0-9, '.', '_' or '-', starting with a letter or digit
data-is-not-name-value-deleted-respect = '{ $part }' is not name=value (deleted=respect|restore, moved=propose|accept|revert)
data-deleted-an-entry-deleted-in-the = deleted={ $value }: an entry deleted in the calendar is 'respect'ed or 'restore'd
data-moved-a-move-in-the-calendar = moved={ $value }: a move in the calendar is 'propose'd, 'accept'ed or 'revert'ed
data-is-given-twice = '{ $name }' is given twice
data-is-not-a-calendar-edit-there = '{ $other }' is not a calendar edit; there are 'deleted' and 'moved'
data-the-process-loops-here-without-reaching = the process loops here without reaching a task
data-a-second-path-reached-sub-process = a second path reached sub-process '{ $id }' while it runs, and flowcal runs one instance of a sub-process at a time: retry once the running one has ended, or join the paths before the sub-process in the model
data-sub-process-has-no-start-event = sub-process '{ $id }' has no start event; correct the model
data-timer-waits-until-the-date-in = timer '{ $id }' waits until the date in data item '{ $key }', which is empty; set it and retry
data-timer-cannot-count-from-data-item = timer '{ $id }' cannot count from data item '{ $key }': its value gives no date flowcal supports; correct it and retry
data-timer-has-no-time-left-at = timer '{ $id }' has no time left at which it would fire; correct the model, or cancel the instance
data-parallel-join-waits-for-flow-but = parallel join '{ $node }' waits for flow { $arg1 }, but no branch that leads there is active
data-the-condition-ends-too-early-a = the condition '{ $arg1 }' ends too early: a value is missing at the end
data-the-condition-is-nested-more-than = the condition is nested more than { $MAX_DEPTH } levels deep
data-the-string-starting-at-character-is = the string starting at character { $arg1 } is not closed: end it with { $quote }
data-character-is-not-a-condition-on = { $what } (character { $at }) is not a condition on its own: compare a data item with it, e.g. amount > 5 or status == "done"
data-no-condition-of-gateway-holds-and = no condition of gateway '{ $arg1 }' holds ({ $arg2 }) and it has no default flow; correct the data and retry
data-compare-it-with-a-number = compare it with a number, e.g. > 5
data-compare-it-with-true-or-false = compare it with true or false
data-compare-it-with-a-string = compare it with a string in quotes, e.g. == "done"
data-compare-it-with-a-date = compare it with a date written "YYYY-MM-DD", e.g. >= "2026-03-28"
data-compare-it-with-a-date-time = compare it with an RFC 3339 date-time with a UTC offset, e.g. < "2026-03-28T09:30:00+01:00"
