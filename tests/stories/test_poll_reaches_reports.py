"""A property: whatever a UPS reports reaches the reports a person reads (SPEC R1–R3).

Every field of :class:`~upslife.hardware.snapshot.DeviceSnapshot` is polled through
``Lifecycle.poll`` into a real SQLite file and must be visible in MyInventory or the
Operational report, and no operational value in MyRenewals. ``VISIBLE`` names where each
field shows; a field added to the snapshot and not to ``VISIBLE`` fails the first test,
so no reading can be dropped on its way to a report unnoticed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from upslife.adapters.sqlite import SqliteStore
from upslife.app import FixedClock, Lifecycle
from upslife.hardware.simulator import SimulatedTransport, SimulatedUps
from upslife.hardware.snapshot import DeviceSnapshot, InputSensitivity, StatusFlag
from upslife.notifications import Contact
from upslife.ports import Owner
from upslife.reports import (
    OPERATIONAL_FIELDS,
    InventoryRow,
    OperationalRow,
    RenewalRow,
    age_in_months,
    inventory_rows,
    operational_rows,
    renewal_rows,
)

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
TODAY = NOW.date()
REGISTERED = date(2025, 1, 15)
OWNER = "ops@acme.example"

Check = Callable[[DeviceSnapshot, InventoryRow, OperationalRow], bool]

VISIBLE: dict[str, Check] = {
    "serial": lambda s, inv, op: inv.serial == op.serial == (s.serial or "").upper(),
    # the UPS's own product name: the registered catalog model is what rows show
    "model": lambda s, inv, op: inv.model == op.model == "SMT1500C",
    "firmware": lambda s, inv, op: inv.firmware_version == op.firmware_version == s.firmware,
    "manufactured_on": lambda s, inv, op: inv.device_age_months
    == age_in_months(s.manufactured_on or REGISTERED, TODAY),
    "battery_installed_on": lambda s, inv, op: inv.battery_age_months
    == age_in_months(s.battery_installed_on or s.battery_manufactured_on or REGISTERED, TODAY),
    "battery_replace_by": lambda s, inv, op: inv.battery_replace_by == s.battery_replace_by,
    "status": lambda s, inv, op: all(f.value in (op.status or "").split() for f in s.status),
    "other_status": lambda s, inv, op: all(t in (inv.status or "").split() for t in s.other_status),
    "load_percent": lambda s, inv, op: inv.load_percent == op.load_percent == s.load_percent,
    "charge_percent": lambda s, inv, op: inv.charge_percent
    == op.charge_percent
    == s.charge_percent,
    "runtime": lambda s, inv, op: s.runtime is not None
    and inv.runtime_seconds == op.runtime_seconds == int(s.runtime.total_seconds()),
    "battery_temperature_c": lambda s, inv, op: op.temperature_c == s.battery_temperature_c,
    "input_sensitivity": lambda s, inv, op: s.input_sensitivity is not None
    and op.input_sensitivity == s.input_sensitivity.value,
    "self_test_result": lambda s, inv, op: op.self_test_result == s.self_test_result,
    "read_at": lambda s, inv, op: op.observed_at == s.read_at == NOW,
    "battery_manufactured_on": lambda s, inv, op: inv.battery_age_months
    == age_in_months(s.battery_installed_on or s.battery_manufactured_on or REGISTERED, TODAY),
    "input_voltage": lambda s, inv, op: op.input_voltage == s.input_voltage,
    "output_voltage": lambda s, inv, op: op.output_voltage == s.output_voltage,
    # what a reading left out is reported by the poll (PollReport.dropped), not in rows
    "dropped": lambda s, inv, op: s.dropped == (),
}

texts = st.text(st.characters(min_codepoint=65, max_codepoint=90), min_size=1, max_size=12)
snapshots = st.builds(
    DeviceSnapshot,
    model=st.just("Smart-UPS 1500"),
    serial=st.from_regex(r"[a-zA-Z]{2}[0-9]{10}", fullmatch=True),
    firmware=texts.map(lambda t: f"UPS {t}"),
    manufactured_on=st.dates(date(2015, 1, 1), REGISTERED),
    battery_installed_on=st.none() | st.dates(REGISTERED, TODAY),  # unknown: mfr date counts
    battery_replace_by=st.dates(TODAY + timedelta(days=1), date(2031, 1, 1)),
    status=st.frozensets(st.sampled_from(list(StatusFlag)), min_size=1, max_size=4),
    other_status=st.frozensets(texts.map(lambda t: f"X{t}"), max_size=2),
    load_percent=st.floats(0, 150, allow_nan=False).map(lambda v: round(v, 1)),
    charge_percent=st.floats(0, 100, allow_nan=False).map(lambda v: round(v, 1)),
    runtime=st.integers(0, 86_399).map(lambda s: timedelta(seconds=s)),
    battery_temperature_c=st.floats(-20, 60, allow_nan=False).map(lambda v: round(v, 1)),
    input_sensitivity=st.sampled_from(list(InputSensitivity)),
    self_test_result=texts,
    battery_manufactured_on=st.dates(date(2015, 1, 1), REGISTERED),
    input_voltage=st.floats(0, 300, allow_nan=False).map(lambda v: round(v, 1)),
    output_voltage=st.floats(0, 300, allow_nan=False).map(lambda v: round(v, 1)),
    read_at=st.just(NOW),
)


def test_every_field_a_transport_reports_has_a_place_in_a_report() -> None:
    # SPEC R1, R3: the map below is the contract; a new snapshot field must join it
    assert set(VISIBLE) == {f.name for f in attrs.fields(DeviceSnapshot)}


def _polled(snapshot: DeviceSnapshot) -> tuple[InventoryRow, OperationalRow, RenewalRow]:
    with tempfile.TemporaryDirectory() as folder:
        store = SqliteStore(Path(folder) / "fleet.db")
        try:
            service = Lifecycle(store, clock=FixedClock(NOW))
            contact = Contact("Acme", "Ada Lovelace", OWNER, "IT", "+33 1")
            service.add_owner(Owner(OWNER, contact))
            assert snapshot.serial is not None
            service.register_device(OWNER, snapshot.serial, "SMT1500C", on=REGISTERED)
            report = service.poll(SimulatedTransport({"ups": SimulatedUps(snapshot)}))
            assert report.updated == (snapshot.serial.upper(),)
            devices = list(service.report_devices(OWNER, user=OWNER))
            (inventory,) = inventory_rows(devices, TODAY)
            (operational,) = operational_rows(devices)
            (renewal,) = renewal_rows(devices, TODAY)
            return inventory, operational, renewal
        finally:
            store.close()


@settings(max_examples=30, deadline=None)
@given(snapshots)
def test_a_polled_value_is_visible_in_my_inventory_or_the_operational_report(
    snapshot: DeviceSnapshot,
) -> None:
    # SPEC R1, R3 through Lifecycle.poll on a real SQLite file; R2 for MyRenewals
    inventory, operational, renewal = _polled(snapshot)
    for name, visible in VISIBLE.items():
        assert visible(snapshot, inventory, operational), name
    # R2: MyRenewals has no operational column at all (tests/test_formats.py also checks
    # that no operational value leaks into any of its file formats)
    shown: dict[str, Any] = attrs.asdict(renewal, recurse=False)
    assert not OPERATIONAL_FIELDS & set(shown)
