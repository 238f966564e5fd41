"""A worker process for the race tests: it opens its own store and, round after round,
waits at the barrier with its rival, then follows one link (or the owner's cancel)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest

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


Race = Callable[[int, tuple[str, Any], tuple[str, Any]], dict[str, str]]


def store_for(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Where the race runs: a migrated SQLite file, or the test PostgreSQL database."""
    if backend == "postgres":
        dsn: str = request.getfixturevalue("postgres_dsn")
        return dsn
    where = str(tmp_path / "race.db")
    open_store(where).close()  # migrate once, before the race
    return where


@contextmanager
def rivals(where: str) -> Iterator[Race]:
    """Two worker processes on ``where``; ``race(n, first, second)`` has them do ``first``
    and ``second`` (each ``(what, argument)``) at the same moment and returns what each
    got, by ``what``."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    queues = [ctx.Queue(), ctx.Queue()]
    results = ctx.Queue()
    workers = [ctx.Process(target=run, args=(where, q, results, barrier)) for q in queues]
    for worker in workers:
        worker.start()

    def race(n: int, first: tuple[str, Any], second: tuple[str, Any]) -> dict[str, str]:
        queues[0].put((n, *first))
        queues[1].put((n, *second))
        return dict(results.get(timeout=60)[1:] for _ in range(2))

    try:
        yield race
    finally:
        for q in queues:
            q.put(None)
        for worker in workers:
            worker.join(timeout=30)
