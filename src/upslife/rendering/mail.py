"""Lifecycle notices as RFC 5322 email messages (SPEC N6, N9, N10, E10).

:func:`render_email` turns one :class:`~upslife.notifications.Notice`, or one daily
:class:`~upslife.notifications.Digest`, into a ``multipart/alternative`` message with a
plain-text and an HTML part. It is pure: the same arguments give the same bytes, with no
clock, randomness or network (the MIME boundary, like the ``Message-ID``, is derived from
the idempotency key). The message is built with the stdlib's compat32 classes and
quoted-printable bodies encoded by :mod:`binascii`, about three times faster than
``EmailMessage`` with the default policy (docs/rendering.md has the numbers).

Headers: ``From`` (``product_name <sender>``), ``To`` (the recipient's address), ``Subject``,
``Date`` only when ``sent_at`` is given, ``Message-ID`` derived from the notice's key
(SPEC N9: a receiving side can drop the copy of an interrupted, re-run send), ``MIME-Version``,
``Auto-Submitted: auto-generated`` (RFC 3834: no vacation replies), ``X-Upslife-Key`` and,
whenever an unsubscribe URL is given (always, for a reseller), ``List-Unsubscribe`` and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058).
"""

from __future__ import annotations

import binascii
import hashlib
import html
import re
import urllib.parse
from datetime import datetime
from email.charset import Charset
from email.header import Header
from email.message import Message
from email.utils import format_datetime
from typing import Final

from upslife._validation import require_instant
from upslife.errors import InvalidEmail, InvalidInput, MissingUnsubscribeLink
from upslife.notifications import Digest, Notice, Recipient, RecipientKind
from upslife.rendering.templates import (
    DEFAULT_TEMPLATES,
    Templates,
    clean,
    digest_fields,
    notice_fields,
)

__all__ = [
    "DEFAULT_MESSAGE_ID_DOMAIN",
    "header_address",
    "header_text",
    "header_url",
    "message_id_for",
    "render_email",
]

DEFAULT_MESSAGE_ID_DOMAIN: Final = "upslife.invalid"
"""The right-hand side of ``Message-ID`` unless the caller names its own mail domain."""

_MESSAGE_ID_VERSION: Final = "upslife.message-id.v1"
_MAX_HEADER_VALUE: Final = 900  # a header line may not exceed 998 octets (RFC 5322 2.1.1)
_LABEL: Final = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN: Final = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_ATEXT: Final = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM: Final = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")
_ATOM: Final = re.compile(_ATEXT)
# What may stand inside <...> in List-Unsubscribe: printable ASCII, no blanks or brackets.
_URI: Final = re.compile(r"[!-~]+")
_ENCODED_WORD_START: Final = "=?"
_UTF8: Final = Charset("utf-8")
# Printable ASCII but "%", left as is in X-Upslife-Key; anything else is percent-encoded.
_KEY_SAFE: Final = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "%")


# --------------------------------------------------------------------------- addresses


def _addr_spec(address: str, what: str) -> str:
    """``address`` as an RFC 5322 addr-spec: a dot-atom local part, or a quoted one."""
    local, _, domain = address.rpartition("@")
    if not local or not local.isascii() or not local.isprintable() or " " in local:
        raise InvalidEmail(
            f"{what} {address!r} cannot go in a mail header: its local part must be "
            "printable ASCII (addresses that need SMTPUTF8 are not supported)"
        )
    if not domain.isascii():
        # An internationalised domain goes on the wire in its IDNA (xn--) form (RFC 5890).
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidEmail(f"{what} {address!r} has a domain IDNA cannot encode") from None
    if not _DOMAIN.fullmatch(domain):
        raise InvalidEmail(f"{what} {address!r} has no valid ASCII domain")
    if not _DOT_ATOM.fullmatch(local):
        local = '"' + local.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{local}@{domain}"


def _phrase(name: str) -> str:
    """A display name: atoms or an RFC 5322 quoted-string if ASCII, else RFC 2047 words.

    Encoded words are cut at the name's spaces (one word each, long words cut at 20
    characters), folded onto separate lines: parsers join adjacent encoded words of a
    phrase with one space, so a name with single spaces reads back exactly.
    """
    words = name.split()
    if name.isascii() and _ENCODED_WORD_START not in name:
        if all(_ATOM.fullmatch(word) for word in words):
            return " ".join(words)
        text = " ".join(words).replace("\\", "\\\\").replace('"', '\\"')
        return f'"{text}"'
    chunks = [word[i : i + 20] for word in words for i in range(0, len(word), 20)]
    return "\n ".join(_UTF8.header_encode(chunk) for chunk in chunks)


class _Unfolded(Header):
    """A header value folded only where we say: each of ``lines`` on a line of its own.

    For long values without blanks (a key, a signed URL) that compat32 would otherwise move
    whole to a continuation line, which the stdlib parser reads back with a leading space.
    """

    def __init__(self, *lines: str) -> None:
        super().__init__(" ".join(lines))
        self._lines = lines

    def encode(
        self, splitchars: str = ";, \t", maxlinelen: int | None = None, linesep: str = "\n"
    ) -> str:
        return f"{linesep} ".join(self._lines)


def _unstructured(value: str, name: str) -> str | Header:
    """A header value: as is when plain ASCII that folds, else RFC 2047 encoded words."""
    if (
        value.isascii()
        and _ENCODED_WORD_START not in value
        and all(len(word) < 70 for word in value.split())
    ):
        return value
    return Header(value, _UTF8, header_name=name)


def header_text(value: str, name: str) -> str | Header:
    """``value`` as one safe unstructured header value (``Subject``): CR, LF, NUL and every
    other control become a space, so no value can end the header or start another, and
    non-ASCII text is RFC 2047 encoded. Empty after cleaning is ``InvalidInput``."""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text, got {type(value).__name__}")
    text = clean(value).strip()[:_MAX_HEADER_VALUE]
    if not text:
        raise InvalidInput(f"{name} is empty once control characters are removed")
    return _unstructured(text, name)


def header_address(address: str, what: str) -> str:
    """``address`` as a safe addr-spec for ``To``/``From``: refused (``InvalidEmail``) if it
    holds anything a header cannot carry (a line break, a NUL, a blank, non-ASCII)."""
    if not isinstance(address, str) or "@" not in address:
        raise InvalidEmail(f"{what} must be an email address, got {address!r}")
    return _addr_spec(address, what)


def header_url(url: str, what: str) -> str:
    """``url`` for ``<...>`` in ``List-Unsubscribe``: printable ASCII, no blanks, no angle
    brackets, at most 900 characters; anything else is ``InvalidInput``."""
    if (
        not isinstance(url, str)
        or not _URI.fullmatch(url)
        or "<" in url
        or ">" in url
        or len(url) > _MAX_HEADER_VALUE
    ):
        raise InvalidInput(f"{what} must be a URL of printable ASCII without blanks: {url!r}")
    return url


# --------------------------------------------------------------------------- arguments


def _sender(sender: object) -> str:
    if not isinstance(sender, str) or not sender or "@" not in sender:
        raise InvalidEmail(f"sender must be an email address, got {sender!r}")
    return _addr_spec(sender.strip(), "sender")


def _product(product_name: object) -> str:
    if not isinstance(product_name, str) or not clean(product_name).strip():
        raise InvalidInput(f"product_name must be a non-empty string, got {product_name!r}")
    return clean(product_name).strip()


def _domain(domain: object) -> str:
    if not isinstance(domain, str) or not _DOMAIN.fullmatch(domain) or len(domain) > 253:
        raise InvalidInput(
            f"message_id_domain must be an ASCII domain name such as 'mail.example.com', "
            f"got {domain!r}"
        )
    return domain.lower()


def _unsubscribe(url: object, mailto: object, recipient: Recipient) -> tuple[str, ...] | None:
    """The ``List-Unsubscribe`` lines, required for a reseller (RFC 8058, SPEC N7)."""
    if url is None:
        if recipient.kind is RecipientKind.RESELLER:
            raise MissingUnsubscribeLink(
                f"mail to reseller {recipient.address} must carry a one-click unsubscribe "
                "link (RFC 8058): pass unsubscribe_url, the signed https URL of its opt-out "
                "(SPEC I6, N7)"
            )
        if mailto is not None:
            raise InvalidInput("unsubscribe_mailto needs an unsubscribe_url (RFC 8058)")
        return None
    if (
        not isinstance(url, str)
        or not url.lower().startswith("https://")
        or len(url) <= len("https://")
        or not _URI.fullmatch(url)
        or "<" in url
        or ">" in url
    ):
        raise InvalidInput(
            "unsubscribe_url must be an https URL of printable ASCII, without blanks or "
            f"angle brackets (RFC 8058), got {url!r}"
        )
    if len(url) > _MAX_HEADER_VALUE:
        raise InvalidInput(f"unsubscribe_url is longer than {_MAX_HEADER_VALUE} characters")
    if mailto is None:
        return (f"<{url}>",)
    if not isinstance(mailto, str) or not _URI.fullmatch(mailto) or "<" in mailto:
        raise InvalidInput(f"unsubscribe_mailto must be an address or mailto: URI: {mailto!r}")
    uri = mailto if mailto.lower().startswith("mailto:") else f"mailto:{mailto}"
    if ">" in uri or "@" not in uri or len(uri) > _MAX_HEADER_VALUE:
        raise InvalidInput(f"unsubscribe_mailto must be an address or mailto: URI: {mailto!r}")
    return (f"<{url}>,", f"<{uri}>")


# --------------------------------------------------------------------------- identifiers


def _digest_of(key: str) -> str:
    return hashlib.sha256(f"{_MESSAGE_ID_VERSION}\n{key}".encode()).hexdigest()


def message_id_for(key: str, domain: str = DEFAULT_MESSAGE_ID_DOMAIN) -> str:
    """The ``Message-ID`` of the message with idempotency key ``key`` (SPEC N9).

    A SHA-256 of the key, so the same notice (or digest) rendered again, by another run or
    process, has the same ``Message-ID`` and a receiving side can drop the copy; another
    key (another recipient, stage or event) has another. ``domain`` should be the sender's
    own mail domain; the default is a reserved name that never resolves.

    >>> message_id_for("notice:AS1:battery-replacement:2026-03-01:d90:owner:0803c1")
    '<a6d8061a1d710c2b315f0e09dc76f52e15409a0d@upslife.invalid>'
    """
    if not isinstance(key, str) or not key:
        raise InvalidInput(f"key must be a non-empty string, got {key!r}")
    return f"<{_digest_of(key)[:40]}@{_domain(domain)}>"


def _key_header(key: str) -> str:
    value = urllib.parse.quote(key, safe=_KEY_SAFE)
    if len(value) > _MAX_HEADER_VALUE:
        raise InvalidInput(
            f"the idempotency key {key[:60]!r}... is too long for a mail header "
            f"({len(value)} > {_MAX_HEADER_VALUE} characters); is the serial number right?"
        )
    return value


# --------------------------------------------------------------------------- MIME


def _part(body: str, subtype: str) -> Message:
    """One ``text/*`` part, UTF-8, quoted-printable: 7-bit safe, lines of 76 at most."""
    part = Message()
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(binascii.b2a_qp(body.encode("utf-8", "replace"), istext=True).decode())
    return part


def _with_footer(markup: str, footer: str) -> str:
    at = markup.lower().rfind("</body>")
    if at < 0:
        return markup + footer
    return markup[:at] + footer + markup[at:]


def _footer(url: str | None, recipient: Recipient, product: str) -> tuple[str, str]:
    if url is None:
        return "", ""
    if recipient.kind is RecipientKind.RESELLER:
        why = f"a customer connected you as their reseller in {product}"
    else:
        why = f"of the UPS units registered to your {product} account"
    text = f"\nYou receive this email because {why}.\nUnsubscribe: {url}\n"
    markup = (
        f'<p style="font-size:small;color:#777">You receive this email because '
        f'{html.escape(why)}. <a href="{html.escape(url)}">Unsubscribe</a></p>\n'
    )
    return text, markup


def _recipient(item: object) -> Recipient:
    if not isinstance(item, Notice | Digest):
        raise InvalidInput(f"render_email takes a Notice or a Digest, got {type(item).__name__}")
    if item.recipient.kind is RecipientKind.CHAT:
        raise InvalidInput(
            f"the recipient is the chat route {item.recipient.address!r}: render it with "
            "render_chat"
        )
    return item.recipient


def _contents(item: Notice | Digest, templates: Templates, product: str) -> tuple[str, str, str]:
    """``(subject, text, html)`` from the templates."""
    if isinstance(item, Notice):
        return templates.for_notice(item).fill(notice_fields(item, product=product))
    template = templates.for_digest(item)
    texts, markups = [], []
    for notice in item.notices:
        text, markup = template.fill_item(notice_fields(notice, product=product))
        texts.append(text)
        markups.append(markup)
    return template.fill(digest_fields(item, product=product), "".join(texts), "".join(markups))


def render_email(
    item: Notice | Digest,
    *,
    sender: str,
    templates: Templates = DEFAULT_TEMPLATES,
    unsubscribe_url: str | None = None,
    unsubscribe_mailto: str | None = None,
    product_name: str = "upslife",
    message_id_domain: str = DEFAULT_MESSAGE_ID_DOMAIN,
    sent_at: datetime | None = None,
) -> Message:
    """The email of a notice, or of a daily digest, to its owner or reseller recipient.

    Args:
        item: a :class:`Notice`, or a :class:`Digest` (one message listing all its notices
            in the digest's order, SPEC N10). Its recipient must be an owner or a reseller.
        sender: the ``From`` address; ``product_name`` is its display name.
        templates: the (customized, SPEC E10) :class:`Templates`.
        unsubscribe_url: the https URL of a one-click opt-out, with its signed token (made
            by the caller). Required for a reseller: it becomes ``List-Unsubscribe`` with
            ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058) and a footer
            link in both parts. Optional for the owner.
        unsubscribe_mailto: an address (or ``mailto:`` URI) added to ``List-Unsubscribe``.
        message_id_domain: the right-hand side of the ``Message-ID`` (SPEC N9).
        sent_at: an aware instant for the ``Date`` header. Leave it out when the message is
            rendered ahead of sending: the mail adapter then sets ``Date`` at sending time.

    Returns:
        A compat32 :class:`email.message.Message`, ``multipart/alternative`` of a
        ``text/plain`` and a ``text/html`` part (UTF-8, quoted-printable). A reseller's
        body shows everything SPEC N6 lists; an owner's the device facts.

    Raises:
        MissingUnsubscribeLink: a reseller message without ``unsubscribe_url``.
        InvalidEmail: an address that cannot be written in a header (non-ASCII local part).
        InvalidInput: a chat recipient (use ``render_chat``), or a malformed argument.
    """
    recipient = _recipient(item)
    if not isinstance(templates, Templates):
        raise InvalidInput(f"templates must be Templates, got {type(templates).__name__}")
    product = _product(product_name)
    from_ = _sender(sender)
    key = item.key
    to = _addr_spec(recipient.address, f"{recipient.kind.value} email")
    list_unsubscribe = _unsubscribe(unsubscribe_url, unsubscribe_mailto, recipient)
    message_id = message_id_for(key, message_id_domain)
    key_header = _key_header(key)
    date = None if sent_at is None else format_datetime(require_instant(sent_at, "sent_at"))
    subject, text, markup = _contents(item, templates, product)
    footer_text, footer_html = _footer(unsubscribe_url, recipient, product)

    message: Message[str, str | Header] = Message()
    message["From"] = f"{_phrase(product)} <{from_}>"
    message["To"] = to
    message["Subject"] = _unstructured(clean(subject), "Subject")
    if date is not None:
        message["Date"] = date
    message["Message-ID"] = message_id
    message["MIME-Version"] = "1.0"
    boundary = f"=_upslife_{_digest_of(key)[40:64]}"
    message["Content-Type"] = f'multipart/alternative; boundary="{boundary}"'
    if list_unsubscribe is not None:
        message["List-Unsubscribe"] = _Unfolded(*list_unsubscribe)
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Upslife-Key"] = _Unfolded(key_header)
    # The boundary starts with "=_", which quoted-printable never writes: no body can hold it.
    message.attach(_part(text + footer_text, "plain"))
    message.attach(_part(_with_footer(markup, footer_html), "html"))
    return message
