"""Lifecycle notices as Slack and Microsoft Teams messages (SPEC N5, N6, N10, E10).

A chat route is one of the owner's own channels (SPEC N6, E10), so a chat message shows the
notice and its device facts: title, model, serial, due date, what is needed, severity. It
does not show the customer's personal details (name, role, email, phone): the owner knows
them, and a channel is usually read by more people than the owner's mailbox.

:func:`render_slack` builds a Block Kit message (a ``header`` block, a ``section`` with
``fields``, a ``context`` line, and the top-level ``text`` fallback that notifications and
screen readers show); :func:`render_teams` an incoming-webhook message carrying one Adaptive
Card 1.4 (a ``TextBlock`` title and a ``FactSet``). Both return plain ``dict`` values ready
for ``json.dumps``; :func:`render_chat` picks one by the route's
:class:`~upslife.notifications.ChatKind`. A digest (SPEC N10) is one message listing its
notices, the first :data:`MAX_CHAT_NOTICES` of them, then how many more there are: chat
messages have size limits (Slack: 50 blocks) that an email does not.

User values are made one line (:func:`~upslife.rendering.templates.clean`) and shortened to
:data:`MAX_CHAT_VALUE` characters; in Slack ``mrkdwn`` their ``&``, ``<`` and ``>`` are
escaped, so a value can neither mention ``<!channel>`` nor add a link; in Teams, where text
is Markdown, their ``\\ * _ [ ] ` ~`` and leading list markers are backslash-escaped.
"""

from __future__ import annotations

import re
from typing import Final

from upslife.errors import InvalidInput
from upslife.notifications import ChatKind, Digest, Notice, Severity
from upslife.rendering.templates import digest_fields, notice_fields

__all__ = [
    "ADAPTIVE_CARD_SCHEMA",
    "MAX_CHAT_NOTICES",
    "MAX_CHAT_VALUE",
    "escape_mrkdwn",
    "escape_teams_markdown",
    "render_chat",
    "render_slack",
    "render_teams",
]

MAX_CHAT_NOTICES: Final = 20
"""How many notices of a digest a chat message lists; the rest are counted."""

MAX_CHAT_VALUE: Final = 200
"""User values longer than this are cut, with "…" (Slack: 2,000 characters per field)."""

ADAPTIVE_CARD_SCHEMA: Final = "http://adaptivecards.io/schemas/adaptive-card.json"
_ADAPTIVE_CARD_TYPE: Final = "application/vnd.microsoft.card.adaptive"
_SLACK_HEADER_MAX: Final = 150  # a header block's plain_text limit
_TEAMS_COLOR: Final = {
    Severity.INFO: "Default",
    Severity.WARNING: "Warning",
    Severity.CRITICAL: "Attention",
}
_FACTS: Final = (
    ("Model", "model"),
    ("Serial", "serial"),
    ("Due date", "due"),
    ("Needed", "sku"),
    ("Severity", "severity"),
)
_TEAMS_SPECIAL: Final = re.compile(r"([\\*_\[\]`~])")
_TEAMS_LINE_START: Final = re.compile(r"^(?:([-+#>])|(\d+)([.)]))")


def _short(value: str, limit: int = MAX_CHAT_VALUE) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def escape_mrkdwn(value: str) -> str:
    """``value`` for Slack ``mrkdwn``: ``&``, ``<`` and ``>`` as HTML entities.

    >>> escape_mrkdwn("<!channel> Acme & Co")
    '&lt;!channel&gt; Acme &amp; Co'
    """
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_teams_markdown(value: str) -> str:
    r"""``value`` for Adaptive Card Markdown: emphasis, code and link characters escaped.

    >>> escape_teams_markdown("[click](https://x.example) *now*")
    '\\[click\\](https://x.example) \\*now\\*'
    >>> escape_teams_markdown("1. first")
    '1\\. first'
    """
    escaped = _TEAMS_SPECIAL.sub(r"\\\1", value)
    match = _TEAMS_LINE_START.match(escaped)
    if match is None:
        return escaped
    if match.group(1) is not None:
        return "\\" + escaped
    end = match.end()
    return escaped[: end - 1] + "\\" + escaped[end - 1 :]


def _notices(item: Notice | Digest) -> tuple[Notice, ...]:
    if isinstance(item, Notice):
        return (item,)
    if isinstance(item, Digest):
        return item.notices
    raise InvalidInput(f"chat messages render a Notice or a Digest, got {type(item).__name__}")


def _digest_heading(digest: Digest) -> str:
    values = digest_fields(digest)
    return f"{values['count']} lifecycle {values['noun']} for {values['day']}"


def _more(hidden: int) -> str:
    return f"… and {hidden} more {'notice' if hidden == 1 else 'notices'}"


def _context(values: dict[str, str]) -> str:
    return f"{values['event']} · {values['stage']}"


# --------------------------------------------------------------------------- Slack


def _slack_fields(values: dict[str, str]) -> list[dict[str, object]]:
    return [
        {"type": "mrkdwn", "text": f"*{label}*\n{escape_mrkdwn(_short(values[name]))}"}
        for label, name in _FACTS
    ]


def _slack_header(text: str) -> dict[str, object]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": _short(text, _SLACK_HEADER_MAX), "emoji": False},
    }


def _slack_fallback(values: dict[str, str]) -> str:
    return escape_mrkdwn(
        f"{values['title']}: {_short(values['model'])} {_short(values['serial'])}, "
        f"due {values['due']}"
    )


def render_slack(item: Notice | Digest) -> dict[str, object]:
    """A Slack Block Kit message for a notice or a digest (SPEC N5, N10, E10).

    A notice: ``header`` (the title), ``section`` fields (model, serial, due date, what
    is needed, severity), a ``context`` line (event and stage), and ``text``, the
    fallback. A digest: a header counting the notices, then a section per notice (the
    first :data:`MAX_CHAT_NOTICES`), separated by dividers.
    """
    notices = _notices(item)
    if isinstance(item, Notice):
        values = notice_fields(item)
        return {
            "text": _slack_fallback(values),
            "blocks": [
                _slack_header(values["title"]),
                {"type": "section", "fields": _slack_fields(values)},
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": escape_mrkdwn(_context(values))}],
                },
            ],
        }
    assert isinstance(item, Digest)
    heading = _digest_heading(item)
    blocks: list[dict[str, object]] = [_slack_header(heading)]
    for notice in notices[:MAX_CHAT_NOTICES]:
        values = notice_fields(notice)
        blocks.append({"type": "divider"})
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*{escape_mrkdwn(values['title'])}*"},
                "fields": _slack_fields(values),
            }
        )
    hidden = len(notices) - MAX_CHAT_NOTICES
    if hidden > 0:
        note = {"type": "mrkdwn", "text": _more(hidden)}
        blocks.append({"type": "context", "elements": [note]})
    return {"text": escape_mrkdwn(heading), "blocks": blocks}


# --------------------------------------------------------------------------- Teams


def _teams_title(text: str, severity: Severity, *, size: str) -> dict[str, object]:
    return {
        "type": "TextBlock",
        "text": escape_teams_markdown(text),
        "size": size,
        "weight": "Bolder",
        "color": _TEAMS_COLOR[severity],
        "wrap": True,
    }


def _teams_facts(values: dict[str, str]) -> dict[str, object]:
    return {
        "type": "FactSet",
        "facts": [
            {"title": label, "value": escape_teams_markdown(_short(values[name]))}
            for label, name in _FACTS
        ],
    }


def _teams_note(text: str) -> dict[str, object]:
    return {
        "type": "TextBlock",
        "text": escape_teams_markdown(text),
        "isSubtle": True,
        "size": "Small",
        "wrap": True,
    }


def render_teams(item: Notice | Digest) -> dict[str, object]:
    """A Teams incoming-webhook message with one Adaptive Card 1.4 (SPEC N5, N10, E10).

    ``{"type": "message", "attachments": [{"contentType":
    "application/vnd.microsoft.card.adaptive", "content": <card>}]}``; the card shows the
    title (coloured by severity), a ``FactSet`` of the device facts, and the event and
    stage. A digest lists its first :data:`MAX_CHAT_NOTICES` notices the same way.
    """
    notices = _notices(item)
    body: list[dict[str, object]] = []
    if isinstance(item, Notice):
        values = notice_fields(item)
        body += [
            _teams_title(values["title"], item.severity, size="Large"),
            _teams_facts(values),
            _teams_note(_context(values)),
        ]
    else:
        assert isinstance(item, Digest)
        body.append(_teams_title(_digest_heading(item), item.severity, size="Large"))
        for notice in notices[:MAX_CHAT_NOTICES]:
            values = notice_fields(notice)
            title = _teams_title(values["title"], notice.severity, size="Medium")
            title["separator"] = True
            body += [title, _teams_facts(values)]
        hidden = len(notices) - MAX_CHAT_NOTICES
        if hidden > 0:
            body.append(_teams_note(_more(hidden)))
    card: dict[str, object] = {
        "type": "AdaptiveCard",
        "version": "1.4",
        "$schema": ADAPTIVE_CARD_SCHEMA,
        "body": body,
    }
    return {
        "type": "message",
        "attachments": [{"contentType": _ADAPTIVE_CARD_TYPE, "content": card}],
    }


def render_chat(item: Notice | Digest, kind: ChatKind | None = None) -> dict[str, object]:
    """The chat message of ``item`` for a Slack or Teams route (SPEC N6, E10).

    ``kind`` defaults to the recipient's own :class:`ChatKind`; it is needed only to
    preview an owner or reseller notice in a channel, and must agree with a chat
    recipient's kind.
    """
    if not isinstance(item, Notice | Digest):
        raise InvalidInput(f"chat messages render a Notice or a Digest, got {type(item).__name__}")
    recipient = item.recipient
    if kind is not None and not isinstance(kind, ChatKind):
        raise InvalidInput(f"kind must be a ChatKind (SLACK or TEAMS), got {kind!r}")
    if recipient.chat is not None and kind is not None and kind is not recipient.chat:
        raise InvalidInput(
            f"the route {recipient.address!r} is a {recipient.chat.value} route, "
            f"not a {kind.value} one"
        )
    chosen = kind or recipient.chat
    if chosen is None:
        raise InvalidInput(
            f"the recipient {recipient.address!r} is an email; pass kind= to render it for chat"
        )
    return render_slack(item) if chosen is ChatKind.SLACK else render_teams(item)
