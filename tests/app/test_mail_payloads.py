"""Account mails in the outbox: payloads stored before attachments existed still read
back, and a mail's attachments survive the outbox and reach the message (SPEC N9, R2)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from upslife.app import payloads
from upslife.app.mails import Attachment, PlainMail, render_plain
from upslife.errors import InvalidInput

SENT_AT = datetime(2025, 11, 3, 9, tzinfo=UTC)

# The payload of an owner notice mail exactly as the outbox stored it before
# ``connection_id`` and ``attachments`` were added.
STORED_BEFORE = (
    '{"mail":{"invitation_id":null,"key":"owner-notice:INV-1:declined",'
    '"share_device":null,"share_user":null,"subject":"Your reseller declined the invitation",'
    '"text":"Declined.\\n","to":"ops@acme.example","unsubscribe_url":null}}'
)


class TestStoredPayloadsStayReadable:
    def test_a_payload_stored_before_attachments_decodes(self) -> None:
        mail = payloads.decode(STORED_BEFORE)
        assert mail == PlainMail(
            "owner-notice:INV-1:declined",
            "ops@acme.example",
            "Your reseller declined the invitation",
            "Declined.\n",
        )

    def test_a_mail_without_attachments_is_stored_as_it_always_was(self) -> None:
        mail = payloads.decode(STORED_BEFORE)
        assert isinstance(mail, PlainMail)
        assert payloads.encode(mail) == STORED_BEFORE

    def test_a_damaged_attachment_is_invalid_input(self) -> None:
        doc = json.loads(STORED_BEFORE)
        doc["mail"]["attachments"] = [
            {"filename": "a.csv", "content_type": "text/csv", "data": "not base64!"}
        ]
        with pytest.raises(InvalidInput):
            payloads.decode(json.dumps(doc))

    @pytest.mark.parametrize(
        ("filename", "content_type"),
        [("", "text/csv"), ("a/b.csv", "text/csv"), ("a.csv", "csv"), ("a\n.csv", "text/csv")],
    )
    def test_an_attachment_needs_a_plain_name_and_a_mime_type(
        self, filename: str, content_type: str
    ) -> None:
        with pytest.raises(InvalidInput):
            Attachment(filename, content_type, b"x")


_NAME = st.from_regex(r"[A-Za-z0-9_-]{1,20}\.(csv|xlsx)", fullmatch=True)
_TYPE = st.sampled_from(["text/csv", "application/octet-stream"])


@settings(max_examples=40)
@given(files=st.lists(st.tuples(_NAME, _TYPE, st.binary(max_size=2000)), max_size=3))
def test_attachments_survive_the_outbox_and_reach_the_message(
    files: list[tuple[str, str, bytes]],
) -> None:
    # SPEC R2, N9: what is queued is what is sent, byte for byte
    mail = PlainMail(
        "renewals:ops@acme.example:buyer@integrator.example:2025-11-03T09:00:00+00:00",
        "buyer@integrator.example",
        "MyRenewals report from Acme",
        "Attached.\n",
        connection_id="INV-1",
        attachments=tuple(Attachment(*f) for f in files),
    )
    back = payloads.decode(payloads.encode(mail))
    assert back == mail
    assert isinstance(back, PlainMail)
    message = render_plain(back, sender="notices@upslife.invalid", sent_at=SENT_AT)
    parts = [p for p in message.walk() if p.get_content_disposition() == "attachment"]
    got = [(p.get_filename(), p.get_content_type(), p.get_payload(decode=True)) for p in parts]
    assert got == [(name, kind, data) for name, kind, data in files]
    assert message.get_content_type() == ("multipart/mixed" if files else "text/plain")
    assert message["Message-ID"]
