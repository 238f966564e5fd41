"""Use cases of reports: what a user may see of an owner's fleet (SPEC R1–R5)."""

from __future__ import annotations

from collections.abc import Iterator

from upslife.app.context import Context
from upslife.app.facts import report_devices_of
from upslife.app.names import canonical_email, canonical_serial
from upslife.reports import ReportDevice, authorize_report, reportable

__all__ = ["report_device", "report_devices"]


def report_devices(ctx: Context, owner_id: str, *, user: str) -> Iterator[ReportDevice]:
    """The owner's devices whose reports ``user`` may produce, lazily (SPEC R1–R5).

    The owner and users a device is shared with see it; anyone else sees nothing. Each
    is the device's one derived view (:func:`~upslife.app.facts.device_view`), its last
    reading included, so MyInventory and the Operational report show what the UPS said.
    """
    owner_id, user = canonical_email(owner_id), canonical_email(user)
    devices = report_devices_of(ctx.store, ctx.catalog, owner_id)
    if user == owner_id:  # the owner sees every device: no need to load the sharing state
        return devices
    return reportable(ctx.store.get_sharing(owner_id), devices, user)


def report_device(ctx: Context, serial: str, *, user: str) -> ReportDevice:
    """One device's report input; refused unless ``user`` may see it (SPEC R5)."""
    device = ctx.store.get_device(canonical_serial(serial))
    authorize_report(ctx.store.get_sharing(device.owner_id), device.serial, canonical_email(user))
    return ctx.view(device)
