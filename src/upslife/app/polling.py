"""What a UPS reports, folded into the stored device (SPEC E9, N1, R1, R3).

Pure functions: the service reads the transport and the store, these decide what changes.
"""

from __future__ import annotations

from datetime import date

import attrs

from upslife.hardware.snapshot import DeviceSnapshot
from upslife.ports import Device
from upslife.reports import Vitals

__all__ = ["PollReport", "apply_snapshot", "vitals_of"]


@attrs.frozen
class PollReport:
    """What one poll did: devices read, devices updated, serials the store does not know,
    and the transport names that could not be read (with the reason)."""

    read: int = 0
    updated: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()
    battery_failures: tuple[str, ...] = ()


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
        observed_at=snapshot.read_at,
    )


def apply_snapshot(device: Device, snapshot: DeviceSnapshot, today: date) -> Device:
    """The device after a reading on the owner's ``today``.

    - SPEC E9: a replace-by date the UPS reports replaces the computed one; a battery
      install date it reports that differs from the stored one is a new battery, and a
      replace-by date reported with it stands;
    - SPEC N1: the ``RB`` flag (battery needs replacing) raises a battery-failure event
      dated the first day it is seen; once the flag clears, the event is resolved (N3);
    - firmware and the manufacture date fill in what is known; vitals are replaced.
    """
    installed = snapshot.battery_installed_on or device.battery_installed_on
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
