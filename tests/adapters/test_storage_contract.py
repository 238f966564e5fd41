"""The storage contract (``upslife.testing.contract``) run on every shipped store."""

from __future__ import annotations

from pathlib import Path

import pytest

from upslife.adapters.sqlite import SqliteStore
from upslife.ports import Store
from upslife.testing import MemoryStore
from upslife.testing.contract import StoreContract


class TestMemoryStore(StoreContract):
    def make_store(self) -> Store:
        return MemoryStore()


class TestSqliteStore(StoreContract):
    @pytest.fixture(autouse=True)
    def _database_file(self, tmp_path: Path) -> None:
        self.path = tmp_path / "upslife.sqlite3"

    def make_store(self) -> Store:
        return SqliteStore(self.path)


class TestPostgresStore(StoreContract):
    @pytest.fixture(autouse=True)
    def _database(self, postgres_dsn: str) -> None:
        self.dsn = postgres_dsn

    def make_store(self) -> Store:
        from upslife.adapters.postgres import PostgresStore

        return PostgresStore(self.dsn)
