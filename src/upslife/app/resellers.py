"""Use cases of the reseller connection (SPEC I1–I7, N7, N8, N10).

Every transition of an invitation is a compare-and-set in the store: the invitation is
read, the domain decides, and the result is saved only if the stored invitation is still
the one that was read. Two links used at the same moment (accept and decline, accept
and the owner's cancel) can therefore never both win: the loser reads the winner's
result and gets the typed refusal of that state (SPEC I3), and the owner is told only
what really happened (I4).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

import attrs

from upslife.app import payloads
from upslife.app.context import Context
from upslife.app.mails import invitation_tokens, queued_invitation_mail
from upslife.app.names import canonical_email, canonical_serial
from upslife.app.sweep import enqueue_mail, tell_owner
from upslife.errors import (
    AlreadyExists,
    ConcurrentUpdate,
    InvalidInput,
    InvitationError,
    NotPermitted,
    ResellerNotConnected,
    RuleViolation,
    TokenReplayed,
    TokenTampered,
    UnknownDevice,
)
from upslife.invitations import (
    DIGEST_SUBJECT,
    Invitation,
    InvitationState,
    OwnerNotice,
    TokenAction,
    accept,
    cancel,
    decline,
    disconnect,
    invite,
    settle,
    unsubscribe,
    verify,
)
from upslife.notifications import Digest, EventKind, Notice, Recipient, lifecycle_events, reminder
from upslife.ports import OutboxItem
from upslife.reports import plan_license_sku_of
from upslife.sharing import Action, Role

__all__ = [
    "InvitationLinks",
    "Unsubscribed",
    "cancel_invitation",
    "digest_connections",
    "disconnect_reseller",
    "invite_reseller",
    "respond",
    "send_reminder",
    "unsubscribe_link",
]

_RETRIES = 5


@attrs.frozen
class InvitationLinks:
    """A reseller invitation and the signed links its email carries (SPEC I5)."""

    invitation: Invitation
    accept_token: str
    decline_token: str
    unsubscribe_token: str


@attrs.frozen
class Unsubscribed:
    """What an unsubscribe link did: the connections it ended (or found ended already)
    and the notices the owners are sent (SPEC I4)."""

    invitations: tuple[Invitation, ...]
    notices: tuple[OwnerNotice, ...]


_Step = Callable[[Invitation], tuple[Invitation, OwnerNotice | None]]


def invite_reseller(
    ctx: Context, owner_id: str, reseller_email: str, *, invitation_id: str | None = None
) -> InvitationLinks:
    """Invite the owner's reseller (SPEC I1, I2, I5); the links expire with the invitation."""
    keyring = ctx.require_keyring()
    owner = ctx.store.get_owner(canonical_email(owner_id))
    now = ctx.now()
    stored = ctx.store.current_invitation(owner.id)
    current, expired = (None, None) if stored is None else settle(stored, now)
    inv = invite(
        owner.id,
        canonical_email(reseller_email),
        owner.contact.company,
        now,
        current=current,
        invitation_id=invitation_id or secrets.token_urlsafe(12),
    )
    tokens = invitation_tokens(
        keyring, inv, now=now, unsubscribe_valid_for=ctx.settings.unsubscribe_valid_for
    )
    links = InvitationLinks(inv, tokens.accept, tokens.decline, tokens.unsubscribe)
    mail = queued_invitation_mail(inv)  # its links are signed at delivery, never stored
    with ctx.store.transaction():
        if stored is not None and current is not None and current != stored:
            ctx.store.save_invitation(current, expected=stored)
            if expired is not None:
                tell_owner(ctx.store, owner, expired, now)
        ctx.store.save_invitation(inv)
        enqueue_mail(ctx.store, owner, Recipient.reseller(inv.reseller_email), mail, now)
    return links


def respond(ctx: Context, token: str, action: TokenAction) -> tuple[Invitation, OwnerNotice | None]:
    """A reseller follows a link: accept, decline or unsubscribe (SPEC I2–I5).

    The token's signature, action and expiry are checked first (SPEC I5); then the
    invitation's state, so a link of an invitation the owner has since disconnected,
    cancelled or let expire gets that distinct outcome (SPEC I3) even if it was used
    before; only a link used before on an invitation it already settled is refused as
    ``TokenReplayed`` (accept and decline links are single-use). An unsubscribe link of
    a digest ends every connection the digest spoke for; this returns the first (see
    :func:`unsubscribe_link` for all of them).
    """
    if action is TokenAction.UNSUBSCRIBE:
        done = unsubscribe_link(ctx, token)
        return done.invitations[0], (done.notices[0] if done.notices else None)
    now = ctx.now()
    if action is TokenAction.ACCEPT:
        outcome = InvitationState.ACCEPTED
        step: _Step = lambda inv: (accept(inv, now), None)  # noqa: E731
    elif action is TokenAction.DECLINE:
        outcome = InvitationState.DECLINED
        step = lambda inv: decline(inv, now)  # noqa: E731
    else:
        raise InvalidInput(f"a reseller link accepts, declines or unsubscribes, not {action!r}")
    verified = verify(ctx.require_keyring(), token, action=action, now=now)
    if verified.invitation_id.startswith(DIGEST_SUBJECT):
        raise TokenTampered("a digest's link only unsubscribes")
    for _ in range(_RETRIES):
        inv = ctx.store.get_invitation(verified.invitation_id)
        used = ctx.store.token_used(verified.token_id)
        try:
            updated, notice = step(inv)
        except InvitationError:
            if used and inv.state is outcome:
                raise TokenReplayed(inv.id, verified.token_id) from None
            raise
        if used:
            raise TokenReplayed(inv.id, verified.token_id)
        try:
            with ctx.store.transaction():
                ctx.store.use_token(verified.token_id)
                ctx.store.save_invitation(updated, expected=inv)
                if notice is not None:
                    tell_owner(ctx.store, ctx.store.get_owner(updated.owner_id), notice, now)
        except (ConcurrentUpdate, AlreadyExists):
            continue  # another link or the owner came first: decide again on what it did
        return updated, notice
    raise ConcurrentUpdate(f"invitation {verified.invitation_id} keeps changing; try again")


def unsubscribe_link(ctx: Context, token: str) -> Unsubscribed:
    """What a reseller's Unsubscribe link (or an RFC 8058 one-click POST) does (SPEC I4, I5).

    A notice's link names its invitation: a pending invitation is declined, an accepted
    connection opted out of; the owner is told. A daily digest's link names the digest:
    every connection of the customers whose notices it held, with that reseller, is
    opted out of, and each owner is told. Unsubscribe links are reusable: following one
    again changes nothing and tells no one.
    """
    now = ctx.now()
    verified = verify(ctx.require_keyring(), token, action=TokenAction.UNSUBSCRIBE, now=now)
    subject = verified.invitation_id
    if subject.startswith(DIGEST_SUBJECT):
        ids = digest_connections(ctx, subject.removeprefix(DIGEST_SUBJECT))
    else:
        ids = (subject,)
    invitations: list[Invitation] = []
    notices: list[OwnerNotice] = []
    for invitation_id in ids:
        inv, notice = _transition(ctx, invitation_id, lambda inv: unsubscribe(inv, now), now)
        invitations.append(inv)
        if notice is not None:
            notices.append(notice)
    return Unsubscribed(tuple(invitations), tuple(notices))


def digest_connections(ctx: Context, digest_key: str) -> tuple[str, ...]:
    """The invitations a digest spoke for: one per owner of its notices' devices, if that
    owner's current invitation is to the digest's recipient."""
    try:
        item = ctx.store.get_item(digest_key)
        digest = payloads.decode(item.payload)
    except LookupError:
        raise TokenTampered("the digest this link names is not in the outbox") from None
    if not isinstance(digest, Digest):
        raise TokenTampered("the link names no digest")
    owners: set[str] = set()
    for notice in digest.notices:
        try:
            owners.add(ctx.store.get_device(notice.serial).owner_id)
        except UnknownDevice:
            continue  # a device deleted since the digest went out
    found: list[str] = []
    for owner_id in sorted(owners):
        inv = ctx.store.current_invitation(owner_id)
        if inv is not None and inv.reseller_email == item.recipient.address:
            found.append(inv.id)
    if not found:
        raise ResellerNotConnected("none of the digest's customers has this reseller any more")
    return tuple(found)


def _transition(
    ctx: Context, invitation_id: str, step: _Step, now: datetime
) -> tuple[Invitation, OwnerNotice | None]:
    """Read, decide, compare-and-set; on a lost race read again and decide again."""
    for _ in range(_RETRIES):
        inv = ctx.store.get_invitation(invitation_id)
        updated, notice = step(inv)
        if updated == inv:
            return inv, None
        try:
            with ctx.store.transaction():
                ctx.store.save_invitation(updated, expected=inv)
                if notice is not None:
                    owner = ctx.store.get_owner(updated.owner_id)
                    tell_owner(ctx.store, owner, notice, now)
        except ConcurrentUpdate:
            continue
        return updated, notice
    raise ConcurrentUpdate(f"invitation {invitation_id} keeps changing; try again")


def cancel_invitation(ctx: Context, owner_id: str) -> Invitation:
    """The owner withdraws a pending invitation (SPEC I1); its links stop working (I3)."""
    return _owner_step(ctx, owner_id, cancel)


def disconnect_reseller(ctx: Context, owner_id: str) -> Invitation:
    """The owner ends the connection: no notice reaches the reseller after (SPEC I1, N7)."""
    return _owner_step(ctx, owner_id, disconnect)


def _owner_step(ctx: Context, owner_id: str, step: Callable[..., Invitation]) -> Invitation:
    owner_id = canonical_email(owner_id)
    inv = ctx.store.current_invitation(owner_id)
    if inv is None:
        raise ResellerNotConnected(f"owner {owner_id} has no reseller invitation (SPEC I1)")
    now = ctx.now()
    updated, _ = _transition(ctx, inv.id, lambda current: (step(current, now), None), now)
    return updated


def send_reminder(ctx: Context, serial: str, kind: EventKind, *, by: str) -> Notice:
    """The owner asks their connected reseller to act on an event (SPEC N8, N7).

    A device can have several events of one kind (a trial that ended years ago, then a
    license that ends soon): the reminder is for the one whose window holds today, the
    latest such; if none does, the refusal is the one of the latest event.
    """
    if not isinstance(kind, EventKind):
        raise InvalidInput(f"a reminder is for an EventKind, got {kind!r}")
    device = ctx.store.get_device(canonical_serial(serial))
    by = canonical_email(by)
    owner = ctx.store.get_owner(device.owner_id)
    now = ctx.now()
    today = ctx.today(owner, now)
    role = ctx.role(device, by)
    if role is not Role.OWNER:
        error = NotPermitted(role, Action.VIEW, device.serial)
        ctx.log_refusal(device, by, role, Action.VIEW, error, today)
        raise error
    events = lifecycle_events(
        ctx.view(device).facts(), plan_license_sku=plan_license_sku_of(ctx.catalog)
    )
    candidates = sorted((e for e in events if e.kind is kind), key=lambda e: e.id.on, reverse=True)
    if not candidates:
        raise UnknownDevice(f"device {device.serial} has no open {kind.value} event")
    inv = ctx.store.current_invitation(owner.id)
    first_refusal: RuleViolation | None = None
    for event in candidates:
        try:
            notice = reminder(
                event,
                today,
                current_events=events,
                owner=owner.contact,
                reseller_email=inv.reseller_email if inv else None,
                reseller_state=inv.state_at(now) if inv else None,
            )
        except RuleViolation as e:
            first_refusal = first_refusal or e
            continue
        break
    else:
        assert first_refusal is not None
        raise first_refusal
    ctx.store.enqueue(
        [
            OutboxItem(
                key=notice.key,
                serial=device.serial,
                owner_id=owner.id,
                recipient=notice.recipient,
                day=today,
                payload=payloads.encode(notice),
                next_attempt_at=now,
            )
        ],
        (),
    )
    return notice
