"""The sweep against a real SMTP server (aiosmtpd on 127.0.0.1): down for one sweep, then
up. Every notice arrives once, as an RFC 5322 message that parses back (SPEC N9)."""

from __future__ import annotations

import email
import email.policy
from collections import Counter
from datetime import UTC, date, datetime

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.peers import free_port
from upslife.adapters.smtp import SmtpSender
from upslife.app import DeliveryReport
from upslife.ports import DeliveryStatus

from .conftest import Fleet

HOST = "127.0.0.1"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        self.messages.append(parsed)
        return "250 OK: queued"


def test_a_server_down_for_a_sweep_then_up_gets_every_notice_once(fleet: Fleet) -> None:
    # SPEC N9: none lost while the server is down, none twice once it is up.
    for n in range(5):
        fleet.device(f"AS000000000{n}", on=date(2025, 11, 1))
    fleet.connect_reseller(at=datetime(2026, 1, 2, tzinfo=UTC))
    port = free_port()
    smtp = SmtpSender(HOST, port, security="none", timeout=2.0, local_hostname="sweep.test")

    fleet.clock.set(datetime(2026, 1, 31, 8, tzinfo=UTC))
    down = fleet.service.sweep(smtp)  # nothing listens on the port yet
    # the preflight finds the server down: the notices are planned, nothing is claimed
    assert down.delivery == DeliveryReport()
    assert down.deferred is not None
    assert "Connection refused" in down.deferred
    notices = [i for i in fleet.store.items() if i.key.startswith("notice:")]
    assert Counter(i.status for i in notices) == {DeliveryStatus.PENDING: 10}

    inbox = Inbox()
    controller = Controller(inbox, hostname=HOST, port=port, server_hostname="mx.test")
    controller.start()
    try:
        fleet.clock.set(datetime(2026, 1, 31, 8, 5, tzinfo=UTC))  # past the first backoff
        up = fleet.service.sweep(smtp)
        fleet.clock.set(datetime(2026, 1, 31, 12, tzinfo=UTC))
        again = fleet.service.sweep(smtp)
    finally:
        controller.stop()
    assert up.delivery.sent == 10
    assert again.delivery.sent == 0
    ids = [m["Message-ID"] for m in inbox.messages]
    assert len(ids) == len(set(ids)) == 10
    recipients = Counter(str(m["To"]) for m in inbox.messages)
    assert recipients == {fleet.owner_id: 5, "sales@reseller.example": 5}
    reseller = next(m for m in inbox.messages if m["To"] == "sales@reseller.example")
    assert reseller.get_body(("plain",)) is not None
    assert reseller["Date"].datetime == datetime(2026, 1, 31, 8, 5, tzinfo=UTC)  # RFC 5322
    assert "List-Unsubscribe" in reseller
