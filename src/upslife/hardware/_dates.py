"""Calendar dates as UPS peers write them (SPEC D1, E9).

Two encodings meet here:

- NUT variables such as ``battery.date`` are *opaque strings* (NUT's ``docs/nut-names.txt``
  lists ``11/14/00`` for ``battery.date`` and ``2005/04/02`` for ``battery.mfr.date``;
  ``apc_modbus`` writes ``2023-05-14``). :func:`parse_nut_date` reads the three forms seen
  in the wild and :func:`format_nut_date` writes a date back in the form the device itself
  uses, so a ``SET VAR`` never surprises a driver that parses only its own format.
- APC's Modbus registers hold days since 2000-01-01 (NUT ``drivers/apc_modbus.c``,
  ``apc_date_start_offset = 946684800``; APC application note MPAO-98KJ7F).

Every function here is pure; bad input raises :class:`~upslife.errors.InvalidDate`.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from upslife.errors import InvalidDate

__all__ = [
    "APC_EPOCH",
    "NutDateStyle",
    "apc_days",
    "date_from_apc_days",
    "format_nut_date",
    "nut_date_style",
    "parse_nut_date",
]

#: Day 0 of APC's Modbus date registers (NUT ``drivers/apc_modbus.c``: 946684800 s, UTC).
APC_EPOCH = date(2000, 1, 1)
#: A date register is one unsigned 16-bit register.
_APC_MAX_DAYS = 0xFFFF

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_YMD_SLASH = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$")
_MDY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})$")
# Liebert's liebert-esp2 writes ups.mfr.date as DDMMMYY: "12OCT04".
_DMONY = re.compile(r"^(\d{1,2})([A-Za-z]{3})(\d{2})$")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")

#: Values drivers publish for "no date": read as ``None`` rather than refused.
_ABSENT = frozenset({"", "na", "n/a", "unknown", "not set", "none"})


class NutDateStyle:
    """The spellings :func:`format_nut_date` can write (plain strings, no enum needed)."""

    ISO = "YYYY-MM-DD"
    YMD_SLASH = "YYYY/MM/DD"
    MDY = "MM/DD/YY"


def _year_from_two_digits(yy: int) -> int:
    # POSIX strptime("%y") pivot: 69-99 are 1969-1999, 00-68 are 2000-2068. NUT's own
    # example "10/17/96" (ups.mfr.date) reads as 1996.
    return 1900 + yy if yy >= 69 else 2000 + yy


def _make(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError as e:
        raise InvalidDate(f"{text!r} is not a calendar date ({e})") from e


def parse_nut_date(text: str) -> date | None:
    """Read a NUT date variable: ``YYYY-MM-DD``, ``YYYY/MM/DD``, ``MM/DD/YY[YY]``, or
    Liebert's ``DDMMMYY`` (``12OCT04``).

    Two-digit years follow the POSIX ``%y`` pivot (``96`` is 1996, ``23`` is 2023).
    Slash dates with two leading digits are month first, as NUT documents them; a value
    that can only be day first (``31/10/25``) is refused rather than guessed.
    ``""``, ``NA``, ``N/A``, ``unknown`` mean "not reported" and give ``None``.

    >>> parse_nut_date("2023-05-14"), parse_nut_date("2005/04/02"), parse_nut_date("11/14/00")
    (datetime.date(2023, 5, 14), datetime.date(2005, 4, 2), datetime.date(2000, 11, 14))
    """
    if not isinstance(text, str):
        raise InvalidDate(f"a NUT date must be a string, got {type(text).__name__}")
    value = text.strip()
    if value.lower() in _ABSENT:
        return None
    if m := _ISO.match(value) or _YMD_SLASH.match(value):
        return _make(int(m[1]), int(m[2]), int(m[3]), text)
    if m := _MDY.match(value):
        first, second, year_text = int(m[1]), int(m[2]), m[3]
        year = int(year_text) if len(year_text) == 4 else _year_from_two_digits(int(year_text))
        if first > 12 and second <= 12:
            raise InvalidDate(
                f"{text!r} looks day-first (DD/MM/YY); NUT dates are month-first MM/DD/YY. "
                "Set the driver's date in YYYY-MM-DD form"
            )
        return _make(year, first, second, text)
    if (m := _DMONY.match(value)) and m[2].upper() in _MONTHS:
        month = _MONTHS.index(m[2].upper()) + 1
        return _make(_year_from_two_digits(int(m[3])), month, int(m[1]), text)
    raise InvalidDate(
        f"{text!r} is not a date in a form NUT drivers write (YYYY-MM-DD, YYYY/MM/DD, MM/DD/YY)"
    )


def nut_date_style(sample: str | None) -> str:
    """The :class:`NutDateStyle` of ``sample`` (a value the device reported); ISO if unknown."""
    value = (sample or "").strip()
    if _YMD_SLASH.match(value):
        return NutDateStyle.YMD_SLASH
    if m := _MDY.match(value):
        return NutDateStyle.MDY if len(m[3]) == 2 else "MM/DD/YYYY"
    return NutDateStyle.ISO


def format_nut_date(day: date, like: str | None = None, *, style: str | None = None) -> str:
    """Write ``day`` in the spelling of ``like`` (the device's current value), ISO by default;
    ``style`` (a :class:`NutDateStyle`), when given, wins over ``like``.

    >>> format_nut_date(date(2024, 2, 29), like="11/14/00")
    '02/29/24'
    """
    style = style or nut_date_style(like)
    if style == NutDateStyle.YMD_SLASH:
        return f"{day.year:04d}/{day.month:02d}/{day.day:02d}"
    if style == NutDateStyle.MDY:
        if not 1969 <= day.year <= 2068:
            raise InvalidDate(
                f"{day.isoformat()} cannot be written as MM/DD/YY (two-digit years span 1969-2068)"
            )
        return f"{day.month:02d}/{day.day:02d}/{day.year % 100:02d}"
    if style == "MM/DD/YYYY":
        return f"{day.month:02d}/{day.day:02d}/{day.year:04d}"
    return day.isoformat()


def date_from_apc_days(days: int) -> date | None:
    """The date an APC Modbus date register holds; ``0`` (an unset register) is ``None``.

    >>> date_from_apc_days(8534)
    datetime.date(2023, 5, 14)
    """
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= _APC_MAX_DAYS:
        raise InvalidDate(f"an APC date register holds 0..65535 days, got {days!r}")
    if days == 0:
        return None
    return APC_EPOCH + timedelta(days=days)


def apc_days(day: date) -> int:
    """``day`` as an APC Modbus date register: days since 2000-01-01 (SPEC E9).

    Day 0 reads back as "unset", so the earliest date that can be written is 2000-01-02.
    """
    if not isinstance(day, date) or type(day) is not date:
        raise InvalidDate(f"expected a datetime.date, got {type(day).__name__}")
    days = (day - APC_EPOCH).days
    if not 1 <= days <= _APC_MAX_DAYS:
        raise InvalidDate(
            f"{day.isoformat()} cannot be stored in an APC date register (2000-01-02 to 2179-06-06)"
        )
    return days
