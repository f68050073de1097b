#!/usr/bin/env python3
"""Check a whole iCalendar feed with libical (Debian's gir1.2-ical-3.0, its
ICalGLib binding, through PyGObject: run with Debian's /usr/bin/python3, packages python3-gi and
gir1.2-ical-3.0) and print what it read.

Usage: /usr/bin/python3 libical_check.py FEED.ics

libical records what it cannot parse as X-LIC-ERROR properties; the feed
fails when any component holds one.

Output: one JSON object on one line:
    {"errors": ["..."], "events": [{"uid", "summary", "dtstart", "start", "end", "sequence"}, ...],
     "timezones": ["TZID", ...]}
with dtstart as libical writes it (`YYYYMMDD` or `YYYYMMDDTHHMMSS[Z]`) and its TZID
when it has one (`TZID:value`); start and end (DTSTART, DTEND) as `YYYY-MM-DD` for a
date and as the UTC instant `YYYY-MM-DDTHH:MM:SSZ` for a date-time, a local time
converted by libical through the feed's own VTIMEZONE of its TZID (a TZID without
one is an error, not a look-up in libical's zone database); end null without DTEND.

Exit status: 0 without errors, 1 with errors, 2 on bad usage.
"""

import json
import sys

import gi

gi.require_version("ICalGLib", "3.0")
from gi.repository import ICalGLib as ICal  # noqa: E402


def walk(comp):
    yield comp
    child = comp.get_first_component(ICal.ComponentKind.ANY_COMPONENT)
    while child is not None:
        yield from walk(child)
        child = comp.get_next_component(ICal.ComponentKind.ANY_COMPONENT)


def instant(root, prop, errors):
    """DTSTART or DTEND as described above."""
    if prop is None:
        return None
    # Without a component: the value as written, before any zone look-up.
    value = prop.get_datetime_with_component(None)
    if value.is_date():
        return f"{value.get_year():04}-{value.get_month():02}-{value.get_day():02}"
    tzid = prop.get_first_parameter(ICal.ParameterKind.TZID_PARAMETER)
    if tzid is not None:
        zone = root.get_timezone(tzid.get_tzid())
        if zone is None:
            errors.append(f"TZID {tzid.get_tzid()} has no VTIMEZONE in the feed")
            return None
        value.set_timezone(zone)
    elif not value.is_utc():
        errors.append(f"a floating time: {value.as_ical_string()}")
        return None
    u = value.convert_to_zone(ICal.Timezone.get_utc_timezone())
    return (f"{u.get_year():04}-{u.get_month():02}-{u.get_day():02}T"
            f"{u.get_hour():02}:{u.get_minute():02}:{u.get_second():02}Z")


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        text = f.read()
    root = ICal.Component.new_from_string(text)
    if root is None:
        print(json.dumps({"errors": ["libical read nothing"], "events": [], "timezones": []}))
        return 1
    errors, events, zones = [], [], []
    for comp in walk(root):
        prop = comp.get_first_property(ICal.PropertyKind.XLICERROR_PROPERTY)
        while prop is not None:
            errors.append(f"{ICal.Component.kind_to_string(comp.isa())}: {prop.get_xlicerror()}")
            prop = comp.get_next_property(ICal.PropertyKind.XLICERROR_PROPERTY)
        kind = comp.isa()
        if kind == ICal.ComponentKind.VTIMEZONE_COMPONENT:
            zones.append(comp.get_first_property(ICal.PropertyKind.TZID_PROPERTY).get_tzid())
        elif kind == ICal.ComponentKind.VEVENT_COMPONENT:
            dtstart = comp.get_first_property(ICal.PropertyKind.DTSTART_PROPERTY)
            start = None
            if dtstart is not None:
                tzid = dtstart.get_first_parameter(ICal.ParameterKind.TZID_PARAMETER)
                value = dtstart.get_value_as_string()
                start = f"{tzid.get_tzid()}:{value}" if tzid is not None else value
            seq = comp.get_first_property(ICal.PropertyKind.SEQUENCE_PROPERTY)
            events.append({
                "uid": comp.get_uid(),
                "summary": comp.get_summary(),
                "dtstart": start,
                "start": instant(root, dtstart, errors),
                "end": instant(root, comp.get_first_property(ICal.PropertyKind.DTEND_PROPERTY), errors),
                "sequence": seq.get_sequence() if seq is not None else 0,
            })
    print(json.dumps({"errors": errors, "events": events, "timezones": zones}, ensure_ascii=False))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
