"""The account mails that are not lifecycle notices: the reseller invitation (SPEC I1, I5,
N6) and the owner's notices about it (SPEC I4). They go through the same outbox as notices,
so they are sent once, retried when the server is down, and survive a crash.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta
from email import encoders
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime
from typing import Any, cast

import attrs

from upslife.app.links import Link, Links
from upslife.errors import InvalidInput
from upslife.invitations import (
    Invitation,
    Keyring,
    OwnerNotice,
    OwnerNoticeKind,
    TokenAction,
    sign,
)
from upslife.rendering import DEFAULT_MESSAGE_ID_DOMAIN, message_id_for
from upslife.rendering.mail import header_address, header_text, header_url
from upslife.sharing import Share

__all__ = [
    "Attachment",
    "InvitationTokens",
    "PlainMail",
    "invitation_mail",
    "invitation_tokens",
    "mail_from_doc",
    "mail_to_doc",
    "owner_notice_mail",
    "queued_invitation_mail",
    "queued_share_mail",
    "render_plain",
    "share_invitation_mail",
    "share_token",
    "share_token_subject",
    "signed_invitation_mail",
    "signed_share_mail",
]


@attrs.frozen
class Attachment:
    """A file a mail carries (a report, SPEC R2): its name, MIME type and bytes."""

    filename: str
    content_type: str
    data: bytes

    def __attrs_post_init__(self) -> None:
        maintype, _, subtype = self.content_type.partition("/")
        if not maintype or not subtype or "/" in subtype:
            raise InvalidInput(f"an attachment's type is type/subtype, got {self.content_type!r}")
        if not self.filename or not self.filename.isprintable() or "/" in self.filename:
            raise InvalidInput(f"an attachment needs a plain file name, got {self.filename!r}")
        if not isinstance(self.data, bytes):
            raise InvalidInput("an attachment's data is bytes")


@attrs.frozen
class PlainMail:
    """A short text mail with its idempotency key.

    ``invitation_id`` is set on an invitation: it is only sent while that invitation is
    still pending (an accepted, declined or expired one needs no invitation mail).
    ``share_device`` and ``share_user`` are set on a share invitation: it is only sent
    while that share is still pending (SPEC S2). The text and links of both are made at
    delivery (:func:`signed_invitation_mail`, :func:`signed_share_mail`), so the outbox
    never holds a live single-use token (the stored ``text`` is empty).
    ``connection_id`` is set on a mail to the connected reseller: it is only sent while
    that connection is ACCEPTED (SPEC N7). ``attachments`` are files it carries (SPEC R2).
    """

    key: str
    to: str
    subject: str
    text: str
    unsubscribe_url: str | None = None
    invitation_id: str | None = None
    share_device: str | None = None
    share_user: str | None = None
    connection_id: str | None = None
    attachments: tuple[Attachment, ...] = ()


_LATER_FIELDS = ("connection_id", "attachments")
"""Fields added after payloads were first stored: written only when set, so the payload of
a mail without them is the text it always was, and a stored one without them reads back."""


def mail_to_doc(mail: PlainMail) -> dict[str, Any]:
    """The JSON document of an account mail in the outbox; attachments in base64."""
    doc = attrs.asdict(mail, recurse=False)
    for name in _LATER_FIELDS:
        if not doc[name]:
            del doc[name]
    if mail.attachments:
        doc["attachments"] = [
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "data": base64.b64encode(a.data).decode("ascii"),
            }
            for a in mail.attachments
        ]
    return doc


def mail_from_doc(doc: dict[str, Any]) -> PlainMail:
    """The mail :func:`mail_to_doc` wrote, or one stored before attachments existed.

    Raises ``KeyError``, ``TypeError`` or ``ValueError`` on a damaged document (the
    caller, :func:`upslife.app.payloads.decode`, turns them into ``InvalidInput``).
    """
    fields = dict(doc)
    attachments = tuple(
        Attachment(a["filename"], a["content_type"], base64.b64decode(a["data"], validate=True))
        for a in fields.pop("attachments", ())
    )
    return PlainMail(**fields, attachments=attachments)


def invitation_mail(
    inv: Invitation, *, accept_url: str, decline_url: str, unsubscribe_url: str
) -> PlainMail:
    """The invitation a reseller receives: it carries only the customer's company name
    (SPEC N6), and signed accept, decline and unsubscribe links (SPEC I5)."""
    text = (
        f"{inv.company_name} invites you to support the lifecycle of their APC Smart-UPS "
        "units: you will be told in advance when a battery, a warranty or a plan needs "
        "renewing.\n\n"
        f"Accept the invitation:  {accept_url}\n"
        f"Not interested:         {decline_url}\n\n"
        f"The invitation expires on {inv.expires_at:%d %B %Y at %H:%M} UTC. "
        "You need no account. To receive no further mail: "
        f"{unsubscribe_url}\n"
    )
    return PlainMail(
        f"invitation:{inv.id}",
        inv.reseller_email,
        f"{inv.company_name} invites you to renewal support",
        text,
        unsubscribe_url,
        inv.id,
    )


@attrs.frozen
class InvitationTokens:
    """The signed tokens of an invitation's links (SPEC I5)."""

    accept: str
    decline: str
    unsubscribe: str


def invitation_tokens(
    keyring: Keyring, inv: Invitation, *, now: datetime, unsubscribe_valid_for: timedelta
) -> InvitationTokens:
    """Sign the invitation's links: accept and decline expire with the invitation (I2),
    unsubscribe ``unsubscribe_valid_for`` after ``now``. Signing is deterministic, so the
    accept and decline tokens made at delivery are the ones :meth:`invite_reseller` returned."""
    return InvitationTokens(
        sign(keyring, inv.id, TokenAction.ACCEPT, inv.expires_at),
        sign(keyring, inv.id, TokenAction.DECLINE, inv.expires_at),
        sign(keyring, inv.id, TokenAction.UNSUBSCRIBE, now + unsubscribe_valid_for),
    )


def queued_invitation_mail(inv: Invitation) -> PlainMail:
    """What the outbox stores for an invitation: its key, address and subject, no text and
    no token (issue 13: secrets at rest); :func:`signed_invitation_mail` makes the rest."""
    return PlainMail(
        f"invitation:{inv.id}",
        inv.reseller_email,
        f"{inv.company_name} invites you to renewal support",
        "",
        None,
        inv.id,
    )


def signed_invitation_mail(
    inv: Invitation,
    links: Links,
    keyring: Keyring,
    *,
    now: datetime,
    unsubscribe_valid_for: timedelta,
) -> PlainMail:
    """The invitation as it is sent: text and links signed at the moment of delivery."""
    tokens = invitation_tokens(keyring, inv, now=now, unsubscribe_valid_for=unsubscribe_valid_for)
    return invitation_mail(
        inv,
        accept_url=links.url(Link.ACCEPT, tokens.accept),
        decline_url=links.url(Link.DECLINE, tokens.decline),
        unsubscribe_url=links.url(Link.UNSUBSCRIBE, tokens.unsubscribe),
    )


def share_invitation_mail(
    share: Share, *, company: str, model: str, accept_url: str, sign_up_url: str | None
) -> PlainMail:
    """The mail a managed-service user receives when a device is shared with them (SPEC
    S2): who shares which UPS, the signed accept link, and the sign-up step first when
    they have no account yet."""
    sign_up = ""
    if share.needs_sign_up:
        where = f" at {sign_up_url}" if sign_up_url else ""
        sign_up = f"You have no account yet: sign up first{where}, then accept.\n\n"
    text = (
        f"{company} shares their APC Smart-UPS {model} (serial {share.device}) with you, "
        "so that you can monitor it, apply licenses and run its remote actions.\n\n"
        f"{sign_up}"
        f"Accept the shared device:  {accept_url}\n\n"
        f"The invitation expires on {share.expires_at:%d %B %Y at %H:%M} UTC.\n"
    )
    return PlainMail(
        f"share:{share.device}:{share.user}:{share.sent_at.isoformat()}",
        share.user,
        f"{company} shares a UPS with you",
        text,
        share_device=share.device,
        share_user=share.user,
    )


def share_token_subject(share: Share) -> str:
    """A share link's token subject: the device, and a digest of the user and the
    invitation's instant, so a new invitation of the same user gets a new link."""
    digest = hashlib.sha256(f"{share.user}\x00{share.sent_at.isoformat()}".encode()).hexdigest()
    return f"{share.device}/{digest[:24]}"


def share_token(keyring: Keyring, share: Share) -> str:
    """The signed, single-use accept token of ``share``, valid until it expires (SPEC S2,
    I5). Deterministic: the token mailed at delivery is the one :func:`share` returned."""
    return sign(keyring, share_token_subject(share), TokenAction.SHARE, share.expires_at)


def queued_share_mail(share: Share, *, company: str) -> PlainMail:
    """What the outbox stores for a share invitation: no text and no token."""
    return PlainMail(
        f"share:{share.device}:{share.user}:{share.sent_at.isoformat()}",
        share.user,
        f"{company} shares a UPS with you",
        "",
        share_device=share.device,
        share_user=share.user,
    )


def signed_share_mail(
    share: Share,
    links: Links,
    keyring: Keyring,
    *,
    company: str,
    model: str,
    sign_up_url: str | None,
) -> PlainMail:
    """The share invitation as it is sent: its accept link signed at delivery."""
    return share_invitation_mail(
        share,
        company=company,
        model=model,
        accept_url=links.url(Link.SHARE, share_token(keyring, share)),
        sign_up_url=sign_up_url,
    )


_OWNER_SUBJECTS = {
    OwnerNoticeKind.DECLINED: "Your reseller declined the invitation",
    OwnerNoticeKind.EXPIRED: "Your reseller invitation expired",
    OwnerNoticeKind.OPTED_OUT: "Your reseller unsubscribed from renewal support",
}


def owner_notice_mail(notice: OwnerNotice, owner_email: str) -> PlainMail:
    """What the owner is told when the reseller declines, lets the invitation expire or
    opts out (SPEC I4)."""
    subject = _OWNER_SUBJECTS[notice.kind]
    text = (
        f"{subject}: {notice.reseller_email} ({notice.at:%d %B %Y}).\n\n"
        "Your reseller no longer receives your renewal notices. You can invite them, or "
        "another reseller, again at any time.\n"
    )
    return PlainMail(
        f"owner-notice:{notice.invitation_id}:{notice.kind.value}", owner_email, subject, text
    )


def _with_attachments(mail: PlainMail, text: str) -> Message:
    """``multipart/mixed``: the text, then each attachment in base64 (SPEC R2)."""
    message = MIMEMultipart("mixed")
    message.attach(MIMEText(text, "plain", "utf-8"))
    for attachment in mail.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        part = MIMEBase(maintype, subtype)
        part.set_payload(attachment.data)
        encoders.encode_base64(part)
        part.add_header("Content-Disposition", "attachment", filename=attachment.filename)
        message.attach(part)
    return message


def render_plain(
    mail: PlainMail,
    *,
    sender: str,
    sent_at: datetime,
    message_id_domain: str = DEFAULT_MESSAGE_ID_DOMAIN,
) -> Message:
    """An RFC 5322 text message, its ``Message-ID`` derived from the key (SPEC N9); with
    attachments, ``multipart/mixed`` of the text and the files (SPEC R2).

    Every header value is cleaned or checked (:func:`~upslife.rendering.mail.header_text`,
    ``header_address``, ``header_url``): a company name holding CR/LF, an empty line or a
    NUL cannot inject a header; an address that cannot be written is ``InvalidEmail``."""
    from_ = header_address(sender.strip() if isinstance(sender, str) else sender, "sender")
    to = header_address(mail.to, "recipient")
    subject = header_text(mail.subject, "Subject")
    unsubscribe = (
        header_url(mail.unsubscribe_url, "unsubscribe_url") if mail.unsubscribe_url else None
    )
    # A NUL would break the message on the wire; every other character is safe in a
    # base64 body.
    text = mail.text.replace("\x00", "\ufffd")
    message: Message = (
        _with_attachments(mail, text) if mail.attachments else MIMEText(text, "plain", "utf-8")
    )
    message["From"] = f"upslife <{from_}>"
    message["To"] = to
    # compat32 takes a Header (encoded words) where the stubs say str
    message["Subject"] = cast(str, subject)
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = message_id_for(mail.key, message_id_domain)
    message["Auto-Submitted"] = "auto-generated"
    if unsubscribe:
        message["List-Unsubscribe"] = f"<{unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message
