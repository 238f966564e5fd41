"""``MemoryStore``: the whole :class:`~upslife.ports.Store` in memory, for tests.

Real, shipped code: it passes the same contract suite (:mod:`upslife.testing.contract`) as
the SQLite and PostgreSQL stores and raises exactly the same errors, so a test written
against it says something true of production. It keeps no files and no threads; it is
safe to share between threads (every call holds one lock).

Atomicity is by snapshot: every call and every :meth:`MemoryStore.transaction` block
works on the live state after taking a (shallow) copy of it, and puts the copy back if it
raises. Stored values are immutable, so a shallow copy is a full one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import attrs

from upslife._validation import MAX_SERIAL, require_text
from upslife.adapters._codec import (
    check_day,
    check_instant,
    check_item,
    check_keys,
    check_limit,
    check_schedule,
    lease_end,
    ready_at,
    to_doc,
)
from upslife.entitlements import ActivationCode, ExtendedWarranty, License
from upslife.errors import (
    AlreadyExists,
    AlreadyRegistered,
    ConcurrentUpdate,
    InvalidInput,
    NotFound,
    StorageError,
    UnknownCode,
    UnknownDevice,
    UnknownInvitation,
    UnknownOwner,
)
from upslife.invitations import Invitation, InvitationState
from upslife.notifications import (
    DeliveryPreference,
    EventKind,
    Recipient,
    RecipientKind,
    SentStage,
    Stage,
)
from upslife.ports import STALE, DeliveryStatus, Device, OutboxItem, Owner, ScheduleEntry
from upslife.sharing import LogEntry, SharingState

__all__ = ["MemoryStore"]

_log = logging.getLogger(__name__)

_StageKey = tuple[str, EventKind, date, Stage]


@attrs.frozen
class _Row:
    """An outbox item and its lease, as the store keeps it."""

    item: OutboxItem
    claimed_until: datetime | None = None
    claimed_by: str | None = None

    def with_item(self, **changes: Any) -> _Row:
        """The row with ``changes`` made to the item and the lease ended."""
        return _Row(attrs.evolve(self.item, **changes))


@attrs.define
class _State:
    owners: dict[str, Owner] = attrs.Factory(dict)
    devices: dict[str, Device] = attrs.Factory(dict)
    licenses: dict[str, tuple[License, ...]] = attrs.Factory(dict)  # by serial
    license_ids: set[str] = attrs.Factory(set)
    warranties: dict[str, tuple[ExtendedWarranty, ...]] = attrs.Factory(dict)  # by serial
    warranty_ids: set[str] = attrs.Factory(set)
    codes: dict[str, ActivationCode] = attrs.Factory(dict)
    invitations: dict[str, Invitation] = attrs.Factory(dict)
    tokens: set[str] = attrs.Factory(set)
    sharing: dict[str, SharingState] = attrs.Factory(dict)
    deliveries: dict[tuple[RecipientKind, str], DeliveryPreference] = attrs.Factory(dict)
    log: tuple[tuple[str, LogEntry], ...] = ()
    stages: dict[_StageKey, SentStage] = attrs.Factory(dict)  # in the order recorded
    outbox: dict[str, _Row] = attrs.Factory(dict)
    schedule: dict[str, ScheduleEntry] = attrs.Factory(dict)
    stamp: str | None = None
    first_registered: dict[str, date] = attrs.Factory(dict)  # by serial, kept on deletion

    def copy(self) -> _State:
        return _State(
            dict(self.owners),
            dict(self.devices),
            dict(self.licenses),
            set(self.license_ids),
            dict(self.warranties),
            set(self.warranty_ids),
            dict(self.codes),
            dict(self.invitations),
            set(self.tokens),
            dict(self.sharing),
            dict(self.deliveries),
            self.log,
            dict(self.stages),
            dict(self.outbox),
            dict(self.schedule),
            self.stamp,
            dict(self.first_registered),
        )


def _recipient_key(
    recipient: Recipient, preference: DeliveryPreference | None
) -> tuple[RecipientKind, str]:
    if not isinstance(recipient, Recipient):
        raise InvalidInput(f"expected a Recipient, got {type(recipient).__name__}")
    if preference is not None and not isinstance(preference, DeliveryPreference):
        raise InvalidInput(f"expected a DeliveryPreference, got {preference!r}")
    return recipient.kind, recipient.address


class MemoryStore:
    """A :class:`~upslife.ports.Store` held in memory; state is lost on :meth:`close`.

    >>> from datetime import date
    >>> store = MemoryStore()
    >>> store.add_device(Device("AS1", "ann@example.com", "SMT1500", date(2025, 1, 31)))
    >>> store.count_devices()
    1
    """

    def __init__(self) -> None:
        self._state = _State()
        self._lock = threading.RLock()
        self._closed = False

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group calls: if the block raises, the store is as it was before the block.

        Blocks nest; an inner block that raises undoes only its own work (and the outer
        block undoes everything if the exception reaches it).
        """
        with self._atomic():
            yield

    @contextmanager
    def _atomic(self) -> Iterator[None]:
        with self._lock:
            self._check_open()
            snapshot = self._state.copy()
            try:
                yield
            except BaseException:
                self._state = snapshot
                raise

    @contextmanager
    def _reading(self) -> Iterator[None]:
        with self._lock:
            self._check_open()
            yield

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("the store is closed")

    def close(self) -> None:
        """Drop the state; every later call raises :class:`~upslife.errors.StorageError`."""
        with self._lock:
            self._closed = True
            self._state = _State()

    # ------------------------------------------------------------------ owners

    def add_owner(self, owner: Owner) -> None:
        """Add an owner; an existing id raises ``AlreadyExists``."""
        with self._atomic():
            to_doc(owner)
            if owner.id in self._state.owners:
                raise AlreadyExists(f"owner {owner.id} exists already")
            self._state.owners[owner.id] = owner

    def get_owner(self, owner_id: str) -> Owner:
        """The owner; an unknown id raises ``UnknownOwner``."""
        with self._reading():
            try:
                return self._state.owners[owner_id]
            except KeyError:
                raise UnknownOwner(f"no owner {owner_id}") from None

    def get_owners(self, owner_ids: Sequence[str]) -> dict[str, Owner]:
        """The known owners among ``owner_ids``, by id; unknown ids are left out."""
        wanted = check_keys(owner_ids, "owner_ids")
        with self._reading():
            return {i: self._state.owners[i] for i in wanted if i in self._state.owners}

    def save_owner(self, owner: Owner) -> None:
        """Replace an existing owner's record; unknown raises ``UnknownOwner``."""
        with self._atomic():
            to_doc(owner)
            if owner.id not in self._state.owners:
                raise UnknownOwner(f"no owner {owner.id}")
            self._state.owners[owner.id] = owner

    # ------------------------------------------------------------------ devices

    def add_device(self, device: Device) -> None:
        """Add a device; a known serial raises ``AlreadyRegistered`` (SPEC E2)."""
        with self._atomic():
            to_doc(device)
            if device.serial in self._state.devices:
                raise AlreadyRegistered(f"device {device.serial} is registered already")
            self._state.devices[device.serial] = device
            self._mark_stale(device)

    def get_device(self, serial: str) -> Device:
        """The device; an unknown serial raises ``UnknownDevice``."""
        with self._reading():
            return self._device(serial)

    def _device(self, serial: str) -> Device:
        try:
            return self._state.devices[serial]
        except KeyError:
            raise UnknownDevice(f"no device with serial {serial}") from None

    def save_device(self, device: Device) -> None:
        """Replace an existing device's record; unknown raises ``UnknownDevice``."""
        with self._atomic():
            to_doc(device)
            self._device(device.serial)
            self._state.devices[device.serial] = device
            self._mark_stale(device)

    def _mark_stale(self, device: Device) -> None:
        """The written device's schedule entry is out of date (``STALE``) and mirrors the
        device's owner and next notice date until the application stores a new one."""
        entry = ScheduleEntry(device.serial, device.owner_id, device.next_notice_on, STALE)
        self._state.schedule[device.serial] = entry

    def _stale_facts(self, serial: str) -> None:
        entry = self._state.schedule.get(serial)
        if entry is not None:
            self._state.schedule[serial] = attrs.evolve(entry, doc=STALE)

    def devices_of(
        self, owner_id: str, *, after: str | None = None, limit: int | None = None
    ) -> tuple[Device, ...]:
        """The owner's devices, by serial (none for an unknown owner); a page of them
        after ``after``, at most ``limit``."""
        if limit is not None:
            check_limit(limit)
        with self._reading():
            found = sorted(
                (
                    d
                    for d in self._state.devices.values()
                    if d.owner_id == owner_id and (after is None or d.serial > after)
                ),
                key=lambda d: d.serial,
            )
        return tuple(found if limit is None else found[:limit])

    def devices_due(
        self, on_or_before: date, *, after: str | None = None, limit: int = 500
    ) -> tuple[Device, ...]:
        """Devices whose ``next_notice_on`` is on or before the day, by serial, after ``after``."""
        check_day(on_or_before, "on_or_before")
        check_limit(limit)
        with self._reading():
            found = sorted(
                (
                    d
                    for d in self._state.devices.values()
                    if d.next_notice_on is not None
                    and d.next_notice_on <= on_or_before
                    and (after is None or d.serial > after)
                ),
                key=lambda d: d.serial,
            )
            return tuple(found[:limit])

    def count_devices(self) -> int:
        """How many devices are registered."""
        with self._reading():
            return len(self._state.devices)

    def delete_device(self, serial: str, *, reason: str, at: datetime) -> int:
        """Remove the device, its licenses, warranties and stages; suppress its PENDING
        outbox items with ``reason`` (SPEC S3). Unknown serial ``UnknownDevice``."""
        check_instant(at, "at")
        with self._atomic():
            self._device(serial)
            state = self._state
            del state.devices[serial]
            state.license_ids -= {lic.id for lic in state.licenses.pop(serial, ())}
            state.warranty_ids -= {w.id for w in state.warranties.pop(serial, ())}
            state.stages = {k: s for k, s in state.stages.items() if k[0] != serial}
            state.schedule.pop(serial, None)
            suppressed = 0
            for key, row in list(state.outbox.items()):
                if row.item.serial == serial and row.item.status is DeliveryStatus.PENDING:
                    state.outbox[key] = row.with_item(
                        status=DeliveryStatus.SUPPRESSED, last_error=reason
                    )
                    suppressed += 1
            return suppressed

    def add_licenses(self, serial: str, licenses: Sequence[License]) -> None:
        """Attach licenses; an unknown serial raises ``UnknownDevice``, a license id known
        anywhere in the store (or twice in ``licenses``) raises ``AlreadyExists``."""
        with self._atomic():
            added = tuple(licenses)
            for lic in added:
                to_doc(lic)
            self._device(serial)
            for lic in added:
                if lic.id in self._state.license_ids:
                    raise AlreadyExists(f"license {lic.id} is stored already")
                self._state.license_ids.add(lic.id)
            self._state.licenses[serial] = self._state.licenses.get(serial, ()) + added
            self._stale_facts(serial)

    def licenses_of(self, serial: str) -> tuple[License, ...]:
        """The device's licenses in the order added; unknown raises ``UnknownDevice``."""
        with self._reading():
            self._device(serial)
            return self._state.licenses.get(serial, ())

    def add_warranty(self, serial: str, warranty: ExtendedWarranty) -> None:
        """Attach an extended warranty; unknown serial ``UnknownDevice``, known id
        ``AlreadyExists``."""
        with self._atomic():
            to_doc(warranty)
            self._device(serial)
            if warranty.id in self._state.warranty_ids:
                raise AlreadyExists(f"extended warranty {warranty.id} is stored already")
            self._state.warranty_ids.add(warranty.id)
            self._state.warranties[serial] = (*self._state.warranties.get(serial, ()), warranty)
            self._stale_facts(serial)

    def warranties_of(self, serial: str) -> tuple[ExtendedWarranty, ...]:
        """The device's extended warranties in the order added."""
        with self._reading():
            self._device(serial)
            return self._state.warranties.get(serial, ())

    def entitlements_of(
        self, serials: Sequence[str]
    ) -> dict[str, tuple[tuple[License, ...], tuple[ExtendedWarranty, ...]]]:
        """The licenses and warranties of each of ``serials`` (none for an unknown one)."""
        wanted = check_keys(serials, "serials")
        with self._reading():
            state = self._state
            return {s: (state.licenses.get(s, ()), state.warranties.get(s, ())) for s in wanted}

    # ------------------------------------------------------------------ codes

    def add_code(self, code: ActivationCode) -> None:
        """Add an activation code; a known code raises ``AlreadyExists``."""
        with self._atomic():
            to_doc(code)
            if code.code in self._state.codes:
                raise AlreadyExists(f"activation code {code.code} exists already")
            self._state.codes[code.code] = code

    def get_code(self, code: str) -> ActivationCode:
        """The code; unknown raises ``UnknownCode``."""
        with self._reading():
            return self._code(code)

    def _code(self, code: str) -> ActivationCode:
        try:
            return self._state.codes[code]
        except KeyError:
            raise UnknownCode(f"no activation code {code}") from None

    def save_code(self, code: ActivationCode, *, expected_assigned: int) -> None:
        """Store the code only if its stored count is ``expected_assigned`` (SPEC E6)."""
        with self._atomic():
            to_doc(code)
            stored = self._code(code.code)
            if stored.assigned != expected_assigned:
                raise ConcurrentUpdate(
                    f"activation code {code.code} has {stored.assigned} assigned, not "
                    f"{expected_assigned}: someone assigned from it meanwhile; retry"
                )
            self._state.codes[code.code] = code

    # ------------------------------------------------------------------ invitations

    def save_invitation(
        self, invitation: Invitation, *, expected: Invitation | None = None
    ) -> None:
        """Insert or replace an invitation, by id; with ``expected``, a compare-and-set
        that raises ``ConcurrentUpdate`` unless the stored one is still ``expected``."""
        with self._atomic():
            to_doc(invitation)
            if expected is not None:
                if expected.id != invitation.id:
                    raise InvalidInput("a compare-and-set compares the same invitation")
                if self._state.invitations.get(invitation.id) != expected:
                    raise ConcurrentUpdate(
                        f"invitation {invitation.id} changed meanwhile; read it again"
                    )
            self._state.invitations[invitation.id] = invitation

    def get_invitation(self, invitation_id: str) -> Invitation:
        """The invitation; unknown raises ``UnknownInvitation``."""
        with self._reading():
            try:
                return self._state.invitations[invitation_id]
            except KeyError:
                raise UnknownInvitation(f"no invitation {invitation_id}") from None

    def current_invitation(self, owner_id: str) -> Invitation | None:
        """The owner's invitation with the latest ``sent_at`` (ties: the greatest id)."""
        with self._reading():
            mine = [i for i in self._state.invitations.values() if i.owner_id == owner_id]
            return max(mine, key=lambda i: (i.sent_at, i.id), default=None)

    def current_invitations(self, owner_ids: Sequence[str]) -> dict[str, Invitation]:
        """Each owner's current invitation (:meth:`current_invitation`); none: left out."""
        wanted = set(check_keys(owner_ids, "owner_ids"))
        found: dict[str, Invitation] = {}
        with self._reading():
            for inv in self._state.invitations.values():
                if inv.owner_id in wanted:
                    best = found.get(inv.owner_id)
                    if best is None or (inv.sent_at, inv.id) > (best.sent_at, best.id):
                        found[inv.owner_id] = inv
        return found

    def pending_invitations(self, *, sent_before: datetime) -> tuple[Invitation, ...]:
        """Invitations stored as PENDING and sent before ``sent_before``, by id."""
        before = check_instant(sent_before, "sent_before")
        with self._reading():
            return tuple(
                inv
                for _, inv in sorted(self._state.invitations.items())
                if inv.state is InvitationState.PENDING and inv.sent_at < before
            )

    def has_invitation_in(self, state: InvitationState) -> bool:
        """Whether any stored invitation is in ``state``."""
        if not isinstance(state, InvitationState):
            raise InvalidInput(f"state must be an InvitationState, got {state!r}")
        with self._reading():
            return any(inv.state is state for inv in self._state.invitations.values())

    def use_token(self, token_id: str) -> None:
        """Record a single-use token as used; a second use raises ``AlreadyExists``."""
        with self._atomic():
            if token_id in self._state.tokens:
                raise AlreadyExists(f"token {token_id} was used already")
            self._state.tokens.add(token_id)

    def token_used(self, token_id: str) -> bool:
        """Whether :meth:`use_token` recorded ``token_id``."""
        with self._reading():
            return token_id in self._state.tokens

    # ------------------------------------------------------------------ sharing

    def get_sharing(self, owner_id: str) -> SharingState:
        """The owner's sharing state (empty for an owner with none)."""
        with self._reading():
            state = self._state.sharing.get(owner_id)
            return SharingState.of(owner_id) if state is None else state

    def save_sharing(self, state: SharingState, *, expected: SharingState | None = None) -> None:
        """Insert or replace the sharing state of ``state.owner``; with ``expected``, a
        compare-and-set that raises ``ConcurrentUpdate`` unless the stored state (the empty
        one for an owner with none) is still ``expected``."""
        with self._atomic():
            to_doc(state)
            if expected is not None:
                if expected.owner != state.owner:
                    raise InvalidInput("a compare-and-set compares one owner's sharing state")
                stored = self._state.sharing.get(state.owner, SharingState.of(state.owner))
                if stored != expected:
                    raise ConcurrentUpdate(
                        f"the sharing state of {state.owner} changed meanwhile; read it again"
                    )
            self._state.sharing[state.owner] = state

    def sharing_with(self, user: str) -> tuple[SharingState, ...]:
        """The sharing states, by owner, holding a share with ``user``."""
        with self._reading():
            return tuple(
                state
                for _, state in sorted(self._state.sharing.items())
                if any(share.user == user for share in state.shares)
            )

    # ------------------------------------------------------------------ recipients

    def set_delivery(self, recipient: Recipient, preference: DeliveryPreference | None) -> None:
        """Record the recipient's own choice of delivery (SPEC N10); ``None`` forgets it."""
        key = _recipient_key(recipient, preference)
        with self._atomic():
            if preference is None:
                self._state.deliveries.pop(key, None)
            else:
                self._state.deliveries[key] = preference

    def delivery_of(self, recipient: Recipient) -> DeliveryPreference | None:
        """The recipient's own choice of delivery, or ``None``."""
        key = _recipient_key(recipient, None)
        with self._reading():
            return self._state.deliveries.get(key)

    # ------------------------------------------------------------------ event log

    def append_log(self, owner_id: str, entries: Sequence[LogEntry]) -> None:
        """Append entries to the owner's event log."""
        with self._atomic():
            added = tuple((owner_id, e) for e in entries)
            for _, entry in added:
                to_doc(entry)
            self._state.log += added

    def log_of(self, owner_id: str, *, since: datetime) -> tuple[LogEntry, ...]:
        """Entries at or after ``since``, oldest first (ties in the order appended)."""
        check_instant(since, "since")
        with self._reading():
            mine = [e for o, e in self._state.log if o == owner_id and e.at >= since]
            return tuple(sorted(mine, key=lambda e: e.at))

    def prune_log(self, before: datetime) -> int:
        """Delete entries older than ``before``; returns how many (SPEC S5)."""
        check_instant(before, "before")
        with self._atomic():
            kept = tuple((o, e) for o, e in self._state.log if e.at >= before)
            pruned = len(self._state.log) - len(kept)
            self._state.log = kept
            return pruned

    # ------------------------------------------------------------------ outbox

    def sent_stages(self, serial: str) -> tuple[SentStage, ...]:
        """The device's recorded stages in the order recorded; unknown ``UnknownDevice``."""
        with self._reading():
            self._device(serial)
            return tuple(s for k, s in self._state.stages.items() if k[0] == serial)

    def enqueue(
        self,
        items: Sequence[OutboxItem],
        sent: Sequence[SentStage],
        *,
        device: Device | None = None,
        schedule: ScheduleEntry | None = None,
        schedules: Sequence[ScheduleEntry] = (),
    ) -> int:
        """Add the items whose key is new, record the stages (a known stage keeps its first
        record) and save ``device`` and ``schedule``, all or nothing; returns how many items
        were added (SPEC N9)."""
        new_items = tuple(check_item(i) for i in items)
        records = tuple(sent)
        for item in new_items:
            to_doc(item)
        for record in records:
            to_doc(record)
        with self._atomic():
            added = 0
            for item in new_items:
                if item.key not in self._state.outbox:
                    self._state.outbox[item.key] = _Row(item)
                    added += 1
            for record in records:
                self._device(record.event.serial)
                key = (record.event.serial, record.event.kind, record.event.on, record.stage)
                self._state.stages.setdefault(key, record)
            if device is not None:
                self.save_device(device)
            if schedule is not None:
                self.save_schedule(schedule)
            for entry in schedules:
                self.save_schedule(entry)
            _log.debug("enqueued %d of %d outbox items", added, len(new_items))
            return added

    def claim(
        self, now: datetime, *, worker: str, limit: int, lease_seconds: float = 300.0
    ) -> tuple[OutboxItem, ...]:
        """Lease up to ``limit`` ready PENDING items to ``worker``, earliest
        ``next_attempt_at`` first (none counts as earliest), then by key."""
        check_instant(now, "now")
        check_limit(limit)
        until = lease_end(now, lease_seconds)
        with self._atomic():
            ready = sorted(
                (
                    row
                    for row in self._state.outbox.values()
                    if row.item.status is DeliveryStatus.PENDING
                    and ready_at(row.item) <= now
                    and (row.claimed_until is None or row.claimed_until <= now)
                ),
                key=lambda row: (ready_at(row.item), row.item.key),
            )[:limit]
            for row in ready:
                self._state.outbox[row.item.key] = _Row(row.item, until, worker)
            return tuple(row.item for row in ready)

    def _row(self, key: str) -> _Row:
        try:
            return self._state.outbox[key]
        except KeyError:
            raise NotFound(f"no outbox item with key {key}") from None

    def mark_sent(self, key: str, at: datetime) -> None:
        """Status SENT, ``delivered_at`` = ``at``, lease ended; unknown key ``NotFound``."""
        check_instant(at, "at")
        with self._atomic():
            row = self._row(key)
            self._state.outbox[key] = row.with_item(status=DeliveryStatus.SENT, delivered_at=at)

    def mark_failed(
        self, key: str, *, error: str, retry_at: datetime | None, at: datetime
    ) -> None:
        """Count a failed attempt: PENDING again at ``retry_at``, or FAILED if it is None."""
        check_instant(at, "at")
        if retry_at is not None:
            check_instant(retry_at, "retry_at")
        with self._atomic():
            row = self._row(key)
            if retry_at is None:
                changed = row.with_item(
                    status=DeliveryStatus.FAILED, attempts=row.item.attempts + 1, last_error=error
                )
            else:
                changed = row.with_item(
                    status=DeliveryStatus.PENDING,
                    attempts=row.item.attempts + 1,
                    last_error=error,
                    next_attempt_at=retry_at,
                )
            self._state.outbox[key] = changed

    def mark_suppressed(self, key: str, *, reason: str, at: datetime) -> None:
        """Status SUPPRESSED, ``last_error`` = ``reason`` (SPEC N7), lease ended."""
        check_instant(at, "at")
        with self._atomic():
            row = self._row(key)
            self._state.outbox[key] = row.with_item(
                status=DeliveryStatus.SUPPRESSED, last_error=reason
            )

    def fold_into_digest(self, digest: OutboxItem, member_keys: Sequence[str]) -> None:
        """Add ``digest`` (if its key is new) and mark the PENDING members DIGESTED into it;
        an unknown member raises ``NotFound`` and changes nothing (SPEC N10)."""
        check_item(digest)
        to_doc(digest)
        keys = check_keys(member_keys, "member_keys")
        with self._atomic():
            for key in keys:
                self._row(key)
            self._state.outbox.setdefault(digest.key, _Row(digest))
            for key in keys:
                row = self._state.outbox[key]
                if row.item.status is DeliveryStatus.PENDING:
                    self._state.outbox[key] = row.with_item(
                        status=DeliveryStatus.DIGESTED, digest_key=digest.key
                    )

    def items(
        self, *, status: DeliveryStatus | None = None, owner_id: str | None = None
    ) -> tuple[OutboxItem, ...]:
        """Outbox items, by key, optionally only of one status and one owner."""
        with self._reading():
            return tuple(
                row.item
                for _, row in sorted(self._state.outbox.items(), key=lambda kv: kv[0])
                if (status is None or row.item.status is status)
                and (owner_id is None or row.item.owner_id == owner_id)
            )

    def get_item(self, key: str) -> OutboxItem:
        """The outbox item stored under ``key``; unknown raises ``NotFound``."""
        with self._reading():
            row = self._state.outbox.get(key)
            if row is None:
                raise NotFound(f"no outbox item {key}")
            return row.item

    def requeue(self, keys: Sequence[str], *, at: datetime) -> int:
        """PENDING or FAILED items among ``keys`` PENDING again at ``at``, lease ended;
        an unknown key raises ``NotFound`` and changes nothing."""
        check_instant(at, "at")
        wanted = check_keys(keys, "keys")
        with self._atomic():
            for key in wanted:
                self._row(key)
            changed = 0
            for key in dict.fromkeys(wanted):
                row = self._state.outbox[key]
                if row.item.status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED):
                    self._state.outbox[key] = row.with_item(
                        status=DeliveryStatus.PENDING, next_attempt_at=at
                    )
                    changed += 1
            return changed

    # ------------------------------------------------------------------ schedule

    def save_schedule(self, entry: ScheduleEntry) -> None:
        """Insert or replace the device's schedule entry; unknown device ``UnknownDevice``."""
        check_schedule(entry)
        with self._atomic():
            self._device(entry.serial)
            self._state.schedule[entry.serial] = entry

    def get_schedule(self, serial: str) -> ScheduleEntry | None:
        """The device's schedule entry, ``None`` if none is stored."""
        with self._reading():
            return self._state.schedule.get(serial) if serial in self._state.devices else None

    def schedule_due(
        self, on_or_before: date, *, after: str | None = None, limit: int = 500
    ) -> tuple[ScheduleEntry, ...]:
        """Entries whose ``next_on`` is on or before the day, by serial, after ``after``."""
        check_day(on_or_before, "on_or_before")
        check_limit(limit)
        with self._reading():
            devices = self._state.devices
            found = sorted(
                (
                    e
                    for e in self._state.schedule.values()
                    if e.next_on is not None
                    and e.next_on <= on_or_before
                    and (after is None or e.serial > after)
                    and e.serial in devices  # a deleted device's entry goes with it
                ),
                key=lambda e: e.serial,
            )
            return tuple(found[:limit])

    def all_devices(
        self, *, after: str | None = None, limit: int = 500
    ) -> tuple[Device, ...]:
        """Every device, by serial, a page at a time (rebuilding the schedule)."""
        check_limit(limit)
        with self._reading():
            found = sorted(s for s in self._state.devices if after is None or s > after)
            return tuple(self._state.devices[s] for s in found[:limit])

    def schedule_stamp(self) -> str | None:
        """The stamp :meth:`set_schedule_stamp` stored, or ``None``."""
        with self._reading():
            return self._state.stamp

    def set_schedule_stamp(self, stamp: str) -> None:
        """Record what the stored schedule was built with."""
        if not isinstance(stamp, str) or not stamp:
            raise InvalidInput(f"a schedule stamp is a non-empty string, got {stamp!r}")
        with self._atomic():
            self._state.stamp = stamp

    def remember_first_registration(self, serial: str, registered_on: date) -> None:
        """Keep the earliest registration day of ``serial``, whatever becomes of it."""
        serial = require_text(serial, "serial", max_length=MAX_SERIAL)
        day = check_day(registered_on, "registered_on")
        with self._atomic():
            known = self._state.first_registered.get(serial)
            if known is None or day < known:
                self._state.first_registered[serial] = day

    def first_registered_on(self, serial: str) -> date | None:
        """The day :meth:`remember_first_registration` kept for ``serial``, or ``None``."""
        serial = require_text(serial, "serial", max_length=MAX_SERIAL)
        with self._reading():
            return self._state.first_registered.get(serial)
