"""Read-only use cases behind the pages of mailed links: what a link is for, without
carrying it out.

Mail security scanners open every link of a message before the person does, so the page
that a link shows must change nothing (docs/web.md): :func:`view_invitation` verifies the
token and reads the invitation, and refuses exactly as the action itself would (SPEC I3,
I5), but stores nothing and marks no token used.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from upslife.app.context import Context
from upslife.app.resellers import digest_connections
from upslife.errors import InvalidInput, ResellerNotConnected, TokenTampered
from upslife.invitations import (
    DIGEST_SUBJECT,
    Invitation,
    InvitationState,
    Keyring,
    TokenAction,
    accept,
    decline,
    sign,
    verify,
)

__all__ = ["InvitationView", "UnsubscribeView", "view_invitation", "view_unsubscribe"]


@attrs.frozen
class InvitationView:
    """What the page of an invitation link shows (SPEC I5, N6).

    ``company_name`` is the only customer detail (N6). ``state`` is the state at the
    moment of viewing (a pending invitation past its expiry reads EXPIRED, SPEC I2).
    ``accept_token`` and ``decline_token`` are set while the invitation is pending, so
    the page can offer both buttons whichever of the two links was followed; they are the
    tokens that were mailed (signing is deterministic, docs/invitations.md).
    """

    invitation_id: str
    company_name: str
    state: InvitationState
    expires_at: datetime
    action: TokenAction
    accept_token: str | None = None
    decline_token: str | None = None

    @property
    def pending(self) -> bool:
        return self.state is InvitationState.PENDING


@attrs.frozen
class UnsubscribeView:
    """What the page of an unsubscribe link shows: the customers whose mail it stops,
    each with the state of its connection at the moment of viewing (SPEC I4, I5, N10).

    A notice's link names one invitation; a daily digest's link every connection of the
    customers the digest spoke for (empty when none has this reseller any more)."""

    companies: tuple[str, ...]
    states: tuple[InvitationState, ...]

    @property
    def subscribed(self) -> bool:
        """Whether unsubscribing would change anything (a pending or accepted one)."""
        return any(s in {InvitationState.PENDING, InvitationState.ACCEPTED} for s in self.states)


def view_unsubscribe(ctx: Context, token: str) -> UnsubscribeView:
    """The connections an unsubscribe link would end, changing nothing. Raises only the
    token's refusals (SPEC I5) and ``UnknownInvitation``: the link is reusable."""
    now = ctx.now()
    verified = verify(ctx.require_keyring(), token, action=TokenAction.UNSUBSCRIBE, now=now)
    subject = verified.invitation_id
    if subject.startswith(DIGEST_SUBJECT):
        try:
            ids = digest_connections(ctx, subject.removeprefix(DIGEST_SUBJECT))
        except ResellerNotConnected:
            return UnsubscribeView((), ())
    else:
        ids = (subject,)
    found = [ctx.store.get_invitation(i) for i in ids]
    return UnsubscribeView(
        tuple(inv.company_name for inv in found), tuple(inv.state_at(now) for inv in found)
    )


def view_invitation(ctx: Context, token: str, action: TokenAction) -> InvitationView:
    """The invitation a link's ``token`` is for, as of ``now``, changing nothing.

    It raises what following the link would raise: a token
    that is tampered with, of another action, signed with an unknown key or expired
    (``TokenError`` subclasses, SPEC I5), an unknown invitation (``UnknownInvitation``),
    or an invitation that is no longer pending (the ``InvitationError`` of its state,
    SPEC I3: ``InvitationAlreadyAccepted`` for a used accept link, ``InvitationDeclined``,
    ``InvitationCancelled``, ``InvitationExpired``, ``InvitationDisconnected``, ...).
    Unsubscribe links have :func:`view_unsubscribe`.
    """
    if not isinstance(action, TokenAction) or action not in {
        TokenAction.ACCEPT,
        TokenAction.DECLINE,
    }:
        raise InvalidInput(f"an invitation link accepts or declines, not {action!r}")
    now = ctx.now()
    keyring = ctx.require_keyring()
    verified = verify(keyring, token, action=action, now=now)
    if verified.invitation_id.startswith(DIGEST_SUBJECT):
        raise TokenTampered("a digest's link only unsubscribes")
    inv = ctx.store.get_invitation(verified.invitation_id)
    if action is TokenAction.ACCEPT:
        accept(inv, now)  # a dry run: raises the refusal of SPEC I3, the result is dropped
    else:
        decline(inv, now)
    return _view(keyring, inv, action, now)


def _view(keyring: Keyring, inv: Invitation, action: TokenAction, now: datetime) -> InvitationView:
    state = inv.state_at(now)
    accept_token = decline_token = None
    if state is InvitationState.PENDING:
        accept_token = sign(keyring, inv.id, TokenAction.ACCEPT, inv.expires_at)
        decline_token = sign(keyring, inv.id, TokenAction.DECLINE, inv.expires_at)
    return InvitationView(
        inv.id, inv.company_name, state, inv.expires_at, action, accept_token, decline_token
    )
