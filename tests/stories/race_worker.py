"""A worker process for the race tests: it opens its own store and, round after round,
waits at the barrier with its rival, then follows one link (or the owner's cancel)."""

from __future__ import annotations

from datetime import UTC, datetime
from multiprocessing.synchronize import Barrier
from typing import Any

from upslife.app import FixedClock, Lifecycle
from upslife.errors import UpslifeError
from upslife.invitations import Keyring, SigningKey, TokenAction

KEYRING = Keyring(SigningKey("k1", b"a secret of at least thirty-two bytes"))
NOW = datetime(2025, 11, 3, 9, 30, tzinfo=UTC)


def open_store(where: str) -> Any:
    if where.startswith("postgresql://"):
        from upslife.adapters.postgres import PostgresStore

        return PostgresStore(where)
    from upslife.adapters.sqlite import SqliteStore

    return SqliteStore(where)


def run(where: str, jobs: Any, results: Any, barrier: Barrier) -> None:
    store = open_store(where)
    service = Lifecycle(store, clock=FixedClock(NOW), keyring=KEYRING)
    try:
        while True:
            job = jobs.get()
            if job is None:
                return
            round_no, what, arg = job
            barrier.wait(timeout=30)
            try:
                if what == "cancel":
                    service.cancel_invitation(arg)
                elif what == "delete":  # arg: (serial, owner)
                    service.delete_device(arg[0], by=arg[1])
                elif what == "accept-share":
                    service.accept_share_link(arg)
                else:
                    service.respond(arg, TokenAction(what))
                results.put((round_no, what, "won"))
            except UpslifeError as e:
                results.put((round_no, what, type(e).__name__))
    finally:
        store.close()
