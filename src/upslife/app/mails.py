"""The account mails that are not lifecycle notices: the reseller invitation (SPEC I1, I5,
N6) and the owner's notices about it (SPEC I4). They go through the same outbox as notices,
so they are sent once, retried when the server is down, and survive a crash.
"""

from __future__ import annotations

from datetime import datetime
from email.mime.text import MIMEText
from email.utils import format_datetime
from typing import cast

import attrs

from upslife.invitations import Invitation, OwnerNotice, OwnerNoticeKind
from upslife.rendering import message_id_for
from upslife.rendering.mail import header_address, header_text, header_url
from upslife.sharing import Share

__all__ = [
    "PlainMail",
    "invitation_mail",
    "owner_notice_mail",
    "render_plain",
    "share_invitation_mail",
]


@attrs.frozen
class PlainMail:
    """A short text mail with its idempotency key.

    ``invitation_id`` is set on an invitation: it is only sent while that invitation is
    still pending (an accepted, declined or expired one needs no invitation mail).
    ``share_device`` and ``share_user`` are set on a share invitation: it is only sent
    while that share is still pending (SPEC S2).
    """

    key: str
    to: str
    subject: str
    text: str
    unsubscribe_url: str | None = None
    invitation_id: str | None = None
    share_device: str | None = None
    share_user: str | None = None


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


def render_plain(mail: PlainMail, *, sender: str, sent_at: datetime) -> MIMEText:
    """An RFC 5322 text message, its ``Message-ID`` derived from the key (SPEC N9).

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
    message = MIMEText(mail.text.replace("\x00", "\ufffd"), "plain", "utf-8")
    message["From"] = f"upslife <{from_}>"
    message["To"] = to
    # compat32 takes a Header (encoded words) where the stubs say str
    message["Subject"] = cast(str, subject)
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = message_id_for(mail.key)
    message["Auto-Submitted"] = "auto-generated"
    if unsubscribe:
        message["List-Unsubscribe"] = f"<{unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message
