"""Adapters: the ports of :mod:`upslife.ports` carried out against real systems.

One module per system, each imported on its own so that ``import upslife`` needs none of
their drivers: :mod:`upslife.adapters.sqlite` (the embedded default store),
:mod:`upslife.adapters.postgres` (needs ``upslife[postgres]``), and the mail and chat
senders. The in-memory store for tests is :class:`upslife.testing.MemoryStore`.
"""
