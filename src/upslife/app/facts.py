"""From stored records to the facts the rules take (SPEC E4, E8, E9, N1).

This is where the catalog (C1) meets a device: its base warranty, battery life, service
life and SKUs turn stored dates into a :class:`~upslife.notifications.DeviceFacts`.
"""

from __future__ import annotations

from datetime import date

import attrs

from upslife.catalog import Catalog
from upslife.entitlements import Battery, ExtendedWarranty, License, coverage, warranty
from upslife.notifications import (
    DEFAULT_DUE_GRACE_DAYS,
    DeviceFacts,
    SentStage,
    lifecycle_events,
    next_notice_date,
    service_life_ends_on,
)
from upslife.ports import Device, DeviceStore

__all__ = ["build_facts", "facts_of", "refresh_next_notice"]


def build_facts(
    device: Device,
    licenses: tuple[License, ...],
    warranties: tuple[ExtendedWarranty, ...],
    catalog: Catalog,
) -> DeviceFacts:
    """The lifecycle facts of one device.

    A battery whose install date is unknown is taken as installed on the registration
    day (a new UPS registers with its first battery; decision in docs/decisions.md).
    """
    model = catalog.get(device.model)
    cov = coverage(device.registered_on, licenses, warranties=warranties, policy=device.policy)
    guarantee = warranty(
        device.registered_on, model.base_warranty_months, warranties, chemistry=model.chemistry
    )
    battery = Battery(
        device.battery_installed_on or device.registered_on, device.battery_reported_replace_by
    )
    return DeviceFacts(
        device.serial,
        device.model,
        cov,
        warranty_expires_on=guarantee.expires_on,
        battery_replace_by=battery.replace_by(model.battery_life_months),
        service_life_ends_on=service_life_ends_on(
            model.service_life_months,
            registered_on=device.registered_on,
            manufactured_on=device.manufactured_on,
        ),
        battery_failure_reported_on=device.battery_failure_reported_on,
        battery_sku=model.battery_sku,
        warranty_extension_sku=model.warranty_extension_sku,
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
) -> Device:
    """The device with its ``next_notice_on`` recomputed from its facts (SPEC N2, N4)."""
    nxt = next_notice_date(
        lifecycle_events(facts), sent, after=after, due_grace_days=due_grace_days
    )
    return attrs.evolve(device, next_notice_on=nxt)
