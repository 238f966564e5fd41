"""Use cases that talk to the UPS itself: polling readings and remote commands (SPEC E9,
E10, N1, S3, S5)."""

from __future__ import annotations

import attrs

from upslife.app.context import Context
from upslife.app.names import canonical_email, canonical_serial
from upslife.app.polling import PollReport, apply_snapshot
from upslife.errors import UnknownDevice, UpslifeError
from upslife.hardware.snapshot import DeviceCommand, UpsTransport
from upslife.ports import Device
from upslife.sharing import LogEntry

__all__ = ["poll", "run_command"]


def poll(ctx: Context, transport: UpsTransport) -> PollReport:
    """Read every UPS the transport reaches and fold the readings into storage.

    Battery dates follow SPEC E9, an ``RB`` flag raises the battery-failure event
    (SPEC N1) and the device's next notice date is recomputed, so the next sweep sends
    it. A UPS reporting its serial in another spelling is matched to the registered one;
    a serial the store does not know is reported, not stored; a UPS that cannot be read
    is reported with the reason and the poll goes on.
    """
    now = ctx.now()
    read, updated, unknown, failed, failures = 0, [], [], [], []
    for name in transport.list_devices():
        try:
            snapshot = transport.read(name, read_at=now)
        except UpslifeError as e:
            failed.append((name, str(e)))
            continue
        read += 1
        if snapshot.serial is None:
            failed.append((name, "the UPS reports no serial number"))
            continue
        try:
            device = ctx.store.get_device(canonical_serial(snapshot.serial))
        except UnknownDevice:
            unknown.append(snapshot.serial)
            continue
        today = ctx.today_of(device, now)
        changed = ctx.refresh(apply_snapshot(device, snapshot, today), today)
        ctx.save_device(changed)
        updated.append(device.serial)
        if snapshot.battery_failed:
            failures.append(device.serial)
    return PollReport(read, tuple(updated), tuple(unknown), tuple(failed), tuple(failures))


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
