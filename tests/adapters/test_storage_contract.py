"""The storage contract (``upslife.testing.contract``) run on every shipped store."""

from __future__ import annotations

from upslife.ports import Store
from upslife.testing import MemoryStore
from upslife.testing.contract import StoreContract


class TestMemoryStore(StoreContract):
    def make_store(self) -> Store:
        return MemoryStore()
