"""Use cases of device sharing with managed-service users (SPEC S1–S5, E10).

A share invitation goes by mail through the outbox (or as a link the owner hands over)
and carries a signed, single-use share link (SPEC S2, I5). Following it shows the
invitation without changing anything; accepting it makes the share ACTIVE, or reports
"sign up first" for a user with no account (the library does not own accounts: the
caller says whether the user has one). Every change of an owner's sharing state is a
compare-and-set in the store, and every action, refused ones included, is written to
the owner's event log (SPEC S5).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import date, datetime

import attrs

from upslife._validation import require_email
from upslife.app.context import Context
from upslife.app.links import Link
from upslife.app.mails import queued_share_mail, share_token, share_token_subject
from upslife.app.names import canonical_email, canonical_serial
from upslife.app.sweep import enqueue_mail
from upslife.errors import (
    AlreadyExists,
    ConcurrentUpdate,
    ShareExpired,
    ShareNotFound,
    ShareNotPending,
    SignUpRequired,
    TokenReplayed,
    TokenTampered,
    UnknownDevice,
    UpslifeError,
)
from upslife.invitations import TokenAction, verify
from upslife.notifications import Recipient
from upslife.ports import Device
from upslife.reports import renewal_due_on
from upslife.sharing import (
    Action,
    Decision,
    EventLog,
    LogEntry,
    Role,
    Share,
    ShareState,
    ShareVia,
    SharingState,
    accept_share,
    access,
    add_device,
    invite_share,
    listing,
    remove_from_view,
    revoke,
    transfer_ownership,
)

__all__ = [
    "ShareAcceptance",
    "ShareInvitation",
    "ShareOutcome",
    "ShareView",
    "SharedDevice",
    "accept_share_link",
    "event_log",
    "remove_customer_from_view",
    "share",
    "shared_with_me",
    "view_share",
]

_RETRIES = 5
_Step = Callable[[SharingState, datetime], Decision]


class ShareOutcome(enum.Enum):
    """What following a share link ended in (SPEC S2)."""

    ACCEPTED = "accepted"
    SIGN_UP_REQUIRED = "sign-up-required"  # nothing changed: sign up, then follow it again


@attrs.frozen
class ShareInvitation:
    """A share invitation and its signed accept link (SPEC S2, I5)."""

    share: Share
    token: str
    url: str

    @property
    def needs_sign_up(self) -> bool:
        return self.share.needs_sign_up


@attrs.frozen
class ShareView:
    """What a share link shows before anything is accepted: who shares which UPS."""

    share: Share
    state: ShareState
    company: str
    model: str


@attrs.frozen
class ShareAcceptance:
    outcome: ShareOutcome
    share: Share


@attrs.frozen
class SharedDevice:
    """One device shared with a user, as their "Shared with me" list shows it."""

    serial: str
    model: str
    owner_id: str
    company: str
    shared_since: datetime
    renewal_due_on: date | None


def share(
    ctx: Context,
    serial: str,
    user_email: str,
    *,
    by: str,
    via: ShareVia = ShareVia.EMAIL,
    user_has_account: bool = True,
) -> ShareInvitation:
    """Share a device with a managed-service user (SPEC S1–S3).

    The invitation mail (``via=EMAIL``) goes through the outbox; with ``via=LINK`` the
    caller hands the returned link over. Refusals (a sixth user, a device on BASIC, no
    access) are logged and change nothing else.
    """
    device = ctx.store.get_device(canonical_serial(serial))
    user, by = canonical_email(user_email), canonical_email(by)
    owner = ctx.store.get_owner(device.owner_id)
    now = ctx.now()
    today = ctx.today(owner, now)
    state = ctx.store.get_sharing(device.owner_id)
    try:
        decision = invite_share(
            state,
            device.serial,
            ctx.plan(device, today),
            user,
            now,
            via=via,
            user_has_account=user_has_account,
            expiry=ctx.share_valid_for,
            by=by,
        )
    except UpslifeError as e:
        ctx.log_refusal(device, by, access(state, device.serial, by), Action.SHARE, e, today)
        raise
    made = next(s for s in decision.shares if s.user == user and s.device == device.serial)
    token = share_token(ctx.require_keyring(), made)
    url = ctx.settings.links.url(Link.SHARE, token)
    with ctx.store.transaction():
        ctx.store.save_sharing(decision.state, expected=state)
        ctx.log(device, decision.entries, today)
        if via is ShareVia.EMAIL:
            # the accept link is signed at delivery: the outbox holds no live token
            mail = queued_share_mail(made, company=owner.contact.company)
            enqueue_mail(ctx.store, owner, Recipient.owner(user), mail, now)
    return ShareInvitation(made, token, url)


def _resolve(ctx: Context, token: str, now: datetime) -> tuple[Device, Share, str]:
    verified = verify(ctx.require_keyring(), token, action=TokenAction.SHARE, now=now)
    serial, _, _ = verified.invitation_id.partition("/")
    try:
        device = ctx.store.get_device(serial)
    except UnknownDevice:
        raise TokenTampered("the device this share link names is gone") from None
    for candidate in ctx.store.get_sharing(device.owner_id).shares:
        if candidate.device == serial and share_token_subject(candidate) == verified.invitation_id:
            return device, candidate, verified.token_id
    raise TokenTampered("this share link names no share of the device's current owner")


def view_share(ctx: Context, token: str) -> ShareView:
    """What a share link shows (read-only: a mail scanner may fetch it, SPEC S2)."""
    device, found, _ = _resolve(ctx, token, ctx.now())
    owner = ctx.store.get_owner(device.owner_id)
    return ShareView(found, found.state_at(ctx.now()), owner.contact.company, device.model)


def accept_share_link(
    ctx: Context, token: str, *, user_has_account: bool | None = None
) -> ShareAcceptance:
    """The user accepts a shared device through the link (SPEC S2).

    ``user_has_account`` is the caller's word on whether the user has an account now;
    ``None`` keeps what was recorded when the invitation was sent. Without an account
    the outcome is :attr:`ShareOutcome.SIGN_UP_REQUIRED` and nothing changes: the link
    still works once the user has signed up. An expired, revoked or used link raises
    its typed refusal (``ShareExpired``, ``ShareNotPending``, ``TokenReplayed``).
    """
    for _ in range(_RETRIES):
        now = ctx.now()
        device, found, token_id = _resolve(ctx, token, now)
        has_account = (not found.needs_sign_up) if user_has_account is None else user_has_account
        state = ctx.store.get_sharing(device.owner_id)
        used = ctx.store.token_used(token_id)
        try:
            decision = accept_share(
                state, device.serial, found.user, now, user_has_account=has_account
            )
        except SignUpRequired:
            return ShareAcceptance(ShareOutcome.SIGN_UP_REQUIRED, found)
        except (ShareNotPending, ShareExpired, ShareNotFound):
            if used and found.state is ShareState.ACTIVE:
                raise TokenReplayed(found.device, token_id) from None
            raise
        today = ctx.today_of(device, now)
        try:
            with ctx.store.transaction():
                ctx.store.use_token(token_id)
                ctx.store.save_sharing(decision.state, expected=state)
                ctx.log(device, decision.entries, today)
        except (ConcurrentUpdate, AlreadyExists):
            continue
        accepted = next(s for s in decision.shares if s.user == found.user)
        return ShareAcceptance(ShareOutcome.ACCEPTED, accepted)
    raise ConcurrentUpdate("the share keeps changing; try again")


def accept_by_user(ctx: Context, serial: str, user_email: str, *, user_has_account: bool) -> None:
    """A signed-in user accepts their invitation to ``serial`` (SPEC S2)."""
    device = ctx.store.get_device(canonical_serial(serial))
    user = canonical_email(user_email)

    def step(state: SharingState, now: datetime) -> Decision:
        return accept_share(state, device.serial, user, now, user_has_account=user_has_account)

    _sharing_step(ctx, device, user, Action.ACCEPT_SHARE, step)


def revoke_share(ctx: Context, serial: str, user_email: str, *, by: str) -> None:
    """The owner (or a shared user) revokes a share (SPEC S4)."""
    device = ctx.store.get_device(canonical_serial(serial))
    user, actor = canonical_email(user_email), canonical_email(by)

    def step(state: SharingState, now: datetime) -> Decision:
        return revoke(state, device.serial, user, actor, now)

    _sharing_step(ctx, device, actor, Action.REVOKE_SHARE, step)


def remove_device_from_view(ctx: Context, serial: str, user_email: str) -> None:
    """A shared user removes the device from their own view (SPEC S4)."""
    device = ctx.store.get_device(canonical_serial(serial))
    user = canonical_email(user_email)

    def step(state: SharingState, now: datetime) -> Decision:
        return remove_from_view(state, device.serial, user, now)

    _sharing_step(ctx, device, user, Action.REMOVE_FROM_VIEW, step)


def remove_customer_from_view(ctx: Context, user_email: str, owner_id: str) -> tuple[str, ...]:
    """A shared user removes every device of one customer from their view (SPEC S4).
    Returns the serials removed; only the user's own access ends."""
    user = require_email(canonical_email(user_email), "user")
    owner = require_email(canonical_email(owner_id), "owner")
    serials = tuple(d.serial for d in shared_with_me(ctx, user) if d.owner_id == owner)
    for serial in serials:
        remove_device_from_view(ctx, serial, user)
    return serials


def transfer(ctx: Context, serial: str, new_owner_id: str, *, by: str) -> Device:
    """Transfer a device to another owner; every share of it is revoked (SPEC S4)."""
    device = ctx.store.get_device(canonical_serial(serial))
    new_owner = ctx.store.get_owner(canonical_email(new_owner_id))
    actor = canonical_email(by)
    now = ctx.now()
    today = ctx.today_of(device, now)
    state = ctx.store.get_sharing(device.owner_id)
    try:
        decision = transfer_ownership(state, device.serial, new_owner.id, actor, now)
    except UpslifeError as e:
        ctx.log_refusal(device, actor, ctx.role(device, actor), Action.TRANSFER_OWNERSHIP, e, today)
        raise
    moved = attrs.evolve(device, owner_id=new_owner.id)
    target = ctx.store.get_sharing(new_owner.id)
    with ctx.store.transaction():
        ctx.store.save_sharing(decision.state, expected=state)
        ctx.store.save_sharing(add_device(target, device.serial), expected=target)
        ctx.log(device, decision.entries, today)
        ctx.save_device(moved)
    return moved


def _sharing_step(ctx: Context, device: Device, actor: str, action: Action, step: _Step) -> None:
    for _ in range(_RETRIES):
        now = ctx.now()
        today = ctx.today_of(device, now)
        state = ctx.store.get_sharing(device.owner_id)
        try:
            decision = step(state, now)
        except UpslifeError as e:
            ctx.log_refusal(device, actor, access(state, device.serial, actor), action, e, today)
            raise
        try:
            with ctx.store.transaction():
                ctx.store.save_sharing(decision.state, expected=state)
                ctx.log(device, decision.entries, today)
        except ConcurrentUpdate:
            continue
        return
    raise ConcurrentUpdate(f"the shares of {device.owner_id} keep changing; try again")


def shared_with_me(ctx: Context, user_email: str) -> tuple[SharedDevice, ...]:
    """Every device shared with ``user_email`` (ACTIVE shares), across owners, in order of
    eligibility for renewal: earliest upcoming due date first (SPEC S3, R4). A malformed
    address is refused (``InvalidEmail``), not answered with an empty list (SPEC D5)."""
    user = require_email(canonical_email(user_email), "user")
    now = ctx.now()
    rows: list[SharedDevice] = []
    for state in ctx.store.sharing_with(user):
        owner = ctx.store.get_owner(state.owner)
        today = ctx.today(owner, now)
        for found in state.shares:
            if found.user != user or access(state, found.device, user) is not Role.SHARED_USER:
                continue
            device = ctx.store.get_device(found.device)
            assert found.accepted_at is not None  # an ACTIVE share was accepted
            rows.append(
                SharedDevice(
                    device.serial,
                    device.model,
                    owner.id,
                    owner.contact.company,
                    found.accepted_at,
                    renewal_due_on(ctx.view(device), max(today, device.registered_on)),
                )
            )
    return tuple(sorted(rows, key=lambda r: (r.renewal_due_on or date.max, r.serial)))


def event_log(ctx: Context, owner_id: str) -> tuple[LogEntry, ...]:
    """The owner's event log, critical first, newest first within a severity (SPEC S5)."""
    now = ctx.now()
    entries = ctx.store.log_of(canonical_email(owner_id), since=now - ctx.log_retention)
    return listing(EventLog(entries), now, retention=ctx.log_retention)
