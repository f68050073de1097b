#!/usr/bin/env python3
"""Check a whole iCalendar feed with two independent parsers and print every
event each of them read, so tests can compare it with what flowcal served.

Usage: python feed_check.py FEED.ics

Parsers (both from PyPI, in the peers venv):
  - icalendar (`icalendar.Calendar.from_ical`): fails when any component
    records parse errors in its `.errors`;
  - ical (`ical.calendar_stream.IcsCalendarStream.calendar_from_ics`), the
    strict parser (pydantic models), compat modes off.

Output: one JSON object on one line:
    {"icalendar": {"calendar": {...}, "events": [EVENT, ...]} or {"error": "..."},
     "ical": same}
with EVENT = {"uid", "summary", "dtstart", "dtend", "sequence", "url", "transp", "alarms"}
and calendar = {"method", "name"} (X-WR-CALNAME). Dates are `YYYY-MM-DD`,
date-times with a zone the UTC instant `YYYY-MM-DDTHH:MM:SSZ`: icalendar resolves
a TZID through the feed's own VTIMEZONE, ical through the zone database (see
ical_check.py, which reads each event the same way).

Exit status: 0 when both parsers read the feed, 1 otherwise, 2 on bad usage.
"""

import json
import os
import sys

# Each event is read as the single-object validator beside this file reads it.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ical_check import event_ical, event_icalendar, read_icalendar  # noqa: E402


def with_icalendar(data):
    cal, zones = read_icalendar(data)
    events = []
    for ev in cal.walk("VEVENT"):
        got = event_icalendar(ev, zones)
        events.append({
            "uid": str(ev.get("UID")),
            "summary": got["summary"],
            "dtstart": got["dtstart"],
            "dtend": got["dtend"],
            "sequence": int(ev.get("SEQUENCE", 0)),
            "url": got["url"],
            "transp": got["transp"],
            "alarms": got["alarms"],
        })
    return {"calendar": {"method": str(cal.get("METHOD", "")), "name": str(cal.get("X-WR-CALNAME", ""))},
            "events": events}


def with_ical(text):
    from ical.calendar_stream import IcsCalendarStream

    cal = IcsCalendarStream.calendar_from_ics(text)
    events = []
    for ev in cal.events:
        got = event_ical(ev)
        events.append({
            "uid": ev.uid,
            "summary": got["summary"],
            "dtstart": got["dtstart"],
            "dtend": got["dtend"],
            "sequence": ev.sequence or 0,
            "url": got["url"],
            "transp": got["transp"],
            "alarms": got["alarms"],
        })
    name = next((p.value for p in cal.extras if p.name.upper() == "X-WR-CALNAME"), "")
    return {"calendar": {"method": cal.method or "", "name": name}, "events": events}


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        data = f.read()
    out, ok = {}, True
    for name, run, arg in (("icalendar", with_icalendar, data), ("ical", with_ical, data.decode("utf-8"))):
        try:
            out[name] = run(arg)
        except Exception as e:  # noqa: BLE001 - any failure is the answer
            out[name] = {"error": f"{type(e).__name__}: {e}"}
            ok = False
    print(json.dumps(out, ensure_ascii=False))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
