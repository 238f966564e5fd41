"""Live accept and decline tokens are never stored: the invitation mail is signed at
delivery (issue 13, secrets at rest; SPEC I5). And every mailed link, and the Message-ID
domain, comes from the one configured ``public_url``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path

import pytest

from upslife.adapters.sqlite import SqliteStore
from upslife.app import DeliverySettings, FixedClock, Lifecycle
from upslife.app.links import Link, Links
from upslife.errors import InvalidInput
from upslife.notifications import Contact
from upslife.ports import Owner
from upslife.testing.fakes import RecordingMail

from .conftest import KEYRING, RESELLER

PUBLIC = "https://links.acme-ups.example/renewals"


def _service(path: Path) -> tuple[Lifecycle, SqliteStore]:
    store = SqliteStore(path)
    settings = DeliverySettings(keyring=KEYRING, public_url=PUBLIC)
    clock = FixedClock(datetime(2025, 11, 1, 8, tzinfo=UTC))
    service = Lifecycle(store, clock=clock, keyring=KEYRING, settings=settings)
    contact = Contact("Acme Hosting", "Ada Lovelace", "ops@acme.example")
    service.add_owner(Owner("ops@acme.example", contact, "Europe/Paris"))
    return service, store


def _text(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def _stored_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.name.startswith("u.db"))


def test_no_accept_or_decline_token_is_ever_written_to_the_database(tmp_path: Path) -> None:
    service, store = _service(tmp_path / "u.db")
    links = service.invite_reseller("ops@acme.example", RESELLER)
    mail = RecordingMail()
    queued = _stored_bytes(tmp_path)
    service.sweep(mail)
    store.close()
    (sent,) = mail.sent
    text = _text(sent)
    # the mail carries the very tokens invite_reseller returned, signed at delivery ...
    assert Links(PUBLIC).url(Link.ACCEPT, links.accept_token) in text
    assert Links(PUBLIC).url(Link.DECLINE, links.decline_token) in text
    # ... and neither the queue nor the database after sending ever held them
    for token in (links.accept_token, links.decline_token, links.unsubscribe_token):
        assert token.encode() not in queued
        assert token.encode() not in _stored_bytes(tmp_path)


def test_every_link_and_the_message_id_come_from_the_public_url(tmp_path: Path) -> None:
    service, store = _service(tmp_path / "u.db")
    service.invite_reseller("ops@acme.example", RESELLER)
    mail = RecordingMail()
    service.sweep(mail)
    store.close()
    (sent,) = mail.sent
    text = _text(sent)
    header = re.findall(r"<(https://[^>]+)>", sent["List-Unsubscribe"])
    urls = re.findall(r"https://\S+", text) + header
    assert len(urls) == 4  # accept, decline, unsubscribe in the text; one in the header
    assert all(u.startswith(PUBLIC + "/reseller/") for u in urls)
    assert sent["Message-ID"].endswith("@links.acme-ups.example>")


@pytest.mark.parametrize(
    "url",
    ["http://x.example", "x.example", "https://x.example/?q=1", "https://u:p@x.example", ""],
)
def test_a_public_url_that_is_not_an_https_base_url_is_refused_at_configuration(url: str) -> None:
    with pytest.raises(InvalidInput, match="public_url"):
        DeliverySettings(public_url=url)
