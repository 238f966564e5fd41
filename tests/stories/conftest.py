"""The stories of the source documents, told through :class:`Lifecycle` on a real store:
a SQLite file, and PostgreSQL (in CI, where a missing server fails the run)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path

import pytest

from upslife.adapters.sqlite import SqliteStore
from upslife.app import FixedClock, Lifecycle, SweepReport
from upslife.invitations import Keyring, SigningKey
from upslife.notifications import Contact
from upslife.ports import Owner, Store
from upslife.testing.fakes import RecordingMail

KEYRING = Keyring(SigningKey("k1", b"a secret of at least thirty-two bytes"))
START = datetime(2025, 11, 3, 9, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store
    if request.param == "sqlite":
        made = SqliteStore(tmp_path / "fleet.db")
    else:
        from upslife.adapters.postgres import PostgresStore

        made = PostgresStore(request.getfixturevalue("postgres_dsn"))
    yield made
    made.close()


class World:
    """One service over the store, its clock, and the mailbox everything lands in."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.clock = FixedClock(START)
        self.mail = RecordingMail()
        self.service = Lifecycle(store, clock=self.clock, keyring=KEYRING)

    def owner(self, email: str, company: str = "Acme Hosting") -> str:
        contact = Contact(company, "Ada Lovelace", email, "IT manager", "+33 1 23 45 67 89")
        return self.service.add_owner(Owner(email, contact, "Europe/Paris")).id

    def sweep(self) -> SweepReport:
        return self.service.sweep(self.mail)

    def mails_to(self, address: str) -> list[Message]:
        return [m for m in self.mail.sent if str(m["To"]) == address]


@pytest.fixture
def world(store: Store) -> World:
    return World(store)


def body(message: Message) -> str:
    """The text part of a sent message."""
    part = message.get_payload(decode=True) if not message.is_multipart() else None
    if isinstance(part, bytes):
        return part.decode()
    for sub in message.walk():
        if sub.get_content_type() == "text/plain":
            payload = sub.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError("no text part")


# The real upsd of .ci/nut.sh, for the stories that poll a UPS over the network.
from tests.hardware.conftest import nut_url  # noqa: E402, F401
