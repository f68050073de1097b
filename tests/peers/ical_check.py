#!/usr/bin/env python3
"""Check iCalendar files with two independent parsers and print what they read,
so tests can compare it with what flowcal wrote.

Usage: python ical_check.py FILE.ics [FILE.ics ...]

Each file is parsed with
  - icalendar (`icalendar.Calendar.from_ical`): the file fails when any
    component records parse errors in its `.errors`;
  - ical (`ical.calendar_stream.IcsCalendarStream.calendar_from_ics`), a strict
    parser that validates the calendar (pydantic models), compat modes off.

Output: one JSON line per file, in argument order:
    {"file": "...",
     "icalendar": {"summary": "...", "description": "...", "dtstart": "...", "dtend": "..."}
                  or {"error": "..."},
     "ical": same}
of the first VEVENT. Dates are written `YYYY-MM-DD`, date-times with a zone
(TZID or UTC) as the UTC instant `YYYY-MM-DDTHH:MM:SSZ`, floating date-times as
`YYYY-MM-DDTHH:MM:SS` (no Z). A missing SUMMARY or DESCRIPTION is "", a missing
DTEND null.

Exit status: 0 when every file passed both parsers, 1 otherwise, 2 on bad usage.
"""

import datetime
import json
import sys


def fmt(value):
    """A DATE or DATE-TIME value as the string described above."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            return value.strftime("%Y-%m-%dT%H:%M:%S")
        return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, datetime.date):
        return value.strftime("%Y-%m-%d")
    raise TypeError(f"not a date or date-time: {value!r}")


def with_icalendar(data):
    import icalendar

    cal = icalendar.Calendar.from_ical(data)
    errors = [f"{c.name}: {e}" for c in cal.walk() for e in (c.errors or [])]
    if errors:
        raise ValueError("; ".join(errors))
    events = cal.walk("VEVENT")
    if not events:
        raise ValueError("no VEVENT")
    ev = events[0]
    end = ev.get("DTEND")
    return {
        "summary": str(ev.get("SUMMARY", "")),
        "description": str(ev.get("DESCRIPTION", "")),
        "dtstart": fmt(ev.decoded("DTSTART")),
        "dtend": fmt(ev.decoded("DTEND")) if end is not None else None,
    }


def with_ical(text):
    from ical.calendar_stream import IcsCalendarStream

    cal = IcsCalendarStream.calendar_from_ics(text)
    if not cal.events:
        raise ValueError("no VEVENT")
    ev = cal.events[0]
    return {
        "summary": ev.summary or "",
        "description": ev.description or "",
        "dtstart": fmt(ev.dtstart),
        "dtend": fmt(ev.dtend),
    }


def check(path):
    with open(path, "rb") as f:
        data = f.read()
    out = {"file": path}
    ok = True
    for name, run in (("icalendar", lambda: with_icalendar(data)), ("ical", lambda: with_ical(data.decode("utf-8")))):
        try:
            out[name] = run()
        except Exception as e:  # noqa: BLE001 - any failure is reported for this file
            detail = getattr(e, "detailed_error", None)
            out[name] = {"error": f"{type(e).__name__}: {e}" + (f" ({detail})" if detail else "")}
            ok = False
    return out, ok


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    all_ok = True
    for path in argv:
        out, ok = check(path)
        all_ok = all_ok and ok
        print(json.dumps(out, ensure_ascii=False), flush=True)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
