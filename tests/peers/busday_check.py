#!/usr/bin/env python3
"""Answer business-day questions with numpy.busday_offset, so tests can compare
flowcal's work-calendar arithmetic with an independent implementation.

Usage: python busday_check.py CASES.json

CASES.json:
    {"calendars": [{"weekmask": "1111100",
                    "holidays": ["YYYY-MM-DD", ...],
                    "queries": [["YYYY-MM-DD", OFFSET, "forward" | "backward"], ...]},
                   ...]}

For each calendar, numpy.busdaycalendar(weekmask, holidays) is built once and
every query answered with numpy.busday_offset(date, offset, roll, busdaycal=...):
the date is rolled to a valid day first, then moved OFFSET valid days.

Output: one JSON object on standard output,
    {"numpy": "VERSION", "answers": [["YYYY-MM-DD", ...], ...]}
with the answers in the order of the calendars and their queries.

Exit status: 0 on success, 1 when numpy refuses a calendar or a query (the
message is on standard error), 2 on bad usage.
"""

import json
import sys

import numpy as np


def answer(calendar):
    """The answers to one calendar's queries, as YYYY-MM-DD strings."""
    cal = np.busdaycalendar(weekmask=calendar["weekmask"], holidays=calendar["holidays"])
    out = []
    for roll in ("forward", "backward"):
        picked = [(i, q) for i, q in enumerate(calendar["queries"]) if q[2] == roll]
        if not picked:
            continue
        dates = np.array([q[0] for _, q in picked], dtype="datetime64[D]")
        offsets = np.array([q[1] for _, q in picked], dtype=np.int64)
        got = np.busday_offset(dates, offsets, roll=roll, busdaycal=cal)
        out.extend((i, str(d)) for (i, _), d in zip(picked, got))
    unknown = [q for q in calendar["queries"] if q[2] not in ("forward", "backward")]
    if unknown:
        raise ValueError(f"unknown roll in {unknown[0]!r}: use forward or backward")
    return [d for _, d in sorted(out)]


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    try:
        answers = [answer(c) for c in cases["calendars"]]
    except (ValueError, KeyError, TypeError) as e:
        print(f"busday_check: {e}", file=sys.stderr)
        return 1
    json.dump({"numpy": np.__version__, "answers": answers}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
