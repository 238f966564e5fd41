"""A deployment of ``upslife.web`` over a real SQLite file, a fixed clock and a keyring,
driven through an HTTP test client at its public URL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from upslife.adapters.sqlite import SqliteStore
from upslife.app import DeliverySettings, FixedClock, InvitationLinks, Lifecycle
from upslife.app.links import Link, Links
from upslife.invitations import Keyring, SigningKey, TokenAction
from upslife.notifications import Contact
from upslife.ports import Owner
from upslife.web import create_app

PUBLIC_URL = "https://links.acme-ups.example"
OWNER = "ops@acme.example"
RESELLER = "sales@reseller.example"
MSP = "noc@msp.example"
SIGN_UP_URL = "https://accounts.acme-ups.example/sign-up"
KEYRING = Keyring(SigningKey("k1", b"web-tests-signing-secret-32-bytes!!"))


class Site:
    """The service, its database file and a client, as a reseller's browser meets them."""

    def __init__(self, folder: Path, *, public_url: str = PUBLIC_URL) -> None:
        self.path = folder / "upslife.db"
        self.store = SqliteStore(self.path)
        self.clock = FixedClock(datetime(2025, 11, 1, 8, tzinfo=UTC))
        self.settings = DeliverySettings(
            keyring=KEYRING, public_url=public_url, sign_up_url=SIGN_UP_URL
        )
        self.service = Lifecycle(
            self.store, clock=self.clock, keyring=KEYRING, settings=self.settings
        )
        self.links = Links(public_url)
        contact = Contact("Acme Hosting", "Ada Lovelace", OWNER, "IT manager", "+33 1 23 45 67")
        self.service.add_owner(Owner(OWNER, contact, "Europe/Paris"))
        self.client = TestClient(create_app(self.service), base_url=public_url)

    def invite(self, invitation_id: str | None = None) -> InvitationLinks:
        return self.service.invite_reseller(OWNER, RESELLER, invitation_id=invitation_id)

    def url(self, link: Link, token: str) -> str:
        return self.links.url(link, token)

    def dump(self) -> list[str]:
        """Every row of every table, to compare the stored state before and after."""
        with sqlite3.connect(self.path) as conn:
            return list(conn.iterdump())

    def owner_mails(self) -> list[str]:
        return [i.key for i in self.store.items() if i.recipient.address == OWNER]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    made = Site(tmp_path)
    yield made
    made.client.close()
    made.store.close()


@pytest.fixture(scope="module")
def site_once(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One site for all the examples of a property: a pending, an accepted and a
    disconnected invitation whose state no example may change."""
    made = Site(tmp_path_factory.mktemp("site"))
    old = made.invite("old")
    made.service.respond(old.accept_token, TokenAction.ACCEPT)
    made.service.disconnect_reseller(OWNER)
    made.invite("new")
    yield made
    made.client.close()
    made.store.close()
