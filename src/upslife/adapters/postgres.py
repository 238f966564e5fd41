"""``PostgresStore``: the :class:`~upslife.ports.Store` on PostgreSQL, with psycopg 3.

Needs the ``postgres`` extra (``pip install "upslife[postgres]"``); psycopg is imported here
only, so ``import upslife`` never needs it. The schema and behaviour are those of the SQLite
store (same statements, same contract suite), with native types: ``date``, ``timestamptz``,
and key columns in the ``"C"`` collation so that ``ORDER BY serial`` sorts exactly as
Python sorts strings, whatever the database's locale.

Concurrency: each store is one connection. Several workers (threads with a store each, or
processes) share the outbox safely: :meth:`~PostgresStore.claim` picks its rows with
``SELECT ... FOR UPDATE SKIP LOCKED`` inside the ``UPDATE ... RETURNING`` that leases them,
so two workers never claim the same item and neither waits for the other; codes are saved
with a compare-and-set ``UPDATE ... WHERE assigned = %s`` (SPEC E6). Every driver error is
translated: unique violations into :class:`~upslife.errors.AlreadyExists` (or
:class:`~upslife.errors.AlreadyRegistered`), anything else into
:class:`~upslife.errors.StorageError`, the psycopg exception chained as the cause.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final, final

import psycopg
import psycopg.errors

from upslife._validation import hide_passwords
from upslife.adapters._sql import (
    OUTBOX_COLUMNS,
    Row,
    SchemaVersionTooNew,
    SqlStore,
    UniqueViolation,
)
from upslife.errors import StorageError, StorageUnavailable

__all__ = ["MIGRATIONS", "PostgresStore", "SchemaVersionTooNew"]

_log = logging.getLogger(__name__)

_KEY = 'text COLLATE "C"'

MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    # 1: owners, devices and their entitlements, codes, invitations, sharing, event log
    (
        f"CREATE TABLE owners (id {_KEY} NOT NULL PRIMARY KEY, doc text NOT NULL)",
        "CREATE TABLE devices ("
        f" serial {_KEY} NOT NULL PRIMARY KEY,"
        f" owner_id {_KEY} NOT NULL,"
        " next_notice_on date,"
        " doc text NOT NULL)",
        "CREATE INDEX devices_by_owner ON devices (owner_id, serial)",
        "CREATE INDEX devices_due ON devices (next_notice_on, serial)"
        " WHERE next_notice_on IS NOT NULL",
        "CREATE TABLE licenses ("
        " seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        f" id {_KEY} NOT NULL UNIQUE,"
        f" serial {_KEY} NOT NULL REFERENCES devices (serial),"
        " doc text NOT NULL)",
        "CREATE INDEX licenses_by_device ON licenses (serial, seq)",
        "CREATE TABLE warranties ("
        " seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        f" id {_KEY} NOT NULL UNIQUE,"
        f" serial {_KEY} NOT NULL REFERENCES devices (serial),"
        " doc text NOT NULL)",
        "CREATE INDEX warranties_by_device ON warranties (serial, seq)",
        "CREATE TABLE codes ("
        f" code {_KEY} NOT NULL PRIMARY KEY,"
        " assigned integer NOT NULL,"
        " doc text NOT NULL)",
        "CREATE TABLE invitations ("
        f" id {_KEY} NOT NULL PRIMARY KEY,"
        f" owner_id {_KEY} NOT NULL,"
        " sent_at timestamptz NOT NULL,"
        " doc text NOT NULL)",
        "CREATE INDEX invitations_by_owner ON invitations (owner_id, sent_at, id)",
        f"CREATE TABLE used_tokens (token_id {_KEY} NOT NULL PRIMARY KEY)",
        f"CREATE TABLE sharing (owner {_KEY} NOT NULL PRIMARY KEY, doc text NOT NULL)",
        "CREATE TABLE event_log ("
        " seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        f" owner_id {_KEY} NOT NULL,"
        " at timestamptz NOT NULL,"
        " doc text NOT NULL)",
        "CREATE INDEX event_log_by_owner ON event_log (owner_id, at, seq)",
        "CREATE INDEX event_log_by_time ON event_log (at)",
    ),
    # 2: notices: the stages each event has had, and the outbox with its leases
    (
        "CREATE TABLE sent_stages ("
        " seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        f" serial {_KEY} NOT NULL REFERENCES devices (serial),"
        " kind text NOT NULL,"
        " due date NOT NULL,"
        " stage text NOT NULL,"
        " sent_on date NOT NULL,"
        " UNIQUE (serial, kind, due, stage))",
        "CREATE TABLE outbox ("
        f" key {_KEY} NOT NULL PRIMARY KEY,"
        f" serial {_KEY},"
        f" owner_id {_KEY} NOT NULL,"
        " recipient_kind text NOT NULL,"
        " recipient_address text NOT NULL,"
        " recipient_chat text,"
        " day date NOT NULL,"
        " payload text NOT NULL,"
        " status text NOT NULL,"
        " attempts integer NOT NULL,"
        " next_attempt_at timestamptz,"
        " delivered_at timestamptz,"
        " last_error text,"
        f" digest_key {_KEY},"
        " ready_at timestamptz NOT NULL,"
        " claimed_until timestamptz,"
        " claimed_by text,"
        " updated_at timestamptz)",
        "CREATE INDEX outbox_claim ON outbox (ready_at, key) WHERE status = 'PENDING'",
        "CREATE INDEX outbox_by_owner ON outbox (owner_id, key)",
        "CREATE INDEX outbox_by_status ON outbox (status, key)",
    ),
    # 3: which invitations are still pending, so expiry reads only those (SPEC I2, I4)
    (
        "ALTER TABLE invitations ADD COLUMN pending boolean NOT NULL DEFAULT false",
        "UPDATE invitations SET pending = (doc::jsonb ->> 'state') = 'PENDING'",
        "CREATE INDEX invitations_pending ON invitations (sent_at, id) WHERE pending",
    ),
    # 4: each recipient's own choice of delivery: a reseller's digest covers every
    # customer (SPEC N10)
    (
        "CREATE TABLE recipient_delivery ("
        f" kind {_KEY} NOT NULL,"
        f" address {_KEY} NOT NULL,"
        " preference text NOT NULL,"
        " PRIMARY KEY (kind, address))",
    ),
    # 5: the stored lifecycle schedule (see the SQLite store's migration 5)
    (
        "CREATE TABLE schedule ("
        f" serial {_KEY} NOT NULL PRIMARY KEY REFERENCES devices (serial) ON DELETE CASCADE,"
        f" owner_id {_KEY} NOT NULL,"
        " next_on date,"
        " doc text NOT NULL)",
        "CREATE INDEX schedule_due ON schedule (next_on, serial) WHERE next_on IS NOT NULL",
        f"CREATE TABLE settings (name {_KEY} NOT NULL PRIMARY KEY, value text NOT NULL)",
    ),
)
"""The schema's history; see :attr:`upslife.adapters._sql.SqlStore.MIGRATIONS`."""

_CLAIM: Final = (
    "WITH picked AS ("
    " SELECT key FROM outbox"
    " WHERE status = 'PENDING' AND ready_at <= %s"
    " AND (claimed_until IS NULL OR claimed_until <= %s)"
    " ORDER BY ready_at, key LIMIT %s"
    " FOR UPDATE SKIP LOCKED)"
    " UPDATE outbox SET claimed_until = %s, claimed_by = %s"
    " FROM picked WHERE outbox.key = picked.key"
    " RETURNING " + ", ".join(f"outbox.{c.strip()}" for c in OUTBOX_COLUMNS.split(","))
)

_SCHEMA_LOCK: Final = 0x7570736C69666531  # "upslife1": the advisory lock migrations take

# What libpq (and psycopg) say when the server cannot be reached or cannot take a
# connection *now*: worth trying again later. Anything else from a connection attempt (a
# malformed DSN, an unknown role or database, a refused password, a host name that does
# not resolve) is the configuration's fault and stays a StorageError.
_UNREACHABLE: Final = (
    "connection refused",
    "timeout expired",
    "timed out",
    "no route to host",
    "network is unreachable",
    "host is unreachable",
    "temporary failure in name resolution",
    "connection reset by peer",
    "server closed the connection unexpectedly",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "the database system is not yet accepting connections",
    "sorry, too many clients already",
)


def _endpoint(dsn: str) -> str:
    """``host:port`` of ``dsn`` (each of them, for a multi-host DSN); never its password."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(dsn)
    except psycopg.Error:
        return "the configured server"
    hosts = str(params.get("host") or os.environ.get("PGHOST") or "localhost").split(",")
    ports = str(params.get("port") or os.environ.get("PGPORT") or "5432").split(",")
    if len(ports) == 1:
        ports *= len(hosts)
    return ", ".join(
        f"{h or 'localhost'}:{p or '5432'}" for h, p in zip(hosts, ports, strict=False)
    )


def _connect_error(target: object, error: psycopg.Error) -> StorageError:
    """The error for a failed connection attempt: :class:`StorageUnavailable` (the CLI
    exits 75) when the server is down, refuses or times out, naming ``host:port``;
    a plain :class:`StorageError` (exit 2) for a configuration the server or libpq refuses."""
    text = hide_passwords(" ".join(str(error).split()))
    lowered = text.lower()
    if isinstance(error, psycopg.OperationalError) and (
        isinstance(error, psycopg.errors.ConnectionTimeout)
        or any(marker in lowered for marker in _UNREACHABLE)
    ):
        where = _endpoint(target) if isinstance(target, str) else "the server"
        # libpq's first line ends with the cause ("... port 5432 failed: Connection
        # refused"); the hint lines after it ("Is the server running ...?") add nothing.
        first = hide_passwords(" ".join(str(error).splitlines()[:1]).strip()) or text
        reason = first.rsplit("failed: ", 1)[-1]
        return StorageUnavailable(
            f"PostgreSQL at {where} cannot be reached now: {reason}; nothing was changed"
        )
    return StorageError(f"cannot connect to PostgreSQL: {text}")


def _storage_error(e: psycopg.Error) -> StorageError:
    """The port's error for a driver error: a duplicate, a failure worth trying again
    later (lock timeouts, deadlocks, serialization failures, a lost connection: not the
    caller's fault), or any other failure."""
    if isinstance(e, psycopg.errors.UniqueViolation):
        return UniqueViolation(f"PostgreSQL refused a duplicate: {e.diag.message_primary}")
    if isinstance(e, psycopg.OperationalError):
        return StorageUnavailable(f"PostgreSQL cannot serve the call now: {type(e).__name__}: {e}")
    return StorageError(f"PostgreSQL failed: {type(e).__name__}: {e}")


@final
class PostgresStore(SqlStore):
    """The whole :class:`~upslife.ports.Store` in a PostgreSQL database.

    Args:
        target: a connection string (``"postgresql://user@host/db"``), or an open psycopg
            connection that the store may use alone: the store puts it in autocommit mode
            and issues its own ``BEGIN``/``COMMIT``, and :meth:`close` leaves it open.
            Tables live in the first schema of the connection's ``search_path``.

    Raises:
        SchemaVersionTooNew: the database was migrated by a newer upslife.
        StorageUnavailable: the server is down, refuses connections, or does not answer
            within ``connect_timeout``; the message names ``host:port``. Try again later.
        StorageError: the DSN, role, database or password is refused, or the schema
            cannot be migrated.
    """

    MIGRATIONS = MIGRATIONS

    def __init__(self, target: str | psycopg.Connection[Any]) -> None:
        super().__init__()
        self._sql: dict[str, str] = {}
        self._owns_connection = not isinstance(target, psycopg.Connection)
        try:
            if isinstance(target, psycopg.Connection):
                self._conn: psycopg.Connection[Any] = target
                self._conn.autocommit = True
            else:
                self._conn = psycopg.connect(target, autocommit=True)
        except psycopg.Error as e:
            # psycopg quotes a malformed DSN whole, password included (issue 13).
            raise _connect_error(target, e) from None
        try:
            self._migrate()
        except BaseException:
            if self._owns_connection:
                self._conn.close()
            raise

    # ------------------------------------------------------------------ dialect hooks

    def _query(self, sql: str) -> str:
        query = self._sql.get(sql)
        if query is None:
            query = self._sql[sql] = sql.replace("?", "%s")
        return query

    def _execute(self, sql: str, params: Sequence[object] = ()) -> tuple[list[Row], int]:
        try:
            cursor = self._conn.execute(self._query(sql), params)
            rows = cursor.fetchall() if cursor.description is not None else []
            return rows, cursor.rowcount
        except psycopg.Error as e:
            raise _storage_error(e) from e

    def _execute_many(self, sql: str, rows: Sequence[Sequence[object]]) -> int:
        try:
            with self._conn.cursor() as cursor:
                cursor.executemany(self._query(sql), rows)
                return cursor.rowcount
        except psycopg.Error as e:
            raise _storage_error(e) from e

    def _begin(self, *, write: bool) -> None:
        self._execute("BEGIN" if write else "BEGIN READ ONLY")

    def _close_connection(self) -> None:
        if not self._owns_connection:
            return
        try:
            self._conn.close()
        except psycopg.Error as e:
            raise StorageError(f"cannot close the PostgreSQL connection: {e}") from e

    def _lock_schema(self) -> None:
        self._execute("SELECT pg_advisory_xact_lock(CAST(? AS bigint))", (_SCHEMA_LOCK,))

    def _claim_rows(self, now: datetime, until: datetime, worker: str, limit: int) -> list[Row]:
        try:
            cursor = self._conn.execute(_CLAIM, (now, now, limit, until, worker))
            return cursor.fetchall()
        except psycopg.Error as e:
            raise StorageError(f"PostgreSQL failed to claim: {type(e).__name__}: {e}") from e

    def _read_instant(self, value: object) -> datetime:
        return super()._read_instant(value).astimezone(UTC)
