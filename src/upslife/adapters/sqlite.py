"""``SqliteStore``: the embedded default :class:`~upslife.ports.Store`, one SQLite file.

Standard library only (:mod:`sqlite3`). The file is opened with ``journal_mode=WAL`` (readers
never wait for the writer), ``foreign_keys=ON`` and a ``busy_timeout``, and is safe to share
between processes on one machine, e.g. the application and a separate sweep or delivery
worker. Transactions are explicit: a writing call is ``BEGIN IMMEDIATE ... COMMIT``, so it
takes the write lock before reading, and :meth:`~SqliteStore.claim` selects and leases its
outbox items under that lock: two processes never claim the same item.

Dates are ISO text (``2025-02-28``) and instants fixed-width ISO text in UTC, so SQLite's
text order is time order and the ``devices_due`` and ``outbox_claim`` indexes serve the
range scans. Records are JSON documents (:mod:`upslife.adapters._codec`) beside the key
columns that index them. The schema is versioned (:data:`MIGRATIONS`); opening a file
migrates it forward, and a file from a newer upslife is refused with
:class:`SchemaVersionTooNew`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from typing import Final, final

from upslife.adapters._codec import day_from_text, day_to_text, instant_from_text, instant_to_text
from upslife.adapters._sql import (
    OUTBOX_COLUMNS,
    Row,
    SchemaVersionTooNew,
    SqlStore,
    UniqueViolation,
)
from upslife.errors import InvalidInput, StorageError, StorageUnavailable

__all__ = ["MIGRATIONS", "SchemaVersionTooNew", "SqliteStore"]

_log = logging.getLogger(__name__)

MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    # 1: owners, devices and their entitlements, codes, invitations, sharing, event log
    (
        "CREATE TABLE owners (id TEXT NOT NULL PRIMARY KEY, doc TEXT NOT NULL)",
        "CREATE TABLE devices ("
        " serial TEXT NOT NULL PRIMARY KEY,"
        " owner_id TEXT NOT NULL,"
        " next_notice_on TEXT,"
        " doc TEXT NOT NULL)",
        "CREATE INDEX devices_by_owner ON devices (owner_id, serial)",
        "CREATE INDEX devices_due ON devices (next_notice_on, serial)"
        " WHERE next_notice_on IS NOT NULL",
        "CREATE TABLE licenses ("
        " seq INTEGER PRIMARY KEY,"
        " id TEXT NOT NULL UNIQUE,"
        " serial TEXT NOT NULL REFERENCES devices (serial),"
        " doc TEXT NOT NULL)",
        "CREATE INDEX licenses_by_device ON licenses (serial, seq)",
        "CREATE TABLE warranties ("
        " seq INTEGER PRIMARY KEY,"
        " id TEXT NOT NULL UNIQUE,"
        " serial TEXT NOT NULL REFERENCES devices (serial),"
        " doc TEXT NOT NULL)",
        "CREATE INDEX warranties_by_device ON warranties (serial, seq)",
        "CREATE TABLE codes ("
        " code TEXT NOT NULL PRIMARY KEY,"
        " assigned INTEGER NOT NULL,"
        " doc TEXT NOT NULL)",
        "CREATE TABLE invitations ("
        " id TEXT NOT NULL PRIMARY KEY,"
        " owner_id TEXT NOT NULL,"
        " sent_at TEXT NOT NULL,"
        " doc TEXT NOT NULL)",
        "CREATE INDEX invitations_by_owner ON invitations (owner_id, sent_at, id)",
        "CREATE TABLE used_tokens (token_id TEXT NOT NULL PRIMARY KEY)",
        "CREATE TABLE sharing (owner TEXT NOT NULL PRIMARY KEY, doc TEXT NOT NULL)",
        "CREATE TABLE event_log ("
        " seq INTEGER PRIMARY KEY,"
        " owner_id TEXT NOT NULL,"
        " at TEXT NOT NULL,"
        " doc TEXT NOT NULL)",
        "CREATE INDEX event_log_by_owner ON event_log (owner_id, at, seq)",
        "CREATE INDEX event_log_by_time ON event_log (at)",
    ),
    # 2: notices: the stages each event has had, and the outbox with its leases
    (
        "CREATE TABLE sent_stages ("
        " seq INTEGER PRIMARY KEY,"
        " serial TEXT NOT NULL REFERENCES devices (serial),"
        " kind TEXT NOT NULL,"
        " due TEXT NOT NULL,"
        " stage TEXT NOT NULL,"
        " sent_on TEXT NOT NULL,"
        " UNIQUE (serial, kind, due, stage))",
        "CREATE TABLE outbox ("
        " key TEXT NOT NULL PRIMARY KEY,"
        " serial TEXT,"
        " owner_id TEXT NOT NULL,"
        " recipient_kind TEXT NOT NULL,"
        " recipient_address TEXT NOT NULL,"
        " recipient_chat TEXT,"
        " day TEXT NOT NULL,"
        " payload TEXT NOT NULL,"
        " status TEXT NOT NULL,"
        " attempts INTEGER NOT NULL,"
        " next_attempt_at TEXT,"
        " delivered_at TEXT,"
        " last_error TEXT,"
        " digest_key TEXT,"
        " ready_at TEXT NOT NULL,"
        " claimed_until TEXT,"
        " claimed_by TEXT,"
        " updated_at TEXT)",
        "CREATE INDEX outbox_claim ON outbox (ready_at, key) WHERE status = 'PENDING'",
        "CREATE INDEX outbox_by_owner ON outbox (owner_id, key)",
        "CREATE INDEX outbox_by_status ON outbox (status, key)",
    ),
    # 3: which invitations are still pending, so expiry reads only those (SPEC I2, I4)
    (
        "ALTER TABLE invitations ADD COLUMN pending INTEGER NOT NULL DEFAULT 0",
        "UPDATE invitations SET pending = (json_extract(doc, '$.state') = 'PENDING')",
        "CREATE INDEX invitations_pending ON invitations (sent_at, id) WHERE pending = 1",
    ),
    # 4: each recipient's own choice of delivery: a reseller's digest covers every
    # customer (SPEC N10)
    (
        "CREATE TABLE recipient_delivery ("
        " kind TEXT NOT NULL,"
        " address TEXT NOT NULL,"
        " preference TEXT NOT NULL,"
        " PRIMARY KEY (kind, address))",
    ),
    # 5: the stored lifecycle schedule the daily plan reads (one entry per device, indexed
    # on its next stage date), and the stamp of the rules and catalog it was built with.
    # Existing devices get their entries from the first sweep or `upslife schedule rebuild`
    # (the stamp is unset): the rules live in Python, not in SQL.
    (
        "CREATE TABLE schedule ("
        " serial TEXT NOT NULL PRIMARY KEY REFERENCES devices (serial) ON DELETE CASCADE,"
        " owner_id TEXT NOT NULL,"
        " next_on TEXT,"
        " doc TEXT NOT NULL)",
        "CREATE INDEX schedule_due ON schedule (next_on, serial) WHERE next_on IS NOT NULL",
        "CREATE TABLE settings (name TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL)",
    ),
)
"""The schema's history; see :attr:`upslife.adapters._sql.SqlStore.MIGRATIONS`."""

_CLAIMABLE: Final = (
    f"SELECT {OUTBOX_COLUMNS} FROM outbox INDEXED BY outbox_claim"
    " WHERE status = 'PENDING' AND ready_at <= ?"
    " AND (claimed_until IS NULL OR claimed_until <= ?)"
    " ORDER BY ready_at, key LIMIT ?"
)
_UNIQUE_CODES: Final = frozenset(
    {sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY}
)
_BUSY_CODES: Final = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
FILE_MODE: Final = 0o600
"""The mode a new database file is created with: it holds customers' names and emails.
SQLite gives its ``-wal`` and ``-shm`` files the database file's mode."""


def _create_private(path: str | os.PathLike[str]) -> None:
    """Create the database file ``0600`` if it does not exist (an existing file keeps its
    mode: the operator chose it)."""
    if str(path) == ":memory:" or str(path).startswith("file:"):
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    except FileExistsError:
        return
    except OSError as e:
        raise StorageError(f"cannot create the SQLite database {path}: {e.strerror}") from e
    os.close(fd)


def _storage_error(e: Exception) -> StorageError:
    """The port's error for a driver error: a duplicate, a lock held past the timeout
    (worth trying again later), or any other failure."""
    if isinstance(e, sqlite3.IntegrityError):
        if e.sqlite_errorcode in _UNIQUE_CODES:
            return UniqueViolation(f"SQLite refused a duplicate: {e}")
        return StorageError(f"SQLite refused the change: {e}")
    # sqlite_errorcode is the extended code: SQLITE_BUSY_SNAPSHOT (517), SQLITE_BUSY_TIMEOUT
    # (773), ... are all SQLITE_BUSY in their low byte.
    busy = (getattr(e, "sqlite_errorcode", -1) & 0xFF) in _BUSY_CODES
    if isinstance(e, sqlite3.OperationalError) and busy:
        return StorageUnavailable(
            f"SQLite database is locked by another writer beyond the busy timeout: {e}"
        )
    return StorageError(f"SQLite failed: {e}")


@final
class SqliteStore(SqlStore):
    """The whole :class:`~upslife.ports.Store` in one SQLite file.

    Args:
        path: the database file, created (with its schema) if missing, migrated forward if
            older; ``":memory:"`` gives a private in-memory database (no WAL).
        busy_timeout: seconds a call waits for another process's write lock before it fails
            with :class:`~upslife.errors.StorageError`.

    Raises:
        SchemaVersionTooNew: the file was written by a newer upslife.
        StorageError: the file cannot be opened or migrated.

    >>> store = SqliteStore(":memory:")
    >>> store.count_devices(), store.schema_version() == len(MIGRATIONS)
    (0, True)
    >>> store.close()
    """

    MIGRATIONS = MIGRATIONS
    # Without statistics SQLite would walk the primary key for ORDER BY serial, i.e. every
    # device; INDEXED BY makes it read only the due rows (and fail loudly if the index went).
    _DEVICES_DUE = (
        "SELECT serial, doc FROM devices INDEXED BY devices_due"
        " WHERE next_notice_on <= ? ORDER BY serial LIMIT ?"
    )
    _DEVICES_DUE_AFTER = (
        "SELECT serial, doc FROM devices INDEXED BY devices_due"
        " WHERE next_notice_on <= ? AND serial > ? ORDER BY serial LIMIT ?"
    )

    _SCHEDULE_DUE = (
        "SELECT serial, owner_id, next_on, doc FROM schedule INDEXED BY schedule_due"
        " WHERE next_on <= ? ORDER BY serial LIMIT ?"
    )
    _SCHEDULE_DUE_AFTER = (
        "SELECT serial, owner_id, next_on, doc FROM schedule INDEXED BY schedule_due"
        " WHERE next_on <= ? AND serial > ? ORDER BY serial LIMIT ?"
    )

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 5.0) -> None:
        super().__init__()
        if isinstance(busy_timeout, bool) or not isinstance(busy_timeout, int | float):
            raise InvalidInput(f"busy_timeout must be a number of seconds, got {busy_timeout!r}")
        if not 0 <= busy_timeout < 86_400:
            raise InvalidInput(f"busy_timeout must be 0 to 86400 seconds, got {busy_timeout}")
        _create_private(path)
        try:
            self._conn = sqlite3.connect(
                path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as e:
            raise StorageError(f"cannot open the SQLite database: {e}") from e
        try:
            self._configure(int(busy_timeout * 1000))
            self._migrate()
        except BaseException:
            self._conn.close()
            raise

    def _configure(self, busy_ms: int) -> None:
        # PRAGMAs take no parameters; busy_ms is an int computed above, never caller text.
        self._execute(f"PRAGMA busy_timeout = {busy_ms:d}")
        self._execute("PRAGMA foreign_keys = ON")
        rows, _ = self._execute("PRAGMA journal_mode = WAL")
        mode = str(rows[0][0]).lower() if rows else "?"
        if mode != "wal":
            _log.info("SQLite journal mode is %s (WAL needs a file on a local disk)", mode)

    # ------------------------------------------------------------------ dialect hooks

    def _execute(self, sql: str, params: Sequence[object] = ()) -> tuple[list[Row], int]:
        try:
            cursor = self._conn.execute(sql, params)
            rows = cursor.fetchall()
            return rows, cursor.rowcount
        except (sqlite3.Error, ValueError, OverflowError) as e:
            raise _storage_error(e) from e

    def _execute_many(self, sql: str, rows: Sequence[Sequence[object]]) -> int:
        try:
            return self._conn.executemany(sql, rows).rowcount
        except (sqlite3.Error, ValueError, OverflowError) as e:
            raise _storage_error(e) from e

    def _begin(self, *, write: bool) -> None:
        self._execute("BEGIN IMMEDIATE" if write else "BEGIN")

    def _close_connection(self) -> None:
        try:
            self._conn.close()
        except sqlite3.Error as e:
            raise StorageError(f"cannot close the SQLite database: {e}") from e

    def _claim_rows(self, now: datetime, until: datetime, worker: str, limit: int) -> list[Row]:
        # Inside BEGIN IMMEDIATE: no other connection writes between the select and the
        # updates, so no two workers lease one item.
        at = instant_to_text(now)
        rows = self._execute(_CLAIMABLE, (at, at, limit))[0]
        lease = instant_to_text(until)
        for row in rows:
            self._execute(
                "UPDATE outbox SET claimed_until = ?, claimed_by = ? WHERE key = ?",
                (lease, worker, row[0]),
            )
        return rows

    def _day(self, value: date) -> object:
        return day_to_text(value)

    def _read_day(self, value: object) -> date:
        if not isinstance(value, str):
            raise StorageError(f"stored date {value!r} is not ISO text")
        return day_from_text(value)

    def _instant(self, value: datetime) -> object:
        return instant_to_text(value)

    def _read_instant(self, value: object) -> datetime:
        if not isinstance(value, str):
            raise StorageError(f"stored instant {value!r} is not ISO text")
        return instant_from_text(value)
