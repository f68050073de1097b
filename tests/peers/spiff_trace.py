#!/usr/bin/env python3
"""Run a BPMN model through SpiffWorkflow and print, round by round, which user
tasks were open and which timers waited, so the flowcal engine's behaviour can
be compared with it.

Usage: python spiff_trace.py MODEL.bpmn SCRIPT.json

SCRIPT.json (every key but "process" may be left out):
    {"process": "<process id, or null for the one executable process>",
     "start": {"var": value, ...},
     "complete": {"<task id>": {"var": value, ...}, ...},
     "pass_through": ["<task id>", ...],
     "now": "2026-04-06T08:00:00Z",
     "actions": ["complete", {"complete": "<task id>"}, {"fire": "<timer id>"},
                 {"wait": "PT3H"}, ...]}

Output (stdout, one JSON object):
    {"rounds": [{"tasks": ["A"], "timers": [["late", "2026-04-06T10:00:00Z"]]}, ...],
     "completed": true, "milestones": ["ordered"], "passed": ["file"]}

Rounds. Each round lists the BPMN ids of the READY manual tasks (userTask,
manualTask and plain task, sorted) and the waiting timer events with the time
each fires next (sorted, UTC, to the second). Then one action is taken and the
engine runs on until it waits again:
- "complete": the first task of the round is completed with the data given for
  it in "complete"; {"complete": ID} completes the open task ID instead;
- {"fire": ID}: the clock moves to one second after the time the waiting timer
  ID fires, and every timer due by then fires (so a timer due earlier fires
  too, as it would in real time);
- {"wait": DURATION}: the clock moves on by an ISO 8601 duration (hours,
  minutes, seconds) and every timer due by then fires.
The actions are taken in the order given; once they are used up, the first
task of each round is completed until no task is open. A round without open
tasks is recorded only when an action is left for it.

Pass-through tasks. flowcal passes a plain `task` or `manualTask` straight
through when nothing makes it a person's task (no flowcal:assignee, deadline,
lane, potentialOwner or performer); SpiffWorkflow waits at every such task as
a manual task. The ids listed in "pass_through" are completed by this script
as soon as they are ready, before the round is recorded, and reported in
"passed" in the order they ran. Nothing else is completed without an action.

Milestones. "milestones" lists, in order, the intermediate throw events without
event definition that the run passed (flowcal records each as a milestone).

Time. SpiffWorkflow reads the time only in its timer event definitions
(SpiffWorkflow.bpmn.specs.event_definitions.timer), through
`datetime.now(timezone.utc)`; timers fire when `workflow.refresh_timers()` (the
new name of `refresh_waiting_tasks`) finds their time strictly in the past.
This script replaces the `datetime` that module uses with a subclass whose
`now()` reads a clock the script sets: it starts at "now" (default
2026-04-06T08:00:00Z) and moves only with the actions "fire" and "wait", which
then call `refresh_timers()` and run the engine. Nothing sleeps.

Translations, in a temporary copy of the model:
- Condition expressions become Python (SpiffWorkflow evaluates them as Python):
  a `${...}` / `#{...}` wrapper or a leading `=` is removed, `&&` `||` `!`
  become `and` `or` `not`, and bare true/false become True/False. Text inside
  quoted strings is left alone.
- Timer expressions (timeDate, timeDuration, timeCycle) are evaluated as Python
  too: a literal such as `PT2H` or `2026-04-07T09:00:00Z` becomes the string
  literal "PT2H"; a data item (`${due}`, `#{due}`, `=due`) becomes its name.
- A sequenceFlow without id (the BPMN XSD allows it, SpiffWorkflow cannot
  refer to it) gets the id `flow-without-id-N`.
- With "process" null, the process run is the only executable one, or else the
  only process in the file; the chosen process is marked executable, since
  SpiffWorkflow refuses isExecutable="false".
"""

import datetime as _dt
import json
import os
import re
import sys
import tempfile

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.specs.defaults import IntermediateThrowEvent
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DEFAULT_NOW = "2026-04-06T08:00:00Z"

# A model with a loop could otherwise run for ever.
MAX_ROUNDS = 10_000

# Quoted strings (single or double, with backslash escapes), kept verbatim.
_STRING = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""", re.S)
_NOT = re.compile(r"!(?!=)")
_BOOL = re.compile(r"\b(true|false)\b", re.I)
_WRAPPED = re.compile(r"^(?:\$\{(.*)\}|#\{(.*)\}|=(.*))$", re.S)
_ISO = re.compile(r"^(?:P[\dT]|R\d*/|\d)", re.I)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CLOCK_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$")


class TraceError(Exception):
    pass


# ---- the clock SpiffWorkflow's timers read -------------------------------------------------

_RealDatetime = _dt.datetime


class _ClockMeta(type):
    # Values SpiffWorkflow builds through methods of the real class (astimezone,
    # arithmetic) are real datetimes: they must still pass its isinstance checks.
    def __instancecheck__(cls, obj):
        return isinstance(obj, _RealDatetime)


class _ClockDatetime(_RealDatetime, metaclass=_ClockMeta):
    """`datetime` for SpiffWorkflow's timer module, with `now()` on our clock."""

    current = None

    @classmethod
    def now(cls, tz=None):
        now = cls.current
        return now.astimezone(tz) if tz is not None else now.astimezone().replace(tzinfo=None)


def set_clock(at):
    _ClockDatetime.current = at.astimezone(_dt.timezone.utc)


def clock():
    return _ClockDatetime.current


spiff_timer.datetime = _ClockDatetime


def parse_instant(text):
    t = _RealDatetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise TraceError("%r has no offset; write the time with Z or an offset" % text)
    return t.astimezone(_dt.timezone.utc)


def format_instant(t):
    return t.astimezone(_dt.timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def clock_duration(text):
    m = _CLOCK_DURATION.match(text.strip().upper())
    if not m or text.strip().upper() == "PT":
        raise TraceError("wait %r: give hours, minutes or seconds (PT3H, PT90M)" % text)
    h, mi, s = (int(g or 0) for g in m.groups())
    return _dt.timedelta(hours=h, minutes=mi, seconds=s)


# ---- the model copy ------------------------------------------------------------------------


def _translate_code(code):
    """Translate a piece of expression that holds no string literal."""
    code = code.replace("&&", " and ").replace("||", " or ")
    code = _NOT.sub(" not ", code)
    code = _BOOL.sub(lambda m: "True" if m.group(1).lower() == "true" else "False", code)
    return re.sub(r"\s+", " ", code)


def translate_condition(text):
    """Turn a modelling tool's condition text into a Python expression."""
    expr = text.strip()
    if (expr.startswith("${") or expr.startswith("#{")) and expr.endswith("}"):
        expr = expr[2:-1].strip()
    elif expr.startswith("="):
        expr = expr[1:].strip()
    parts = _STRING.split(expr)
    # split() with one capturing group: odd indexes are the string literals.
    out = [part if i % 2 else _translate_code(part) for i, part in enumerate(parts)]
    return "".join(out).strip()


def translate_timer(text):
    """Turn a timer's ISO 8601 text, or a data item it names, into a Python expression."""
    expr = text.strip()
    wrapped = _WRAPPED.match(expr)
    if wrapped:
        return next(g for g in wrapped.groups() if g is not None).strip()
    if _NAME.match(expr) and not _ISO.match(expr):
        return expr
    return json.dumps(expr)


def choose_process(root, wanted):
    """The id of the process to run: the one named, or else the only executable
    one (isExecutable absent or "true", as SpiffWorkflow reads it), or else the
    only process in the file."""
    processes = root.findall("{%s}process" % BPMN_NS)
    ids = [p.get("id") for p in processes]
    if wanted is not None:
        if wanted not in ids:
            raise TraceError("no process %r in the model (it has: %s)" % (wanted, ", ".join(ids)))
        return wanted
    executable = [p.get("id") for p in processes if p.get("isExecutable", "true") == "true"]
    if len(executable) == 1:
        return executable[0]
    if not executable and len(ids) == 1:
        return ids[0]
    raise TraceError(
        "the model has %d executable processes (%s); name one with \"process\" in the script"
        % (len(executable), ", ".join(executable) or "none")
    )


def rewrite_model(src_path, dst_path, wanted):
    """Copy the model to dst_path with the translations above. Returns the
    chosen process id."""
    tree = etree.parse(src_path)
    chosen = choose_process(tree.getroot(), wanted)
    for proc in tree.getroot().findall("{%s}process" % BPMN_NS):
        if proc.get("id") == chosen:
            proc.set("isExecutable", "true")
    for node in tree.iter("{%s}conditionExpression" % BPMN_NS):
        if node.text and node.text.strip():
            node.text = translate_condition(node.text)
    for kind in ("timeDate", "timeDuration", "timeCycle"):
        for node in tree.iter("{%s}%s" % (BPMN_NS, kind)):
            if node.text and node.text.strip():
                node.text = translate_timer(node.text)
    for n, flow in enumerate(tree.iter("{%s}sequenceFlow" % BPMN_NS)):
        if not flow.get("id"):
            flow.set("id", "flow-without-id-%d" % n)
    tree.write(dst_path, xml_declaration=True, encoding="UTF-8")
    return chosen


# ---- running -------------------------------------------------------------------------------


def task_id(task):
    return task.task_spec.bpmn_id or task.task_spec.name


def ready_manual_tasks(workflow):
    tasks = workflow.get_tasks(state=TaskState.READY, manual=True)
    return sorted(tasks, key=task_id)


def waiting_timers(workflow):
    """(task, next firing) of every timer event waiting, boundary or not."""
    out = []
    for task in list(workflow.event_manager.tasks.values()):
        definition = task.task_spec.event_definition
        if not isinstance(definition, TimerEventDefinition) or task.state != TaskState.WAITING:
            continue
        value = task._get_internal_data("event_value")
        if isinstance(definition, CycleTimerEventDefinition):
            if value is None or value.get("cycles") == 0:
                continue
            due = parse_instant(value["next"])
        elif value is None:
            continue
        else:
            due = TimerEventDefinition.get_datetime(value)
        out.append((task, due))
    return sorted(out, key=lambda p: (task_id(p[0]), p[1]))


class Run:
    def __init__(self, workflow, pass_through):
        self.workflow = workflow
        self.pass_through = set(pass_through)
        self.milestones = []
        self.passed = []

    def _did_complete(self, task):
        spec = task.task_spec
        if isinstance(spec, IntermediateThrowEvent) and isinstance(spec.event_definition, NoneEventDefinition):
            self.milestones.append(task_id(task))

    def settle(self):
        """Run the engine until it waits at a person's task or a timer."""
        while True:
            self.workflow.do_engine_steps(did_complete_task=self._did_complete)
            through = [t for t in ready_manual_tasks(self.workflow) if task_id(t) in self.pass_through]
            if not through:
                return
            for task in through:
                self.passed.append(task_id(task))
                task.run()

    def advance_clock(self, to):
        if to > clock():
            set_clock(to)
        self.workflow.refresh_timers()
        self.settle()


def trace(model_path, script):
    process = script.get("process")
    start = script.get("start") or {}
    complete = script.get("complete") or {}
    actions = list(script.get("actions") or [])
    set_clock(parse_instant(script.get("now") or DEFAULT_NOW))

    with tempfile.TemporaryDirectory(prefix="spiff-trace-") as tmp:
        copy = os.path.join(tmp, os.path.basename(model_path))
        chosen = rewrite_model(model_path, copy, process)
        parser = BpmnParser()
        parser.add_bpmn_file(copy)
        spec = parser.get_spec(chosen)
        subprocesses = parser.get_subprocess_specs(chosen)

    workflow = BpmnWorkflow(spec, subprocesses)
    # The root task is READY after construction; every later task inherits its
    # data, so conditions right after the start event see the start values.
    # (workflow.data is separate and not visible to conditions.)
    workflow.task_tree.data.update(start)
    run = Run(workflow, script.get("pass_through") or [])
    run.settle()

    rounds = []
    while True:
        ready = ready_manual_tasks(workflow)
        if actions:
            action = actions.pop(0)
        elif ready:
            action = "complete"
        else:
            break
        if len(rounds) >= MAX_ROUNDS:
            raise TraceError("more than %d rounds; the model loops" % MAX_ROUNDS)
        timers = waiting_timers(workflow)
        rounds.append(
            {"tasks": [task_id(t) for t in ready], "timers": [[task_id(t), format_instant(d)] for t, d in timers]}
        )
        if action == "complete" or (isinstance(action, dict) and "complete" in action):
            wanted = action["complete"] if isinstance(action, dict) else None
            chosen = [t for t in ready if wanted is None or task_id(t) == wanted]
            if not chosen:
                raise TraceError("round %d: no open task %s to complete" % (len(rounds), wanted or ""))
            task = chosen[0]
            task.data.update(complete.get(task_id(task)) or {})
            task.run()
            run.settle()
        elif isinstance(action, dict) and "fire" in action:
            due = [d for t, d in timers if task_id(t) == action["fire"]]
            if not due:
                raise TraceError("round %d: timer %r is not waiting" % (len(rounds), action["fire"]))
            run.advance_clock(min(due) + _dt.timedelta(seconds=1))
        elif isinstance(action, dict) and "wait" in action:
            run.advance_clock(clock() + clock_duration(action["wait"]))
        else:
            raise TraceError("unknown action %r" % (action,))

    return {
        "rounds": rounds,
        "completed": workflow.is_completed(),
        "milestones": run.milestones,
        "passed": run.passed,
    }


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: %s MODEL.bpmn SCRIPT.json\n" % argv[0])
        return 2
    with open(argv[2], encoding="utf-8") as f:
        script = json.load(f)
    try:
        result = trace(argv[1], script)
    except Exception as exc:  # SpiffWorkflow's own errors carry readable messages
        sys.stderr.write("spiff_trace: %s: %s\n" % (type(exc).__name__, exc))
        return 1
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
