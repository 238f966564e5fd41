"""A small fleet on a real store, a fixed clock and a recording mail sender."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import attrs
import pytest

from upslife.adapters.sqlite import SqliteStore
from upslife.app import FixedClock, Lifecycle, SweepReport, deliver
from upslife.invitations import Keyring, SigningKey, TokenAction
from upslife.notifications import Contact, DeliveryPreference
from upslife.ports import Owner, Store
from upslife.testing.fakes import RecordingMail
from upslife.testing.memory import MemoryStore

OWNER = "ops@acme.example"
RESELLER = "sales@reseller.example"
KEYRING = Keyring(SigningKey("k1", b"s" * 32))


class Fleet:
    """Builds owners and devices through the service's own use cases."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.clock = FixedClock(datetime(2025, 11, 1, 8, tzinfo=UTC))
        self.mail = RecordingMail()
        self.service = Lifecycle(store, clock=self.clock, keyring=KEYRING)
        self.owner_id = self.owner(OWNER)

    def owner(self, email: str, *, timezone: str = "Europe/Paris") -> str:
        contact = Contact("Acme Hosting", "Ada Lovelace", email, "IT manager", "+33 1 23 45 67 89")
        self.service.add_owner(Owner(email, contact, timezone))
        return email

    def device(
        self, serial: str, *, on: date, owner: str | None = None, model: str = "SMT1500C"
    ) -> str:
        self.service.register_device(owner or self.owner_id, serial, model, on=on)
        return serial

    def set_delivery(self, *, reseller: DeliveryPreference) -> None:
        owner = self.store.get_owner(self.owner_id)
        self.store.save_owner(attrs.evolve(owner, reseller_delivery=reseller))

    def connect_reseller(self, *, at: datetime) -> None:
        self.clock.set(at)
        links = self.service.invite_reseller(self.owner_id, RESELLER, invitation_id="inv-1")
        # the invitation mail goes out, then the reseller accepts; tests of notices count
        # only notices
        deliver(self.store, self.mail, self.clock.now(), settings=self.service.settings)
        assert [str(m["To"]) for m in self.mail.sent] == [RESELLER]
        self.mail.sent.clear()
        self.service.respond(links.accept_token, TokenAction.ACCEPT)

    def sweep_on(self, day: date, *, hour: int = 8, minute: int = 0) -> SweepReport:
        self.clock.set(datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC))
        return self.service.sweep(self.mail)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store
    if request.param == "memory":
        made = MemoryStore()
    elif request.param == "sqlite":
        made = SqliteStore(tmp_path / "u.db")
    else:
        from upslife.adapters.postgres import PostgresStore

        made = PostgresStore(request.getfixturevalue("postgres_dsn"))
    yield made
    made.close()


@pytest.fixture
def fleet(store: Store) -> Fleet:
    return Fleet(store)
