"""Ports: what the application layer needs from the outside world, in domain words.

Each port is a small :class:`typing.Protocol`; adapters (``upslife.adapters``, the shipped
in-memory store in ``upslife.testing``, the UPS transports in ``upslife.hardware``)
implement them, and the application layer (``upslife.app``) only ever talks to these.
The records here are the data the ports exchange: frozen values, no behaviour.

Error contract for every adapter:

- a name that does not exist raises the matching :class:`~upslife.errors.NotFound`
  subclass (:class:`~upslife.errors.UnknownDevice`, ...);
- a duplicate raises :class:`~upslife.errors.AlreadyExists` (or
  :class:`~upslife.errors.AlreadyRegistered` for a serial);
- anything the driver raises is translated to :class:`~upslife.errors.StorageError`
  (``raise StorageError(...) from e``), so callers never see a driver's own exception;
- a failed call changes nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime
from email.message import Message
from typing import Final, Protocol, final, runtime_checkable

import attrs

from upslife._validation import require_text, require_timezone
from upslife.entitlements import ActivationCode, ExtendedWarranty, License, UpgradePolicy
from upslife.hardware.snapshot import DeviceSnapshot, UpsTransport
from upslife.invitations import Invitation, InvitationState, Keyring, ResellerPrompt
from upslife.notifications import ChatRoute, Contact, DeliveryPreference, Recipient, SentStage
from upslife.rendering.templates import Templates
from upslife.reports import Vitals
from upslife.sharing import LogEntry, SharingState

__all__ = [
    "STALE",
    "ChatSender",
    "Clock",
    "CodeStore",
    "DeliveryStatus",
    "Device",
    "DeviceSnapshot",
    "DeviceStore",
    "EventLogStore",
    "InvitationStore",
    "MailSender",
    "Outbox",
    "OutboxItem",
    "Owner",
    "OwnerStore",
    "RecipientStore",
    "ScheduleEntry",
    "ScheduleStore",
    "SelfChecking",
    "SharingStore",
    "Store",
    "TokenSecrets",
    "UpsTransport",
]

# The UPS transport port and the reading it returns are defined beside the transports
# (``upslife.hardware.snapshot``, pure values and a Protocol) and re-exported here so all
# ports are found in one place.

# --------------------------------------------------------------------------- records


@final
@attrs.frozen
class Owner:
    """A customer account: the owner of devices (SPEC N6, I1, S1).

    ``id`` is the owner's account email, as :mod:`upslife.sharing` names people.
    ``timezone`` is an IANA name: lifecycle dates are the owner's local dates (SPEC D1).
    ``chat_webhooks`` maps each chat route's name to its incoming-webhook URL.
    ``email_templates`` are the owner's customized emails (SPEC E10), used for the
    devices whose plan has the feature; ``None``: the service's templates.
    """

    id: str
    contact: Contact
    timezone: str = "UTC"
    chat_routes: tuple[ChatRoute, ...] = ()
    chat_webhooks: tuple[tuple[str, str], ...] = ()
    owner_delivery: DeliveryPreference = DeliveryPreference.IMMEDIATE
    reseller_delivery: DeliveryPreference = DeliveryPreference.IMMEDIATE
    reseller_prompt: ResellerPrompt = attrs.field(factory=ResellerPrompt)
    email_templates: Templates | None = None

    def __attrs_post_init__(self) -> None:
        require_text(self.id, "owner id", max_length=254)
        require_timezone(self.timezone, "timezone")

    def webhook_for(self, route: str) -> str | None:
        """The webhook URL configured for the route named ``route``, if any."""
        return dict(self.chat_webhooks).get(route)


@final
@attrs.frozen
class Device:
    """A registered UPS and what the store knows of it (SPEC E2, E9, N1).

    ``vitals`` is what the UPS last reported of itself (polling, SPEC R1, R3).
    ``next_notice_on`` is derived: the owner-local day on which the device next has a
    notice to send (``None``: nothing scheduled). The application layer recomputes it
    whenever the device changes, and stores index it so a sweep reads only due devices.
    """

    serial: str
    owner_id: str
    model: str
    registered_on: date
    policy: UpgradePolicy = UpgradePolicy.DEFER
    battery_installed_on: date | None = None
    battery_reported_replace_by: date | None = None
    battery_failure_reported_on: date | None = None
    manufactured_on: date | None = None
    firmware: str | None = None
    next_notice_on: date | None = None
    vitals: Vitals | None = None


class DeliveryStatus(enum.Enum):
    """Where an outbox item is in its life."""

    PENDING = "pending"  # waiting to be delivered (again, after a failure)
    SENT = "sent"  # handed to the mail server or webhook
    SUPPRESSED = "suppressed"  # not sent, on purpose (consent withdrawn: SPEC N7)
    FAILED = "failed"  # given up after the last attempt
    DIGESTED = "digested"  # folded into a daily digest item (SPEC N10)


@final
@attrs.frozen
class OutboxItem:
    """One message waiting in, or gone from, the outbox (SPEC N9).

    ``key`` is the notice's (or digest's) idempotency key and is unique in the outbox:
    adding an item whose key exists changes nothing. ``payload`` is the notice serialized
    by the application layer; stores keep it opaque. ``day`` is the owner-local day the
    notice is for.
    """

    key: str
    serial: str | None
    owner_id: str
    recipient: Recipient
    day: date
    payload: str
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    last_error: str | None = None
    digest_key: str | None = None


# --------------------------------------------------------------------------- clock, secrets


STALE: Final = ""
"""The ``doc`` of a schedule entry a store has invalidated: every write of a device, its
licenses or its warranties marks the device's entry stale (mirroring the device's owner and
``next_notice_on``) until the application stores a fresh one; the plan recomputes a stale
entry from the stored facts. So no write path can leave the schedule disagreeing."""


@final
@attrs.frozen
class ScheduleEntry:
    """One device's stored lifecycle schedule (SPEC N1, N2, N4): the application computes it
    when the device changes and the daily plan reads it instead of recomputing coverage.

    ``next_on`` is the owner-local day the device next has a stage to send (``None``:
    nothing scheduled), the column a store indexes. ``doc`` is the application's encoding
    of the events, the stages each has sent and the plan timeline
    (:mod:`upslife.app.schedule`); a store keeps it as it is, like an outbox payload.
    """

    serial: str
    owner_id: str
    next_on: date | None
    doc: str


class Clock(Protocol):
    """The current instant; the only place the application reads time (SPEC D4)."""

    def now(self) -> datetime:
        """An aware ``datetime`` (UTC)."""
        ...


class TokenSecrets(Protocol):
    """The signing keys for reseller links (SPEC I5), from configuration."""

    def keyring(self) -> Keyring: ...


# --------------------------------------------------------------------------- senders


class MailSender(Protocol):
    """Delivers RFC 5322 messages.

    ``send`` either hands the message over for delivery or raises
    :class:`~upslife.errors.DeliveryFailed`: ``permanent`` false for a failure worth
    retrying (server down, 4xx), true for a refusal (5xx). Sending the same message twice
    may deliver it twice; its ``Message-ID`` lets the receiving side drop the copy.
    """

    def send(self, message: Message) -> None: ...


@runtime_checkable
class SelfChecking(Protocol):
    """A sender that can tell, before a sweep claims anything, whether it can deliver.

    ``check`` returns when all is well; it raises :class:`~upslife.errors.DeliveryFailed`,
    ``permanent`` when the settings are wrong (no STARTTLS, login refused: nothing will
    ever be sent so) and not permanent when the peer is unreachable now.
    """

    def check(self) -> None: ...


class ChatSender(Protocol):
    """Posts a JSON message to an incoming webhook (Slack or Teams); errors as for mail."""

    def post(self, url: str, payload: dict[str, object]) -> None: ...


# --------------------------------------------------------------------------- storage


class OwnerStore(Protocol):
    def add_owner(self, owner: Owner) -> None:
        """Add an owner; an existing id raises ``AlreadyExists``."""
        ...

    def get_owner(self, owner_id: str) -> Owner:
        """The owner; an unknown id raises ``UnknownOwner``."""
        ...

    def save_owner(self, owner: Owner) -> None:
        """Replace an existing owner's record; unknown raises ``UnknownOwner``."""
        ...

    def get_owners(self, owner_ids: Sequence[str]) -> dict[str, Owner]:
        """The known owners among ``owner_ids``, by id, in one read (a page of the daily
        plan); an unknown id is left out."""
        ...


class DeviceStore(Protocol):
    def add_device(self, device: Device) -> None:
        """Add a device; a known serial raises ``AlreadyRegistered`` (SPEC E2)."""
        ...

    def get_device(self, serial: str) -> Device:
        """The device; an unknown serial raises ``UnknownDevice``."""
        ...

    def save_device(self, device: Device) -> None:
        """Replace an existing device's record (owner, battery, next notice date...)."""
        ...

    def devices_of(
        self, owner_id: str, *, after: str | None = None, limit: int | None = None
    ) -> tuple[Device, ...]:
        """The owner's devices, by serial; with ``after`` and ``limit``, one page of them
        (serials after ``after``, at most ``limit``), so a 100,000-device owner can be
        read a page at a time instead of held in memory whole (reports, SPEC R1–R5)."""
        ...

    def devices_due(
        self, on_or_before: date, *, after: str | None = None, limit: int = 500
    ) -> tuple[Device, ...]:
        """Devices whose ``next_notice_on`` is on or before the day, by serial, after
        ``after``: the index a daily sweep reads, so its cost follows the notices due."""
        ...

    def count_devices(self) -> int: ...

    def delete_device(self, serial: str, *, reason: str, at: datetime) -> int:
        """Remove the device with its licenses, extended warranties and recorded stages
        (SPEC S3: the owner deletes a device). Its outbox items still PENDING (held for a
        digest included) become SUPPRESSED with ``reason`` at ``at``, so nothing more is
        sent about it; items already sent, failed, suppressed or digested stay, as the
        record of what went out. The event log is the owner's and is not touched.
        Returns how many items were suppressed; an unknown serial raises
        ``UnknownDevice`` and changes nothing. The serial may then be registered anew."""
        ...

    def remember_first_registration(self, serial: str, registered_on: date) -> None:
        """Remember that ``serial`` was registered on ``registered_on``, for good: the
        record outlives the device, so registering the serial again after a deletion
        does not restart its trial (SPEC E2, docs/application.md). The earliest day
        wins: a later day than the one remembered changes nothing."""
        ...

    def first_registered_on(self, serial: str) -> date | None:
        """The day :meth:`remember_first_registration` keeps for ``serial``, or ``None``
        for a serial never remembered (whether or not it is registered now)."""
        ...

    def add_licenses(self, serial: str, licenses: Sequence[License]) -> None:
        """Attach licenses to a device; a known license id raises ``AlreadyExists``."""
        ...

    def licenses_of(self, serial: str) -> tuple[License, ...]:
        """The device's licenses in the order they were added."""
        ...

    def add_warranty(self, serial: str, warranty: ExtendedWarranty) -> None: ...

    def warranties_of(self, serial: str) -> tuple[ExtendedWarranty, ...]: ...

    def entitlements_of(
        self, serials: Sequence[str]
    ) -> dict[str, tuple[tuple[License, ...], tuple[ExtendedWarranty, ...]]]:
        """The licenses and warranties of each of ``serials`` (in the order added), read
        in one query, not two per device: a report reads a page of devices at a time
        (SPEC R1–R5). Every serial asked for is a key; one with none (or unknown) maps to
        two empty tuples."""
        ...


class CodeStore(Protocol):
    def add_code(self, code: ActivationCode) -> None:
        """Add an activation code; a known code raises ``AlreadyExists``."""
        ...

    def get_code(self, code: str) -> ActivationCode:
        """The code; unknown raises ``UnknownCode``."""
        ...

    def save_code(self, code: ActivationCode, *, expected_assigned: int) -> None:
        """Store the code's new count only if the stored count is still
        ``expected_assigned``; otherwise raise ``ConcurrentUpdate`` and change nothing
        (two devices assigned from one code at once can never over-assign it, SPEC E6)."""
        ...


class InvitationStore(Protocol):
    def save_invitation(
        self, invitation: Invitation, *, expected: Invitation | None = None
    ) -> None:
        """Insert or replace an invitation, by id. With ``expected`` it is a
        compare-and-set: the invitation is replaced only if the stored one is still
        ``expected``, else ``ConcurrentUpdate`` is raised and nothing changes, so two
        transitions raced from two processes never both win (SPEC I1–I3)."""
        ...

    def get_invitation(self, invitation_id: str) -> Invitation:
        """The invitation; unknown raises ``UnknownInvitation``."""
        ...

    def current_invitation(self, owner_id: str) -> Invitation | None:
        """The owner's most recently sent invitation, if any (SPEC I1)."""
        ...

    def current_invitations(self, owner_ids: Sequence[str]) -> dict[str, Invitation]:
        """:meth:`current_invitation` of each of ``owner_ids`` in one read; an owner never
        invited is left out."""
        ...

    def pending_invitations(self, *, sent_before: datetime) -> tuple[Invitation, ...]:
        """Invitations stored as PENDING and sent before the instant, by id: those past
        their 7 days are due to expire, with a notice to the owner (SPEC I2, I4)."""
        ...

    def has_invitation_in(self, state: InvitationState) -> bool:
        """Whether any invitation is stored in ``state``: a sweep's preflight asks for
        ACCEPTED, since a connected reseller's notices need the signing keyring (SPEC I5)."""
        ...

    def use_token(self, token_id: str) -> None:
        """Record a single-use token as used; a second use raises ``AlreadyExists``."""
        ...

    def token_used(self, token_id: str) -> bool: ...


class SharingStore(Protocol):
    def get_sharing(self, owner_id: str) -> SharingState:
        """The owner's sharing state (empty for an owner with none)."""
        ...

    def save_sharing(self, state: SharingState, *, expected: SharingState | None = None) -> None:
        """Insert or replace the owner's sharing state; with ``expected``, a compare-and-set
        like :meth:`InvitationStore.save_invitation` (an owner with no stored state has
        the empty one), raising ``ConcurrentUpdate`` if another change came first."""
        ...

    def sharing_with(self, user: str) -> tuple[SharingState, ...]:
        """The sharing states, by owner, that hold a share (in any state) with ``user``:
        what a managed-service user's "Shared with me" list is built from (SPEC S3)."""
        ...


class RecipientStore(Protocol):
    def set_delivery(self, recipient: Recipient, preference: DeliveryPreference | None) -> None:
        """Record how ``recipient`` (by kind and address) chose to take its notices (SPEC
        N10): a reseller with many customers chooses once for all of them. ``None``
        forgets the choice. Setting it again replaces it."""
        ...

    def delivery_of(self, recipient: Recipient) -> DeliveryPreference | None:
        """The recipient's own choice, or ``None`` if it never chose."""
        ...


class EventLogStore(Protocol):
    def append_log(self, owner_id: str, entries: Sequence[LogEntry]) -> None: ...

    def log_of(self, owner_id: str, *, since: datetime) -> tuple[LogEntry, ...]:
        """Entries at or after ``since``, oldest first."""
        ...

    def prune_log(self, before: datetime) -> int:
        """Delete entries older than ``before``; returns how many (SPEC S5 retention)."""
        ...


class Outbox(Protocol):
    def sent_stages(self, serial: str) -> tuple[SentStage, ...]:
        """The stages already planned for the device's events (SPEC N4)."""
        ...

    def enqueue(
        self,
        items: Sequence[OutboxItem],
        sent: Sequence[SentStage],
        *,
        device: Device | None = None,
        schedule: ScheduleEntry | None = None,
        schedules: Sequence[ScheduleEntry] = (),
    ) -> int:
        """In one transaction: add the items whose key is new, record the stages, and
        save ``device`` (its new ``next_notice_on``) and ``schedule`` (the device's updated
        schedule entry). Returns the number of items added.
        Idempotent: a re-run with the same keys adds nothing (SPEC N9).

        ``schedules`` saves more entries in the same transaction: the daily plan writes a
        whole page of due devices (items, stages and entries of many devices) in one call,
        so a page costs a few statements, not a few per device."""
        ...

    def claim(
        self, now: datetime, *, worker: str, limit: int, lease_seconds: float = 300.0
    ) -> tuple[OutboxItem, ...]:
        """Claim up to ``limit`` PENDING items whose ``next_attempt_at`` has come, for
        ``lease_seconds``: no other worker gets them until the lease ends. On PostgreSQL
        this is ``FOR UPDATE SKIP LOCKED``, so workers never claim the same item."""
        ...

    def mark_sent(self, key: str, at: datetime) -> None: ...

    def mark_failed(
        self, key: str, *, error: str, retry_at: datetime | None, at: datetime
    ) -> None:
        """Count a failed attempt; ``retry_at`` None means give up (status FAILED)."""
        ...

    def mark_suppressed(self, key: str, *, reason: str, at: datetime) -> None: ...

    def fold_into_digest(self, digest: OutboxItem, member_keys: Sequence[str]) -> None:
        """In one transaction: add the digest item and mark the members DIGESTED."""
        ...

    def items(
        self, *, status: DeliveryStatus | None = None, owner_id: str | None = None
    ) -> tuple[OutboxItem, ...]:
        """Outbox items, by key (for reports, digests and tests)."""
        ...

    def get_item(self, key: str) -> OutboxItem:
        """The outbox item stored under ``key``; unknown raises ``NotFound``."""
        ...

    def requeue(self, keys: Sequence[str], *, at: datetime) -> int:
        """Make the PENDING or FAILED items among ``keys`` PENDING again, ready at ``at``,
        their lease ended (attempts and last error kept: the history stays readable).
        SENT, SUPPRESSED and DIGESTED items are left alone. Returns how many changed; an
        unknown key raises ``NotFound`` and changes nothing."""
        ...


class ScheduleStore(Protocol):
    def save_schedule(self, entry: ScheduleEntry) -> None:
        """Insert or replace the device's schedule entry; unknown device ``UnknownDevice``."""
        ...

    def get_schedule(self, serial: str) -> ScheduleEntry | None:
        """The device's schedule entry, ``None`` if none was stored."""
        ...

    def schedule_due(
        self, on_or_before: date, *, after: str | None = None, limit: int = 500
    ) -> tuple[ScheduleEntry, ...]:
        """Entries whose ``next_on`` is on or before the day, by serial, after ``after``,
        read through an index on ``next_on``: the daily plan's input."""
        ...

    def all_devices(
        self, *, after: str | None = None, limit: int = 500
    ) -> tuple[Device, ...]:
        """Every device, by serial, after ``after``, at most ``limit``: a rebuild's input."""
        ...

    def schedule_stamp(self) -> str | None:
        """What the stored schedule was built with (rules version and catalog), or None."""
        ...

    def set_schedule_stamp(self, stamp: str) -> None: ...


class Store(
    OwnerStore,
    DeviceStore,
    CodeStore,
    InvitationStore,
    SharingStore,
    RecipientStore,
    EventLogStore,
    Outbox,
    ScheduleStore,
    Protocol,
):
    """Everything the application stores. ``transaction()`` groups calls: inside it they
    commit together or, if the block raises, not at all (calls outside one are each atomic).
    """

    def transaction(self) -> AbstractContextManager[None]: ...

    def close(self) -> None: ...
