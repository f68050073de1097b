# Messages flowcal's services write, which pages show in the reader's language.
# The English text is matched as written; $variables are filled from it.

bpmn-the-process-s-top-level = the process's top level
bpmn-sub-process = sub-process '{ $s }'
bpmn-sequence-flow-which-is-not-a = sequence flow '{ $arg1 }' { $verb } '{ $end }', which is not a node of this process
bpmn-sequence-flow-is-in-but-in = sequence flow '{ $arg1 }' is in { $arg2 } but { $verb } { $arg3 } in { $arg4 }; a sequence flow cannot cross the border of a sub-process: connect to the sub-process itself, and begin and end the path inside it with its own start and end events
bpmn-the-start-event = the start event
bpmn-the-start-event-of-sub-process = the start event of sub-process '{ $s }'
bpmn-cannot-be-reached-from = { $arg1 } cannot be reached from { $from }
bpmn-is-on-a-loop-that-passes = { $arg1 } is on a loop that passes no user task or timer event: a token would circle there forever
bpmn-flow-condition = flow '{ $arg1 }': condition '{ $arg2 }': { $arg3 }
bpmn-the-process = the process
bpmn-has-no-start-event-bpmn-startevent = { $whose } has no start event{ $inside } (bpmn:startEvent){ $collapsed }
bpmn-has-a-second-start-event-the = { $whose } has a second start event '{ $arg1 }' (the first is '{ $arg2 }'); flowcal starts every { $arg3 } at one start event
bpmn-has-no-end-event-bpmn-endevent = { $whose } has no end event{ $inside } (bpmn:endEvent)
bpmn-is-attached-to-which-is-not = { $this } is attached to '{ $attached_to }', which is not a node of this process
bpmn-is-attached-to-flowcal-runs-boundary = { $this } is attached to { $arg1 }; flowcal runs boundary timers on user tasks only{ $hint }
bpmn-is-in-but-its-task-is = { $this } is in { $arg1 } but its task { $arg2 } is in { $arg3 }; write the boundary event beside its task
bpmn-has-flowcal-deadlinetimer-true-but-its = { $this } has flowcal:deadlineTimer="true", but its task { $arg1 } has no deadline: give the task flowcal:deadline or flowcal:deadlineFrom, or remove flowcal:deadlineTimer
bpmn-flow-has-a-condition-but-it = flow '{ $arg1 }' has a condition, but it leaves { $this }: flowcal only supports conditions on the flows out of an exclusive gateway
bpmn-has-no-outgoing-flow-every-path = { $this } has no outgoing flow; every path must lead to an end event
bpmn-has-an-incoming-flow-nothing-can = { $this } has an incoming flow ({ $arg1 }); nothing can lead back to the start
bpmn-has-outgoing-flows-it-needs-exactly = { $this } has { $arg1 } outgoing flows ({ $arg2 }); it needs exactly one (start several branches with a parallel gateway)
bpmn-has-an-outgoing-flow-an-end = { $this } has an outgoing flow ({ $arg1 }); an end event ends its path
bpmn-has-an-incoming-flow-a-boundary = { $this } has an incoming flow ({ $arg1 }); a boundary event starts its path when its timer fires, so nothing can lead to it
bpmn-has-outgoing-flows-a-boundary-timer = { $this } has { $arg1 } outgoing flows ({ $arg2 }); a boundary timer has exactly one: split with a parallel gateway (all paths) or an exclusive gateway (one path)
bpmn-has-no-incoming-flow-so-it = { $this } has no incoming flow, so it cannot be reached
bpmn-has-outgoing-flows-has-exactly-one = { $this } has { $arg1 } outgoing flows ({ $arg2 }); { $step } has exactly one: split with a parallel gateway (all paths) or an exclusive gateway (one path)
bpmn-its-default-flow-is-not-one = { $this }: its default flow '{ $default }' is not one of its outgoing flows ({ $arg1 })
bpmn-flow-is-the-default-flow-of = flow '{ $arg1 }' is the default flow of { $this }, so it cannot have a condition: it is taken when no other condition holds
bpmn-has-outgoing-flows-without-conditions-and = { $this } has outgoing flows without conditions and no default flow; give each outgoing flow a conditionExpression over data items, or mark one as the gateway's default
bpmn-flow-leaves-without-a-condition-and = flow '{ $arg1 }' leaves { $this } without a condition and is not the gateway's default flow; give it a conditionExpression, or make it the default
bpmn-flow-uses-in-conflicting-ways = flow '{ $arg1 }' uses '{ $var }' in conflicting ways
bpmn-uses-both-as-a-and-as = uses '{ $var }' both as a { $arg1 } and as a { $arg2 }
bpmn-uses-as-a-but-flow-uses = uses '{ $var }' as a { $arg1 }, but flow '{ $seen_in }' uses it as a { $arg2 }
bpmn-flow-condition-declare-it-with-flowcal = flow '{ $arg1 }': condition '{ $arg2 }' { $how }; declare it with <flowcal:dataItem key="{ $var }" type="…"/> and compare it with values of that type
bpmn-bpmn-subprocess-triggeredbyevent-true = bpmn:subProcess triggeredByEvent="true"
bpmn-is-not-supported = { $arg1 } is not supported ({ $SUPPORTED })
bpmn-elements-are-not-supported = { $arg1 } elements are not supported: { $named } ({ $SUPPORTED })
bpmn-flowcal-dataitem-belongs-directly-in-the = flowcal:dataItem belongs directly in the process's bpmn:extensionElements
bpmn-flowcal-is-not-a-flowcal-element = flowcal:{ $local } is not a flowcal element (flowcal reads flowcal:dataItem in the process's bpmn:extensionElements)
bpmn-flowcal-deadlinetimer-has-no-meaning-on = flowcal:deadlineTimer has no meaning on bpmn:{ $local }: only a boundary timer on a user task counts from the task's deadline
bpmn-flowcal-has-no-meaning-on-bpmn = flowcal:{ $name } has no meaning on bpmn:{ $local }; { $WHERE_FLOWCAL_ATTRIBUTES_GO }
bpmn-bpmn-has-an-unknown-attribute-flowcal = bpmn:{ $local } has an unknown attribute flowcal:{ $name }; it takes { $list }
bpmn-flowcal-deadlinetimer-is-neither-true-nor = { $this }: flowcal:deadlineTimer="{ $other }" is neither "true" nor "false"
bpmn-flowcal-timeroffset = { $this }: flowcal:timerOffset { $e }
bpmn-has-a-timer-without-timeduration-timedate = { $this } has a timer without timeDuration, timeDate or timeCycle: give it one, for example <bpmn:timeDuration>PT2H</bpmn:timeDuration>{ $deadline }
bpmn-has-both-and-a-timer-has = { $this } has both { $arg1 } and { $arg2 }; a timer has exactly one of timeDuration, timeDate and timeCycle
bpmn-its-is-empty = its { $local } is empty; { $arg1 }
bpmn-timedate = timeDate { $m }
bpmn-write-an-iso-8601-duration-such = write an ISO 8601 duration such as PT2H or P3D
bpmn-flowcal-timeroffset-moves-a-date-read = { $this }: flowcal:timerOffset moves a date read from a data item, but this timer's date is not one: remove it, or name a date or datetime item in the timeDate
bpmn-a-start-timer-cannot-read-a = { $this }: a start timer cannot read a data item: before it fires there is no instance and no data; give a date or a duration
bpmn-a-timedate-is-a-date-of = a timeDate is a date of its own
bpmn-a-timecycle-with-a-start-begins = a timeCycle with a START begins at that START
bpmn-has-flowcal-deadlinetimer-true-which-counts = { $this } has flowcal:deadlineTimer="true", which counts from the task's deadline, but { $why }: use a timeDuration, a timeCycle without START, or no definition (at the deadline)
bpmn-is-negative-a-timer-counts-forward = { $what } '{ $text }' is negative; a timer counts forward from when it starts
bpmn-has-a-time-zone-annotation-which = '{ $text }' has a time zone annotation, which flowcal does not read: give an offset, or no offset for the model's time zone
bpmn-is-neither-a-date-nor-a = '{ $text }' is neither a date nor a data item; { $DATES }
bpmn-names-item-which-is-a-item = names item '{ $key }', which is a { $arg1 } item; a timer's date comes from a date or datetime item
bpmn-is-a-duration-not-a-date = '{ $text }' is a duration, not a date: use timeDuration for a timer that fires after a while
bpmn-names-item-but-there-is-no = names item '{ $key }', but there is no such item: declare it with <flowcal:dataItem key="{ $key }" type="datetime"/> (or type="date") in the process's extensionElements
bpmn-timecycle-is-not-supported = timeCycle '{ $text }' is not supported: { $why }; { $CYCLES }
bpmn-is-not-r-or-rn-with = '{ $arg1 }' is not R or Rn with a number n
bpmn-timecycle-start = timeCycle START { $m }
bpmn-timecycle-repeats-every-which-would-fire = timeCycle '{ $text }' repeats every { $every }, which would fire without end at once
bpmn-lane-name-cannot-be-a-role = lane name '{ $role }' cannot be a role: give the lane a name of 1 to 64 characters
bpmn-task = task '{ $id }': { $m }
bpmn-flowcal-assignee = flowcal:assignee: { $e }
bpmn-flowcal-assignee-names-item-but-there = flowcal:assignee names item '{ $key }', but there is no such item: declare it with <flowcal:dataItem key="{ $key }" type="user"/>
bpmn-flowcal-assignee-names-item-which-is = flowcal:assignee names item '{ $key }', which is a { $arg1 } item, not a user item
bpmn-flowcal-assignee-is-not-understood-write = flowcal:assignee '{ $text }' is not understood; write starter, user:LOGIN or item:KEY
bpmn-task-bpmn-is-an-expression-which = task '{ $id }': bpmn:{ $role } '{ $text }' is an expression, which flowcal does not evaluate; write user(LOGIN), group(ROLE) or a name, or flowcal:assignee="item:KEY" for a user given as data
bpmn-task-bpmn-names-the-resource-which = task '{ $id }': bpmn:{ $role } names the resource '{ $reference }', which the file does not declare (bpmn:resource)
bpmn-task-has-several-candidates-flowcal-gives = task '{ $id }' has several candidates ({ $arg1 }); flowcal gives a task to one user or one role: keep one (a role's members may each claim the task), or put the task in a lane
bpmn-task-bpmn = task '{ $id }': bpmn:{ $arg1 } { $m }
bpmn-names-the-role-which-cannot-be = names the role '{ $name }', which cannot be a role: use 1 to 64 characters
bpmn-names-the-user-write-group-role = names the user '{ $login }': { $e }; write group(ROLE) for a role
bpmn-flowcal-workcalendar-is-not-a-work = { $on }: flowcal:workCalendar '{ $name }' is not a work calendar name: use 1 to 64 characters a-z, 0-9 or '-', starting and ending with a letter or digit (for example de-berlin)
bpmn-lane = lane '{ $lane_id }'
bpmn-task-2 = task '{ $id }'
bpmn-flowcal-deadlineroll = flowcal:deadlineRoll: { $e }
bpmn-flowcal-deadlineroll-says-where-a-deadline = flowcal:deadlineRoll says where a deadline on a day off goes, but the task has no work calendar: give the task, its lane or the process flowcal:workCalendar
bpmn-counts-months-or-years-which-a = { $what } '{ $d }' counts months or years, which a work calendar cannot count in working days: write days (P20D) or weeks (P4W)
bpmn-current-step = current step
bpmn-the-file-is-not-readable-xml = the file is not readable XML: { $e }
bpmn-has-no = { $what } has no { $name }
bpmn-has-not-a-number = { $what } has { $name }="{ $arg1 }", not a number
bpmn-has-outside-the-flowcal-draws = { $what } has { $name }="{ $arg1 }", outside the ±{ $MAX_COORD } flowcal draws
bpmn-has-a-negative-width-or-height = { $what } has a negative width or height
bpmn-the-drawing-of = the drawing of '{ $arg1 }'
bpmn-the-diagram-has-more-than-shapes = the diagram has more than { $MAX_SHAPES } shapes, more than flowcal draws
bpmn-the-diagram-has-more-than-edges = the diagram has more than { $MAX_EDGES } edges, more than flowcal draws
bpmn-the-diagram-s-edges-have-more = the diagram's edges have more than { $MAX_WAYPOINTS } waypoints, more than flowcal draws
bpmn-the-process-has-more-than-steps = the process has more than { $MAX_SHAPES } steps, more than flowcal draws
bpmn-the-process-has-more-than-flows = the process has more than { $MAX_EDGES } flows, more than flowcal draws
bpmn-the-diagram-would-be-more-than = the diagram would be more than { $arg1 } MB of drawing, more than flowcal shows
bpmn-the-document-has-bytes-more-than = the document has { $size } bytes, more than the limit of { $limit }
bpmn-elements-are-nested-deeper-than-the = elements are nested deeper than the limit of { $limit } levels
bpmn-an-element-has-more-attributes-than = an element has more attributes than the limit of { $limit }
bpmn-more-xml-namespace-declarations-are-in = more XML namespace declarations are in scope at one element than the limit of { $limit }
bpmn-the-document-declares-more-xml-namespaces = the document declares more XML namespaces than the limit of { $limit }
bpmn-the-document-has-more-xml-nodes = the document has more XML nodes than the limit of { $limit }
bpmn-the-document-has-a-document-type = the document has a document type declaration (<!DOCTYPE …>), which flowcal does not accept
bpmn-not-well-formed-xml = not well-formed XML: { $message }
bpmn-reading-the-xml-failed-unexpectedly = reading the XML failed unexpectedly
bpmn-reading-the-xml-took-longer-than = reading the XML took longer than { $arg1 } seconds
bpmn-it-looks-like-a-cron-expression = it looks like a cron expression, which flowcal does not read
bpmn-it-does-not-start-with-r = it does not start with R or Rn
bpmn-a-cycle-with-an-end-is = a cycle with an end (R/PERIOD/END) is not supported
bpmn-it-has-too-many-or-too = it has too many or too few parts
bpmn-named-step = { $word } '{ $id }' ({ $name })
bpmn-step = { $word } '{ $id }'
bpmn-start-event = start event
bpmn-end-event = end event
bpmn-user-task = user task
bpmn-exclusive-gateway = exclusive gateway
bpmn-parallel-gateway = parallel gateway
bpmn-terminate-end-event = terminate end event
bpmn-intermediate-event = intermediate event
bpmn-timer-event = timer event
bpmn-boundary-timer = boundary timer
