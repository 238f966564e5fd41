"""Use cases that talk to the UPS itself: polling readings and remote commands (SPEC E9,
E10, N1, S3, S5)."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from upslife.app import polling
from upslife.app.context import Context
from upslife.app.names import canonical_email, canonical_serial
from upslife.app.polling import PollReport
from upslife.errors import UpslifeError
from upslife.hardware.snapshot import DeviceCommand, UpsTransport
from upslife.ports import Device
from upslife.sharing import LogEntry

__all__ = ["poll", "run_command"]


def poll(
    ctx: Context,
    transport: UpsTransport,
    *,
    devices: Sequence[str] | None = None,
    budget: float = polling.DEFAULT_BUDGET,
    workers: int = polling.DEFAULT_WORKERS,
) -> PollReport:
    """Read UPS units and fold the readings into storage: :func:`upslife.app.polling.poll`
    at the context's now (SPEC E9, N1, R1, R3)."""
    return polling.poll(
        ctx.store,
        ctx.catalog,
        transport,
        ctx.now(),
        devices=devices,
        budget=budget,
        workers=workers,
    )


def run_command(
    ctx: Context,
    serial: str,
    command: DeviceCommand,
    *,
    by: str,
    transport: UpsTransport,
    device_name: str,
) -> Device:
    """Carry out a remote command on a UPS (SPEC E10, S3, S5).

    The user's privilege and the device's plan are checked before any byte is sent;
    a refusal and a transport failure are logged as well as a success. Setting the
    battery install date also records it (SPEC E9).
    """
    device = ctx.store.get_device(canonical_serial(serial))
    by = canonical_email(by)
    today = ctx.today_of(device)
    action = command.command.action
    now = ctx.now()
    role = ctx.authorize(device, by, action, today)  # a refusal is logged there
    try:
        transport.run_command(device_name, command)
    except UpslifeError as e:
        ctx.log_refusal(device, by, role, action, e, today)
        raise
    entry = LogEntry.succeeded(now, by, role, action, device.serial, command.command.name.lower())
    updated = device
    if command.battery_installed_on is not None:
        updated = attrs.evolve(
            device,
            battery_installed_on=command.battery_installed_on,
            battery_reported_replace_by=None,
            battery_failure_reported_on=None,
        )
        updated = ctx.refresh(updated, today)
    with ctx.store.transaction():
        ctx.save_device(updated)
        ctx.log(device, [entry], today)
    return updated
