"""Clocks for the application layer: the only place upslife reads the time (SPEC D4)."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta, tzinfo

from dateutil import tz

from upslife._validation import require_instant
from upslife.errors import InvalidInput

__all__ = ["FixedClock", "SystemClock", "local_date", "require_timezone"]


class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that says what it is told: for tests, demos and replays."""

    def __init__(self, now: datetime) -> None:
        self._now = require_instant(now, "now").astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        self._now = require_instant(now, "now").astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._now += delta


@functools.lru_cache(maxsize=1024)
def _zone(name: str) -> tzinfo | None:
    """The zone named ``name``; cached, since a sweep asks for the same few zones a lot."""
    return tz.gettz(name)


def require_timezone(name: str) -> str:
    """An IANA time zone name that this machine knows; else :class:`InvalidInput`."""
    if not isinstance(name, str) or _zone(name) is None:
        raise InvalidInput(f"unknown time zone {name!r}; use an IANA name such as Europe/Paris")
    return name


def local_date(now: datetime, timezone: str) -> date:
    """The owner-local calendar date at instant ``now`` (SPEC D1)."""
    zone = _zone(timezone)
    if zone is None:
        raise InvalidInput(f"unknown time zone {timezone!r}")
    return require_instant(now, "now").astimezone(zone).date()
