"""No text a customer or reseller controls can add, end or split a header of a message the
library builds: CR, LF, NUL, an empty line, Unicode line separators are all cleaned
(issue: a company name ``"Poison\\r\\nBcc: evil@x.example"`` once aborted every delivery)."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from upslife.app.mails import PlainMail, invitation_mail, render_plain
from upslife.errors import InvalidInput, UpslifeError
from upslife.invitations import Invitation
from upslife.notifications import (
    Contact,
    EventKind,
    LifecycleEvent,
    Notice,
    Recipient,
    Stage,
)
from upslife.rendering import render_email

NOW = datetime(2026, 1, 31, 8, tzinfo=UTC)
FRAGMENTS = ["\r", "\n", "\x00", "\r\n\r\n", "Bcc: evil@x.example", "\u2028", ":", "=?", " "]
HOSTILE = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(st.characters(codec="utf-8"), max_size=8)),
    max_size=10,
).map("".join)
PLAIN_HEADERS = {
    "Content-Type",
    "MIME-Version",
    "Content-Transfer-Encoding",
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Auto-Submitted",
}


def _parsed(raw: bytes) -> email.message.EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def _no_injection(raw: bytes, expected: set[str]) -> email.message.EmailMessage:
    head = raw.split(b"\n\n", 1)[0]
    assert b"\x00" not in head
    message = _parsed(raw)
    assert set(message.keys()) == expected
    assert message.defects == []
    return message


@given(subject=HOSTILE)
def test_an_account_mail_subject_can_never_inject_a_header(subject: str) -> None:
    mail = PlainMail("k1", "owner@acme.example", subject, "body\x00text")
    try:
        rendered = render_plain(mail, sender="notices@upslife.example", sent_at=NOW)
    except InvalidInput:
        # refused only when nothing printable is left once the controls are gone
        assert all(c.isspace() or not c.isprintable() for c in subject)
        return
    message = _no_injection(rendered.as_bytes(), PLAIN_HEADERS)
    assert message["To"] == "owner@acme.example"


@given(company=HOSTILE)
def test_an_invitation_from_a_hostile_company_name_stays_one_message_to_one_reseller(
    company: str,
) -> None:
    try:
        inv = Invitation("inv-1", "owner@acme.example", "sales@reseller.example", company, NOW)
    except UpslifeError:
        return  # refused at the door: nothing to render
    mail = invitation_mail(
        inv,
        accept_url="https://x.example/a/t",
        decline_url="https://x.example/d/t",
        unsubscribe_url="https://x.example/u/t",
    )
    try:
        rendered = render_plain(mail, sender="notices@upslife.example", sent_at=NOW)
    except InvalidInput:
        return  # a name that is nothing once cleaned: the item fails alone, with a reason
    expected = PLAIN_HEADERS | {"List-Unsubscribe", "List-Unsubscribe-Post"}
    message = _no_injection(rendered.as_bytes(), expected)
    assert message["To"] == "sales@reseller.example"


@given(company=HOSTILE, name=HOSTILE)
def test_a_notice_for_a_hostile_customer_stays_one_message_to_one_recipient(
    company: str, name: str
) -> None:
    try:
        customer = Contact(company, name, "owner@acme.example")
    except UpslifeError:
        return
    event = LifecycleEvent("AS1", EventKind.WARRANTY_EXPIRY, date(2026, 5, 1), model="SMT1500C")
    notice = Notice(event, Stage.D90, Recipient.owner("owner@acme.example"), customer, NOW.date())
    rendered = render_email(notice, sender="notices@upslife.example", sent_at=NOW)
    message = _parsed(rendered.as_bytes())
    assert message["To"] == "owner@acme.example"
    assert "Bcc" not in message
    assert b"\x00" not in rendered.as_bytes().split(b"\n\n", 1)[0]


def test_an_address_with_a_line_break_is_refused_not_sent() -> None:
    mail = PlainMail("k1", "owner@acme.example\r\nBcc: evil@x.example", "Hello", "body")
    with pytest.raises(InvalidInput, match="cannot go in a mail header"):
        render_plain(mail, sender="notices@upslife.example", sent_at=NOW)
