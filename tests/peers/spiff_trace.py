#!/usr/bin/env python3
"""Run a BPMN model through SpiffWorkflow and print the order in which user tasks
became ready, so the flowcal engine's behaviour can be compared with it.

Usage: python spiff_trace.py MODEL.bpmn SCRIPT.json

SCRIPT.json:
    {"process": "<process id, or null for the one executable process>",
     "start": {"var": value, ...},
     "complete": {"<userTask id>": {"var": value, ...}, ...}}

Output (stdout, one JSON object):
    {"rounds": [["A"], ["B", "C"], ...], "completed": true}

Each round is the sorted list of BPMN ids of the READY manual tasks (userTask,
manualTask and plain task) at that moment. The first id of the round is then
completed with the data given for it in "complete", and the engine runs on
until it waits again. The run stops when no manual task is ready.

With "process" null, the process run is the only executable one, or else the
only process in the file. The chosen process is marked executable in the copy
that is parsed, since SpiffWorkflow refuses isExecutable="false".

Condition expressions are translated to Python (SpiffWorkflow evaluates them as
Python) in a temporary copy of the model: a `${...}` / `#{...}` wrapper or a
leading `=` is removed, `&&` `||` `!` become `and` `or` `not`, and bare
true/false become True/False. Text inside quoted strings is left alone.
"""

import json
import os
import re
import sys
import tempfile

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

# A model with a loop could otherwise run for ever.
MAX_ROUNDS = 10_000

# Quoted strings (single or double, with backslash escapes), kept verbatim.
_STRING = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""", re.S)
_NOT = re.compile(r"!(?!=)")
_BOOL = re.compile(r"\b(true|false)\b", re.I)


class TraceError(Exception):
    pass


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
    """Copy the model to dst_path with every conditionExpression translated and
    the chosen process marked executable (SpiffWorkflow refuses to build a spec
    for isExecutable="false"). Returns the chosen process id."""
    tree = etree.parse(src_path)
    chosen = choose_process(tree.getroot(), wanted)
    for proc in tree.getroot().findall("{%s}process" % BPMN_NS):
        if proc.get("id") == chosen:
            proc.set("isExecutable", "true")
    for node in tree.iter("{%s}conditionExpression" % BPMN_NS):
        if node.text and node.text.strip():
            node.text = translate_condition(node.text)
    tree.write(dst_path, xml_declaration=True, encoding="UTF-8")
    return chosen


def task_id(task):
    return task.task_spec.bpmn_id or task.task_spec.name


def ready_manual_tasks(workflow):
    tasks = workflow.get_tasks(state=TaskState.READY, manual=True)
    return sorted(tasks, key=task_id)


def trace(model_path, script):
    process = script.get("process")
    start = script.get("start") or {}
    complete = script.get("complete") or {}

    with tempfile.TemporaryDirectory(prefix="spiff-trace-") as tmp:
        copy = os.path.join(tmp, os.path.basename(model_path))
        chosen = rewrite_model(model_path, copy, process)
        parser = BpmnParser()
        parser.add_bpmn_file(copy)
        spec = parser.get_spec(chosen)

    workflow = BpmnWorkflow(spec)
    # The root task is READY after construction; every later task inherits its
    # data, so conditions right after the start event see the start values.
    # (workflow.data is separate and not visible to conditions.)
    workflow.task_tree.data.update(start)
    workflow.do_engine_steps()

    rounds = []
    while True:
        ready = ready_manual_tasks(workflow)
        if not ready:
            break
        if len(rounds) >= MAX_ROUNDS:
            raise TraceError("more than %d rounds; the model loops" % MAX_ROUNDS)
        rounds.append([task_id(t) for t in ready])
        task = ready[0]
        task.data.update(complete.get(task_id(task)) or {})
        task.run()
        workflow.do_engine_steps()

    return {"rounds": rounds, "completed": workflow.is_completed()}


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
