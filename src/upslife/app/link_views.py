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

from upslife.errors import InvalidInput
from upslife.invitations import (
    Invitation,
    InvitationState,
    Keyring,
    TokenAction,
    accept,
    decline,
    sign,
    verify,
)
from upslife.ports import Store

__all__ = ["InvitationView", "view_invitation"]


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


def view_invitation(
    store: Store, keyring: Keyring, token: str, action: TokenAction, now: datetime
) -> InvitationView:
    """The invitation a link's ``token`` is for, as of ``now``, changing nothing.

    For an accept or decline link it raises what following the link would raise: a token
    that is tampered with, of another action, signed with an unknown key or expired
    (``TokenError`` subclasses, SPEC I5), an unknown invitation (``UnknownInvitation``),
    or an invitation that is no longer pending (the ``InvitationError`` of its state,
    SPEC I3: ``InvitationAlreadyAccepted`` for a used accept link, ``InvitationDeclined``,
    ``InvitationCancelled``, ``InvitationExpired``, ``InvitationDisconnected``, ...).
    An unsubscribe link is reusable (SPEC I5): only token errors are raised, and the view
    tells the state.
    """
    if not isinstance(action, TokenAction):
        raise InvalidInput(f"action must be a TokenAction, got {action!r}")
    verified = verify(keyring, token, action=action, now=now)
    inv = store.get_invitation(verified.invitation_id)
    if action is TokenAction.ACCEPT:
        accept(inv, now)  # a dry run: raises the refusal of SPEC I3, the result is dropped
    elif action is TokenAction.DECLINE:
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
