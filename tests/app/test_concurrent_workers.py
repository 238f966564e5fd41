"""Several workers sweeping one PostgreSQL store at once: no notice is sent twice.

Each worker is a thread with its own connection, running the whole sweep (plan, digests,
deliver) at the same instant; the outbox's unique keys and ``FOR UPDATE SKIP LOCKED``
claims keep them apart (SPEC N9).
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime
from email.message import Message

from upslife.adapters.postgres import PostgresStore
from upslife.app import DeliverySettings, sweep
from upslife.catalog import Catalog
from upslife.ports import DeliveryStatus

from .conftest import KEYRING, Fleet


class SharedInbox:
    """A thread-safe mail sender shared by the workers: what the world received."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[str] = []

    def send(self, message: Message) -> None:
        with self.lock:
            self.received.append(str(message["Message-ID"]))


def test_four_workers_over_one_fleet_send_every_notice_once(postgres_dsn: str) -> None:
    # SPEC N9: zero duplicates, zero lost.
    setup = PostgresStore(postgres_dsn)
    fleet = Fleet(setup)
    for n in range(40):
        fleet.device(f"AS00000000{n:02d}", on=date(2025, 11, 1))
    fleet.connect_reseller(at=datetime(2026, 1, 2, tzinfo=UTC))
    now = datetime(2026, 1, 31, 8, tzinfo=UTC)
    inbox = SharedInbox()
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        store = PostgresStore(postgres_dsn)
        try:
            barrier.wait()
            settings = DeliverySettings(keyring=KEYRING, batch=3)
            sweep(store, Catalog.default(), inbox, now, settings=settings, worker=name)
        except BaseException as e:  # reported below, in the test's thread
            errors.append(e)
        finally:
            store.close()

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    duplicates = [mid for mid, count in Counter(inbox.received).items() if count > 1]
    assert duplicates == []
    assert len(inbox.received) == 80  # 40 devices, owner and reseller
    notices = [i for i in setup.items() if i.key.startswith("notice:")]
    assert Counter(i.status for i in notices) == {DeliveryStatus.SENT: 80}
    setup.close()
