#!/usr/bin/env python3
"""Measure how many instances of a BPMN model SpiffWorkflow runs per second.

Usage: python spiff_bench.py MODEL.bpmn N [WARMUP] [--wait]

The model's one executable process is parsed once; WARMUP instances (20 by
default, as flowcal's benchmark warms up) are run untimed; then N instances are
run one after another, in memory: start, run the engine, and complete every
READY manual task (userTask, manualTask, plain task) until the instance is
complete. With --wait, the process prints "ready" after the warm-up and starts
timing when a line arrives on standard input: a start barrier for several
processes measured together.
Prints one JSON line:
    {"engine": "SpiffWorkflow <version>", "instances": N, "seconds": S, "per_second": R}
"""

import json
import sys
import time
from importlib.metadata import version

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState


def load_spec(model_path):
    parser = BpmnParser()
    parser.add_bpmn_file(model_path)
    ids = sorted(parser.get_process_ids())
    if len(ids) != 1:
        raise SystemExit(
            "spiff_bench: expected one executable process in %s, found %d (%s)"
            % (model_path, len(ids), ", ".join(ids) or "none")
        )
    return parser.get_spec(ids[0])


def run_instance(spec):
    workflow = BpmnWorkflow(spec)
    workflow.do_engine_steps()
    while not workflow.is_completed():
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        if not ready:
            raise SystemExit("spiff_bench: an instance is stuck: not completed and no task ready")
        for task in ready:
            task.run()
        workflow.do_engine_steps()


def main(argv):
    wait = "--wait" in argv[1:]
    args = [a for a in argv[1:] if a != "--wait"]
    if len(args) not in (2, 3):
        sys.stderr.write("usage: %s MODEL.bpmn N [WARMUP] [--wait]\n" % argv[0])
        return 2
    count = int(args[1])
    warmup = int(args[2]) if len(args) == 3 else 20
    if count < 1 or warmup < 0:
        sys.stderr.write("spiff_bench: N must be at least 1, WARMUP at least 0\n")
        return 2
    spec = load_spec(args[0])
    for _ in range(warmup):
        run_instance(spec)
    if wait:
        print("ready", flush=True)
        sys.stdin.readline()
    began = time.perf_counter()
    for _ in range(count):
        run_instance(spec)
    seconds = time.perf_counter() - began
    print(
        json.dumps(
            {
                "engine": "SpiffWorkflow %s" % version("SpiffWorkflow"),
                "instances": count,
                "seconds": round(seconds, 6),
                "per_second": round(count / seconds, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
