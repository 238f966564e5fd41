"""iCalendar (RFC 5545) feed of lifecycle due dates (SPEC N1, N5, N6).

Needs the optional extra ``calendar`` (``pip install "upslife[calendar]"``); without it,
:func:`write_ical` raises :class:`~upslife.errors.ExtraNotInstalled` with that hint.

Each :class:`~upslife.reports.CalendarEntry` becomes an all-day ``VEVENT``: ``DTSTART`` is
the due date (``VALUE=DATE``), ``DTEND`` the next day, ``TRANSP:TRANSPARENT`` (a due date
does not make anyone busy), ``SUMMARY`` the N5-style title with model and serial,
``DESCRIPTION`` model, serial, due date and SKU, ``CATEGORIES`` the event kind. ``UID`` is
the entry's stable UID (derived from serial and kind, not the date), so a subscribed
calendar moves the event in place when its date moves; ``SEQUENCE`` comes from
:func:`~upslife.reports.revise`. ``DTSTAMP`` is the ``dtstamp`` argument: the library
reads no clock (SPEC D4).

The feed is written event by event (the calendar's header, each ``VEVENT``, then
``END:VCALENDAR``), so a feed of any size keeps memory flat.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import IO, Any, Final

from upslife._validation import require_instant, require_text
from upslife.errors import ExtraNotInstalled, InvalidInput
from upslife.reports import CalendarEntry

__all__ = ["PRODID", "write_ical"]

PRODID: Final = "-//upslife//lifecycle calendar//EN"
_END: Final = b"END:VCALENDAR\r\n"


def _icalendar() -> tuple[Any, Any]:
    try:
        from icalendar import Calendar, Event
    except ImportError as e:
        raise ExtraNotInstalled("calendar", "icalendar") from e
    return Calendar, Event


def write_ical(
    out: IO[bytes],
    entries: Iterable[CalendarEntry],
    *,
    dtstamp: datetime,
    name: str = "UPS lifecycle due dates",
) -> int:
    """Write ``entries`` as an iCalendar feed to the binary stream ``out``.

    ``dtstamp`` (an aware instant; a naive one raises
    :class:`~upslife.errors.NaiveDatetime`) is the feed's generation instant, written as
    every event's ``DTSTAMP`` in UTC. ``name`` is the calendar's display name
    (``X-WR-CALNAME``). Returns the number of events written.
    """
    calendar_type, event_type = _icalendar()
    stamp = require_instant(dtstamp, "dtstamp").astimezone(UTC)
    calendar = calendar_type()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", require_text(name, "name"))
    head: bytes = calendar.to_ical()
    assert head.endswith(_END)
    out.write(head[: -len(_END)])
    count = 0
    for entry in entries:
        if not isinstance(entry, CalendarEntry):
            raise InvalidInput(f"expected a CalendarEntry, got {type(entry).__name__}")
        event = event_type()
        event.add("uid", entry.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", entry.due)
        event.add("dtend", entry.due + timedelta(days=1))
        event.add("summary", entry.summary)
        event.add("description", entry.description)
        event.add("categories", [entry.kind.value])
        event.add("sequence", entry.sequence)
        event.add("transp", "TRANSPARENT")
        out.write(event.to_ical())
        count += 1
    out.write(_END)
    return count
