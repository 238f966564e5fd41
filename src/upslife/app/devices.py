"""Use cases of owners, devices and licenses (SPEC E2, E4, E6–E9, I7, S3, S5).

Each reads the store, asks the domain for a decision, and writes the result in one
transaction, so a refused call changes nothing; a refused action by a user is written to
the owner's event log (SPEC S5).
"""

from __future__ import annotations

from datetime import date, timedelta

import attrs

from upslife._validation import require_date
from upslife.app.clock import require_timezone
from upslife.app.context import Context
from upslife.app.facts import build_facts, refresh_next_notice
from upslife.app.names import canonical_email, canonical_serial
from upslife.app.schedule import reschedule
from upslife.entitlements import (
    TRIAL_MONTHS,
    Coverage,
    ExtendedWarranty,
    License,
    UpgradePolicy,
    add_months,
    register,
)
from upslife.errors import ConcurrentUpdate, InvalidType, UpslifeError
from upslife.invitations import should_prompt_reseller
from upslife.ports import Device, Owner
from upslife.sharing import Action, LogEntry, add_device

__all__ = [
    "DeviceRegistered",
    "add_extended_warranty",
    "add_owner",
    "assign_code",
    "coverage",
    "register_device",
    "set_battery_install_date",
    "set_not_interested",
]


@attrs.frozen
class DeviceRegistered:
    """A newly registered device, and whether to offer the owner the Reseller page now
    (SPEC I7: not when they chose "Not interested?" or a reseller is invited already).

    ``registered_again`` is true for a serial that was registered before and deleted: its
    ``device.registered_on`` is then that first registration day, not the day asked for,
    so its trial and warranty go on from where they were (SPEC E2)."""

    device: Device
    prompt_reseller: bool
    registered_again: bool = False

    @property
    def trial_ends_on(self) -> date:
        """The day the STANDARD trial ends (SPEC E2); on or before the registration day
        asked for when a re-registered serial has used its trial up."""
        return add_months(self.device.registered_on, TRIAL_MONTHS)


def add_owner(ctx: Context, owner: Owner) -> Owner:
    """Create a customer account; its time zone must be a known IANA name (SPEC D1).

    The account email is stored in its canonical spelling (:mod:`upslife.app.names`), so
    an owner added twice with different capitals is refused as the same owner.
    """
    if not isinstance(owner, Owner):
        raise InvalidType(f"add_owner takes an Owner, got {type(owner).__name__}")
    require_timezone(owner.timezone)
    contact = attrs.evolve(owner.contact, email=canonical_email(owner.contact.email))
    owner = attrs.evolve(owner, id=canonical_email(owner.id), contact=contact)
    with ctx.store.transaction():
        ctx.store.add_owner(owner)
        ctx.store.save_sharing(ctx.store.get_sharing(owner.id))
    return owner


def set_not_interested(ctx: Context, owner_id: str, *, not_interested: bool) -> Owner:
    """The owner's "Not interested?" choice on the Reseller page (SPEC I7); it changes
    nothing but whether adding a device offers that page."""
    owner = ctx.store.get_owner(canonical_email(owner_id))
    updated = attrs.evolve(
        owner, reseller_prompt=owner.reseller_prompt.choose(not_interested=not_interested)
    )
    ctx.store.save_owner(updated)
    return updated


def register_device(
    ctx: Context,
    owner_id: str,
    serial: str,
    model: str,
    *,
    on: date | None = None,
    battery_installed_on: date | None = None,
    manufactured_on: date | None = None,
    policy: UpgradePolicy = UpgradePolicy.DEFER,
) -> DeviceRegistered:
    """Register a UPS; it starts its 6-month STANDARD trial (SPEC E2).

    A serial's trial is granted once. A serial registered before and since deleted keeps
    its first registration day as ``registered_on`` (the store remembers it, see
    :mod:`upslife.app.deletion`): its trial runs out when it would have, so registering it
    again within 6 months keeps the rest of the trial and later starts on BASIC; its
    warranty and its presumed battery age count from that day too. A day asked for
    before the remembered one is taken instead (it gives no more trial).
    """
    owner = ctx.store.get_owner(canonical_email(owner_id))
    ctx.catalog.get(model)  # an unknown model is refused before anything is written
    now = ctx.now()
    day = on or ctx.today(owner, now)
    reg = register(canonical_serial(serial), model, day)
    first = ctx.store.first_registered_on(reg.serial)
    device = Device(
        reg.serial,
        owner.id,
        reg.model,
        reg.registered_on if first is None else min(first, reg.registered_on),
        policy=policy,
        battery_installed_on=battery_installed_on,
        manufactured_on=manufactured_on,
    )
    facts = build_facts(device, (), (), ctx.catalog)
    device = refresh_next_notice(device, facts, (), after=day - timedelta(days=1))
    with ctx.store.transaction():
        if ctx.store.first_registered_on(reg.serial) != first:  # deleted meanwhile
            raise ConcurrentUpdate(f"serial {reg.serial} changed meanwhile; try again")
        ctx.store.add_device(device)
        reschedule(ctx.store, ctx.catalog, device)
        ctx.store.save_sharing(add_device(ctx.store.get_sharing(owner.id), reg.serial))
    prompt = should_prompt_reseller(
        owner.reseller_prompt, ctx.store.current_invitation(owner.id), now
    )
    return DeviceRegistered(device, prompt, registered_again=first is not None)


def coverage(ctx: Context, serial: str) -> Coverage:
    """The device's plan coverage (SPEC E4)."""
    return ctx.view(ctx.store.get_device(canonical_serial(serial))).coverage


def set_battery_install_date(ctx: Context, serial: str, day: date, *, by: str) -> Device:
    """A new battery: its replace-by date is recomputed from the install date (SPEC E9),
    so the battery notices of the old one stop (N3)."""
    day = require_date(day, "battery install date")
    device = ctx.store.get_device(canonical_serial(serial))
    by = canonical_email(by)
    today = ctx.today_of(device)
    role = ctx.authorize(device, by, Action.SET_BATTERY_INSTALL_DATE, today)
    updated = attrs.evolve(
        device,
        battery_installed_on=day,
        battery_reported_replace_by=None,
        battery_failure_reported_on=None,
    )
    updated = ctx.refresh(updated, today)
    entry = LogEntry.succeeded(
        ctx.now(),
        by,
        role,
        Action.SET_BATTERY_INSTALL_DATE,
        device.serial,
        f"battery install date set to {day.isoformat()}",
    )
    with ctx.store.transaction():
        ctx.save_device(updated)
        ctx.log(updated, [entry], today)
    return updated


def assign_code(
    ctx: Context, code: str, serial: str, *, by: str, count: int = 1
) -> tuple[License, ...]:
    """Assign ``count`` licenses of ``code`` to a device (SPEC E4, E6, S3).

    The owner or any user the device is shared with may assign; over-assignment and
    concurrent assignment of the last license are refused, change nothing, and are logged.
    """
    device = ctx.store.get_device(canonical_serial(serial))
    by = canonical_email(by)
    today = ctx.today_of(device)
    role = ctx.authorize(device, by, Action.APPLY_LICENSE, today)
    stored = ctx.store.get_code(code)
    try:
        updated, licenses = stored.assign(today, count, promotions=ctx.promotions)
    except UpslifeError as e:
        ctx.log_refusal(device, by, role, Action.APPLY_LICENSE, e, today)
        raise
    entry = LogEntry.succeeded(
        ctx.now(),
        by,
        role,
        Action.APPLY_LICENSE,
        device.serial,
        f"{count} × {stored.plan.title} {stored.term.label} from code {stored.code}",
    )
    try:
        with ctx.store.transaction():
            ctx.store.save_code(updated, expected_assigned=stored.assigned)
            ctx.store.add_licenses(device.serial, licenses)
            ctx.save_device(ctx.refresh(device, today))
            ctx.log(device, [entry], today)
    except UpslifeError as e:
        ctx.log_refusal(device, by, role, Action.APPLY_LICENSE, e, today)
        raise
    return licenses


def add_extended_warranty(ctx: Context, serial: str, warranty: ExtendedWarranty) -> Device:
    """Record an extended warranty (SPEC E7, E8); refused after the warranty ends."""
    device = ctx.store.get_device(canonical_serial(serial))
    today = ctx.today_of(device)
    with ctx.store.transaction():
        ctx.store.add_warranty(device.serial, warranty)
        updated = ctx.refresh(device, today)  # validates the timeline (E8)
        ctx.save_device(updated)
    return updated
