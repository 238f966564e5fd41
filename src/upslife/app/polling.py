"""Polling: what UPS units report, folded into the stored devices (SPEC E9, N1, R1, R3).

:func:`poll` is the use case (``Lifecycle.poll`` delegates to it): read the UPS units a
transport reaches, concurrently and within a time budget, and fold each reading into
the device it identifies. :func:`apply_snapshot` and :func:`vitals_of` are the pure rules.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import date, datetime, timedelta

import attrs

from upslife.app.clock import local_date
from upslife.app.facts import facts_of, refresh_next_notice
from upslife.app.names import canonical_serial
from upslife.app.schedule import schedule_entry
from upslife.catalog import Catalog
from upslife.errors import InvalidInput, UnknownDevice, UpslifeError
from upslife.hardware.snapshot import DeviceSnapshot, UpsTransport
from upslife.notifications import lifecycle_events
from upslife.ports import Device, Store
from upslife.reports import Vitals, plan_license_sku_of

__all__ = [
    "DEFAULT_BUDGET",
    "DEFAULT_WORKERS",
    "PollReport",
    "apply_snapshot",
    "poll",
    "vitals_of",
]

#: Seconds a whole poll may take by default: the reads still running then are reported
#: as not read, and the poll returns.
DEFAULT_BUDGET = 60.0
#: UPS units read at the same time by default (each on its own connection).
DEFAULT_WORKERS = 16
# Readings stored per transaction.
_FOLD_CHUNK = 100


@attrs.frozen
class PollReport:
    """What one poll did.

    - ``read``: readings obtained; ``updated``: serials of the devices they updated;
    - ``unknown``: serials read that the store does not know (not stored);
    - ``failed``: ``(UPS name, reason)`` for each unit that gave no reading (transport
      error, or not read within the poll's budget);
    - ``battery_failures``: serials whose UPS reports ``RB`` (SPEC N1);
    - ``unidentifiable``: ``(UPS name, reason)`` for readings without a usable serial
      (none, or a placeholder such as ``unknown``): never matched to a device;
    - ``dropped``: ``(UPS name, values)`` for each reading that left values out, each
      value as ``variable = 'raw': reason``, so an operator sees what was not believed.
    """

    read: int = 0
    updated: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()
    battery_failures: tuple[str, ...] = ()
    unidentifiable: tuple[tuple[str, str], ...] = ()
    dropped: tuple[tuple[str, tuple[str, ...]], ...] = ()


def vitals_of(snapshot: DeviceSnapshot) -> Vitals:
    """The operational data of a reading, as reports show it (SPEC R1, R3)."""
    runtime, sensitivity = snapshot.runtime, snapshot.input_sensitivity
    return Vitals(
        status=snapshot.status_text() or None,
        load_percent=snapshot.load_percent,
        charge_percent=snapshot.charge_percent,
        runtime_seconds=None if runtime is None else int(runtime.total_seconds()),
        temperature_c=snapshot.battery_temperature_c,
        firmware_version=snapshot.firmware,
        input_sensitivity=None if sensitivity is None else sensitivity.value,
        self_test_result=snapshot.self_test_result,
        input_voltage=snapshot.input_voltage,
        output_voltage=snapshot.output_voltage,
        observed_at=snapshot.read_at,
    )


def apply_snapshot(device: Device, snapshot: DeviceSnapshot, today: date) -> Device:
    """The device after a reading on the owner's ``today``.

    - SPEC E9: a replace-by date the UPS reports replaces the computed one; a battery
      install date it reports that differs from the stored one is a new battery, and a
      replace-by date reported with it stands. When neither the UPS nor the store knows
      an install date, the battery's manufacture date (``battery.mfr.date``) is the
      battery-age fact: a battery is never installed before it was made;
    - SPEC N1: the ``RB`` flag (battery needs replacing) raises a battery-failure event
      dated the first day it is seen; once the flag clears, the event is resolved (N3);
    - firmware and the manufacture date fill in what is known; vitals are replaced.
    """
    installed = (
        snapshot.battery_installed_on
        or device.battery_installed_on
        or snapshot.battery_manufactured_on
    )
    reported = snapshot.battery_replace_by
    if reported is None and installed == device.battery_installed_on:
        reported = device.battery_reported_replace_by
    failed_on = None
    if snapshot.battery_failed:
        failed_on = device.battery_failure_reported_on or max(today, device.registered_on)
    return attrs.evolve(
        device,
        firmware=snapshot.firmware or device.firmware,
        manufactured_on=device.manufactured_on or snapshot.manufactured_on,
        battery_installed_on=installed,
        battery_reported_replace_by=reported,
        battery_failure_reported_on=failed_on,
        vitals=vitals_of(snapshot),
    )


def _read_all(
    transport: UpsTransport,
    names: Sequence[str],
    now: datetime,
    budget: float,
    workers: int,
) -> dict[str, DeviceSnapshot | str]:
    """Each name's reading, or why there is none; returns within ``budget`` seconds.

    Reads run on ``workers`` threads (transports keep one connection per thread). A read
    still running when the budget is spent is reported as not read; it ends on its own
    within the transport's timeout (its connection is closed with the transport).
    """
    results: dict[str, DeviceSnapshot | str] = {}
    if not names:
        return results
    deadline = time.monotonic() + budget
    pool = ThreadPoolExecutor(max_workers=min(workers, len(names)), thread_name_prefix="poll")
    try:
        pending: dict[Future[DeviceSnapshot], str] = {
            pool.submit(transport.read, name, read_at=now): name for name in names
        }
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            done, _ = wait(pending, timeout=remaining, return_when=FIRST_COMPLETED)
            for future in done:
                name = pending.pop(future)
                try:
                    results[name] = future.result()
                except UpslifeError as e:
                    results[name] = str(e)
        for future, name in pending.items():
            future.cancel()
            results[name] = f"not read within the poll's time budget of {budget:g} s"
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return results


def _unidentifiable(snapshot: DeviceSnapshot) -> str:
    if snapshot.serial is None:
        return "the UPS reports no serial number"
    return f"the serial {snapshot.serial!r} is a placeholder, not an identity"


def _fold(
    store: Store, catalog: Catalog, device: Device, snapshot: DeviceSnapshot, now: datetime
) -> None:
    """Store what one reading changes, with the next notice date recomputed."""
    today = local_date(now, store.get_owner(device.owner_id).timezone)
    changed = apply_snapshot(device, snapshot, today)
    facts = facts_of(store, catalog, changed)
    sent = store.sent_stages(changed.serial)
    events = lifecycle_events(facts, plan_license_sku=plan_license_sku_of(catalog))
    saved = refresh_next_notice(
        changed, facts, sent, after=today - timedelta(days=1), events=events
    )
    store.save_device(saved)
    # the write path of the stored schedule (app/schedule.py): the plan reads these events
    store.save_schedule(schedule_entry(saved, facts, sent, saved.next_notice_on, events=events))


def poll(
    store: Store,
    catalog: Catalog,
    transport: UpsTransport,
    now: datetime,
    *,
    devices: Sequence[str] | None = None,
    budget: float = DEFAULT_BUDGET,
    workers: int = DEFAULT_WORKERS,
) -> PollReport:
    """Read UPS units and fold the readings into storage (SPEC E9, N1, R1, R3).

    ``devices`` names the UPS units to read (``nut://host/ups`` names one); ``None``
    reads every unit the transport reaches. Reads run concurrently (``workers``) and the
    whole poll returns within ``budget`` seconds plus the time to store the readings.
    Battery dates follow SPEC E9, an ``RB`` flag raises the battery-failure event (SPEC
    N1) and the device's next notice date is recomputed, so the next sweep sends it.

    A reading without a usable serial (none, or a placeholder such as ``unknown``) is
    reported as unidentifiable and never matched to a registered device; a serial the
    store does not know is reported, not stored; a unit that cannot be read is reported
    with the reason, and the poll goes on. Values a reading left out are reported too.
    """
    if isinstance(budget, bool) or not isinstance(budget, int | float) or not budget > 0:
        raise InvalidInput(f"a poll's time budget must be a positive number of seconds: {budget}")
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 256:
        raise InvalidInput(f"a poll reads with 1 to 256 workers, got {workers!r}")
    names = tuple(dict.fromkeys(devices)) if devices is not None else transport.list_devices()
    results = _read_all(transport, names, now, float(budget), workers)
    read = 0
    updated: list[str] = []
    unknown: list[str] = []
    failed: list[tuple[str, str]] = []
    failures: list[str] = []
    unidentifiable: list[tuple[str, str]] = []
    dropped: list[tuple[str, tuple[str, ...]]] = []
    for start in range(0, len(names), _FOLD_CHUNK):
        # One transaction per chunk: one commit (fsync) for many devices, not one each.
        with store.transaction():
            for name in names[start : start + _FOLD_CHUNK]:
                snapshot = results[name]
                if isinstance(snapshot, str):
                    failed.append((name, snapshot))
                    continue
                read += 1
                if snapshot.dropped:
                    dropped.append((name, tuple(str(d) for d in snapshot.dropped)))
                if not snapshot.identifiable:
                    unidentifiable.append((name, _unidentifiable(snapshot)))
                    continue
                assert snapshot.serial is not None  # identifiable
                try:
                    device = store.get_device(canonical_serial(snapshot.serial))
                except UnknownDevice:
                    unknown.append(snapshot.serial)
                    continue
                _fold(store, catalog, device, snapshot, now)
                updated.append(device.serial)
                if snapshot.battery_failed:
                    failures.append(device.serial)
    return PollReport(
        read,
        tuple(updated),
        tuple(unknown),
        tuple(failed),
        tuple(failures),
        tuple(unidentifiable),
        tuple(dropped),
    )
