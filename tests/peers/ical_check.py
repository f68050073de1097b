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
     "icalendar": {"summary": "...", "description": "...", "dtstart": "...", "dtend": "...",
                   "url": "...", "transp": "...", "alarms": [{"action": "...", "trigger": SECONDS}]}
                  or {"error": "..."},
     "ical": same}
of the first VEVENT. Dates are written `YYYY-MM-DD`, date-times with a zone
(TZID or UTC) as the UTC instant `YYYY-MM-DDTHH:MM:SSZ`, floating date-times as
`YYYY-MM-DDTHH:MM:SS` (no Z). A missing SUMMARY, DESCRIPTION, URL or TRANSP is "",
a missing DTEND null. An alarm's trigger is in seconds from the start (negative:
before it); icalendar adds "related" when TRIGGER names one.

A TZID is resolved differently by the two: icalendar through the object's own
VTIMEZONE (dateutil's VTIMEZONE reader; a TZID without one is an error), never
the zone database, so a wrong VTIMEZONE shows as a wrong instant; ical through
the zone database (its VTIMEZONE reader ignores observances that have a DTSTART
but no RRULE or RDATE, the form flowcal writes).

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


def own_zones(cal):
    """The calendar's VTIMEZONEs as tzinfo objects by TZID, built from their
    observances (icalendar hands them to dateutil's VTIMEZONE reader), not
    looked up in the zone database by name."""
    return {str(tz["TZID"]): tz.to_tz(lookup_tzid=False) for tz in cal.walk("VTIMEZONE")}


def in_own_zone(prop, zones):
    """An icalendar DTSTART/DTEND: a local time with a TZID resolved through
    that VTIMEZONE of the calendar (a repeated local time is its first
    occurrence, RFC 5545 section 3.3.5); dates and UTC times as they are."""
    value = prop.dt
    tzid = prop.params.get("TZID")
    if tzid is None or not isinstance(value, datetime.datetime):
        return value
    if tzid not in zones:
        raise ValueError(f"TZID {tzid} has no VTIMEZONE in the calendar")
    # icalendar keeps the written wall time; only the zone is replaced.
    return value.replace(tzinfo=zones[tzid], fold=0)


def seconds(trigger):
    """A relative TRIGGER in whole seconds; an absolute one as its instant."""
    if isinstance(trigger, datetime.timedelta):
        return int(trigger.total_seconds())
    return fmt(trigger)


def alarms_icalendar(ev):
    out = []
    for alarm in ev.walk("VALARM"):
        got = {"action": str(alarm.get("ACTION", "")), "trigger": seconds(alarm.decoded("TRIGGER"))}
        related = alarm["TRIGGER"].params.get("RELATED")
        if related is not None:
            got["related"] = str(related)
        out.append(got)
    return out


def alarms_ical(ev):
    return [{"action": str(getattr(a.action, "value", a.action)), "trigger": seconds(a.trigger)} for a in ev.alarm]


def event_icalendar(ev, zones):
    """What icalendar read of one VEVENT."""
    end = ev.get("DTEND")
    return {
        "summary": str(ev.get("SUMMARY", "")),
        "description": str(ev.get("DESCRIPTION", "")),
        "dtstart": fmt(in_own_zone(ev["DTSTART"], zones)),
        "dtend": fmt(in_own_zone(end, zones)) if end is not None else None,
        "url": str(ev.get("URL", "")),
        "transp": str(ev.get("TRANSP", "")),
        "alarms": alarms_icalendar(ev),
    }


def event_ical(ev):
    """What ical read of one VEVENT."""
    return {
        "summary": ev.summary or "",
        "description": ev.description or "",
        "dtstart": fmt(ev.dtstart),
        "dtend": fmt(ev.dtend),
        "url": str(ev.url or ""),
        "transp": str(getattr(ev.transparency, "value", ev.transparency) or ""),
        "alarms": alarms_ical(ev),
    }


def read_icalendar(data):
    """icalendar's calendar and its own zones; a component's parse errors fail it."""
    import icalendar

    cal = icalendar.Calendar.from_ical(data)
    errors = [f"{c.name}: {e}" for c in cal.walk() for e in (c.errors or [])]
    if errors:
        raise ValueError("; ".join(errors))
    return cal, own_zones(cal)


def with_icalendar(data):
    cal, zones = read_icalendar(data)
    events = cal.walk("VEVENT")
    if not events:
        raise ValueError("no VEVENT")
    return event_icalendar(events[0], zones)


def with_ical(text):
    from ical.calendar_stream import IcsCalendarStream

    cal = IcsCalendarStream.calendar_from_ics(text)
    if not cal.events:
        raise ValueError("no VEVENT")
    return event_ical(cal.events[0])


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
