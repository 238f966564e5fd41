"""B1: the rules in memory, no store: coverage and the next notice date per device.

For each generated device, the application's own path: :func:`~upslife.app.facts.build_facts`
(coverage, warranty, battery replace-by, service life, SPEC E2–E9) and
:func:`~upslife.app.facts.refresh_next_notice` (events and the next notice date, N1–N4).
Beside it, a calibration loop over the same devices doing only date arithmetic: three
``relativedelta`` month additions (trial end, warranty end, battery replace-by) and the
comparisons that pick the next date after the day. The ratio says what the rules cost in
units of "a device's worth of plain date arithmetic" on this machine; the target is
absolute (devices per second on one core), so both are printed.
"""

from __future__ import annotations

from datetime import date, timedelta

import attrs
from dateutil.relativedelta import relativedelta

from benchmarks._measure import Figure, Timing, timed
from benchmarks.fleet import FleetSpec, RawDevice, raw_devices
from upslife.app.facts import build_facts, refresh_next_notice
from upslife.catalog import Catalog
from upslife.entitlements import coverage

__all__ = ["B1Result", "figures", "run"]

TARGET_PER_SECOND = 50_000


@attrs.frozen
class B1Result:
    devices: int
    rules: Timing
    coverage_only: Timing
    calibration: Timing
    with_next_date: int  # devices whose next notice date is set

    @property
    def per_second(self) -> float:
        return self.devices / self.rules.cpu

    @property
    def ratio(self) -> float:
        return self.rules.cpu / self.calibration.cpu


def _rules(devices: list[RawDevice], catalog: Catalog, day: date) -> int:
    scheduled = 0
    for raw in devices:
        facts = build_facts(raw.device, raw.licenses, raw.warranties, catalog)
        device = refresh_next_notice(raw.device, facts, (), after=day)
        scheduled += device.next_notice_on is not None
    return scheduled


def _coverage(devices: list[RawDevice]) -> int:
    segments = 0
    for raw in devices:
        d = raw.device
        segments += len(coverage(d.registered_on, raw.licenses, policy=d.policy).segments)
    return segments


_SIX = relativedelta(months=6)
_TWO_YEARS = relativedelta(months=24)
_FOUR_YEARS = relativedelta(months=48)


def _calibration(devices: list[RawDevice], day: date) -> int:
    """Three month additions and a few comparisons per device: plain date arithmetic."""
    scheduled = 0
    for raw in devices:
        d = raw.device
        reg = d.registered_on
        candidates = (
            reg + _SIX,
            reg + _TWO_YEARS,
            (d.battery_installed_on or reg) + _FOUR_YEARS,
        )
        nxt = min((c for c in candidates if c > day), default=None)
        scheduled += nxt is not None
    return scheduled


def run(devices: int, *, repeats: int = 3) -> B1Result:
    """Time the rules and the calibration loop over ``devices`` devices, best of ``repeats``.

    Best-of-N on CPU time: the figure is what the code costs, not what the neighbours on a
    shared machine took from it.
    """
    spec = FleetSpec(devices)
    fleet = [raw for chunk in range(spec.chunks) for raw in raw_devices(spec, chunk)]
    catalog = Catalog.default()
    day = spec.today - timedelta(days=1)
    best: dict[str, Timing] = {}
    scheduled = 0
    for _ in range(repeats):
        scheduled, rules = timed(lambda: _rules(fleet, catalog, day))
        _, cov = timed(lambda: _coverage(fleet))
        _, calib = timed(lambda: _calibration(fleet, day))
        for name, t in (("rules", rules), ("coverage", cov), ("calibration", calib)):
            if name not in best or t.cpu < best[name].cpu:
                best[name] = t
    return B1Result(devices, best["rules"], best["coverage"], best["calibration"], scheduled)


def figures(result: B1Result) -> list[Figure]:
    n = result.devices
    calib_rate = n / result.calibration.cpu
    return [
        Figure(
            "B1",
            f"rules in memory: coverage + next notice date, {n:,} devices",
            result.ratio,
            "× calibration",
            f"≥ {TARGET_PER_SECOND:,} devices/s",
            result.per_second >= TARGET_PER_SECOND,
            f"{result.per_second:,.0f} devices/s ({result.rules.cpu:.2f} s CPU); coverage "
            f"alone {n / result.coverage_only.cpu:,.0f}/s",
            f"{calib_rate:,.0f} devices/s ({result.calibration.cpu:.2f} s): 3 relativedelta "
            "adds + compares",
        )
    ]
