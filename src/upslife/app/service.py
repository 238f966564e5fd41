"""The application service other code calls: :class:`Lifecycle`, a thin facade.

Each method is one use case, carried out by the module named for its story:
:mod:`~upslife.app.devices` (owners, devices, licenses, warranties, batteries),
:mod:`~upslife.app.resellers` (the reseller connection and reminders),
:mod:`~upslife.app.shares` (sharing with managed-service users, the event log),
:mod:`~upslife.app.reporting` (reports), :mod:`~upslife.app.commands` (polling and remote
commands), :mod:`~upslife.app.codes` (activation codes mailed to the installer),
:mod:`~upslife.app.renewals` (MyRenewals mailed to a partner),
:mod:`~upslife.app.deletion` (deleting a device), :mod:`~upslife.app.emails`
(customizable emails), :mod:`~upslife.app.reseller_delivery` (a reseller's own choice of
delivery) and :mod:`~upslife.app.sweep` (the daily job). Each reads the store, asks the
domain for a decision, and writes the result in one transaction, so a refused call
changes nothing.

The service never reads the system clock itself: "now" comes from its :class:`Clock`
port, and each owner's "today" is the local date at that instant (SPEC D1, D4). Every
serial number and email address it is given is taken in its canonical spelling
(:mod:`upslife.app.names`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import date, timedelta

from upslife.app import (
    chat,
    codes,
    commands,
    deletion,
    devices,
    emails,
    link_views,
    polling,
    renewals,
    reporting,
    reseller_delivery,
    resellers,
    shares,
)
from upslife.app.clock import SystemClock
from upslife.app.context import Context
from upslife.app.deletion import DeviceDeleted
from upslife.app.devices import DeviceRegistered
from upslife.app.link_views import InvitationView, UnsubscribeView
from upslife.app.names import canonical_email, canonical_serial
from upslife.app.outbox import (
    OutboxEntry,
    OutboxState,
    list_outbox,
    requeue_day,
    retry_item,
    show_item,
)
from upslife.app.polling import PollReport
from upslife.app.renewals import RenewalsSent, ReportFormat
from upslife.app.reseller_delivery import ResellerDelivery
from upslife.app.resellers import InvitationLinks, Unsubscribed
from upslife.app.shares import ShareAcceptance, SharedDevice, ShareInvitation, ShareView
from upslife.app.sweep import DeliverySettings, SweepReport, sweep
from upslife.catalog import Catalog
from upslife.entitlements import (
    ActivationCode,
    Coverage,
    ExtendedWarranty,
    License,
    Plan,
    Promotion,
    Term,
    UpgradePolicy,
)
from upslife.hardware.snapshot import DeviceCommand, UpsTransport
from upslife.invitations import Invitation, Keyring, OwnerNotice, TokenAction
from upslife.notifications import ChatKind, DeliveryPreference, EventKind, Notice
from upslife.ports import ChatSender, Clock, Device, MailSender, Owner, Store
from upslife.rendering.templates import Templates
from upslife.reports import ReportDevice
from upslife.sharing import DEFAULT_RETENTION, DEFAULT_SHARE_EXPIRY, LogEntry, ShareVia

__all__ = ["InvitationLinks", "Lifecycle"]


class Lifecycle:
    """The application service: register, assign, invite, share, remind, poll, sweep.

    Args:
        store: any :class:`~upslife.ports.Store` (SQLite, PostgreSQL, memory).
        catalog: the model catalog (SPEC C1); the shipped one by default.
        clock: where "now" comes from; the system clock by default.
        keyring: signing keys for reseller and share links (SPEC I5); required for
            invitations and shares.
        promotions: applied when codes are issued and licenses assigned (SPEC E11).
        settings: how mails are addressed, linked and retried.
        log_retention: how long the event log keeps entries (SPEC S5, 30 days).
        share_valid_for: how long a share invitation stays open (SPEC S2, 7 days).
    """

    def __init__(
        self,
        store: Store,
        *,
        catalog: Catalog | None = None,
        clock: Clock | None = None,
        keyring: Keyring | None = None,
        promotions: Sequence[Promotion] = (),
        settings: DeliverySettings | None = None,
        log_retention: timedelta = DEFAULT_RETENTION,
        share_valid_for: timedelta = DEFAULT_SHARE_EXPIRY,
    ) -> None:
        self.ctx = Context(
            store,
            catalog or Catalog.default(),
            clock or SystemClock(),
            keyring,
            tuple(promotions),
            settings or DeliverySettings(keyring=keyring),
            log_retention,
            share_valid_for,
        )

    @property
    def store(self) -> Store:
        return self.ctx.store

    @property
    def catalog(self) -> Catalog:
        return self.ctx.catalog

    @property
    def clock(self) -> Clock:
        return self.ctx.clock

    @property
    def keyring(self) -> Keyring | None:
        return self.ctx.keyring

    @property
    def settings(self) -> DeliverySettings:
        return self.ctx.settings

    # ------------------------------------------------------------------ owners, devices

    def add_owner(self, owner: Owner) -> Owner:
        """Create a customer account (SPEC D1); see :func:`.devices.add_owner`."""
        return devices.add_owner(self.ctx, owner)

    def set_not_interested(self, owner_id: str, *, not_interested: bool = True) -> Owner:
        """The owner's "Not interested?" choice (SPEC I7)."""
        return devices.set_not_interested(self.ctx, owner_id, not_interested=not_interested)

    def set_email_templates(
        self, owner_id: str, templates: Templates | Mapping[str, object] | None
    ) -> Owner:
        """The owner's customized emails, checked when set and used for the devices whose
        plan allows them (SPEC E10); ``None`` restores the default. See :mod:`.emails`."""
        return emails.set_email_templates(self.ctx, owner_id, templates)

    def email_templates(self, owner_id: str) -> Templates | None:
        """The owner's own email templates, or ``None`` (SPEC E10)."""
        return emails.email_templates(self.ctx, owner_id)

    def register_device(
        self,
        owner_id: str,
        serial: str,
        model: str,
        *,
        on: date | None = None,
        battery_installed_on: date | None = None,
        manufactured_on: date | None = None,
        policy: UpgradePolicy = UpgradePolicy.DEFER,
    ) -> DeviceRegistered:
        """Register a UPS; it starts its 6-month STANDARD trial (SPEC E2), and says
        whether to offer the Reseller page (SPEC I7)."""
        return devices.register_device(
            self.ctx,
            owner_id,
            serial,
            model,
            on=on,
            battery_installed_on=battery_installed_on,
            manufactured_on=manufactured_on,
            policy=policy,
        )

    def device(self, serial: str) -> Device:
        return self.store.get_device(canonical_serial(serial))

    def coverage(self, serial: str) -> Coverage:
        """The device's plan coverage (SPEC E4)."""
        return devices.coverage(self.ctx, serial)

    def explain(self, serial: str) -> str:
        """The device's coverage, segment by segment, with reasons (SPEC E12)."""
        return self.coverage(serial).explain()

    def set_battery_install_date(self, serial: str, day: date, *, by: str) -> Device:
        """A new battery: its replace-by date is recomputed (SPEC E9, N3)."""
        return devices.set_battery_install_date(self.ctx, serial, day, by=by)

    def set_chat_route(self, owner_id: str, kind: ChatKind, name: str, webhook: str) -> Owner:
        """Add or replace one of the owner's Slack/Teams routes (SPEC N6): :mod:`.chat`."""
        return chat.set_chat_route(self.ctx, owner_id, kind, name, webhook)

    def remove_chat_route(self, owner_id: str, name: str) -> Owner:
        """Remove one of the owner's chat routes (SPEC N6)."""
        return chat.remove_chat_route(self.ctx, owner_id, name)

    def delete_device(self, serial: str, *, by: str) -> DeviceDeleted:
        """The owner deletes a device: its shares are revoked, its unsent mail suppressed,
        its event log kept (SPEC S3, S4, S5); see :mod:`.deletion`."""
        return deletion.delete_device(self.ctx, serial, by=by)

    # ------------------------------------------------------------------ licenses

    def issue_code(
        self, code: str, plan: Plan | str, term: Term | str, quantity: int, installer_email: str
    ) -> ActivationCode:
        """Record an activation code of an order and mail it to the installer (SPEC E6,
        E11); see :func:`.codes.issue_code`."""
        return codes.issue_code(self.ctx, code, plan, term, quantity, installer_email)

    def assign_code(
        self, code: str, serial: str, *, by: str, count: int = 1
    ) -> tuple[License, ...]:
        """Assign ``count`` licenses of ``code`` to a device (SPEC E4, E6, S3)."""
        return devices.assign_code(self.ctx, code, serial, by=by, count=count)

    def add_extended_warranty(self, serial: str, warranty: ExtendedWarranty) -> Device:
        """Record an extended warranty (SPEC E7, E8)."""
        return devices.add_extended_warranty(self.ctx, serial, warranty)

    # ------------------------------------------------------------------ resellers

    def invite_reseller(
        self, owner_id: str, reseller_email: str, *, invitation_id: str | None = None
    ) -> InvitationLinks:
        """Invite the owner's reseller (SPEC I1, I2, I5)."""
        return resellers.invite_reseller(
            self.ctx, owner_id, reseller_email, invitation_id=invitation_id
        )

    def respond(self, token: str, action: TokenAction) -> tuple[Invitation, OwnerNotice | None]:
        """A reseller follows a link: accept, decline or unsubscribe (SPEC I2–I5)."""
        return resellers.respond(self.ctx, token, action)

    def unsubscribe(self, token: str) -> Unsubscribed:
        """An unsubscribe link or RFC 8058 one-click POST (SPEC I4, I5, N10)."""
        return resellers.unsubscribe_link(self.ctx, token)

    def view_invitation(
        self, token: str, action: TokenAction = TokenAction.ACCEPT
    ) -> InvitationView:
        """What an accept or decline link is for, changing nothing (SPEC I3, I5)."""
        return link_views.view_invitation(self.ctx, token, action)

    def view_unsubscribe(self, token: str) -> UnsubscribeView:
        """What an unsubscribe link would stop, changing nothing (SPEC I5, N10)."""
        return link_views.view_unsubscribe(self.ctx, token)

    def cancel_invitation(self, owner_id: str) -> Invitation:
        """The owner withdraws a pending invitation (SPEC I1, I3)."""
        return resellers.cancel_invitation(self.ctx, owner_id)

    def disconnect_reseller(self, owner_id: str) -> Invitation:
        """The owner ends the connection (SPEC I1, I6, N7)."""
        return resellers.disconnect_reseller(self.ctx, owner_id)

    def set_reseller_delivery(
        self, reseller_email: str, preference: DeliveryPreference | str | None
    ) -> ResellerDelivery:
        """The reseller's own choice of a daily digest or one mail per notice, for all its
        customers (SPEC N10); ``None`` forgets it. See :mod:`.reseller_delivery`."""
        return reseller_delivery.choose_delivery(self.ctx, reseller_email, preference)

    def set_reseller_delivery_by_link(
        self, token: str, preference: DeliveryPreference | str | None
    ) -> ResellerDelivery:
        """The same choice, made by the reseller through the signed link of a mail it
        received (SPEC N10, I5)."""
        return reseller_delivery.choose_by_link(self.ctx, token, preference)

    def send_reminder(self, serial: str, kind: EventKind, *, by: str) -> Notice:
        """The owner asks their connected reseller to act on an event (SPEC N8, N7)."""
        return resellers.send_reminder(self.ctx, serial, kind, by=by)

    # ------------------------------------------------------------------ sharing

    def share(
        self,
        serial: str,
        user_email: str,
        *,
        by: str,
        via: ShareVia = ShareVia.EMAIL,
        user_has_account: bool = True,
    ) -> ShareInvitation:
        """Share a device with a managed-service user (SPEC S1–S3); the invitation mail
        goes through the outbox with a signed share link."""
        return shares.share(
            self.ctx, serial, user_email, by=by, via=via, user_has_account=user_has_account
        )

    def view_share(self, token: str) -> ShareView:
        """What a share link shows; changes nothing (SPEC S2)."""
        return shares.view_share(self.ctx, token)

    def accept_share_link(
        self, token: str, *, user_has_account: bool | None = None
    ) -> ShareAcceptance:
        """The user accepts a shared device through the link (SPEC S2)."""
        return shares.accept_share_link(self.ctx, token, user_has_account=user_has_account)

    def accept_share(self, serial: str, user_email: str, *, user_has_account: bool = True) -> None:
        """A signed-in user accepts their invitation to a device (SPEC S2)."""
        shares.accept_by_user(self.ctx, serial, user_email, user_has_account=user_has_account)

    def shared_with_me(self, user_email: str) -> tuple[SharedDevice, ...]:
        """Every device shared with the user, across owners, by renewal eligibility."""
        return shares.shared_with_me(self.ctx, user_email)

    def remove_customer_from_view(self, user_email: str, owner_id: str) -> tuple[str, ...]:
        """The user removes one customer's devices from their own view (SPEC S4)."""
        return shares.remove_customer_from_view(self.ctx, user_email, owner_id)

    def revoke_share(self, serial: str, user_email: str, *, by: str) -> None:
        """The owner revokes a share (SPEC S4)."""
        shares.revoke_share(self.ctx, serial, user_email, by=by)

    def remove_from_view(self, serial: str, user_email: str) -> None:
        """A shared user removes the device from their own view (SPEC S4)."""
        shares.remove_device_from_view(self.ctx, serial, user_email)

    def transfer(self, serial: str, new_owner_id: str, *, by: str) -> Device:
        """Transfer a device to another owner; every share of it is revoked (SPEC S4)."""
        return shares.transfer(self.ctx, serial, new_owner_id, by=by)

    def event_log(self, owner_id: str) -> tuple[LogEntry, ...]:
        """The owner's event log, critical first, newest first (SPEC S5)."""
        return shares.event_log(self.ctx, owner_id)

    # ------------------------------------------------------------------ hardware

    def poll(
        self,
        transport: UpsTransport,
        *,
        devices: Sequence[str] | None = None,
        budget: float = polling.DEFAULT_BUDGET,
        workers: int = polling.DEFAULT_WORKERS,
    ) -> PollReport:
        """Read UPS units into storage (SPEC E9, N1, R1, R3): :func:`upslife.app.polling.poll`."""
        return commands.poll(self.ctx, transport, devices=devices, budget=budget, workers=workers)

    def run_command(
        self,
        serial: str,
        command: DeviceCommand,
        *,
        by: str,
        transport: UpsTransport,
        device_name: str,
    ) -> None:
        """Carry out a remote command on a UPS (SPEC E10, S3, S5)."""
        commands.run_command(
            self.ctx, serial, command, by=by, transport=transport, device_name=device_name
        )

    # ------------------------------------------------------------------ reports

    def report_devices(self, owner_id: str, *, user: str) -> Iterator[ReportDevice]:
        """The owner's devices whose reports ``user`` may produce, lazily (SPEC R1–R5)."""
        return reporting.report_devices(self.ctx, owner_id, user=user)

    def report_device(self, serial: str, *, user: str) -> ReportDevice:
        """One device's report input; refused unless ``user`` may see it (SPEC R5)."""
        return reporting.report_device(self.ctx, serial, user=user)

    def send_renewals(
        self,
        owner_id: str,
        *,
        by: str,
        to: str | None = None,
        fmt: ReportFormat | str = ReportFormat.CSV,
    ) -> RenewalsSent:
        """Mail the MyRenewals report, attached as CSV or XLSX, to the connected reseller
        or to ``to`` (SPEC R2, R5, N7); see :mod:`.renewals`."""
        return renewals.send_renewals(self.ctx, owner_id, by=by, to=to, fmt=fmt)

    def today_for(self, owner_id: str) -> date:
        """The owner's local date now (SPEC D1)."""
        return self.ctx.today(self.store.get_owner(canonical_email(owner_id)))

    def sweep(
        self,
        mail: MailSender,
        *,
        chat: ChatSender | None = None,
        on_device: Callable[[str], None] | None = None,
    ) -> SweepReport:
        """The daily job at the clock's "now": plan, digests, deliver (SPEC N1–N10);
        ``on_device`` hears of each due device once planned (a progress display)."""
        return sweep(
            self.store,
            self.catalog,
            mail,
            self.clock.now(),
            chat=chat,
            settings=self.settings,
            log_retention=self.ctx.log_retention,
            on_device=on_device,
        )

    # Outbox inspection and repair: thin delegations to upslife.app.outbox.

    def outbox(
        self,
        *,
        states: Collection[OutboxState] | None = None,
        day: date | None = None,
        owner_id: str | None = None,
    ) -> tuple[OutboxEntry, ...]:
        """The outbox items in ``states`` (all when None), of a day and an owner if given."""
        return list_outbox(self.store, states=states, day=day, owner_id=owner_id)

    def outbox_item(self, key: str) -> OutboxEntry:
        """One outbox item, with why it failed (``item.last_error``)."""
        return show_item(self.store, key)

    def retry_outbox_item(self, key: str) -> OutboxEntry:
        """Make a failed or retrying item ready now; the next sweep delivers it."""
        return retry_item(self.store, key, self.clock.now())

    def requeue_outbox_day(self, day: date, *, owner_id: str | None = None) -> tuple[str, ...]:
        """Make every failed item of owner-local ``day`` ready now; returns their keys."""
        return requeue_day(self.store, day, self.clock.now(), owner_id=owner_id)

