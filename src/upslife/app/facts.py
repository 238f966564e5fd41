"""From stored records to the values the rules take (SPEC E4, E8, E9, N1, R1).

This is where the catalog (C1) meets a stored device: :func:`device_view` turns its
record, licenses and warranties into a :class:`~upslife.reports.ReportDevice` (coverage,
warranty, battery replace-by, service life, last reading), and :func:`build_facts` into the
:class:`~upslife.notifications.DeviceFacts` of the notice rules. Both take the same
arguments to the same rules (coverage, warranty months, battery life and service life,
SPEC E4–E9, N1), so reports, quotes and notices can never disagree; :func:`build_facts`
(:func:`~upslife.reports.facts_of_parts`) only skips the report row and the objects in
between, which the write path does not need. A property test holds the two equal.
:func:`report_devices_of` streams an owner's whole fleet a page at a time.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Final

import attrs

from upslife.catalog import Catalog
from upslife.entitlements import Battery, ExtendedWarranty, License, Registration
from upslife.errors import InvalidInput
from upslife.notifications import (
    DEFAULT_DUE_GRACE_DAYS,
    DeviceFacts,
    LifecycleEvent,
    SentStage,
    next_notice_date,
    next_notice_date_of,
)
from upslife.ports import Device, DeviceStore
from upslife.reports import (
    ReportDevice,
    Vitals,
    facts_of_parts,
    firmware_update_available,
    report_device,
)

__all__ = [
    "build_facts",
    "device_view",
    "facts_of",
    "refresh_next_notice",
    "report_devices_of",
]


def device_view(
    device: Device,
    licenses: tuple[License, ...],
    warranties: tuple[ExtendedWarranty, ...],
    catalog: Catalog,
) -> ReportDevice:
    """The derived view of one stored device: coverage, warranty, battery, service life and
    its last reading (SPEC E4, E8, E9, N1, R1, R3), built here and nowhere else.

    It takes the whole stored :class:`~upslife.ports.Device`, so every field the store
    keeps reaches reports, notices and quotes alike: none can be forgotten on the way. A
    battery whose install date is unknown is taken as installed on the registration day
    (a new UPS registers with its first battery). The last reading's firmware is the
    stored firmware when the reading has none.
    """
    info = catalog.get(device.model)
    return report_device(
        Registration(device.serial, device.model, device.registered_on),
        catalog,
        licenses=licenses,
        extensions=warranties,
        battery=_battery(device),
        policy=device.policy,
        manufactured_on=device.manufactured_on,
        battery_failure_reported_on=device.battery_failure_reported_on,
        vitals=_last_reading(device, info.latest_firmware),
    )


def _battery(device: Device) -> Battery:
    return Battery(
        device.battery_installed_on or device.registered_on, device.battery_reported_replace_by
    )


def _last_reading(device: Device, latest_firmware: str | None) -> Vitals | None:
    vitals = device.vitals
    if vitals is None and device.firmware is None:
        return None
    vitals = vitals or Vitals()
    firmware = vitals.firmware_version or device.firmware
    update = vitals.update_available
    if update is None:
        update = firmware_update_available(firmware, latest_firmware)
    if firmware == vitals.firmware_version and update == vitals.update_available:
        return vitals
    return attrs.evolve(vitals, firmware_version=firmware, update_available=update)


def report_devices_of(
    store: DeviceStore, catalog: Catalog, owner_id: str, *, page: int = 1000
) -> Iterator[ReportDevice]:
    """:func:`device_view` for every device of ``owner_id``, by serial, lazily.

    Devices are read ``page`` at a time (``devices_of`` with ``after`` and ``limit``), so
    an export of a 100,000-device owner holds one page, not the fleet (SPEC R1–R5).
    """
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise InvalidInput(f"page must be a whole number of devices above zero, got {page!r}")
    after: str | None = None
    while True:
        devices = store.devices_of(owner_id, after=after, limit=page)
        # one read for the page's licenses and warranties, not two per device
        held = store.entitlements_of([d.serial for d in devices])
        for device in devices:
            licenses, warranties = held.get(device.serial, ((), ()))
            yield device_view(device, licenses, warranties, catalog)
        if len(devices) < page:
            return
        after = devices[-1].serial


def build_facts(
    device: Device,
    licenses: tuple[License, ...],
    warranties: tuple[ExtendedWarranty, ...],
    catalog: Catalog,
) -> DeviceFacts:
    """The lifecycle facts of one device (SPEC N1): ``device_view(...).facts()``, without
    building the report row or the objects in between (the write path,
    docs/performance.md B1)."""
    return facts_of_parts(
        device.serial,
        device.model,
        device.registered_on,
        catalog,
        licenses=licenses,
        extensions=warranties,
        battery_installed_on=device.battery_installed_on or device.registered_on,
        battery_reported_replace_by=device.battery_reported_replace_by,
        policy=device.policy,
        manufactured_on=device.manufactured_on,
        battery_failure_reported_on=device.battery_failure_reported_on,
    )


def facts_of(store: DeviceStore, catalog: Catalog, device: Device) -> DeviceFacts:
    """:func:`build_facts` with the licenses and warranties read from ``store``."""
    return build_facts(
        device, store.licenses_of(device.serial), store.warranties_of(device.serial), catalog
    )


def refresh_next_notice(
    device: Device,
    facts: DeviceFacts,
    sent: tuple[SentStage, ...],
    *,
    after: date | None,
    due_grace_days: int = DEFAULT_DUE_GRACE_DAYS,
    events: Sequence[LifecycleEvent] | None = None,
) -> Device:
    """The device with its ``next_notice_on`` recomputed from its facts (SPEC N2, N4);
    ``events`` may pass ``lifecycle_events(facts)`` computed already. Without them, the
    date is read from the facts without building the events (``next_notice_date_of``)."""
    if events is None:  # the date only: the events need not be built
        nxt = next_notice_date_of(facts, sent, after=after, due_grace_days=due_grace_days)
    else:
        nxt = next_notice_date(events, sent, after=after, due_grace_days=due_grace_days)
    if nxt == device.next_notice_on:
        return device  # a frozen value: the same one will do
    fields = list(_device_fields(device))
    fields[_NEXT_NOTICE_ON] = nxt
    return Device(*fields)  # ``attrs.evolve`` without its per-call field walk (B1)


_device_fields: Final = operator.attrgetter(*(field.name for field in attrs.fields(Device)))
_NEXT_NOTICE_ON: Final = [field.name for field in attrs.fields(Device)].index("next_notice_on")
