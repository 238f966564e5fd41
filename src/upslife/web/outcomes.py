"""Which page, with which HTTP status, answers each refusal of a mailed link (SPEC I3, I5).

One entry per refusal: the words are for a reseller or a managed-service user who has no
account and has never seen upslife, so they say what happened and what to do, never the
rule number or the exception. The table is data, so the route tests can walk it.
"""

from __future__ import annotations

from typing import Final

import attrs

from upslife.app.links import Link
from upslife.errors import (
    AdapterError,
    AlreadyExists,
    InvitationAlreadyAccepted,
    InvitationCancelled,
    InvitationDeclined,
    InvitationDisconnected,
    InvitationExpired,
    InvitationOptedOut,
    NotFound,
    ResellerNotConnected,
    ShareExpired,
    ShareNotFound,
    ShareNotPending,
    TokenError,
    TokenExpired,
    TokenReplayed,
    UpslifeError,
)

__all__ = ["REFUSALS", "SHARE_REFUSALS", "Outcome", "possessive", "refusal"]


def possessive(name: str) -> str:
    """``Acme Hosting's``, ``Globex Clinics'``.

    >>> possessive("Globex Clinics")
    "Globex Clinics'"
    """
    return f"{name}'" if name.endswith(("s", "S")) else f"{name}'s"


@attrs.frozen
class Outcome:
    """A page: its HTTP status, a short ``slug`` (in the page, for tests and logs), a
    heading and the text below it. ``{company}`` in the text is the inviting customer."""

    status: int
    slug: str
    title: str
    text: str

    def for_company(self, company: str | None) -> Outcome:
        name = company or "your customer"
        text = self.text.replace("{company}'s", possessive(name)).replace("{company}", name)
        return attrs.evolve(self, text=text)


EXPIRED: Final = Outcome(
    410,
    "expired",
    "This invitation has expired",
    "Invitations are valid for 7 days. If you still want to support {company}'s UPS "
    "units, ask them to send you a new invitation.",
)
CANCELLED: Final = Outcome(
    410,
    "cancelled",
    "This invitation was withdrawn",
    "{company} cancelled this invitation. There is nothing for you to do.",
)
DECLINED: Final = Outcome(
    410,
    "declined",
    "You declined this invitation",
    "{company} has been told. If you change your mind, ask them to invite you again.",
)
DISCONNECTED: Final = Outcome(
    410,
    "disconnected",
    "This connection has ended",
    "{company} ended the renewal-support connection: you receive no more notices about "
    "their UPS units. Reconnecting takes a new invitation from them.",
)
OPTED_OUT: Final = Outcome(
    410,
    "opted-out",
    "You unsubscribed",
    "You opted out of {company}'s renewal notices. Reconnecting takes a new invitation from them.",
)
USED: Final = Outcome(
    409,
    "used",
    "This link was already used",
    "You already accepted {company}'s invitation: their renewal notices come to you by "
    "mail. There is nothing more to do.",
)
INVALID: Final = Outcome(
    400,
    "invalid",
    "This link is not valid",
    "The link may have been cut or changed. Open it again from the mail, copying the "
    "whole address, or ask your customer to send a new one.",
)
UNKNOWN: Final = Outcome(
    404,
    "unknown",
    "This link is not valid",
    "We know of no invitation for this link. Ask your customer to send a new one.",
)
UNSUBSCRIBE_EXPIRED: Final = Outcome(
    410,
    "expired",
    "This unsubscribe link has expired",
    "Use the unsubscribe link of a more recent mail: every notice carries one.",
)
SHARE_EXPIRED: Final = Outcome(
    410,
    "expired",
    "This share invitation has expired",
    "Share invitations are valid for a limited time. Ask the device's owner to share it "
    "with you again.",
)
SHARE_REVOKED: Final = Outcome(
    410,
    "revoked",
    "This share is no longer available",
    "The device's owner withdrew this share. Ask them to share the device with you again.",
)
SHARE_USED: Final = Outcome(
    409,
    "used",
    "This share link was already used",
    "The device is already shared with you, or the invitation was answered. There is "
    "nothing more to do.",
)
SHARE_INVALID: Final = Outcome(
    400,
    "invalid",
    "This share link is not valid",
    "The link may have been cut or changed, or the device changed hands. Open it again "
    "from the mail, or ask the device's owner to share it again.",
)
NOT_CONNECTED: Final = Outcome(
    410,
    "not-connected",
    "You receive no more mail from these customers",
    "None of the customers of this mail has you as their reseller any more: there is "
    "nothing to do.",
)
TRY_AGAIN: Final = Outcome(
    503,
    "unavailable",
    "Please try again in a moment",
    "We could not record your answer just now. Nothing was changed: open the link again "
    "in a few minutes.",
)
NOT_ALLOWED: Final = Outcome(
    400,
    "refused",
    "This link cannot be used",
    "Open it again from the mail, or ask your customer to send a new one.",
)

REFUSALS: Final[tuple[tuple[type[UpslifeError], Outcome], ...]] = (
    (InvitationExpired, EXPIRED),
    (InvitationCancelled, CANCELLED),
    (InvitationDeclined, DECLINED),
    (InvitationDisconnected, DISCONNECTED),
    (InvitationOptedOut, OPTED_OUT),
    (InvitationAlreadyAccepted, USED),
    (TokenReplayed, USED),
    (AlreadyExists, USED),  # two clicks at once: the second one's single-use token is taken
    (TokenExpired, EXPIRED),
    (ShareExpired, SHARE_EXPIRED),
    (ShareNotPending, SHARE_USED),
    (ShareNotFound, SHARE_REVOKED),
    (ResellerNotConnected, NOT_CONNECTED),  # a digest's customers all left since
    (TokenError, INVALID),  # tampered, wrong action, unknown key
    (NotFound, UNKNOWN),
)
"""Refusals in the order they are matched: the first class the error is an instance of."""


SHARE_REFUSALS: Final[tuple[tuple[type[UpslifeError], Outcome], ...]] = (
    (TokenExpired, SHARE_EXPIRED),
    (ShareExpired, SHARE_EXPIRED),
    (TokenReplayed, SHARE_USED),
    (AlreadyExists, SHARE_USED),
    (ShareNotPending, SHARE_USED),
    (ShareNotFound, SHARE_REVOKED),
    (TokenError, SHARE_INVALID),
    (NotFound, SHARE_INVALID),
)
"""The refusals of a share link (SPEC S2): the same errors, in the words of a share."""


def refusal(error: UpslifeError, link: Link) -> Outcome:
    """The page for ``error`` refusing a ``link`` (anything unlisted: :data:`NOT_ALLOWED`)."""
    if isinstance(error, TokenExpired) and link is Link.UNSUBSCRIBE:
        return UNSUBSCRIBE_EXPIRED
    if isinstance(error, AdapterError):  # the store, not the link (a lost race included)
        return TRY_AGAIN
    if isinstance(error, TokenReplayed) and link is Link.DECLINE:
        return DECLINED  # a decline link used once: the reseller declined
    if isinstance(error, ShareNotPending):  # its words follow the state it found
        state = getattr(error.state, "value", "")
        return {"revoked": SHARE_REVOKED, "removed": SHARE_REVOKED, "expired": SHARE_EXPIRED}.get(
            state, SHARE_USED
        )
    table = SHARE_REFUSALS if link is Link.SHARE else REFUSALS
    for kind, outcome in table:
        if isinstance(error, kind):
            return outcome
    return NOT_ALLOWED
