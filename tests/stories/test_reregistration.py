"""Deleting a device and registering its serial again never grants a second trial (SPEC E2):
a serial's trial is granted once. The store remembers a deleted serial's first registration
day, and a new registration of it counts from that day: inside the first 6 months the rest
of the trial goes on, after them the device starts on BASIC. On a SQLite file and on
PostgreSQL, through ``Lifecycle``, the store closed and opened again in between."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.stories import race_worker
from upslife.app import FixedClock, Lifecycle
from upslife.entitlements import Plan, ReasonKind
from upslife.notifications import Contact
from upslife.ports import Owner

OWNER = "ops@acme.example"
BUYER = "it@second-hand.example"  # bought the unit used: the trial was the unit's
SERIAL = "AS2500000001"
FIRST_DAY = date(2025, 1, 15)
TRIAL_ENDS = date(2025, 7, 15)


def _service(where: str, day: date) -> tuple[Lifecycle, Any]:
    store = race_worker.open_store(where)
    clock = FixedClock(datetime(day.year, day.month, day.day, 12, tzinfo=UTC))
    return Lifecycle(store, clock=clock, keyring=race_worker.KEYRING), store


def _on(where: str, day: date, step: Callable[[Lifecycle], object]) -> Any:
    """``step`` on a store opened for it alone, as separate runs of the command would."""
    service, store = _service(where, day)
    try:
        return step(service)
    finally:
        store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    where = race_worker.store_for(request.param, tmp_path, request)

    def owners(service: Lifecycle) -> None:
        service.add_owner(Owner(OWNER, Contact("Acme", "Ada", OWNER, "IT", "+33 1")))
        service.add_owner(Owner(BUYER, Contact("Used Ltd", "Bo", BUYER, "IT", "+44 1")))
        service.register_device(OWNER, SERIAL, "SMT1500C", on=FIRST_DAY)

    _on(where, FIRST_DAY, owners)
    return where


def test_registering_again_inside_the_trial_keeps_only_the_rest_of_it(where: str) -> None:
    deleted_on, again_on = date(2025, 3, 1), date(2025, 3, 10)
    _on(where, deleted_on, lambda s: s.delete_device(SERIAL, by=OWNER))
    again = _on(where, again_on, lambda s: s.register_device(OWNER, SERIAL, "SMT1500C"))
    assert again.registered_again
    assert again.device.registered_on == FIRST_DAY  # not 2025-03-10: no fresh 6 months
    assert again.trial_ends_on == TRIAL_ENDS
    cov = _on(where, again_on, lambda s: s.coverage(SERIAL))
    assert cov.plan_on(again_on) is Plan.STANDARD
    assert cov.plan_on(date(2025, 7, 14)) is Plan.STANDARD
    assert cov.plan_on(TRIAL_ENDS) is Plan.BASIC  # would be STANDARD to 2025-09-10
    (trial,) = [s for s in cov.segments if any(r.kind is ReasonKind.TRIAL for r in s.reasons)]
    assert (trial.start, trial.end) == (FIRST_DAY, TRIAL_ENDS)


def test_registering_again_after_the_trial_starts_on_basic_whoever_registers(
    where: str,
) -> None:
    # twice deleted, the second time registered by someone else: still one trial
    _on(where, date(2025, 3, 1), lambda s: s.delete_device(SERIAL, by=OWNER))
    _on(where, date(2025, 3, 2), lambda s: s.register_device(OWNER, SERIAL, "SMT1500C"))
    _on(where, date(2025, 9, 1), lambda s: s.delete_device(SERIAL, by=OWNER))
    later = date(2025, 10, 1)
    again = _on(where, later, lambda s: s.register_device(BUYER, SERIAL, "SMT1500C", on=later))
    assert again.registered_again
    assert again.device.owner_id == BUYER
    assert again.device.registered_on == FIRST_DAY
    assert again.trial_ends_on < later
    cov = _on(where, later, lambda s: s.coverage(SERIAL))
    assert cov.plan_on(later) is Plan.BASIC
    (trial,) = [s for s in cov.segments if any(r.kind is ReasonKind.TRIAL for r in s.reasons)]
    assert trial.end == TRIAL_ENDS
    assert (cov.segments[-1].plan, cov.segments[-1].start) == (Plan.BASIC, TRIAL_ENDS)


def test_a_serial_never_deleted_gets_its_trial_and_an_earlier_day_is_taken(where: str) -> None:
    other = "AS2500000002"
    fresh = _on(where, FIRST_DAY, lambda s: s.register_device(OWNER, other, "SMT1500C"))
    assert not fresh.registered_again
    assert fresh.device.registered_on == FIRST_DAY
    assert fresh.trial_ends_on == TRIAL_ENDS
    # deleted, then registered again back-dated before the first day: the earlier day
    # counts (an earlier start gives no more trial), and is remembered from then on
    _on(where, date(2025, 2, 1), lambda s: s.delete_device(other, by=OWNER))
    early = date(2024, 12, 1)
    again = _on(
        where, date(2025, 2, 2), lambda s: s.register_device(OWNER, other, "SMT1500C", on=early)
    )
    assert again.device.registered_on == early
    _on(where, date(2025, 2, 3), lambda s: s.delete_device(other, by=OWNER))
    last = _on(where, date(2025, 2, 4), lambda s: s.register_device(OWNER, other, "SMT1500C"))
    assert last.device.registered_on == early
