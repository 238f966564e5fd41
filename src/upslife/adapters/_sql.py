"""What the SQLite and PostgreSQL stores share: the statements, the transactions, the errors.

:class:`SqlStore` implements every method of :class:`~upslife.ports.Store` once, over a
small set of dialect hooks (run one statement, begin, convert dates and instants, claim).
The statements are written with ``?`` placeholders; the PostgreSQL store turns them into
``%s``. Values always travel as parameters, never inside the SQL text.

Transactions: the outermost ``_atomic`` block begins a transaction and commits it, or rolls
it back if the block raises; a block inside another one is a ``SAVEPOINT``, rolled back to
if it raises, so a failed call never leaves a partial write, even inside a caller's
``transaction()`` (SPEC D5). Every public method is one such block.

The stores keep no rules: they store, index and return. The few checks here (an unknown
device, a stale count) are the port's error contract, the same as the memory store's.
"""

from __future__ import annotations

import abc
import json
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, ClassVar, Final, final

from upslife._validation import MAX_SERIAL, require_text
from upslife.adapters._codec import (
    MIN_INSTANT,
    check_day,
    check_instant,
    check_item,
    check_keys,
    check_limit,
    check_schedule,
    day_from_text,
    day_to_text,
    decode,
    encode,
    enum_from_name,
    lease_end,
    ready_at,
)
from upslife.entitlements import ActivationCode, ExtendedWarranty, License
from upslife.errors import (
    AlreadyExists,
    AlreadyRegistered,
    ConcurrentUpdate,
    DamagedRecord,
    InvalidInput,
    NotFound,
    StorageError,
    TemporaryFailure,
    UnknownCode,
    UnknownDevice,
    UnknownInvitation,
    UnknownOwner,
)
from upslife.invitations import Invitation, InvitationState
from upslife.notifications import (
    ChatKind,
    DeliveryPreference,
    EventId,
    EventKind,
    Recipient,
    RecipientKind,
    SentStage,
)
from upslife.notifications import Stage as NoticeStage
from upslife.ports import DeliveryStatus, Device, OutboxItem, Owner, ScheduleEntry
from upslife.sharing import LogEntry, SharingState

__all__ = [
    "MIN_INSTANT",
    "OUTBOX_COLUMNS",
    "Row",
    "SchemaVersionTooNew",
    "SqlStore",
    "UniqueViolation",
]

_log = logging.getLogger(__name__)

Row = tuple[Any, ...]

OUTBOX_COLUMNS: Final = (
    "key, serial, owner_id, recipient_kind, recipient_address, recipient_chat, day, payload, "
    "status, attempts, next_attempt_at, delivered_at, last_error, digest_key"
)
"""The outbox columns that make an :class:`~upslife.ports.OutboxItem`, in row order."""


def _recipient_key(
    recipient: Recipient, preference: DeliveryPreference | None
) -> tuple[str, str]:
    if not isinstance(recipient, Recipient):
        raise InvalidInput(f"expected a Recipient, got {type(recipient).__name__}")
    if preference is not None and not isinstance(preference, DeliveryPreference):
        raise InvalidInput(f"expected a DeliveryPreference, got {preference!r}")
    return recipient.kind.name, recipient.address


@final
class SchemaVersionTooNew(StorageError):
    """The database was migrated by a newer upslife than this one; nothing was changed.

    Upgrade upslife on this machine (or point it at another database): an older version
    cannot know what the newer schema means, so it refuses to read or write it.
    """

    def __init__(self, found: int, known: int) -> None:
        super().__init__(
            f"the database schema is at version {found}, but this upslife knows versions up "
            f"to {known} only: upgrade upslife to use this database"
        )
        self.found = found
        self.known = known


class UniqueViolation(StorageError):
    """A statement broke a UNIQUE or PRIMARY KEY constraint (the driver error is the cause).

    Raised by the dialects' ``_execute``; the methods that expect it translate it into the
    port's :class:`~upslife.errors.AlreadyExists`, so it reaches callers only from a
    statement where no duplicate was expected.
    """


class SqlStore(abc.ABC):
    """The :class:`~upslife.ports.Store` over one SQL connection; see the module docstring.

    A store holds one connection and one lock: calls from several threads are serialized,
    and a ``transaction()`` block holds the lock until it ends. For parallel work, open one
    store per thread or process.
    """

    MIGRATIONS: ClassVar[tuple[tuple[str, ...], ...]]
    """The schema's history: migration ``n`` (1-based) is ``MIGRATIONS[n - 1]``, a sequence
    of statements applied in one transaction, after which ``schema_version`` is ``n``."""

    _DEVICES_DUE: ClassVar[str] = (
        "SELECT serial, doc FROM devices WHERE next_notice_on <= ? ORDER BY serial LIMIT ?"
    )
    _DEVICES_DUE_AFTER: ClassVar[str] = (
        "SELECT serial, doc FROM devices WHERE next_notice_on <= ? AND serial > ? "
        "ORDER BY serial LIMIT ?"
    )

    _SCHEDULE_DUE: ClassVar[str] = (
        "SELECT serial, owner_id, next_on, doc FROM schedule WHERE next_on <= ?"
        " ORDER BY serial LIMIT ?"
    )
    _SCHEDULE_DUE_AFTER: ClassVar[str] = (
        "SELECT serial, owner_id, next_on, doc FROM schedule WHERE next_on <= ? AND serial > ?"
        " ORDER BY serial LIMIT ?"
    )

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self._closed = False

    # ------------------------------------------------------------------ dialect hooks

    @abc.abstractmethod
    def _execute(self, sql: str, params: Sequence[object] = ()) -> tuple[list[Row], int]:
        """Run one statement; return its rows (if any) and its row count.

        Raises :class:`UniqueViolation` for a unique-constraint violation and
        :class:`~upslife.errors.StorageError` (the driver error chained) for anything else.
        """

    @abc.abstractmethod
    def _execute_many(self, sql: str, rows: Sequence[Sequence[object]]) -> int:
        """Run one writing statement once per parameter row; return the rows it changed in
        all (errors as :meth:`_execute`). The statement is prepared once: a page of the
        plan's writes costs one call per table, not one statement per row."""

    @abc.abstractmethod
    def _begin(self, *, write: bool) -> None:
        """Begin the outermost transaction (``write``: one that may write)."""

    @abc.abstractmethod
    def _close_connection(self) -> None:
        """Close the connection if the store owns it."""

    @abc.abstractmethod
    def _claim_rows(
        self, now: datetime, until: datetime, worker: str, limit: int
    ) -> list[Row]:
        """Lease and return up to ``limit`` claimable rows (:data:`OUTBOX_COLUMNS`)."""

    def _lock_schema(self) -> None:  # noqa: B027 (a hook with nothing to do by default)
        """Serialize migrations between connections (inside the migration transaction)."""

    def _day(self, value: date) -> object:
        """A date as a statement parameter."""
        return value

    def _read_day(self, value: object) -> date:
        """A date column's value as a :class:`~datetime.date`."""
        if not isinstance(value, date):
            raise StorageError(f"stored date {value!r} is not a date")
        return value

    def _instant(self, value: datetime) -> object:
        """An aware instant as a statement parameter."""
        return value

    def _read_instant(self, value: object) -> datetime:
        """An instant column's value as an aware :class:`~datetime.datetime`."""
        if not isinstance(value, datetime):
            raise StorageError(f"stored instant {value!r} is not a datetime")
        return value

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group calls: they commit together, or not at all if the block raises.

        Blocks nest: an inner block joins the outer transaction as a savepoint, so if it
        raises only its own work is undone (the outer block then decides).
        """
        with self._atomic(write=True):
            yield

    @contextmanager
    def _atomic(self, *, write: bool = True) -> Iterator[None]:
        with self._lock:
            if self._closed:
                raise StorageError("the store is closed")
            if self._depth == 0:
                yield from self._outermost(write)
            elif write:
                yield from self._savepoint()
            else:
                yield  # a read inside a transaction writes nothing to undo

    def _outermost(self, write: bool) -> Iterator[None]:
        self._begin(write=write)
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self._quietly("ROLLBACK")
            raise
        self._depth = 0
        try:
            self._execute("COMMIT")
        except BaseException:
            self._quietly("ROLLBACK")
            raise

    def _savepoint(self) -> Iterator[None]:
        name = f"upslife_{self._depth}"
        self._execute(f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            self._quietly(f"ROLLBACK TO SAVEPOINT {name}")
            self._quietly(f"RELEASE SAVEPOINT {name}")
            raise
        self._depth -= 1
        self._execute(f"RELEASE SAVEPOINT {name}")

    def _quietly(self, sql: str) -> None:
        """Undo on the way out of a failure: the original error is the one to report."""
        try:
            self._execute(sql)
        except StorageError:
            _log.warning("could not %s after a failure", sql.split()[0].lower(), exc_info=True)

    def close(self) -> None:
        """Close the store (and its connection, if it opened it); later calls raise
        :class:`~upslife.errors.StorageError`. Closing twice does nothing."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._close_connection()

    # ------------------------------------------------------------------ schema

    def schema_version(self) -> int:
        """The schema version the database is at (``len(MIGRATIONS)`` once opened)."""
        with self._atomic(write=False):
            return self._stored_version()

    def _stored_version(self) -> int:
        rows, _ = self._execute("SELECT max(version) FROM schema_version")
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    def _migrate(self) -> None:
        """Bring the schema to the newest version, one transaction per migration.

        Safe when several processes open one database at once: each migration re-reads
        the version under the write lock (PostgreSQL: an advisory lock) before applying.
        """
        known = len(self.MIGRATIONS)
        with self._atomic():
            self._lock_schema()
            self._execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            found = self._stored_version()
            if found == 0:
                self._execute("DELETE FROM schema_version")
                self._execute("INSERT INTO schema_version (version) VALUES (?)", (0,))
        if found > known:
            raise SchemaVersionTooNew(found, known)
        for version in range(found + 1, known + 1):
            with self._atomic():
                self._lock_schema()
                if self._stored_version() >= version:
                    continue
                for statement in self.MIGRATIONS[version - 1]:
                    self._execute(statement)
                self._execute("UPDATE schema_version SET version = ?", (version,))
            _log.info("storage schema migrated to version %d", version)

    # ------------------------------------------------------------------ helpers

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return self._execute(sql, params)[0]

    def _count(self, sql: str, params: Sequence[object] = ()) -> int:
        return self._execute(sql, params)[1]

    def _require_device(self, serial: str) -> None:
        if not self._rows("SELECT 1 FROM devices WHERE serial = ?", (serial,)):
            raise UnknownDevice(f"no device with serial {serial}")

    def _opt_day(self, value: date | None) -> object:
        return None if value is None else self._day(check_day(value, "date"))

    def _opt_instant(self, value: datetime | None) -> object:
        return None if value is None else self._instant(check_instant(value, "instant"))

    # ------------------------------------------------------------------ owners

    def add_owner(self, owner: Owner) -> None:
        """Add an owner; an existing id raises ``AlreadyExists``."""
        doc = encode(owner)
        with self._atomic():
            try:
                self._execute("INSERT INTO owners (id, doc) VALUES (?, ?)", (owner.id, doc))
            except UniqueViolation as e:
                raise AlreadyExists(f"owner {owner.id} exists already") from e.__cause__

    def get_owner(self, owner_id: str) -> Owner:
        """The owner; an unknown id raises ``UnknownOwner``."""
        with self._atomic(write=False):
            rows = self._rows("SELECT doc FROM owners WHERE id = ?", (owner_id,))
        if not rows:
            raise UnknownOwner(f"no owner {owner_id}")
        return decode(Owner, rows[0][0])

    def _in_chunks(self, sql: str, keys: Sequence[str]) -> list[Row]:
        """Rows of ``sql`` (one ``IN ({marks})`` on its keys) for ``keys``, 500 at a time."""
        rows: list[Row] = []
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows += self._rows(sql.format(marks=", ".join("?" * len(chunk))), chunk)
        return rows

    def get_owners(self, owner_ids: Sequence[str]) -> dict[str, Owner]:
        """The known owners among ``owner_ids`` (one statement per 500); unknown ids are
        left out."""
        wanted = list(dict.fromkeys(check_keys(owner_ids, "owner_ids")))
        with self._atomic(write=False):
            rows = self._in_chunks("SELECT id, doc FROM owners WHERE id IN ({marks})", wanted)
        return {str(owner_id): decode(Owner, doc) for owner_id, doc in rows}

    def save_owner(self, owner: Owner) -> None:
        """Replace an existing owner's record; unknown raises ``UnknownOwner``."""
        doc = encode(owner)
        with self._atomic():
            if not self._count("UPDATE owners SET doc = ? WHERE id = ?", (doc, owner.id)):
                raise UnknownOwner(f"no owner {owner.id}")

    # ------------------------------------------------------------------ devices

    def add_device(self, device: Device) -> None:
        """Add a device; a known serial raises ``AlreadyRegistered`` (SPEC E2)."""
        doc = encode(device)
        with self._atomic():
            try:
                self._execute(
                    "INSERT INTO devices (serial, owner_id, next_notice_on, doc) "
                    "VALUES (?, ?, ?, ?)",
                    (device.serial, device.owner_id, self._opt_day(device.next_notice_on), doc),
                )
            except UniqueViolation as e:
                raise AlreadyRegistered(
                    f"device {device.serial} is registered already"
                ) from e.__cause__
            self._mark_stale(device)

    def get_device(self, serial: str) -> Device:
        """The device; an unknown serial raises ``UnknownDevice``."""
        with self._atomic(write=False):
            rows = self._rows("SELECT doc FROM devices WHERE serial = ?", (serial,))
        if not rows:
            raise UnknownDevice(f"no device with serial {serial}")
        return decode(Device, rows[0][0])

    def save_device(self, device: Device) -> None:
        """Replace an existing device's record; unknown raises ``UnknownDevice``."""
        doc = encode(device)
        with self._atomic():
            changed = self._count(
                "UPDATE devices SET owner_id = ?, next_notice_on = ?, doc = ? WHERE serial = ?",
                (device.owner_id, self._opt_day(device.next_notice_on), doc, device.serial),
            )
            if not changed:
                raise UnknownDevice(f"no device with serial {device.serial}")
            self._mark_stale(device)

    def _mark_stale(self, device: Device) -> None:
        """A written device's schedule entry is out of date until the application stores a
        new one (:data:`~upslife.ports.STALE`): it mirrors the device's owner and next
        notice date, so the plan reads it exactly when it would read the device."""
        self._execute(
            "INSERT INTO schedule (serial, owner_id, next_on, doc) VALUES (?, ?, ?, '') "
            "ON CONFLICT (serial) DO UPDATE SET owner_id = excluded.owner_id, "
            "next_on = excluded.next_on, doc = ''",
            (device.serial, device.owner_id, self._opt_day(device.next_notice_on)),
        )

    def devices_of(
        self, owner_id: str, *, after: str | None = None, limit: int | None = None
    ) -> tuple[Device, ...]:
        """The owner's devices, by serial (none for an unknown owner); a page of them after
        ``after``, at most ``limit``, read through the ``devices_by_owner`` index."""
        sql = "SELECT doc FROM devices WHERE owner_id = ?"
        params: list[object] = [owner_id]
        if after is not None:
            sql += " AND serial > ?"
            params.append(after)
        sql += " ORDER BY serial"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(check_limit(limit))
        with self._atomic(write=False):
            rows = self._rows(sql, params)
        return tuple(decode(Device, r[0]) for r in rows)

    def devices_due(
        self, on_or_before: date, *, after: str | None = None, limit: int = 500
    ) -> tuple[Device, ...]:
        """Devices whose ``next_notice_on`` is on or before the day, by serial, after
        ``after``; read through the ``devices_due`` index, so the cost follows the rows due."""
        day = self._day(check_day(on_or_before, "on_or_before"))
        check_limit(limit)
        with self._atomic(write=False):
            if after is None:
                rows = self._rows(self._DEVICES_DUE, (day, limit))
            else:
                rows = self._rows(self._DEVICES_DUE_AFTER, (day, after, limit))
        return tuple(self._device_of(str(serial), doc) for serial, doc in rows)

    def _device_of(self, serial: str, doc: str) -> Device:
        """Decode one device row; a damaged document raises :class:`DamagedRecord` naming
        the serial, so a sweep can set that device aside and go on."""
        try:
            return decode(Device, doc)
        except StorageError as e:
            raise DamagedRecord(f"stored device {serial} cannot be read: {e}", key=serial) from e

    def count_devices(self) -> int:
        """How many devices are registered."""
        with self._atomic(write=False):
            return int(self._rows("SELECT count(*) FROM devices")[0][0])

    def delete_device(self, serial: str, *, reason: str, at: datetime) -> int:
        """Remove the device, its licenses, warranties and stages; suppress its PENDING
        outbox items with ``reason`` (SPEC S3), read through the ``outbox_by_status``
        index (items queued before a transfer included). Unknown serial
        ``UnknownDevice``, and nothing changes."""
        when = self._instant(check_instant(at, "at"))
        with self._atomic():
            self._require_device(serial)
            for table in ("licenses", "warranties", "sent_stages", "schedule"):
                self._execute(f"DELETE FROM {table} WHERE serial = ?", (serial,))
            suppressed = self._count(
                "UPDATE outbox SET status = 'SUPPRESSED', last_error = ?, updated_at = ?, "
                "claimed_until = NULL, claimed_by = NULL "
                "WHERE status = 'PENDING' AND serial = ?",
                (reason, when, serial),
            )
            self._execute("DELETE FROM devices WHERE serial = ?", (serial,))
        return suppressed

    def add_licenses(self, serial: str, licenses: Sequence[License]) -> None:
        """Attach licenses; an unknown serial raises ``UnknownDevice``, a license id known
        anywhere in the store (or twice in ``licenses``) raises ``AlreadyExists``."""
        docs = [(lic.id, encode(lic)) for lic in licenses]
        with self._atomic():
            self._require_device(serial)
            self._execute("UPDATE schedule SET doc = '' WHERE serial = ?", (serial,))
            for license_id, doc in docs:
                try:
                    self._execute(
                        "INSERT INTO licenses (id, serial, doc) VALUES (?, ?, ?)",
                        (license_id, serial, doc),
                    )
                except UniqueViolation as e:
                    raise AlreadyExists(
                        f"license {license_id} is stored already"
                    ) from e.__cause__

    def licenses_of(self, serial: str) -> tuple[License, ...]:
        """The device's licenses in the order added; unknown raises ``UnknownDevice``."""
        with self._atomic(write=False):
            rows = self._rows("SELECT doc FROM licenses WHERE serial = ? ORDER BY seq", (serial,))
            if not rows:
                self._require_device(serial)
        return tuple(decode(License, r[0]) for r in rows)

    def add_warranty(self, serial: str, warranty: ExtendedWarranty) -> None:
        """Attach an extended warranty; unknown serial ``UnknownDevice``, known id
        ``AlreadyExists``."""
        doc = encode(warranty)
        with self._atomic():
            self._require_device(serial)
            self._execute("UPDATE schedule SET doc = '' WHERE serial = ?", (serial,))
            try:
                self._execute(
                    "INSERT INTO warranties (id, serial, doc) VALUES (?, ?, ?)",
                    (warranty.id, serial, doc),
                )
            except UniqueViolation as e:
                raise AlreadyExists(
                    f"extended warranty {warranty.id} is stored already"
                ) from e.__cause__

    def warranties_of(self, serial: str) -> tuple[ExtendedWarranty, ...]:
        """The device's extended warranties in the order added."""
        with self._atomic(write=False):
            rows = self._rows(
                "SELECT doc FROM warranties WHERE serial = ? ORDER BY seq", (serial,)
            )
            if not rows:
                self._require_device(serial)
        return tuple(decode(ExtendedWarranty, r[0]) for r in rows)

    def entitlements_of(
        self, serials: Sequence[str]
    ) -> dict[str, tuple[tuple[License, ...], tuple[ExtendedWarranty, ...]]]:
        """Licenses and warranties of a page of devices in one statement (``UNION ALL``
        over both tables, by device and order added)."""
        wanted = check_keys(serials, "serials")
        found: dict[str, tuple[list[License], list[ExtendedWarranty]]] = {
            s: ([], []) for s in wanted
        }
        if not wanted:
            return {}
        marks = ", ".join("?" * len(wanted))
        sql = (
            f"SELECT 0, serial, seq, doc FROM licenses WHERE serial IN ({marks}) "
            f"UNION ALL SELECT 1, serial, seq, doc FROM warranties WHERE serial IN ({marks}) "
            "ORDER BY 1, 2, 3"
        )
        with self._atomic(write=False):
            rows = self._rows(sql, [*wanted, *wanted])
        for table, serial, _seq, doc in rows:
            lists = found[str(serial)]
            if table == 0:
                lists[0].append(decode(License, doc))
            else:
                lists[1].append(decode(ExtendedWarranty, doc))
        return {s: (tuple(lic), tuple(war)) for s, (lic, war) in found.items()}

    # ------------------------------------------------------------------ codes

    def add_code(self, code: ActivationCode) -> None:
        """Add an activation code; a known code raises ``AlreadyExists``."""
        doc = encode(code)
        with self._atomic():
            try:
                self._execute(
                    "INSERT INTO codes (code, assigned, doc) VALUES (?, ?, ?)",
                    (code.code, code.assigned, doc),
                )
            except UniqueViolation as e:
                raise AlreadyExists(
                    f"activation code {code.code} exists already"
                ) from e.__cause__

    def get_code(self, code: str) -> ActivationCode:
        """The code; unknown raises ``UnknownCode``."""
        with self._atomic(write=False):
            rows = self._rows("SELECT doc FROM codes WHERE code = ?", (code,))
        if not rows:
            raise UnknownCode(f"no activation code {code}")
        return decode(ActivationCode, rows[0][0])

    def save_code(self, code: ActivationCode, *, expected_assigned: int) -> None:
        """Compare-and-set: store the code only if its stored count is still
        ``expected_assigned`` (one ``UPDATE ... WHERE assigned = ?``), else raise
        ``ConcurrentUpdate`` and change nothing (SPEC E6)."""
        doc = encode(code)
        with self._atomic():
            changed = self._count(
                "UPDATE codes SET assigned = ?, doc = ? WHERE code = ? AND assigned = ?",
                (code.assigned, doc, code.code, expected_assigned),
            )
            if changed:
                return
            rows = self._rows("SELECT assigned FROM codes WHERE code = ?", (code.code,))
            if not rows:
                raise UnknownCode(f"no activation code {code.code}")
            raise ConcurrentUpdate(
                f"activation code {code.code} has {rows[0][0]} assigned, not "
                f"{expected_assigned}: someone assigned from it meanwhile; retry"
            )

    # ------------------------------------------------------------------ invitations

    def save_invitation(
        self, invitation: Invitation, *, expected: Invitation | None = None
    ) -> None:
        """Insert or replace an invitation, by id. With ``expected``, a compare-and-set:
        replace it only if the stored one is still ``expected``, else raise
        ``ConcurrentUpdate`` and change nothing (one ``UPDATE ... WHERE doc = ?``)."""
        doc = encode(invitation)
        pending = invitation.state is InvitationState.PENDING
        with self._atomic():
            if expected is not None:
                if expected.id != invitation.id:
                    raise InvalidInput("a compare-and-set compares the same invitation")
                if not self._count(
                    "UPDATE invitations SET doc = ?, pending = ? WHERE id = ? AND doc = ?",
                    (doc, pending, invitation.id, encode(expected)),
                ):
                    raise ConcurrentUpdate(
                        f"invitation {invitation.id} changed meanwhile; read it again"
                    )
                return
            self._execute(
                "INSERT INTO invitations (id, owner_id, sent_at, doc, pending) "
                "VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET owner_id = excluded.owner_id, "
                "sent_at = excluded.sent_at, doc = excluded.doc, pending = excluded.pending",
                (
                    invitation.id,
                    invitation.owner_id,
                    self._instant(invitation.sent_at),
                    doc,
                    pending,
                ),
            )

    def pending_invitations(self, *, sent_before: datetime) -> tuple[Invitation, ...]:
        """Invitations stored as PENDING and sent before ``sent_before``, by id."""
        before = self._instant(check_instant(sent_before, "sent_before"))
        with self._atomic(write=False):
            rows = self._rows(
                "SELECT doc FROM invitations WHERE pending = ? AND sent_at < ? ORDER BY id",
                (True, before),
            )
        return tuple(decode(Invitation, row[0]) for row in rows)

    def get_invitation(self, invitation_id: str) -> Invitation:
        """The invitation; unknown raises ``UnknownInvitation``."""
        with self._atomic(write=False):
            rows = self._rows("SELECT doc FROM invitations WHERE id = ?", (invitation_id,))
        if not rows:
            raise UnknownInvitation(f"no invitation {invitation_id}")
        return decode(Invitation, rows[0][0])

    def current_invitation(self, owner_id: str) -> Invitation | None:
        """The owner's invitation with the latest ``sent_at`` (ties: the greatest id)."""
        with self._atomic(write=False):
            rows = self._rows(
                "SELECT doc FROM invitations WHERE owner_id = ? "
                "ORDER BY sent_at DESC, id DESC LIMIT 1",
                (owner_id,),
            )
        return decode(Invitation, rows[0][0]) if rows else None

    def current_invitations(self, owner_ids: Sequence[str]) -> dict[str, Invitation]:
        """Each owner's invitation with the latest ``sent_at`` (ties: the greatest id), read
        through the ``invitations_by_owner`` index, one statement per 500 owners."""
        wanted = list(dict.fromkeys(check_keys(owner_ids, "owner_ids")))
        with self._atomic(write=False):
            rows = self._in_chunks(
                "SELECT owner_id, doc FROM invitations WHERE owner_id IN ({marks}) "
                "ORDER BY owner_id, sent_at DESC, id DESC",
                wanted,
            )
        found: dict[str, Invitation] = {}
        for owner_id, doc in rows:
            if str(owner_id) not in found:
                found[str(owner_id)] = decode(Invitation, doc)
        return found

    def has_invitation_in(self, state: InvitationState) -> bool:
        """Whether any stored invitation is in ``state`` (the text filter only narrows the
        rows to decode; the decoded state decides)."""
        if not isinstance(state, InvitationState):
            raise InvalidInput(f"state must be an InvitationState, got {state!r}")
        with self._atomic(write=False):
            rows = self._rows(
                "SELECT doc FROM invitations WHERE doc LIKE ? ORDER BY id", (f"%{state.name}%",)
            )
        return any(decode(Invitation, row[0]).state is state for row in rows)

    def use_token(self, token_id: str) -> None:
        """Record a single-use token as used; a second use raises ``AlreadyExists``."""
        with self._atomic():
            try:
                self._execute("INSERT INTO used_tokens (token_id) VALUES (?)", (token_id,))
            except UniqueViolation as e:
                raise AlreadyExists(f"token {token_id} was used already") from e.__cause__

    def token_used(self, token_id: str) -> bool:
        """Whether :meth:`use_token` recorded ``token_id``."""
        with self._atomic(write=False):
            return bool(self._rows("SELECT 1 FROM used_tokens WHERE token_id = ?", (token_id,)))

    # ------------------------------------------------------------------ sharing

    def get_sharing(self, owner_id: str) -> SharingState:
        """The owner's sharing state (empty for an owner with none)."""
        with self._atomic(write=False):
            rows = self._rows("SELECT doc FROM sharing WHERE owner = ?", (owner_id,))
        return decode(SharingState, rows[0][0]) if rows else SharingState.of(owner_id)

    def save_sharing(self, state: SharingState, *, expected: SharingState | None = None) -> None:
        """Insert or replace the sharing state of ``state.owner``. With ``expected``, a
        compare-and-set: replace it only if the stored state is still ``expected`` (an
        owner with no stored state has the empty one), else raise ``ConcurrentUpdate``."""
        doc = encode(state)
        with self._atomic():
            if expected is not None:
                if expected.owner != state.owner:
                    raise InvalidInput("a compare-and-set compares one owner's sharing state")
                if self._count(
                    "UPDATE sharing SET doc = ? WHERE owner = ? AND doc = ?",
                    (doc, state.owner, encode(expected)),
                ):
                    return
                stored = self._rows("SELECT 1 FROM sharing WHERE owner = ?", (state.owner,))
                if stored or expected != SharingState.of(state.owner):
                    raise ConcurrentUpdate(
                        f"the sharing state of {state.owner} changed meanwhile; read it again"
                    )
            self._execute(
                "INSERT INTO sharing (owner, doc) VALUES (?, ?) "
                "ON CONFLICT (owner) DO UPDATE SET doc = excluded.doc",
                (state.owner, doc),
            )

    def sharing_with(self, user: str) -> tuple[SharingState, ...]:
        """The sharing states, by owner, holding a share with ``user``.

        The documents are narrowed with ``LIKE`` on the address as the codec writes it
        (JSON, ASCII-escaped), then checked exactly after decoding.
        """
        needle = json.dumps(user, ensure_ascii=True)[1:-1]
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._atomic(write=False):
            rows = self._rows(
                "SELECT doc FROM sharing WHERE doc LIKE ? ESCAPE '\\' ORDER BY owner", (pattern,)
            )
        states = (decode(SharingState, row[0]) for row in rows)
        return tuple(s for s in states if any(share.user == user for share in s.shares))

    # ------------------------------------------------------------------ recipients

    def set_delivery(self, recipient: Recipient, preference: DeliveryPreference | None) -> None:
        """Record the recipient's own choice of delivery (SPEC N10); ``None`` forgets it."""
        kind, address = _recipient_key(recipient, preference)
        with self._atomic():
            if preference is None:
                self._execute(
                    "DELETE FROM recipient_delivery WHERE kind = ? AND address = ?",
                    (kind, address),
                )
                return
            self._execute(
                "INSERT INTO recipient_delivery (kind, address, preference) VALUES (?, ?, ?) "
                "ON CONFLICT (kind, address) DO UPDATE SET preference = excluded.preference",
                (kind, address, preference.name),
            )

    def delivery_of(self, recipient: Recipient) -> DeliveryPreference | None:
        """The recipient's own choice of delivery, or ``None``."""
        kind, address = _recipient_key(recipient, None)
        with self._atomic(write=False):
            rows = self._rows(
                "SELECT preference FROM recipient_delivery WHERE kind = ? AND address = ?",
                (kind, address),
            )
        if not rows:
            return None
        try:
            return enum_from_name(DeliveryPreference, rows[0][0])
        except ValueError as e:
            raise StorageError(f"stored delivery choice of {address} cannot be read: {e}") from e

    # ------------------------------------------------------------------ event log

    def append_log(self, owner_id: str, entries: Sequence[LogEntry]) -> None:
        """Append entries to the owner's event log."""
        rows = [(owner_id, self._instant(e.at), encode(e)) for e in entries]
        with self._atomic():
            for row in rows:
                self._execute("INSERT INTO event_log (owner_id, at, doc) VALUES (?, ?, ?)", row)

    def log_of(self, owner_id: str, *, since: datetime) -> tuple[LogEntry, ...]:
        """Entries at or after ``since``, oldest first (ties in the order appended)."""
        at = self._instant(check_instant(since, "since"))
        with self._atomic(write=False):
            rows = self._rows(
                "SELECT doc FROM event_log WHERE owner_id = ? AND at >= ? ORDER BY at, seq",
                (owner_id, at),
            )
        return tuple(decode(LogEntry, r[0]) for r in rows)

    def prune_log(self, before: datetime) -> int:
        """Delete entries older than ``before``; returns how many (SPEC S5)."""
        at = self._instant(check_instant(before, "before"))
        with self._atomic():
            return self._count("DELETE FROM event_log WHERE at < ?", (at,))

    # ------------------------------------------------------------------ outbox

    def sent_stages(self, serial: str) -> tuple[SentStage, ...]:
        """The device's recorded stages in the order recorded; unknown ``UnknownDevice``."""
        with self._atomic(write=False):
            rows = self._rows(
                "SELECT kind, due, stage, sent_on FROM sent_stages WHERE serial = ? ORDER BY seq",
                (serial,),
            )
            if not rows:
                self._require_device(serial)
        try:
            return tuple(
                SentStage(
                    EventId(serial, enum_from_name(EventKind, kind), self._read_day(due)),
                    enum_from_name(NoticeStage, stage),
                    self._read_day(on),
                )
                for kind, due, stage, on in rows
            )
        except ValueError as e:
            raise StorageError(f"stored stage of device {serial} cannot be read: {e}") from e

    _INSERT_ITEM: ClassVar[str] = (
        f"INSERT INTO outbox ({OUTBOX_COLUMNS}, ready_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING"
    )
    _INSERT_STAGE: ClassVar[str] = (
        "INSERT INTO sent_stages (serial, kind, due, stage, sent_on) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (serial, kind, due, stage) DO NOTHING"
    )
    _UPSERT_SCHEDULE: ClassVar[str] = (
        "INSERT INTO schedule (serial, owner_id, next_on, doc) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (serial) DO UPDATE SET owner_id = excluded.owner_id, "
        "next_on = excluded.next_on, doc = excluded.doc"
    )

    def _item_params(
        self, item: OutboxItem, instants: dict[datetime, object]
    ) -> tuple[object, ...]:
        """The outbox row of ``item``, validated (a naive instant or a date that is not one
        raises here, before anything is written); ``instants`` caches converted instants,
        since a page's items share a few (``now``, the digest hold)."""
        check_item(item)
        recipient = item.recipient
        ready = ready_at(item)
        cached = instants.get(ready)
        if cached is None:
            cached = instants[ready] = self._instant(check_instant(ready, "instant"))
        delivered = item.delivered_at
        return (
            item.key,
            item.serial,
            item.owner_id,
            recipient.kind.name,
            recipient.address,
            None if recipient.chat is None else recipient.chat.name,
            self._day(item.day),
            item.payload,
            item.status.name,
            item.attempts,
            None if item.next_attempt_at is None else cached,
            None if delivered is None else self._instant(check_instant(delivered, "instant")),
            item.last_error,
            item.digest_key,
            cached,
        )

    def _stage_params(self, record: SentStage) -> tuple[object, ...]:
        if not isinstance(record, SentStage):
            raise InvalidInput(f"expected a SentStage, got {type(record).__name__}")
        return (
            record.event.serial,
            record.event.kind.name,
            self._day(check_day(record.event.on, "due")),
            record.stage.name,
            self._day(check_day(record.on, "on")),
        )

    def _insert_item(self, item: OutboxItem) -> int:
        return self._count(self._INSERT_ITEM, self._item_params(item, {}))

    def enqueue(
        self,
        items: Sequence[OutboxItem],
        sent: Sequence[SentStage],
        *,
        device: Device | None = None,
        schedule: ScheduleEntry | None = None,
        schedules: Sequence[ScheduleEntry] = (),
    ) -> int:
        """In one transaction: add the items whose key is new (``ON CONFLICT DO NOTHING``),
        record the stages (a known stage keeps its first record), save ``device`` and the
        schedule entries. Returns how many items were added (SPEC N9).

        Every row is built and checked before anything is written, and each table takes
        one prepared statement for all its rows. The stages and entries need their device:
        the tables' foreign keys check it, and a refused write names the missing device
        (``UnknownDevice``) after the savepoint has undone everything."""
        instants: dict[datetime, object] = {}
        item_rows = [self._item_params(item, instants) for item in items]
        stage_rows = [self._stage_params(record) for record in sent]
        entries = [*([] if schedule is None else [schedule]), *schedules]
        entry_rows = [
            (e.serial, e.owner_id, self._opt_day(e.next_on), e.doc)
            for e in map(check_schedule, entries)
        ]
        if device is not None:
            encode(device)
        needed = [str(r[0]) for r in stage_rows] + [str(r[0]) for r in entry_rows]
        try:
            with self._atomic():
                added = self._execute_many(self._INSERT_ITEM, item_rows) if item_rows else 0
                if stage_rows:
                    self._execute_many(self._INSERT_STAGE, stage_rows)
                if device is not None:
                    self.save_device(device)
                if entry_rows:
                    self._execute_many(self._UPSERT_SCHEDULE, entry_rows)
        except UniqueViolation:
            raise
        except StorageError as e:
            if isinstance(e, TemporaryFailure) or not needed:
                raise
            missing = self._missing_devices(needed)
            if missing:
                raise UnknownDevice(f"no device with serial {missing[0]}") from e
            raise
        _log.debug("enqueued %d of %d outbox items", added, len(item_rows))
        return added

    def _missing_devices(self, serials: Sequence[str]) -> list[str]:
        """The serials among ``serials`` that no device has, in their order."""
        wanted = list(dict.fromkeys(serials))
        with self._atomic(write=False):
            rows = self._in_chunks("SELECT serial FROM devices WHERE serial IN ({marks})", wanted)
        found = {str(r[0]) for r in rows}
        return [s for s in wanted if s not in found]

    def _item(self, row: Row) -> OutboxItem:
        try:
            (key, serial, owner_id, r_kind, r_address, r_chat, day, payload, status,
             attempts, next_attempt_at, delivered_at, last_error, digest_key) = row  # fmt: skip
            return OutboxItem(
                key=key,
                serial=serial,
                owner_id=owner_id,
                recipient=Recipient(
                    enum_from_name(RecipientKind, r_kind),
                    r_address,
                    None if r_chat is None else enum_from_name(ChatKind, r_chat),
                ),
                day=self._read_day(day),
                payload=payload,
                status=enum_from_name(DeliveryStatus, status),
                attempts=int(attempts),
                next_attempt_at=(
                    None if next_attempt_at is None else self._read_instant(next_attempt_at)
                ),
                delivered_at=None if delivered_at is None else self._read_instant(delivered_at),
                last_error=last_error,
                digest_key=digest_key,
            )
        except (ValueError, TypeError) as e:
            raise StorageError(f"stored outbox item cannot be read: {e}") from e

    def claim(
        self, now: datetime, *, worker: str, limit: int, lease_seconds: float = 300.0
    ) -> tuple[OutboxItem, ...]:
        """Lease up to ``limit`` ready PENDING items to ``worker`` for ``lease_seconds``,
        earliest ``next_attempt_at`` first (none counts as earliest), then by key. The
        select and the update are one write transaction: no two workers get one item."""
        check_instant(now, "now")
        check_limit(limit)
        until = lease_end(now, lease_seconds)
        with self._atomic():
            rows = self._claim_rows(now, until, worker, limit) if limit else []
        claimed = sorted((self._item(r) for r in rows), key=lambda i: (ready_at(i), i.key))
        _log.debug("worker %s claimed %d outbox items", worker, len(claimed))
        return tuple(claimed)

    def _require_item(self, changed: int, key: str) -> None:
        if not changed:
            raise NotFound(f"no outbox item with key {key}")

    def mark_sent(self, key: str, at: datetime) -> None:
        """Status SENT, ``delivered_at`` = ``at``, lease ended; unknown key ``NotFound``."""
        when = self._instant(check_instant(at, "at"))
        with self._atomic():
            changed = self._count(
                "UPDATE outbox SET status = 'SENT', delivered_at = ?, updated_at = ?, "
                "claimed_until = NULL, claimed_by = NULL WHERE key = ?",
                (when, when, key),
            )
            self._require_item(changed, key)

    def mark_failed(
        self, key: str, *, error: str, retry_at: datetime | None, at: datetime
    ) -> None:
        """Count a failed attempt: PENDING again at ``retry_at``, or FAILED if it is None;
        the lease ends either way. Unknown key ``NotFound``."""
        when = self._instant(check_instant(at, "at"))
        retry = None if retry_at is None else self._instant(check_instant(retry_at, "retry_at"))
        with self._atomic():
            if retry is None:
                changed = self._count(
                    "UPDATE outbox SET status = 'FAILED', attempts = attempts + 1, "
                    "last_error = ?, updated_at = ?, claimed_until = NULL, claimed_by = NULL "
                    "WHERE key = ?",
                    (error, when, key),
                )
            else:
                changed = self._count(
                    "UPDATE outbox SET status = 'PENDING', attempts = attempts + 1, "
                    "last_error = ?, next_attempt_at = ?, ready_at = ?, updated_at = ?, "
                    "claimed_until = NULL, claimed_by = NULL WHERE key = ?",
                    (error, retry, retry, when, key),
                )
            self._require_item(changed, key)

    def mark_suppressed(self, key: str, *, reason: str, at: datetime) -> None:
        """Status SUPPRESSED, ``last_error`` = ``reason`` (SPEC N7), lease ended."""
        when = self._instant(check_instant(at, "at"))
        with self._atomic():
            changed = self._count(
                "UPDATE outbox SET status = 'SUPPRESSED', last_error = ?, updated_at = ?, "
                "claimed_until = NULL, claimed_by = NULL WHERE key = ?",
                (reason, when, key),
            )
            self._require_item(changed, key)

    def fold_into_digest(self, digest: OutboxItem, member_keys: Sequence[str]) -> None:
        """Add ``digest`` (if its key is new) and mark the PENDING members DIGESTED into it;
        an unknown member raises ``NotFound`` and changes nothing (SPEC N10)."""
        check_item(digest)
        encode(digest)
        keys = check_keys(member_keys, "member_keys")
        with self._atomic():
            for key in keys:
                found = self._rows("SELECT 1 FROM outbox WHERE key = ?", (key,))
                self._require_item(len(found), key)
            self._insert_item(digest)
            for key in keys:
                self._execute(
                    "UPDATE outbox SET status = 'DIGESTED', digest_key = ?, "
                    "claimed_until = NULL, claimed_by = NULL WHERE key = ? AND status = 'PENDING'",
                    (digest.key, key),
                )

    def items(
        self, *, status: DeliveryStatus | None = None, owner_id: str | None = None
    ) -> tuple[OutboxItem, ...]:
        """Outbox items, by key, optionally only of one status and one owner."""
        where: list[str] = []
        params: list[object] = []
        if status is not None:
            where.append("status = ?")
            params.append(status.name)
        if owner_id is not None:
            where.append("owner_id = ?")
            params.append(owner_id)
        condition = f" WHERE {' AND '.join(where)}" if where else ""
        with self._atomic(write=False):
            rows = self._rows(
                f"SELECT {OUTBOX_COLUMNS} FROM outbox{condition} ORDER BY key", params
            )
        return tuple(self._item(r) for r in rows)

    def get_item(self, key: str) -> OutboxItem:
        """The outbox item stored under ``key``; unknown raises ``NotFound``."""
        with self._atomic(write=False):
            rows = self._rows(f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE key = ?", (key,))
        if not rows:
            raise NotFound(f"no outbox item {key}")
        return self._item(rows[0])

    def requeue(self, keys: Sequence[str], *, at: datetime) -> int:
        """PENDING or FAILED items among ``keys`` PENDING again at ``at``, lease ended;
        an unknown key raises ``NotFound`` and changes nothing."""
        when = self._instant(check_instant(at, "at"))
        wanted = check_keys(keys, "keys")
        changed = 0
        with self._atomic():
            for key in wanted:
                found = self._rows("SELECT 1 FROM outbox WHERE key = ?", (key,))
                self._require_item(len(found), key)
            for key in wanted:
                changed += self._count(
                    "UPDATE outbox SET status = 'PENDING', next_attempt_at = ?, ready_at = ?, "
                    "updated_at = ?, claimed_until = NULL, claimed_by = NULL "
                    "WHERE key = ? AND status IN ('PENDING', 'FAILED')",
                    (when, when, when, key),
                )
        return changed

    # ------------------------------------------------------------------ schedule

    def save_schedule(self, entry: ScheduleEntry) -> None:
        """Insert or replace the device's schedule entry; unknown device ``UnknownDevice``."""
        check_schedule(entry)
        with self._atomic():
            self._require_device(entry.serial)
            self._upsert_schedule(entry)

    def _upsert_schedule(self, entry: ScheduleEntry) -> None:
        self._execute(
            self._UPSERT_SCHEDULE,
            (entry.serial, entry.owner_id, self._opt_day(entry.next_on), entry.doc),
        )

    def _entry(self, row: Row) -> ScheduleEntry:
        serial, owner_id, next_on, doc = row
        day = None if next_on is None else self._read_day(next_on)
        return ScheduleEntry(str(serial), str(owner_id), day, str(doc))

    def get_schedule(self, serial: str) -> ScheduleEntry | None:
        """The device's schedule entry, ``None`` if none is stored."""
        with self._atomic(write=False):
            rows = self._rows(
                "SELECT serial, owner_id, next_on, doc FROM schedule WHERE serial = ?", (serial,)
            )
        return self._entry(rows[0]) if rows else None

    def schedule_due(
        self, on_or_before: date, *, after: str | None = None, limit: int = 500
    ) -> tuple[ScheduleEntry, ...]:
        """Entries whose ``next_on`` is on or before the day, by serial, after ``after``,
        through the ``schedule_due`` index: the cost follows the entries due."""
        day = self._day(check_day(on_or_before, "on_or_before"))
        check_limit(limit)
        with self._atomic(write=False):
            if after is None:
                rows = self._rows(self._SCHEDULE_DUE, (day, limit))
            else:
                rows = self._rows(self._SCHEDULE_DUE_AFTER, (day, after, limit))
        return tuple(self._entry(r) for r in rows)

    def all_devices(
        self, *, after: str | None = None, limit: int = 500
    ) -> tuple[Device, ...]:
        """Every device, by serial, a page at a time (rebuilding the schedule)."""
        check_limit(limit)
        with self._atomic(write=False):
            if after is None:
                rows = self._rows(
                    "SELECT serial, doc FROM devices ORDER BY serial LIMIT ?", (limit,)
                )
            else:
                rows = self._rows(
                    "SELECT serial, doc FROM devices WHERE serial > ? ORDER BY serial LIMIT ?",
                    (after, limit),
                )
        return tuple(self._device_of(str(serial), doc) for serial, doc in rows)

    def schedule_stamp(self) -> str | None:
        """The stamp :meth:`set_schedule_stamp` stored, or ``None``."""
        with self._atomic(write=False):
            rows = self._rows("SELECT value FROM settings WHERE name = 'schedule'")
        return str(rows[0][0]) if rows else None

    def set_schedule_stamp(self, stamp: str) -> None:
        """Record what the stored schedule was built with."""
        if not isinstance(stamp, str) or not stamp:
            raise InvalidInput(f"a schedule stamp is a non-empty string, got {stamp!r}")
        with self._atomic():
            self._execute(
                "INSERT INTO settings (name, value) VALUES ('schedule', ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (stamp,),
            )

    # A serial's first registration day lives in the settings table (migration 5), one
    # row per serial, so remembering it needs no schema change.
    _FIRST_REGISTRATION: ClassVar[str] = "first_registered_on:"

    def remember_first_registration(self, serial: str, registered_on: date) -> None:
        """Keep the earliest registration day of ``serial``, whatever becomes of it."""
        name = self._FIRST_REGISTRATION + require_text(serial, "serial", max_length=MAX_SERIAL)
        day = check_day(registered_on, "registered_on")
        with self._atomic():
            known = self._rows("SELECT value FROM settings WHERE name = ?", (name,))
            if known and self._remembered(serial, known[0][0]) <= day:
                return
            self._execute(
                "INSERT INTO settings (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, day_to_text(day)),
            )

    def first_registered_on(self, serial: str) -> date | None:
        """The day :meth:`remember_first_registration` kept for ``serial``, or ``None``."""
        name = self._FIRST_REGISTRATION + require_text(serial, "serial", max_length=MAX_SERIAL)
        with self._atomic(write=False):
            rows = self._rows("SELECT value FROM settings WHERE name = ?", (name,))
        return self._remembered(serial, rows[0][0]) if rows else None

    def _remembered(self, serial: str, value: object) -> date:
        try:
            return day_from_text(str(value))
        except ValueError as e:
            raise StorageError(
                f"the stored first registration day of {serial} cannot be read: {value!r}"
            ) from e
