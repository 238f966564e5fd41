"""What every use case needs: the ports, the configuration, and the few steps they share.

A :class:`Context` is built once by :class:`~upslife.app.service.Lifecycle` and handed to
the use-case modules (:mod:`~upslife.app.devices`, :mod:`~upslife.app.resellers`,
:mod:`~upslife.app.shares`, :mod:`~upslife.app.reporting`, :mod:`~upslife.app.polling`,
:mod:`~upslife.app.commands`). It never reads the system clock itself: "now" comes from
its :class:`~upslife.ports.Clock` port, and each owner's "today" is the local date at that
instant (SPEC D1, D4).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Final

import attrs

from upslife.app.clock import local_date
from upslife.app.facts import device_view, refresh_next_notice
from upslife.app.schedule import reschedule
from upslife.app.sweep import DeliverySettings
from upslife.catalog import Catalog
from upslife.entitlements import Plan, Promotion
from upslife.errors import ConfigurationError, UpslifeError
from upslife.invitations import Keyring
from upslife.ports import Clock, Device, Owner, Store
from upslife.reports import ReportDevice
from upslife.sharing import DEFAULT_RETENTION, Action, LogEntry, Role, access, authorize

__all__ = ["Context"]


_LONGEST: Final = timedelta(days=36_500)


def _duration(_instance: object, attribute: attrs.Attribute[timedelta], value: object) -> None:
    """A configured duration: positive, and short enough that "now" minus or plus it is a
    date (SPEC S2, S5: they are configurable, not unbounded)."""
    if not isinstance(value, timedelta) or not timedelta(0) < value <= _LONGEST:
        raise ConfigurationError(
            f"{attribute.name} must be a timedelta above zero and at most {_LONGEST.days} "
            f"days, got {value!r}"
        )


@attrs.frozen
class Context:
    """The ports and settings of one :class:`~upslife.app.service.Lifecycle`.

    ``log_retention`` is how long the event log keeps entries (SPEC S5, 30 days by
    default); ``share_valid_for`` how long a share invitation stays open (SPEC S2, 7 days).
    """

    store: Store
    catalog: Catalog
    clock: Clock
    keyring: Keyring | None
    promotions: tuple[Promotion, ...]
    settings: DeliverySettings
    log_retention: timedelta = attrs.field(default=DEFAULT_RETENTION, validator=_duration)
    share_valid_for: timedelta = attrs.field(default=timedelta(days=7), validator=_duration)

    def now(self) -> datetime:
        return self.clock.now()

    def today(self, owner: Owner, now: datetime | None = None) -> date:
        """The owner's local date at ``now`` (the clock's by default, SPEC D1)."""
        return local_date(now or self.clock.now(), owner.timezone)

    def today_of(self, device: Device, now: datetime | None = None) -> date:
        return self.today(self.store.get_owner(device.owner_id), now)

    def view(self, device: Device) -> ReportDevice:
        """The derived view of one stored device, read from the store (one place)."""
        return device_view(
            device,
            self.store.licenses_of(device.serial),
            self.store.warranties_of(device.serial),
            self.catalog,
        )

    def role(self, device: Device, user: str) -> Role | None:
        if user == device.owner_id:
            return Role.OWNER
        return access(self.store.get_sharing(device.owner_id), device.serial, user)

    def plan(self, device: Device, today: date) -> Plan:
        return self.view(device).coverage.plan_on(max(today, device.registered_on))

    def authorize(self, device: Device, user: str, action: Action, today: date) -> Role:
        """The user's role, or a typed refusal, which is logged (SPEC E10, S3, S5)."""
        role = self.role(device, user)
        try:
            authorize(role, action, self.plan(device, today), device.serial)
        except UpslifeError as e:
            self.log_refusal(device, user, role, action, e, today)
            raise
        assert role is not None  # authorize refuses a user without access
        return role

    def log(self, device: Device, entries: Sequence[LogEntry], today: date) -> None:
        """SPEC S5, E10: every action is logged, except while the device is on BASIC."""
        if entries and self.plan(device, today) is not Plan.BASIC:
            self.store.append_log(device.owner_id, entries)

    def log_refusal(
        self,
        device: Device,
        user: str,
        role: Role | None,
        action: Action,
        error: UpslifeError,
        today: date,
    ) -> None:
        """SPEC S5: a refused action is an action too: who, role, what, device, when, outcome."""
        entry = LogEntry.refused(self.now(), user, role, action, device.serial, error)
        self.log(device, [entry], today)

    def refresh(self, device: Device, today: date) -> Device:
        """The device with its next notice date recomputed from the stored facts."""
        view = device_view(
            device,
            self.store.licenses_of(device.serial),
            self.store.warranties_of(device.serial),
            self.catalog,
        )
        sent = self.store.sent_stages(device.serial)
        return refresh_next_notice(device, view.facts(), sent, after=today - timedelta(days=1))

    def save_device(self, device: Device) -> None:
        """Save a changed device and store its lifecycle schedule (the write path of
        :mod:`upslife.app.schedule`): the daily plan then reads its events, not its facts."""
        self.store.save_device(device)
        reschedule(self.store, self.catalog, device)

    def require_keyring(self) -> Keyring:
        if self.keyring is None:
            raise ConfigurationError(
                "signed links need a signing secret: set UPSLIFE_SECRET (or `secret` in the "
                "configuration file), or pass keyring= to Lifecycle (SPEC I5)"
            )
        return self.keyring
