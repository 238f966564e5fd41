"""The write path's facts (docs/performance.md, B1) against the report path's.

:func:`build_facts` computes the facts without the report row that :func:`device_view`
builds; the two must never disagree, on any device, nor refuse different inputs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.strategies import dates, licenses_after
from tests.strategies_notifications import stage_for
from upslife.app.facts import build_facts, device_view, refresh_next_notice
from upslife.catalog import Catalog
from upslife.entitlements import ExtendedWarranty, License, UpgradePolicy
from upslife.errors import UpslifeError
from upslife.notifications import SentStage, lifecycle_events, next_notice_date
from upslife.ports import Device

CATALOG = Catalog.default()
MODELS = sorted(CATALOG)


@st.composite
def stored_devices(
    draw: st.DrawFn,
) -> tuple[Device, tuple[License, ...], tuple[ExtendedWarranty, ...]]:
    """A device as a store holds it, with its licenses and warranties."""
    registered = draw(dates(2015, 2030))
    model = draw(st.sampled_from(MODELS))
    after = st.one_of(st.none(), dates(2015, 2040).filter(lambda d: d >= registered))
    device = Device(
        draw(st.sampled_from(["as1", " AS2", "QS9X"])),
        "owner",
        draw(st.sampled_from([model, model.lower(), f" {model} "])),
        registered,
        draw(st.sampled_from(list(UpgradePolicy))),
        battery_installed_on=draw(after),
        battery_reported_replace_by=draw(after),
        battery_failure_reported_on=draw(after),
        manufactured_on=draw(
            st.one_of(st.none(), st.integers(0, 400).map(lambda n: registered - timedelta(n)))
        ),
        next_notice_on=draw(after),
    )
    licenses = tuple(draw(licenses_after(registered, max_size=4)))
    # activated up to eight years on: some after the warranty ran out (SPEC E8)
    warranties = tuple(
        ExtendedWarranty(f"W{n}", "WEXTWAR1YR-SP-01", 12, registered + timedelta(days=days))
        for n, days in enumerate(draw(st.lists(st.integers(0, 3000), max_size=2)))
    )
    return device, licenses, warranties


Stored = tuple[Device, tuple[License, ...], tuple[ExtendedWarranty, ...]]


@given(stored=stored_devices())
def test_build_facts_are_the_report_views_facts(stored: Stored) -> None:
    # SPEC N1, R1: notices and reports are built from the same facts.
    device, licenses, warranties = stored
    try:
        slow = device_view(device, licenses, warranties, CATALOG).facts()
    except UpslifeError as e:  # an extension after the warranty ran out, say
        with pytest.raises(type(e)):
            build_facts(device, licenses, warranties, CATALOG)
        return
    fast = build_facts(device, licenses, warranties, CATALOG)
    assert fast == slow
    assert attrs.astuple(fast, recurse=False) == attrs.astuple(slow, recurse=False)


@given(stored=stored_devices(), data=st.data())
def test_refresh_next_notice_is_evolve_with_the_next_date(
    stored: Stored, data: st.DataObject
) -> None:
    # SPEC N2, N4: the stored next notice date, and every other field kept.
    device, licenses, warranties = stored
    try:
        facts = build_facts(device, licenses, warranties, CATALOG)
    except UpslifeError:
        return
    events = lifecycle_events(facts)
    chosen = data.draw(st.lists(st.sampled_from(events), max_size=2)) if events else []
    sent = tuple(
        SentStage(event.id, data.draw(stage_for(event.kind)), data.draw(dates(2015, 2040)))
        for event in chosen
    )
    after = data.draw(st.one_of(st.none(), dates(2015, 2040)))
    expected = attrs.evolve(device, next_notice_on=next_notice_date(events, sent, after=after))
    refreshed = refresh_next_notice(device, facts, sent, after=after)
    assert refreshed == expected
    assert attrs.astuple(refreshed, recurse=False) == attrs.astuple(expected, recurse=False)


GOOD = Device("AS1", "owner", "SMT1500C", date(2024, 1, 31))
BAD: list[dict[str, Any]] = [
    {"serial": ""},
    {"serial": 7},
    {"serial": "A\nB"},
    {"model": "NO-SUCH-UPS"},
    {"model": None},
    {"registered_on": datetime(2024, 1, 31, tzinfo=UTC)},
    {"registered_on": "2024-01-31"},
    {"policy": "defer"},
    {"battery_installed_on": "2024-02-01"},
    {"battery_reported_replace_by": datetime(2028, 1, 1, tzinfo=UTC)},
    {"battery_failure_reported_on": date(2024, 1, 30)},
    {"battery_failure_reported_on": 20240201},
    {"manufactured_on": date(2024, 2, 1)},
    {"manufactured_on": "2023-01-01"},
]


@pytest.mark.parametrize("change", BAD, ids=lambda change: next(iter(change)))
def test_build_facts_refuses_what_the_report_view_refuses(change: dict[str, Any]) -> None:
    # SPEC D5: the same typed error for the same bad stored value.
    device = attrs.evolve(GOOD, **change)
    with pytest.raises(UpslifeError) as slow:
        device_view(device, (), (), CATALOG).facts()
    with pytest.raises(type(slow.value)):
        build_facts(device, (), (), CATALOG)
