"""Rendering of lifecycle notices: values in, messages out (SPEC N5, N6, N9, N10, E10).

Pure functions over :mod:`upslife.notifications` values: no network, no clock, no state.

- :func:`render_email`: a :class:`~upslife.notifications.Notice` or a daily
  :class:`~upslife.notifications.Digest` as a ``multipart/alternative`` email, with a
  ``Message-ID`` derived from the idempotency key (N9) and, for a reseller, a one-click
  ``List-Unsubscribe`` (RFC 8058);
- :class:`Templates`: the user's subject, text and HTML templates (E10), checked when built;
- :func:`render_slack`, :func:`render_teams`, :func:`render_chat`: chat-route messages.

See docs/rendering.md.
"""

from __future__ import annotations

from upslife.rendering.chat import (
    ADAPTIVE_CARD_SCHEMA,
    MAX_CHAT_NOTICES,
    MAX_CHAT_VALUE,
    escape_mrkdwn,
    escape_teams_markdown,
    render_chat,
    render_slack,
    render_teams,
)
from upslife.rendering.mail import DEFAULT_MESSAGE_ID_DOMAIN, message_id_for, render_email
from upslife.rendering.templates import (
    DEFAULT_TEMPLATES,
    DIGEST_PLACEHOLDERS,
    NOTICE_PLACEHOLDERS,
    OWNER_REQUIRED,
    RESELLER_REQUIRED,
    DigestTemplate,
    MessageTemplate,
    Templates,
    clean,
    digest_fields,
    notice_fields,
)

__all__ = [
    "ADAPTIVE_CARD_SCHEMA",
    "DEFAULT_MESSAGE_ID_DOMAIN",
    "DEFAULT_TEMPLATES",
    "DIGEST_PLACEHOLDERS",
    "MAX_CHAT_NOTICES",
    "MAX_CHAT_VALUE",
    "NOTICE_PLACEHOLDERS",
    "OWNER_REQUIRED",
    "RESELLER_REQUIRED",
    "DigestTemplate",
    "MessageTemplate",
    "Templates",
    "clean",
    "digest_fields",
    "escape_mrkdwn",
    "escape_teams_markdown",
    "message_id_for",
    "notice_fields",
    "render_chat",
    "render_email",
    "render_slack",
    "render_teams",
]
