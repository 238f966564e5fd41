"""Rendering of notices as email, Slack and Teams messages (SPEC N5, N6, N9, N10, E10).

Notices are built through the real rules (``due_notices`` over ``DeviceFacts`` with a real
``coverage``), rendered, then read back the way a receiving side would: emails with the
standard parser (``policy.default``), chat messages through ``json.dumps``/``json.loads``.
"""

from __future__ import annotations

import email
import email.policy
import html
import json
import re
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage, Message

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from upslife.entitlements import coverage
from upslife.errors import (
    InvalidEmail,
    InvalidInput,
    InvalidTemplate,
    MissingUnsubscribeLink,
    NaiveDatetime,
    UpslifeError,
)
from upslife.invitations import InvitationState
from upslife.notifications import (
    ChatKind,
    ChatRoute,
    Contact,
    DeviceFacts,
    Digest,
    EventKind,
    Notice,
    Recipient,
    RecipientKind,
    due_notices,
)
from upslife.rendering import (
    ADAPTIVE_CARD_SCHEMA,
    DEFAULT_TEMPLATES,
    MAX_CHAT_NOTICES,
    DigestTemplate,
    MessageTemplate,
    Templates,
    clean,
    escape_mrkdwn,
    message_id_for,
    render_chat,
    render_email,
    render_slack,
    render_teams,
)

SWEEP_DAY = date(2025, 12, 1)  # battery due 2026-03-01: the 90-day stage
RESELLER = "sales@reseller.example"
SENDER = "noreply@upslife.example"
UNSUBSCRIBE = "https://upslife.example/unsubscribe?token=v1.abc-DEF_123&r=9"
N6_LABELS = (
    "UPS model",
    "Serial number",
    "Due date",
    "Needed",
    "Customer",
    "Contact",
    "Job role",
    "Email",
    "Phone",
)
HTML_TAGS = frozenset(
    {
        "!DOCTYPE",
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "h1",
        "h2",
        "p",
        "table",
        "tr",
        "th",
        "td",
        "a",
    }
)


# --------------------------------------------------------------------------- building notices


def a_contact(**changes: str | None) -> Contact:
    details: dict[str, str | None] = {
        "company": "Acme Data Ltd",
        "full_name": "Alice Martin",
        "email": "alice@example.com",
        "job_role": "IT manager",
        "phone": "+44 20 7946 0000",
    }
    details.update(changes)
    return Contact(
        details["company"],
        details["full_name"],
        details["email"],
        job_role=details["job_role"],
        phone=details["phone"],
    )


def a_device(
    battery_due: date = date(2026, 3, 1),
    *,
    serial: str = "AS1234567890",
    model: str = "SMT1500RMI2UC",
    sku: str | None = "APCRBC152",
) -> DeviceFacts:
    return DeviceFacts(
        serial, model, coverage(date(2025, 6, 15)), battery_replace_by=battery_due, battery_sku=sku
    )


def sweep(
    contact: Contact | None = None,
    *,
    device: DeviceFacts | None = None,
    day: date = SWEEP_DAY,
    routes: tuple[ChatRoute, ...] = (),
) -> tuple[Notice, ...]:
    """One real sweep: owner, the accepted reseller, and chat routes (trial: STANDARD)."""
    return due_notices(
        device or a_device(),
        day,
        owner=contact or a_contact(),
        reseller_email=RESELLER,
        reseller_state=InvitationState.ACCEPTED,
        chat_routes=routes,
    )


def battery_notice(
    kind: RecipientKind,
    contact: Contact | None = None,
    *,
    device: DeviceFacts | None = None,
    routes: tuple[ChatRoute, ...] = (),
) -> Notice:
    notices = sweep(contact, device=device, routes=routes)
    return next(
        n for n in notices if n.recipient.kind is kind and n.kind is EventKind.BATTERY_REPLACEMENT
    )


def reseller_notice(contact: Contact | None = None) -> Notice:
    return battery_notice(RecipientKind.RESELLER, contact)


def owner_notice(contact: Contact | None = None) -> Notice:
    return battery_notice(RecipientKind.OWNER, contact)


def chat_notice(kind: ChatKind) -> Notice:
    routes = (ChatRoute(kind, "ops"),)
    return battery_notice(RecipientKind.CHAT, routes=routes)


def reseller_digest(day: date = date(2026, 11, 21)) -> Digest:
    """Three devices' battery notices to the reseller on one day: due, 10 and 55 days ahead."""
    notices = [
        n
        for offset, serial in ((55, "AS0000000090"), (10, "AS0000000030"), (0, "AS000000000D"))
        for n in sweep(device=a_device(day + timedelta(days=offset), serial=serial), day=day)
        if n.recipient.kind is RecipientKind.RESELLER
    ]
    return Digest(Recipient.reseller(RESELLER), day, notices)


# --------------------------------------------------------------------------- reading messages


def parse(message: Message) -> EmailMessage:
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def bodies(parsed: EmailMessage) -> tuple[str, str]:
    text, markup = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert text is not None
    assert markup is not None
    return str(text.get_content()), str(markup.get_content())


def render(item: Notice | Digest, **kw: object) -> Message:
    if item.recipient.kind is RecipientKind.RESELLER:
        kw.setdefault("unsubscribe_url", UNSUBSCRIBE)
    return render_email(item, sender=SENDER, **kw)  # type: ignore[arg-type]


def tags_in(markup: str) -> set[str]:
    """The name after every "<" of an HTML text: a "<" from user data would add a name."""
    names = set()
    for at in (m.start() for m in re.finditer("<", markup)):
        match = re.match(r"</?([!A-Za-z][A-Za-z0-9]*)", markup[at:])
        names.add(match.group(1) if match else markup[at : at + 8])
    return names


def header_lines(raw: bytes) -> list[bytes]:
    return raw.split(b"\n\n", 1)[0].split(b"\n")


# --------------------------------------------------------------------------- email


class TestResellerEmail:
    # SPEC N6: a reseller notice holds the model, serial, due date, SKU and the customer's
    # company, full name, job role, email and phone; RFC 8058 one-click unsubscribe.

    def test_parses_back_with_its_headers_and_every_N6_detail_in_both_parts(self) -> None:
        notice = reseller_notice()
        parsed = parse(render(notice))
        assert parsed["From"].addresses[0].addr_spec == SENDER
        assert parsed["From"].addresses[0].display_name == "upslife"
        assert parsed["To"].addresses[0].addr_spec == RESELLER
        assert (
            parsed["Subject"]
            == "Battery Replacement Due: Acme Data Ltd, SMT1500RMI2UC AS1234567890"
        )
        assert parsed["Message-ID"] == message_id_for(notice.key)
        assert parsed["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
        assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert parsed["X-Upslife-Key"] == notice.key
        assert parsed["Auto-Submitted"] == "auto-generated"
        assert parsed.get_content_type() == "multipart/alternative"
        assert parsed.defects == []
        text, markup = bodies(parsed)
        facts = (
            "SMT1500RMI2UC",
            "AS1234567890",
            "1 March 2026",
            "APCRBC152",
            "Acme Data Ltd",
            "Alice Martin",
            "IT manager",
            "alice@example.com",
            "+44 20 7946 0000",
        )
        for fact in facts:
            assert fact in text
            assert fact in markup
        for label in N6_LABELS:
            assert label in text
            assert label in markup

    def test_without_an_unsubscribe_url_is_refused(self) -> None:
        with pytest.raises(MissingUnsubscribeLink, match="unsubscribe_url"):
            render_email(reseller_notice(), sender=SENDER)

    @pytest.mark.parametrize(
        "url",
        [
            "http://upslife.example/u",
            "https://",
            "https://x.example/a b",
            "https://x/<a>",
            "https://x.example/\r\nBcc: evil@example.com",
            "mailto:u@x.example",
        ],
    )
    def test_an_unsubscribe_url_that_is_not_a_plain_https_url_is_refused(self, url: str) -> None:
        # RFC 8058: the one-click link is an https URI; anything else could break the header.
        with pytest.raises(InvalidInput, match="unsubscribe_url"):
            render_email(reseller_notice(), sender=SENDER, unsubscribe_url=url)

    def test_a_mailto_link_goes_beside_the_https_one(self) -> None:
        parsed = parse(render(reseller_notice(), unsubscribe_mailto="unsubscribe@upslife.example"))
        assert parsed["List-Unsubscribe"] == (
            f"<{UNSUBSCRIBE}>, <mailto:unsubscribe@upslife.example>"
        )

    def test_the_unsubscribe_link_is_in_both_bodies(self) -> None:
        text, markup = bodies(parse(render(reseller_notice())))
        assert UNSUBSCRIBE in text
        assert f'href="{html.escape(UNSUBSCRIBE)}"' in markup

    def test_a_reminder_says_who_asks(self) -> None:
        # SPEC N8: the owner's reminder to the reseller reads as one.
        from upslife.notifications import lifecycle_events, reminder

        events = lifecycle_events(a_device())
        battery = next(e for e in events if e.kind is EventKind.BATTERY_REPLACEMENT)
        notice = reminder(
            battery,
            SWEEP_DAY,
            current_events=events,
            owner=a_contact(),
            reseller_email=RESELLER,
            reseller_state=InvitationState.ACCEPTED,
        )
        text, _ = bodies(parse(render(notice)))
        assert "Alice Martin of Acme Data Ltd asks you to follow up" in text


class TestOwnerEmail:
    # SPEC N6: owner mails carry the same device facts.

    def test_carries_the_device_facts_and_goes_to_the_owner(self) -> None:
        parsed = parse(render(owner_notice()))
        assert parsed["To"].addresses[0].addr_spec == "alice@example.com"
        assert parsed["Subject"] == "Battery Replacement Due: SMT1500RMI2UC AS1234567890"
        text, markup = bodies(parsed)
        for fact in ("SMT1500RMI2UC", "AS1234567890", "1 March 2026", "APCRBC152"):
            assert fact in text
            assert fact in markup

    def test_has_no_list_unsubscribe_unless_a_link_is_given(self) -> None:
        assert "List-Unsubscribe" not in parse(render(owner_notice()))
        parsed = parse(render(owner_notice(), unsubscribe_url=UNSUBSCRIBE))
        assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    def test_has_a_date_header_only_when_given_an_instant(self) -> None:
        # Rendering reads no clock (SPEC D4): the mail adapter dates a message when it sends.
        assert "Date" not in parse(render(owner_notice()))
        at = datetime(2025, 12, 1, 7, 30, tzinfo=UTC)
        assert parse(render(owner_notice(), sent_at=at))["Date"].datetime == at
        with pytest.raises(NaiveDatetime):
            render(owner_notice(), sent_at=datetime(2025, 12, 1, 7, 30))

    def test_a_chat_recipient_has_no_email(self) -> None:
        with pytest.raises(InvalidInput, match="render_chat"):
            render_email(chat_notice(ChatKind.SLACK), sender=SENDER)

    def test_only_notices_and_digests_are_rendered(self) -> None:
        with pytest.raises(InvalidInput, match="Notice or a Digest"):
            render_email("Battery Replacement Due", sender=SENDER)  # type: ignore[arg-type]

    def test_a_mailto_link_alone_is_not_a_one_click_unsubscribe(self) -> None:
        # RFC 8058: the one-click link is the https one; mailto may only go beside it.
        with pytest.raises(InvalidInput, match="needs an unsubscribe_url"):
            render(owner_notice(), unsubscribe_mailto="unsubscribe@upslife.example")

    def test_an_address_that_needs_smtputf8_is_refused_at_the_door(self) -> None:
        # Issue 13: refused when the contact is made, not when every notice to it fails.
        with pytest.raises(InvalidEmail, match="before the @"):
            a_contact(email="zoë@example.com")

    def test_a_local_part_that_is_not_an_atom_is_refused_at_the_door(self) -> None:
        with pytest.raises(InvalidEmail, match="before the @"):
            a_contact(email="a\\b@example.com")

    def test_an_internationalised_domain_renders_as_idna(self) -> None:
        parsed = parse(render(owner_notice(a_contact(email="jorg@bücher.example"))))
        assert parsed["To"].addresses[0].domain == "xn--bcher-kva.example"

    def test_an_unknown_sku_reads_not_known(self) -> None:
        notice = battery_notice(RecipientKind.OWNER, device=a_device(sku=None))
        text, _ = bodies(parse(render(notice)))
        assert "Needed:         not known" in text


class TestIdempotentMessageIds:
    # SPEC N9: the Message-ID follows from the idempotency key, so a receiving side can drop
    # the copy of a send that was interrupted and run again.

    def test_the_same_notice_rendered_again_has_the_same_message_id_and_bytes(self) -> None:
        first, again = render(reseller_notice()), render(reseller_notice())
        assert first["Message-ID"] == again["Message-ID"]
        assert first.as_bytes() == again.as_bytes()

    def test_different_keys_have_different_message_ids(self) -> None:
        notices = sweep()
        ids = {str(render(n)["Message-ID"]) for n in notices if n.recipient.kind.value != "chat"}
        assert len(ids) == len([n for n in notices if n.recipient.kind.value != "chat"]) == 4

    def test_the_message_id_names_the_callers_domain(self) -> None:
        parsed = parse(render(owner_notice(), message_id_domain="mail.example.com"))
        assert parsed["Message-ID"].endswith("@mail.example.com>")
        with pytest.raises(InvalidInput, match="message_id_domain"):
            render(owner_notice(), message_id_domain="bad domain>")


class TestEscaping:
    # SPEC D5: customer details are data, never markup or headers.

    @pytest.mark.parametrize(
        "company", ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']
    )
    def test_html_injection_through_the_company_is_escaped_in_html_and_verbatim_in_text(
        self, company: str
    ) -> None:
        text, markup = bodies(parse(render(reseller_notice(a_contact(company=company)))))
        assert company in text
        assert company not in markup
        assert html.escape(company, quote=True) in markup
        assert tags_in(markup) <= HTML_TAGS

    def test_header_injection_through_a_company_name_is_refused_at_the_door(self) -> None:
        # Issue 13: names with control characters never reach a header.
        for company in ("Acme\r\nBcc: evil@example.com", "Acme\n\nbody", "Acme\x00"):
            with pytest.raises(InvalidInput, match="control character"):
                a_contact(company=company)

    def test_a_company_name_that_looks_like_a_header_creates_no_header(self) -> None:
        contact = a_contact(company="Acme Bcc: evil@example.com", full_name="Al X-Evil: 1")
        raw = render(reseller_notice(contact)).as_bytes()
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert "Bcc" not in parsed
        assert "X-Evil" not in parsed
        assert parsed["Subject"] == (
            "Battery Replacement Due: Acme Bcc: evil@example.com, SMT1500RMI2UC AS1234567890"
        )
        for line in header_lines(raw):
            assert not line.lower().startswith((b"bcc:", b"x-evil:"))

    def test_a_sender_that_is_not_one_address_is_refused(self) -> None:
        for sender in ("noreply@upslife.example\r\nBcc: evil@example.com", "no reply", ""):
            with pytest.raises(InvalidEmail):
                render_email(owner_notice(), sender=sender)

    def test_non_ascii_names_round_trip_through_the_headers(self) -> None:
        company = "Müller & Søn <b>"
        notice = reseller_notice(a_contact(company=company, full_name="Zoë Ferré"))
        raw = render(notice, product_name="Ünits & Søn <b>").as_bytes()
        assert raw.isascii()
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert (
            parsed["Subject"] == f"Battery Replacement Due: {company}, SMT1500RMI2UC AS1234567890"
        )
        assert parsed["From"].addresses[0].display_name == "Ünits & Søn <b>"
        assert parsed["From"].addresses[0].addr_spec == SENDER
        text, markup = bodies(parsed)
        assert "Zoë Ferré" in text
        assert "Müller &amp; Søn &lt;b&gt;" in markup

    def test_headers_are_folded_seven_bit_lines_of_at_most_998_octets(self) -> None:
        # RFC 5322 2.1.1 and 2.2.3: a long subject folds onto continuation lines.
        contact = a_contact(company="Grand Ünified Uninterruptible Power Holdings " * 4)
        raw = render(reseller_notice(contact)).as_bytes()
        assert raw.isascii()
        lines = header_lines(raw)
        assert all(len(line) <= 998 for line in raw.split(b"\n"))
        assert all(re.match(rb"[A-Za-z-]+: |[ \t]", line) for line in lines)
        assert sum(1 for line in lines if line.startswith(b"Subject:")) == 1
        assert len([line for line in lines if line[:1] in b" \t"]) >= 2


class TestDigestEmail:
    # SPEC N10: one message for all of a recipient's notices of the day.

    def test_a_digest_renders_every_member_in_the_digests_order(self) -> None:
        digest = reseller_digest()
        parsed = parse(render(digest))
        assert parsed["Subject"] == "3 lifecycle notices for 21 November 2026"
        assert parsed["Message-ID"] == message_id_for(digest.key)
        assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text, markup = bodies(parsed)
        for body in (text, markup):
            positions = [body.index(n.serial) for n in digest.notices]
            assert positions == sorted(positions)
            assert body.count("Acme Data Ltd") == 3
        # Critical first (SPEC N10's order): the battery due today leads.
        assert digest.notices[0].serial == "AS000000000D"

    def test_a_reseller_digest_needs_the_unsubscribe_link(self) -> None:
        with pytest.raises(MissingUnsubscribeLink):
            render_email(reseller_digest(), sender=SENDER)

    def test_a_digest_of_one_notice_says_notice(self) -> None:
        notice = owner_notice()
        digest = Digest(notice.recipient, notice.sent_on, [notice])
        assert parse(render(digest))["Subject"] == "1 lifecycle notice for 1 December 2025"


# --------------------------------------------------------------------------- templates


class TestTemplates:
    # SPEC E10: customizable emails; templates are checked when they are built.

    def test_custom_templates_shape_the_message(self) -> None:
        # SPEC N5: $severity and $title are the notice's own.
        custom = MessageTemplate(
            subject="[$severity] $title for $serial",
            text="Hello,\n$model $serial needs $sku by $due. Costs $$100.\n",
            html="<p>$model $serial needs <b>$sku</b> by $due.</p>",
        )
        templates = Templates(owner=custom)
        parsed = parse(render(owner_notice(), templates=templates))
        assert parsed["Subject"] == "[Information] Battery Replacement Due for AS1234567890"
        text, markup = bodies(parsed)
        assert "needs APCRBC152 by 1 March 2026. Costs $100." in text
        assert "<b>APCRBC152</b>" in markup

    def test_a_template_per_event_kind_wins_over_the_general_one(self) -> None:
        battery = MessageTemplate(
            subject="Battery! $serial",
            text="$model $serial $due $sku",
            html="$model $serial $due $sku",
        )
        templates = Templates(owner_by_kind={EventKind.BATTERY_REPLACEMENT: battery})
        notices = [n for n in sweep() if n.recipient.kind is RecipientKind.OWNER]
        subjects = {n.kind: str(render(n, templates=templates)["Subject"]) for n in notices}
        assert subjects[EventKind.BATTERY_REPLACEMENT] == "Battery! AS1234567890"
        assert subjects[EventKind.PLAN_EXPIRY].startswith("Standard Plan Expires on")

    def test_an_unknown_placeholder_is_refused_when_the_template_is_built(self) -> None:
        with pytest.raises(InvalidTemplate, match=r"\$compnay .*did you mean \$company"):
            MessageTemplate(subject="$title", text="$compnay", html="")

    @pytest.mark.parametrize("source", ["Costs $5", "$", "${title"])
    def test_a_stray_dollar_is_refused(self, source: str) -> None:
        with pytest.raises(InvalidTemplate, match=r"\$\$"):
            MessageTemplate(subject="$title", text=source, html="")

    def test_a_subject_with_a_line_break_is_refused(self) -> None:
        with pytest.raises(InvalidTemplate, match="one line"):
            MessageTemplate(subject="$title\nBcc: evil@example.com", text="", html="")

    def test_a_reseller_template_must_show_every_N6_detail(self) -> None:
        # SPEC N6: customizing cannot drop a customer detail the reseller needs.
        thin = MessageTemplate(
            subject="$title", text="$model $serial $due $sku", html="$model $serial $due $sku"
        )
        Templates(owner=thin)  # enough for the owner
        with pytest.raises(InvalidTemplate, match=r"\$company, \$email, \$full_name"):
            Templates(reseller=thin)

    def test_a_digest_template_must_place_its_items(self) -> None:
        with pytest.raises(InvalidTemplate, match=r"\$items"):
            DigestTemplate(
                subject="$count", text="$count", html="$items", item_text="", item_html=""
            )

    def test_the_defaults_are_valid_templates(self) -> None:
        assert Templates() == DEFAULT_TEMPLATES


# --------------------------------------------------------------------------- chat


class TestChat:
    # SPEC E10, N6: the owner's Slack and Teams routes.

    def test_slack_block_kit_round_trips_through_json_with_the_title_and_fields(self) -> None:
        # SPEC N5: the title and severity as the product shows them.
        message = json.loads(json.dumps(render_slack(chat_notice(ChatKind.SLACK))))
        assert message["text"].startswith("Battery Replacement Due")
        header, section, context = message["blocks"]
        assert header == {
            "type": "header",
            "text": {"type": "plain_text", "text": "Battery Replacement Due", "emoji": False},
        }
        fields = [f["text"] for f in section["fields"]]
        assert fields == [
            "*Model*\nSMT1500RMI2UC",
            "*Serial*\nAS1234567890",
            "*Due date*\n1 March 2026",
            "*Needed*\nAPCRBC152",
            "*Severity*\nInformation",
        ]
        assert context["type"] == "context"

    def test_teams_adaptive_card_round_trips_through_json_with_the_title_and_facts(self) -> None:
        # SPEC N5: the title and severity as the product shows them.
        message = json.loads(json.dumps(render_teams(chat_notice(ChatKind.TEAMS))))
        assert message["type"] == "message"
        (attachment,) = message["attachments"]
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        card = attachment["content"]
        assert card["type"] == "AdaptiveCard"
        assert card["version"] == "1.4"
        assert card["$schema"] == ADAPTIVE_CARD_SCHEMA
        title, facts, _ = card["body"]
        assert title["text"] == "Battery Replacement Due"
        assert {f["title"]: f["value"] for f in facts["facts"]} == {
            "Model": "SMT1500RMI2UC",
            "Serial": "AS1234567890",
            "Due date": "1 March 2026",
            "Needed": "APCRBC152",
            "Severity": "Information",
        }

    def test_render_chat_follows_the_routes_kind(self) -> None:
        assert "blocks" in render_chat(chat_notice(ChatKind.SLACK))
        assert "attachments" in render_chat(chat_notice(ChatKind.TEAMS))
        assert "attachments" in render_chat(owner_notice(), ChatKind.TEAMS)
        with pytest.raises(InvalidInput, match="slack route"):
            render_chat(chat_notice(ChatKind.SLACK), ChatKind.TEAMS)
        with pytest.raises(InvalidInput, match="kind="):
            render_chat(owner_notice())

    def test_chat_messages_carry_no_personal_details_of_the_customer(self) -> None:
        # Decision (docs/rendering.md): a channel is read by more people than a mailbox.
        notice = chat_notice(ChatKind.SLACK)
        for message in (render_slack(notice), render_teams(notice)):
            dumped = json.dumps(message)
            for detail in ("Alice Martin", "alice@example.com", "+44 20 7946 0000"):
                assert detail not in dumped

    def test_slack_control_characters_in_user_values_are_escaped(self) -> None:
        device = a_device(model="SMT<!channel>&<https://evil.example|x>")
        notice = battery_notice(RecipientKind.OWNER, device=device)
        message = render_slack(notice)
        dumped = json.dumps(message)
        assert "<!CHANNEL>" not in dumped
        assert escape_mrkdwn("SMT<!CHANNEL>&<HTTPS://EVIL.EXAMPLE|X>") in dumped

    def test_teams_markdown_in_user_values_is_escaped(self) -> None:
        notice = battery_notice(
            RecipientKind.OWNER, device=a_device(sku="[click](https://x.example)")
        )
        facts = render_teams(notice)["attachments"][0]["content"]["body"][1]["facts"]  # type: ignore[index]
        assert {"title": "Needed", "value": r"\[click\](https://x.example)"} in facts

    def test_a_chat_digest_lists_its_notices_and_counts_the_rest(self) -> None:
        day = date(2026, 11, 21)
        notices = [
            n
            for i in range(MAX_CHAT_NOTICES + 3)
            for n in sweep(device=a_device(day, serial=f"AS{i:010d}"), day=day)
            if n.recipient.kind is RecipientKind.OWNER
        ]
        digest = Digest(notices[0].recipient, day, notices)
        slack = render_slack(digest)
        blocks = slack["blocks"]
        assert isinstance(blocks, list)
        assert len(blocks) <= 50  # Block Kit's limit per message
        assert slack["text"] == f"{MAX_CHAT_NOTICES + 3} lifecycle notices for 21 November 2026"
        assert blocks[-1]["elements"][0]["text"] == "… and 3 more notices"
        body = render_teams(digest)["attachments"][0]["content"]["body"]  # type: ignore[index]
        assert body[-1]["text"] == "… and 3 more notices"
        assert json.loads(json.dumps(render_teams(digest)))


# --------------------------------------------------------------------------- properties

SAMPLES = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "a\r\nBcc: x@y.z",
    "Müller & Søn <b>",
    "=?utf-8?q?evil?=",
    "x" * 300,
    "<!channel> & <@U123>",
]
ANY_TEXT = st.text(st.characters(codec=None), min_size=1, max_size=60) | st.sampled_from(
    [*SAMPLES, "\ud800"]
)
# Text that becomes part of an idempotency key (serial, email) has no lone surrogates: the
# key's SHA-256 needs UTF-8 (reported to the notifications module's owner).
KEY_TEXT = st.text(
    st.characters(codec=None, exclude_categories=["Cs"]), min_size=1, max_size=60
) | st.sampled_from(SAMPLES)
EMAILS = (
    st.emails()
    | st.sampled_from(
        ["zoë@example.com", "a\x01b@example.com", 'a"b@x.example', "a\\b@example.com"]
    )
    | KEY_TEXT
)


@st.composite
def contacts_of_any_text(draw: st.DrawFn) -> Contact | None:
    try:
        return Contact(
            draw(ANY_TEXT),
            draw(ANY_TEXT),
            draw(EMAILS),
            job_role=draw(st.none() | ANY_TEXT),
            phone=draw(st.none() | ANY_TEXT),
        )
    except UpslifeError:
        return None  # refused before rendering: not what this property is about


class TestAnyContactDetails:
    # SPEC D5, N6: whatever a customer typed, a message is well-formed or a typed error.

    @given(contacts_of_any_text())
    def test_render_email_gives_a_clean_message_or_an_upslife_error(
        self, contact: Contact | None
    ) -> None:
        event("contact refused" if contact is None else "contact accepted")
        if contact is None:
            return
        for notice in sweep(contact):
            if notice.recipient.kind is RecipientKind.CHAT:
                continue
            try:
                raw = render(notice).as_bytes()
            except UpslifeError as refused:
                event(f"refused: {type(refused).__name__}")
                continue
            event("rendered")
            assert raw.isascii()
            assert all(len(line) <= 998 for line in raw.split(b"\n"))
            parsed = email.message_from_bytes(raw, policy=email.policy.default)
            assert set(parsed.keys()) <= {
                "From",
                "To",
                "Subject",
                "Message-ID",
                "MIME-Version",
                "Content-Type",
                "List-Unsubscribe",
                "List-Unsubscribe-Post",
                "Auto-Submitted",
                "X-Upslife-Key",
            }
            assert parsed["X-Upslife-Key"] == notice.key
            text, markup = bodies(parsed)
            assert tags_in(markup) <= HTML_TAGS
            company = clean(contact.company)
            assert company in text
            assert html.escape(company, quote=True) in markup
            if notice.recipient.kind is RecipientKind.RESELLER:
                assert clean(contact.full_name) in text
                assert html.escape(clean(contact.email), quote=True) in markup

    @given(KEY_TEXT, ANY_TEXT, st.none() | ANY_TEXT)
    def test_chat_messages_hold_any_device_text_as_escaped_json(
        self, serial: str, model: str, sku: str | None
    ) -> None:
        try:
            device = a_device(serial=serial, model=model, sku=sku)
        except UpslifeError:
            event("device refused")
            return
        event("device accepted")
        notice = battery_notice(RecipientKind.OWNER, device=device)
        slack = json.loads(json.dumps(render_slack(notice)))
        for field in slack["blocks"][1]["fields"]:
            assert "<" not in field["text"]
            assert ">" not in field["text"]
        assert "<" not in slack["text"]
        json.dumps(render_teams(notice))
