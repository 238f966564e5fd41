"""Clocks for the application layer: the only place upslife reads the time (SPEC D4)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from upslife._validation import require_instant, require_supported_instant, zone
from upslife._validation import require_timezone as _require_timezone
from upslife.errors import InvalidDate

__all__ = ["FixedClock", "SystemClock", "local_date", "require_timezone"]


class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that says what it is told: for tests, demos and replays."""

    def __init__(self, now: datetime) -> None:
        self._now = require_supported_instant(now, "now").astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        self._now = require_supported_instant(now, "now").astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        try:
            self.set(self._now + delta)
        except OverflowError:
            raise InvalidDate(f"advancing {self._now.isoformat()} by {delta} overflows") from None


def require_timezone(name: object) -> str:
    """An IANA time zone name (``zoneinfo``); else :class:`InvalidInput` (SPEC D1)."""
    return _require_timezone(name)


def local_date(now: datetime, timezone: str) -> date:
    """The owner-local calendar date at instant ``now`` (SPEC D1)."""
    return require_instant(now, "now").astimezone(zone(timezone)).date()
