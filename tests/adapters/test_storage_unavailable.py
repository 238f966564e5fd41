"""A database that cannot serve a call now is a TemporaryFailure (the CLI exits 75), not bad
input: SQLite locked past its busy timeout, PostgreSQL's lock timeout (docs/operations.md)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from upslife.adapters.sqlite import SqliteStore
from upslife.errors import StorageError, StorageUnavailable, TemporaryFailure
from upslife.testing.contract import device, owner


def test_sqlite_locked_past_the_busy_timeout_is_storage_unavailable(tmp_path: Path) -> None:
    db = tmp_path / "u.db"
    store = SqliteStore(db, busy_timeout=0.1)
    store.add_owner(owner())
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageUnavailable) as caught:
            store.add_device(device())
        assert isinstance(caught.value, TemporaryFailure)
        assert isinstance(caught.value, StorageError)
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.add_device(device())  # the lock gone, the same call succeeds
    store.close()


def test_sqlite_busy_with_an_extended_code_is_storage_unavailable(tmp_path: Path) -> None:
    # A read transaction whose snapshot another writer moved past cannot write: SQLite says
    # "database is locked" with SQLITE_BUSY_SNAPSHOT (517), an extended SQLITE_BUSY.
    db = tmp_path / "u.db"
    store = SqliteStore(db, busy_timeout=0.1)
    other = sqlite3.connect(db, isolation_level=None)
    try:
        store._execute("BEGIN")
        store._execute("SELECT count(*) FROM owners")
        other.execute("INSERT INTO settings (name, value) VALUES ('a', 'b')")
        with pytest.raises(StorageUnavailable) as caught:
            store._execute("INSERT INTO settings (name, value) VALUES ('c', 'd')")
        assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
        assert caught.value.__cause__.sqlite_errorcode == 517
        store._execute("ROLLBACK")
    finally:
        other.close()
        store.close()


def test_postgres_lock_timeout_is_storage_unavailable(postgres_dsn: str) -> None:
    psycopg = pytest.importorskip("psycopg")
    from upslife.adapters.postgres import PostgresStore

    setup = PostgresStore(postgres_dsn)
    setup.add_owner(owner())
    setup.add_device(device())
    holder = psycopg.connect(postgres_dsn, autocommit=False)
    waiter = psycopg.connect(postgres_dsn, autocommit=True)
    waiter.execute("SET lock_timeout = '100ms'")
    store = PostgresStore(waiter)
    try:
        holder.execute("SELECT 1 FROM devices WHERE serial = %s FOR UPDATE", (device().serial,))
        with pytest.raises(StorageUnavailable):
            store.save_device(device())
    finally:
        holder.rollback()
        holder.close()
    store.save_device(device())
    store.close()
    waiter.close()
    setup.close()
