"""Use cases: what other services call. Each reads the store, asks the domain for a
decision, and writes the result in one transaction, so a refused call changes nothing.

The service never reads the system clock itself: "now" comes from its :class:`Clock`
port, and each owner's "today" is the local date at that instant (SPEC D1, D4).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta

import attrs

from upslife.app import payloads
from upslife.app.clock import SystemClock, local_date, require_timezone
from upslife.app.facts import (
    build_facts,
    facts_of,
    refresh_next_notice,
    report_device_of,
    report_devices_of,
)
from upslife.app.mails import invitation_mail
from upslife.app.polling import PollReport, apply_snapshot
from upslife.app.sweep import DeliverySettings, SweepReport, enqueue_mail, sweep, tell_owner
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
    register,
)
from upslife.errors import (
    InvalidInput,
    InvalidType,
    NotPermitted,
    ResellerNotConnected,
    UnknownDevice,
    UpslifeError,
)
from upslife.hardware.snapshot import DeviceCommand, UpsTransport
from upslife.invitations import (
    Invitation,
    Keyring,
    OwnerNotice,
    TokenAction,
    accept,
    cancel,
    decline,
    disconnect,
    invite,
    settle,
    sign,
    unsubscribe,
    verify,
)
from upslife.notifications import EventKind, Notice, Recipient, lifecycle_events, reminder
from upslife.ports import ChatSender, Clock, Device, MailSender, OutboxItem, Owner, Store
from upslife.reports import ReportDevice, authorize_report, reportable
from upslife.sharing import (
    DEFAULT_RETENTION,
    Action,
    Decision,
    EventLog,
    LogEntry,
    Role,
    ShareVia,
    accept_share,
    access,
    add_device,
    authorize,
    invite_share,
    listing,
    remove_from_view,
    revoke,
    transfer_ownership,
)
from upslife.sharing import SharingState as _Sharing

_Step = Callable[[Invitation, datetime], Invitation]
_SharingStep = Callable[[_Sharing, datetime], Decision]

__all__ = ["InvitationLinks", "Lifecycle"]


@attrs.frozen
class InvitationLinks:
    """A reseller invitation and the signed links its email carries (SPEC I5)."""

    invitation: Invitation
    accept_token: str
    decline_token: str
    unsubscribe_token: str


class Lifecycle:
    """The application service: register, assign, invite, share, remind, sweep.

    Args:
        store: any :class:`~upslife.ports.Store` (SQLite, PostgreSQL, memory).
        catalog: the model catalog (SPEC C1); the shipped one by default.
        clock: where "now" comes from; the system clock by default.
        keyring: signing keys for reseller links (SPEC I5); required for invitations.
        promotions: applied when codes are issued and licenses assigned (SPEC E11).
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
    ) -> None:
        self.store = store
        self.catalog = catalog or Catalog.default()
        self.clock = clock or SystemClock()
        self.keyring = keyring
        self.promotions = tuple(promotions)
        self.settings = settings or DeliverySettings(keyring=keyring)

    # ------------------------------------------------------------------ helpers

    def _today(self, owner: Owner, now: datetime | None = None) -> date:
        return local_date(now or self.clock.now(), owner.timezone)

    def _role(self, device: Device, user: str) -> Role | None:
        if user == device.owner_id:
            return Role.OWNER
        return access(self.store.get_sharing(device.owner_id), device.serial, user)

    def _plan(self, device: Device, today: date) -> Plan:
        return self.coverage(device.serial).plan_on(max(today, device.registered_on))

    def _authorize(self, device: Device, user: str, action: Action, today: date) -> Role:
        role = self._role(device, user)
        authorize(role, action, self._plan(device, today), device.serial)
        assert role is not None  # authorize refuses a user without access
        return role

    def _log(self, device: Device, entries: Sequence[LogEntry], today: date) -> None:
        """SPEC S5, E10: every action is logged, except while the device is on BASIC."""
        if entries and self._plan(device, today) is not Plan.BASIC:
            self.store.append_log(device.owner_id, entries)

    def _refresh(self, device: Device, today: date) -> Device:
        facts = facts_of(self.store, self.catalog, device)
        sent = self.store.sent_stages(device.serial)
        return refresh_next_notice(device, facts, sent, after=today - timedelta(days=1))

    # ------------------------------------------------------------------ owners, devices

    def add_owner(self, owner: Owner) -> Owner:
        """Create a customer account; its time zone must be a known IANA name (SPEC D1)."""
        if not isinstance(owner, Owner):
            raise InvalidType(f"add_owner takes an Owner, got {type(owner).__name__}")
        require_timezone(owner.timezone)
        self.store.add_owner(owner)
        self.store.save_sharing(self.store.get_sharing(owner.id))
        return owner

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
    ) -> Device:
        """Register a UPS; it starts its 6-month STANDARD trial (SPEC E2)."""
        owner = self.store.get_owner(owner_id)
        self.catalog.get(model)  # an unknown model is refused before anything is written
        day = on or self._today(owner)
        reg = register(serial, model, day)
        device = Device(
            reg.serial,
            owner.id,
            reg.model,
            reg.registered_on,
            policy=policy,
            battery_installed_on=battery_installed_on,
            manufactured_on=manufactured_on,
        )
        facts = build_facts(device, (), (), self.catalog)
        device = refresh_next_notice(device, facts, (), after=day - timedelta(days=1))
        with self.store.transaction():
            self.store.add_device(device)
            self.store.save_sharing(add_device(self.store.get_sharing(owner.id), reg.serial))
        return device

    def device(self, serial: str) -> Device:
        return self.store.get_device(serial)

    def coverage(self, serial: str) -> Coverage:
        """The device's plan coverage (SPEC E4)."""
        return facts_of(self.store, self.catalog, self.store.get_device(serial)).coverage

    def explain(self, serial: str) -> str:
        """The device's coverage, segment by segment, with reasons (SPEC E12)."""
        return self.coverage(serial).explain()

    def set_battery_install_date(self, serial: str, day: date, *, by: str) -> Device:
        """A new battery: its replace-by date is recomputed from the install date (SPEC E9)."""
        device = self.store.get_device(serial)
        today = self._today(self.store.get_owner(device.owner_id))
        role = self._authorize(device, by, Action.SET_BATTERY_INSTALL_DATE, today)
        updated = attrs.evolve(
            device,
            battery_installed_on=day,
            battery_reported_replace_by=None,
            battery_failure_reported_on=None,
        )
        updated = self._refresh(updated, today)
        entry = LogEntry.succeeded(
            self.clock.now(),
            by,
            role,
            Action.SET_BATTERY_INSTALL_DATE,
            serial,
            f"battery install date set to {day.isoformat()}",
        )
        with self.store.transaction():
            self.store.save_device(updated)
            self._log(updated, [entry], today)
        return updated

    # ------------------------------------------------------------------ licenses

    def issue_code(
        self, code: str, plan: Plan | str, term: Term | str, quantity: int, installer_email: str
    ) -> ActivationCode:
        """Record an activation code of an order (SPEC E6); volume promotions apply (E11)."""
        issued = ActivationCode.issue(
            code, plan, term, quantity, installer_email, promotions=self.promotions
        )
        self.store.add_code(issued)
        return issued

    def assign_code(
        self, code: str, serial: str, *, by: str, count: int = 1
    ) -> tuple[License, ...]:
        """Assign ``count`` licenses of ``code`` to a device (SPEC E4, E6, S3).

        The owner or any user the device is shared with may assign; over-assignment and
        concurrent assignment of the last license are refused and change nothing.
        """
        device = self.store.get_device(serial)
        today = self._today(self.store.get_owner(device.owner_id))
        role = self._authorize(device, by, Action.APPLY_LICENSE, today)
        stored = self.store.get_code(code)
        updated, licenses = stored.assign(today, count, promotions=self.promotions)
        entry = LogEntry.succeeded(
            self.clock.now(),
            by,
            role,
            Action.APPLY_LICENSE,
            serial,
            f"{count} × {stored.plan.title} {stored.term.label} from code {stored.code}",
        )
        with self.store.transaction():
            self.store.save_code(updated, expected_assigned=stored.assigned)
            self.store.add_licenses(serial, licenses)
            self.store.save_device(self._refresh(device, today))
            self._log(device, [entry], today)
        return licenses

    def add_extended_warranty(self, serial: str, warranty: ExtendedWarranty) -> Device:
        """Record an extended warranty (SPEC E7, E8); refused after the warranty ends."""
        device = self.store.get_device(serial)
        today = self._today(self.store.get_owner(device.owner_id))
        with self.store.transaction():
            self.store.add_warranty(serial, warranty)
            updated = self._refresh(device, today)  # validates the timeline (E8)
            self.store.save_device(updated)
        return updated

    # ------------------------------------------------------------------ resellers

    def invite_reseller(
        self, owner_id: str, reseller_email: str, *, invitation_id: str | None = None
    ) -> InvitationLinks:
        """Invite the owner's reseller (SPEC I1, I2, I5); the links expire with the invitation."""
        keyring = self._keyring()
        owner = self.store.get_owner(owner_id)
        now = self.clock.now()
        current = self.store.current_invitation(owner.id)
        expired: OwnerNotice | None = None
        if current is not None:
            current, expired = settle(current, now)
        inv = invite(
            owner.id,
            reseller_email,
            owner.contact.company,
            now,
            current=current,
            invitation_id=invitation_id or secrets.token_urlsafe(12),
        )
        links = InvitationLinks(
            inv,
            sign(keyring, inv.id, TokenAction.ACCEPT, inv.expires_at),
            sign(keyring, inv.id, TokenAction.DECLINE, inv.expires_at),
            sign(
                keyring, inv.id, TokenAction.UNSUBSCRIBE, now + self.settings.unsubscribe_valid_for
            ),
        )
        link = self.settings.link_url
        mail = invitation_mail(
            inv,
            accept_url=link.format(action="accept", token=links.accept_token),
            decline_url=link.format(action="decline", token=links.decline_token),
            unsubscribe_url=self.settings.unsubscribe_url.format(token=links.unsubscribe_token),
        )
        with self.store.transaction():
            if current is not None:
                self.store.save_invitation(current)
                if expired is not None:
                    tell_owner(self.store, owner, expired, now)
            self.store.save_invitation(inv)
            enqueue_mail(self.store, owner, Recipient.reseller(inv.reseller_email), mail, now)
        return links

    def respond(self, token: str, action: TokenAction) -> tuple[Invitation, OwnerNotice | None]:
        """A reseller follows a link: accept, decline or unsubscribe (SPEC I2–I5).

        The token is verified first (tampered, expired, wrong-action or replayed tokens are
        refused); accept and decline tokens are single-use.
        """
        now = self.clock.now()
        verified = verify(self._keyring(), token, action=action, now=now, used=_Used(self.store))
        inv = self.store.get_invitation(verified.invitation_id)
        notice: OwnerNotice | None = None
        if action is TokenAction.ACCEPT:
            updated = accept(inv, now)
        elif action is TokenAction.DECLINE:
            updated, notice = decline(inv, now)
        else:
            updated, notice = unsubscribe(inv, now)
        with self.store.transaction():
            if action.single_use:
                self.store.use_token(verified.token_id)
            self.store.save_invitation(updated)
            if notice is not None:
                tell_owner(self.store, self.store.get_owner(updated.owner_id), notice, now)
        return updated, notice

    def cancel_invitation(self, owner_id: str) -> Invitation:
        return self._owner_transition(owner_id, cancel)

    def disconnect_reseller(self, owner_id: str) -> Invitation:
        """The owner ends the connection: no notice reaches the reseller after (SPEC I1, N7)."""
        return self._owner_transition(owner_id, disconnect)

    def _owner_transition(self, owner_id: str, step: _Step) -> Invitation:
        inv = self.store.current_invitation(owner_id)
        if inv is None:
            raise ResellerNotConnected(f"owner {owner_id} has no reseller invitation (SPEC I1)")
        updated = step(inv, self.clock.now())
        self.store.save_invitation(updated)
        return updated

    def _keyring(self) -> Keyring:
        if self.keyring is None:
            raise InvalidInput("reseller links need a signing keyring (configure secrets, SPEC I5)")
        return self.keyring

    # ------------------------------------------------------------------ sharing

    def share(
        self,
        serial: str,
        user_email: str,
        *,
        by: str,
        via: ShareVia = ShareVia.EMAIL,
        user_has_account: bool = True,
    ) -> bool:
        """Share a device with a managed-service user (SPEC S1–S3); returns whether the
        user must sign up first (S2)."""
        device = self.store.get_device(serial)
        today = self._today(self.store.get_owner(device.owner_id))
        state = self.store.get_sharing(device.owner_id)
        decision = invite_share(
            state,
            serial,
            self._plan(device, today),
            user_email,
            self.clock.now(),
            via=via,
            user_has_account=user_has_account,
            by=by,
        )
        with self.store.transaction():
            self.store.save_sharing(decision.state)
            self._log(device, decision.entries, today)
        return decision.needs_sign_up

    def accept_share(self, serial: str, user_email: str) -> None:
        """A user accepts a share invitation (SPEC S2)."""
        device = self.store.get_device(serial)
        today = self._today(self.store.get_owner(device.owner_id))
        decision = accept_share(
            self.store.get_sharing(device.owner_id),
            serial,
            user_email,
            self.clock.now(),
            user_has_account=True,
        )
        with self.store.transaction():
            self.store.save_sharing(decision.state)
            self._log(device, decision.entries, today)

    def revoke_share(self, serial: str, user_email: str, *, by: str) -> None:
        """The owner revokes a share (SPEC S4)."""
        self._sharing_step(serial, lambda s, now: revoke(s, serial, user_email, by, now))

    def remove_from_view(self, serial: str, user_email: str) -> None:
        """A shared user removes the device from their own view (SPEC S4)."""
        self._sharing_step(serial, lambda s, now: remove_from_view(s, serial, user_email, now))

    def transfer(self, serial: str, new_owner_id: str, *, by: str) -> Device:
        """Transfer a device to another owner; every share of it is revoked (SPEC S4)."""
        device = self.store.get_device(serial)
        new_owner = self.store.get_owner(new_owner_id)
        today = self._today(self.store.get_owner(device.owner_id))
        decision = transfer_ownership(
            self.store.get_sharing(device.owner_id), serial, new_owner.id, by, self.clock.now()
        )
        moved = attrs.evolve(device, owner_id=new_owner.id)
        with self.store.transaction():
            self.store.save_sharing(decision.state)
            self.store.save_sharing(add_device(self.store.get_sharing(new_owner.id), serial))
            self._log(device, decision.entries, today)
            self.store.save_device(moved)
        return moved

    def _sharing_step(self, serial: str, step: _SharingStep) -> None:
        device = self.store.get_device(serial)
        today = self._today(self.store.get_owner(device.owner_id))
        decision = step(self.store.get_sharing(device.owner_id), self.clock.now())
        with self.store.transaction():
            self.store.save_sharing(decision.state)
            self._log(device, decision.entries, today)

    def event_log(self, owner_id: str) -> tuple[LogEntry, ...]:
        """The owner's event log, critical first, newest first within a severity (SPEC S5)."""
        now = self.clock.now()
        entries = self.store.log_of(owner_id, since=now - DEFAULT_RETENTION)
        return listing(EventLog(entries), now)

    # ------------------------------------------------------------------ notices

    def send_reminder(self, serial: str, kind: EventKind, *, by: str) -> Notice:
        """The owner asks their connected reseller to act on an event (SPEC N8, N7)."""
        device = self.store.get_device(serial)
        owner = self.store.get_owner(device.owner_id)
        if self._role(device, by) is not Role.OWNER:
            raise NotPermitted(self._role(device, by), Action.VIEW, serial)
        now = self.clock.now()
        today = self._today(owner, now)
        facts = facts_of(self.store, self.catalog, device)
        events = lifecycle_events(facts)
        candidates = [e for e in events if e.kind is kind]
        if not candidates:
            raise UnknownDevice(f"device {serial} has no open {kind.value} event")
        inv = self.store.current_invitation(owner.id)
        state = inv.state_at(now) if inv else None
        notice = reminder(
            candidates[0],
            today,
            current_events=events,
            owner=owner.contact,
            reseller_email=inv.reseller_email if inv else None,
            reseller_state=state,
        )
        self.store.enqueue(
            [
                OutboxItem(
                    key=notice.key,
                    serial=serial,
                    owner_id=owner.id,
                    recipient=notice.recipient,
                    day=today,
                    payload=payloads.encode(notice),
                    next_attempt_at=now,
                )
            ],
            (),
        )
        return notice

    # ------------------------------------------------------------------ hardware

    def poll(self, transport: UpsTransport) -> PollReport:
        """Read every UPS the transport reaches and fold the readings into storage.

        Battery dates follow SPEC E9, an ``RB`` flag raises the battery-failure event
        (SPEC N1) and the device's next notice date is recomputed, so the next sweep sends
        it. A UPS whose serial is not registered is reported, not stored; one that cannot
        be read is reported with the reason and the poll goes on.
        """
        now = self.clock.now()
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
                device = self.store.get_device(snapshot.serial)
            except UnknownDevice:
                unknown.append(snapshot.serial)
                continue
            today = self._today(self.store.get_owner(device.owner_id), now)
            changed = self._refresh(apply_snapshot(device, snapshot, today), today)
            self.store.save_device(changed)
            updated.append(device.serial)
            if snapshot.battery_failed:
                failures.append(device.serial)
        return PollReport(read, tuple(updated), tuple(unknown), tuple(failed), tuple(failures))

    def run_command(
        self,
        serial: str,
        command: DeviceCommand,
        *,
        by: str,
        transport: UpsTransport,
        device_name: str,
    ) -> None:
        """Carry out a remote command on a UPS (SPEC E10, S3, S5).

        The user's privilege and the device's plan are checked before any byte is sent;
        a refusal and a transport failure are logged as well as a success. Setting the
        battery install date also records it (SPEC E9).
        """
        device = self.store.get_device(serial)
        today = self._today(self.store.get_owner(device.owner_id))
        action = command.command.action
        now = self.clock.now()
        try:
            role = self._authorize(device, by, action, today)
        except UpslifeError as e:
            self._log(
                device,
                [LogEntry.refused(now, by, self._role(device, by), action, serial, e)],
                today,
            )
            raise
        try:
            transport.run_command(device_name, command)
        except UpslifeError as e:
            self._log(device, [LogEntry.refused(now, by, role, action, serial, e)], today)
            raise
        entry = LogEntry.succeeded(now, by, role, action, serial, command.command.name.lower())
        updated = device
        if command.battery_installed_on is not None:
            updated = attrs.evolve(
                device,
                battery_installed_on=command.battery_installed_on,
                battery_reported_replace_by=None,
                battery_failure_reported_on=None,
            )
            updated = self._refresh(updated, today)
        with self.store.transaction():
            self.store.save_device(updated)
            self._log(device, [entry], today)

    # ------------------------------------------------------------------ reports

    def report_devices(self, owner_id: str, *, user: str) -> Iterator[ReportDevice]:
        """The owner's devices whose reports ``user`` may produce, lazily (SPEC R1–R5).

        The owner and users a device is shared with see it; anyone else sees nothing.
        """
        devices = report_devices_of(self.store, self.catalog, owner_id)
        if user == owner_id:  # the owner sees every device: no need to load the sharing state
            return devices
        return reportable(self.store.get_sharing(owner_id), devices, user)

    def report_device(self, serial: str, *, user: str) -> ReportDevice:
        """One device's report input; refused unless ``user`` may see it (SPEC R5)."""
        device = self.store.get_device(serial)
        authorize_report(self.store.get_sharing(device.owner_id), serial, user)
        return report_device_of(
            device,
            self.store.licenses_of(serial),
            self.store.warranties_of(serial),
            self.catalog,
        )

    def today_for(self, owner_id: str) -> date:
        """The owner's local date now (SPEC D1)."""
        return self._today(self.store.get_owner(owner_id))

    def sweep(self, mail: MailSender, *, chat: ChatSender | None = None) -> SweepReport:
        """The daily job at the clock's "now": plan, digests, deliver (SPEC N1–N10)."""
        return sweep(
            self.store, self.catalog, mail, self.clock.now(), chat=chat, settings=self.settings
        )


class _Used:
    """The store's used-token table as the ``used`` container :func:`verify` expects."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __contains__(self, token_id: object) -> bool:
        return isinstance(token_id, str) and self._store.token_used(token_id)
