"""Shipped test support: fakes that behave like the real adapters, and contract suites.

- :class:`MemoryStore`: the whole :class:`~upslife.ports.Store` in memory, raising the same
  errors as the SQL stores.
- :mod:`upslife.testing.contract`: :class:`~upslife.testing.contract.StoreContract`, the
  pytest suite every store passes; subclass it to test your own adapter. It imports
  ``pytest``, so it is not imported here.
"""

from __future__ import annotations

from upslife.testing.memory import MemoryStore

__all__ = ["MemoryStore"]
