"""The reseller connection (SPEC I1–I7) and the signed links it is driven by (SPEC I5).

An owner invites one reseller by email; the reseller accepts, declines or ignores the
invitation; later the owner may disconnect or the reseller opt out. Every step is a pure
function from an :class:`Invitation` and the instant ``now`` to a new :class:`Invitation`
(plus, where SPEC I4 asks for it, an :class:`OwnerNotice` for the application layer to
deliver). Nothing is read from a clock, stored or sent here.

States (SPEC I1)::

    PENDING ──accept──▶ ACCEPTED ──disconnect (owner)──▶ DISCONNECTED
       │                    └─────opt_out (reseller)───▶ OPTED_OUT      + notice
       ├──decline (reseller)──▶ DECLINED                                + notice
       ├──cancel (owner)──────▶ CANCELLED
       └──expire (sweep, at or after sent_at + 7 × 24 h)──▶ EXPIRED     + notice

Instants are aware ``datetime`` values, normalised to UTC on the way in (SPEC D1), so
"7 days" is always 7 × 24 h of elapsed time, whatever the caller's time zone and DST.

>>> from datetime import datetime, timedelta, timezone
>>> sent = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
>>> inv = invite("owner-1", "sales@reseller.example", "Acme Ltd", sent,
...              current=None, invitation_id="inv-1")
>>> inv.expires_at.isoformat()
'2025-03-08T09:00:00+00:00'
>>> accept(inv, inv.expires_at - timedelta(microseconds=1)).state
<InvitationState.ACCEPTED: 'accepted'>
>>> try:
...     accept(inv, inv.expires_at)
... except InvitationExpired as refused:
...     print(type(refused).__name__, refused.invitation_id, refused.action)
InvitationExpired inv-1 accept

Signed links (SPEC I5): :func:`sign` makes the token that goes into an accept, decline
or unsubscribe link; :func:`verify` checks it in constant time and says which invitation
and action it is for. The token format is described in ``docs/invitations.md``.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import re
from collections.abc import Container
from datetime import UTC, datetime, timedelta
from typing import Any, Final, final

import attrs

from upslife._validation import (
    MAX_ID,
    require_email,
    require_instance,
    require_instant,
    require_items,
    require_optional,
    require_text,
)
from upslife.errors import (
    InvalidDate,
    InvalidInput,
    InvitationAlreadyAccepted,
    InvitationCancelled,
    InvitationDeclined,
    InvitationDisconnected,
    InvitationError,
    InvitationExpired,
    InvitationNotAccepted,
    InvitationNotSettled,
    InvitationOptedOut,
    InvitationTimeReversed,
    ResellerAlreadyInvited,
    TokenExpired,
    TokenReplayed,
    TokenTampered,
    TokenWrongAction,
    UnknownKey,
)

__all__ = [
    "DIGEST_SUBJECT",
    "INVITATION_LIFETIME",
    "Invitation",
    "InvitationState",
    "Keyring",
    "OwnerNotice",
    "OwnerNoticeKind",
    "ResellerPrompt",
    "SigningKey",
    "TokenAction",
    "VerifiedToken",
    "accept",
    "cancel",
    "decline",
    "disconnect",
    "expire",
    "invite",
    "is_connected",
    "opt_out",
    "settle",
    "should_prompt_reseller",
    "sign",
    "unsubscribe",
    "verify",
]


class InvitationState(enum.Enum):
    """States of a reseller invitation and connection (SPEC I1)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    DISCONNECTED = "disconnected"
    OPTED_OUT = "opted-out"


INVITATION_LIFETIME: Final = timedelta(days=7)
"""An invitation expires 7 × 24 h after it was sent (SPEC I2)."""

_OPEN: Final = frozenset({InvitationState.PENDING, InvitationState.ACCEPTED})
_RESPONDED: Final = frozenset(
    {
        InvitationState.ACCEPTED,
        InvitationState.DECLINED,
        InvitationState.EXPIRED,
        InvitationState.CANCELLED,
    }
)
_ENDED: Final = frozenset({InvitationState.DISCONNECTED, InvitationState.OPTED_OUT})


# --------------------------------------------------------------------------- values


def _utc(value: object) -> datetime:
    return require_instant(value).astimezone(UTC)


def _bool_field(_instance: object, attribute: Any, value: Any) -> None:
    require_instance(value, bool, attribute.name)


def _invitation_id(value: object) -> str:
    return require_text(value, "invitation_id", max_length=MAX_ID)


def _owner_id(value: object) -> str:
    return require_text(value, "owner_id", max_length=254)


def _optional_utc(value: object) -> datetime | None:
    return None if value is None else _utc(value)


def _state_field(_instance: object, attribute: Any, value: Any) -> None:
    if not isinstance(value, InvitationState):
        raise InvalidInput(f"{attribute.name} must be an InvitationState, got {value!r}")


@final
@attrs.frozen
class Invitation:
    """One invitation from an owner to a reseller, and the connection it became (SPEC I1).

    ``company_name`` is the owner's company name as shown in the invitation email: the
    only customer detail an invitation carries (SPEC N6). ``responded_at`` is the instant
    the invitation left PENDING (accepted, declined, cancelled or expired by the sweep);
    ``ended_at`` the instant an accepted connection ended (disconnected or opted out).
    Instants are stored in UTC. Build new invitations with :func:`invite` and move them
    only with the transition functions of this module.
    """

    id: str = attrs.field(converter=_invitation_id)
    owner_id: str = attrs.field(converter=_owner_id)
    reseller_email: str = attrs.field(converter=require_email)
    company_name: str = attrs.field(converter=require_text)
    sent_at: datetime = attrs.field(converter=_utc)
    state: InvitationState = attrs.field(default=InvitationState.PENDING, validator=_state_field)
    responded_at: datetime | None = attrs.field(default=None, converter=_optional_utc)
    ended_at: datetime | None = attrs.field(default=None, converter=_optional_utc)

    def __attrs_post_init__(self) -> None:
        if self.sent_at > datetime.max.replace(tzinfo=UTC) - INVITATION_LIFETIME:
            raise InvalidDate(
                f"invitation {self.id}: sent at {self.sent_at.isoformat()}, it would expire "
                "after the year 9999"
            )
        needs_response = self.state in _RESPONDED or self.state in _ENDED
        if (self.responded_at is not None) != needs_response:
            raise InvalidInput(
                f"invitation {self.id}: responded_at must be set exactly when the state is "
                f"not PENDING; state {self.state.name}, responded_at {self.responded_at}"
            )
        if (self.ended_at is not None) != (self.state in _ENDED):
            raise InvalidInput(
                f"invitation {self.id}: ended_at must be set exactly when the state is "
                f"DISCONNECTED or OPTED_OUT; state {self.state.name}, ended_at {self.ended_at}"
            )
        if self.responded_at is not None:
            if self.responded_at < self.sent_at:
                raise InvalidInput(f"invitation {self.id}: responded before it was sent")
            if (self.state is InvitationState.EXPIRED) != (self.responded_at >= self.expires_at):
                raise InvalidInput(
                    f"invitation {self.id}: state {self.state.name} recorded at "
                    f"{self.responded_at.isoformat()} contradicts its expiry at "
                    f"{self.expires_at.isoformat()} (SPEC I2)"
                )
        if (
            self.ended_at is not None
            and self.responded_at is not None
            and (self.ended_at < self.responded_at)
        ):
            raise InvalidInput(f"invitation {self.id}: ended before it was accepted")

    @property
    def expires_at(self) -> datetime:
        """``sent_at + 7 × 24 h``; accepting at or after this instant fails (SPEC I2)."""
        return self.sent_at + INVITATION_LIFETIME

    @property
    def last_at(self) -> datetime:
        """The latest instant recorded on the invitation; time never moves back past it."""
        return self.ended_at or self.responded_at or self.sent_at

    @property
    def accepted_at(self) -> datetime | None:
        """When the reseller accepted, if it ever did (also after a disconnect or opt-out)."""
        accepted = self.state is InvitationState.ACCEPTED or self.state in _ENDED
        return self.responded_at if accepted else None

    def state_at(self, now: datetime) -> InvitationState:
        """The state as of ``now``: a PENDING invitation at or past its expiry is EXPIRED.

        The stored state changes only through :func:`expire` (or :func:`settle`); this
        is what a page showing the invitation should say in the meantime (SPEC I2).
        """
        if self.state is InvitationState.PENDING and _utc(now) >= self.expires_at:
            return InvitationState.EXPIRED
        return self.state


class OwnerNoticeKind(enum.Enum):
    """Why the owner is told about their invitation (SPEC I4)."""

    DECLINED = "declined"
    EXPIRED = "expired"
    OPTED_OUT = "opted-out"


@final
@attrs.frozen
class OwnerNotice:
    """A message for the owner, returned by a transition for the application to send (SPEC I4).

    It names the reseller email so the message can say who declined or opted out; it
    goes to the owner only, never to the reseller.
    """

    kind: OwnerNoticeKind
    invitation_id: str
    owner_id: str
    reseller_email: str
    at: datetime = attrs.field(converter=_utc)

    @classmethod
    def of(cls, kind: OwnerNoticeKind, invitation: Invitation, at: datetime) -> OwnerNotice:
        """The notice of ``kind`` about ``invitation``, dated ``at``."""
        return cls(kind, invitation.id, invitation.owner_id, invitation.reseller_email, at)


# --------------------------------------------------------------------------- transitions


def invite(
    owner_id: str,
    reseller_email: str,
    company_name: str,
    now: datetime,
    *,
    current: Invitation | None,
    invitation_id: str,
) -> Invitation:
    """A new PENDING invitation from ``owner_id`` to ``reseller_email`` (SPEC I1, I6).

    ``current`` is the owner's latest invitation as stored (``None`` if there is none).
    An owner has one reseller at a time: while ``current`` is PENDING or ACCEPTED the new
    invitation is refused; cancel or disconnect first (SPEC I1). After DECLINED, EXPIRED,
    CANCELLED, DISCONNECTED or OPTED_OUT a new invitation is allowed, and it needs a new
    acceptance (SPEC I6). ``invitation_id`` is chosen by the caller (a random id: it goes
    into links) and must differ from ``current``'s.

    Raises:
        ResellerAlreadyInvited: ``current`` is PENDING (and not yet expired) or ACCEPTED.
        InvitationNotSettled: ``current`` is PENDING in storage but past its expiry;
            pass it through :func:`settle` (store the result, send its notice) first.
        InvitationTimeReversed: ``now`` is earlier than ``current``'s last recorded instant.
        InvalidInput: a malformed argument (naive ``now``: ``NaiveDatetime``, SPEC D1;
            a malformed email: ``InvalidEmail``), or ``current`` of another owner.
    """
    at = _utc(now)
    owner = _owner_id(owner_id)
    require_optional(current, Invitation, "current")
    if _invitation_id(invitation_id).startswith(DIGEST_SUBJECT):
        raise InvalidInput(f"an invitation id may not start with {DIGEST_SUBJECT!r}")
    if current is not None:
        if current.owner_id != owner:
            raise InvalidInput(
                f"current invitation {current.id} belongs to owner {current.owner_id}, "
                f"not to {owner}"
            )
        _require_not_before(current, at)
        if current.state is InvitationState.ACCEPTED:
            raise ResellerAlreadyInvited(current.id, owner, current.reseller_email, accepted=True)
        if current.state is InvitationState.PENDING:
            if at >= current.expires_at:
                raise InvitationNotSettled(current.id, current.expires_at)
            raise ResellerAlreadyInvited(current.id, owner, current.reseller_email, accepted=False)
        if _invitation_id(invitation_id) == current.id:
            raise InvalidInput(f"invitation id {current.id} is already used; pick a new one")
    return Invitation(
        id=invitation_id,
        owner_id=owner,
        reseller_email=reseller_email,
        company_name=company_name,
        sent_at=at,
    )


def accept(invitation: Invitation, now: datetime) -> Invitation:
    """The reseller accepts: PENDING → ACCEPTED, strictly before ``expires_at`` (SPEC I2, I3).

    Raises a distinct :class:`~upslife.errors.InvitationError` for each reason it can't:
    ``InvitationExpired`` (stored EXPIRED, or still PENDING but ``now >= expires_at``),
    ``InvitationCancelled``, ``InvitationDeclined``, ``InvitationDisconnected``,
    ``InvitationOptedOut`` (SPEC I3, I6) and ``InvitationAlreadyAccepted``; each carries
    ``invitation_id`` so the product can show its own error page.
    """
    at = _pending_at(invitation, now, "accept")
    return attrs.evolve(invitation, state=InvitationState.ACCEPTED, responded_at=at)


def decline(invitation: Invitation, now: datetime) -> tuple[Invitation, OwnerNotice]:
    """The reseller declines: PENDING → DECLINED, and the owner is told (SPEC I1, I4).

    Refused like :func:`accept` when the invitation is no longer pending, expired included.
    """
    at = _pending_at(invitation, now, "decline")
    declined = attrs.evolve(invitation, state=InvitationState.DECLINED, responded_at=at)
    return declined, OwnerNotice.of(OwnerNoticeKind.DECLINED, declined, at)


def cancel(invitation: Invitation, now: datetime) -> Invitation:
    """The owner withdraws a pending invitation: PENDING → CANCELLED (SPEC I1).

    No notice: the owner did it. Its links stop working (accepting it raises
    ``InvitationCancelled``, SPEC I3). An accepted connection is ended with
    :func:`disconnect` instead; a pending invitation past its expiry with :func:`settle`.
    """
    at = _pending_at(invitation, now, "cancel")
    return attrs.evolve(invitation, state=InvitationState.CANCELLED, responded_at=at)


def expire(invitation: Invitation, now: datetime) -> tuple[Invitation, OwnerNotice | None]:
    """The sweep: a PENDING invitation at or past ``expires_at`` becomes EXPIRED (SPEC I2, I4).

    Returns the EXPIRED invitation and the notice telling the owner the reseller let it
    expire. Before the expiry it is a no-op, ``(invitation, None)``, so a sweep may look at
    every pending invitation as often as it likes. The recorded instant is ``now``, the
    moment the expiry was observed; ``expires_at`` remains the moment it took effect.

    Raises the :class:`~upslife.errors.InvitationError` for its state when the invitation
    is not PENDING (``InvitationExpired`` if it is EXPIRED already).
    """
    at = _checked_now(invitation, now)
    if invitation.state is not InvitationState.PENDING:
        raise _refusal(invitation, at, "expire")
    if at < invitation.expires_at:
        return invitation, None
    expired = attrs.evolve(invitation, state=InvitationState.EXPIRED, responded_at=at)
    return expired, OwnerNotice.of(OwnerNoticeKind.EXPIRED, expired, at)


def settle(invitation: Invitation, now: datetime) -> tuple[Invitation, OwnerNotice | None]:
    """The invitation as it stands at ``now``: :func:`expire` if due, otherwise unchanged.

    Unlike :func:`expire` it accepts every state, so the application can settle the
    owner's current invitation before showing it or before :func:`invite` (SPEC I2, I4).
    """
    at = _checked_now(invitation, now)
    if invitation.state is InvitationState.PENDING:
        return expire(invitation, at)
    return invitation, None


def disconnect(invitation: Invitation, now: datetime) -> Invitation:
    """The owner ends the connection: ACCEPTED → DISCONNECTED (SPEC I1, I6).

    No notice goes to anyone (SPEC I4 lists none); from ``now`` on the reseller gets
    nothing (SPEC N7), and reconnecting takes a new invitation and acceptance (SPEC I6).

    Raises:
        InvitationNotAccepted: the invitation is still pending (use :func:`cancel`).
        InvitationError: the subclass for its state otherwise (SPEC I3).
    """
    at = _accepted_at(invitation, now, "disconnect")
    return attrs.evolve(invitation, state=InvitationState.DISCONNECTED, ended_at=at)


def opt_out(invitation: Invitation, now: datetime) -> tuple[Invitation, OwnerNotice]:
    """The reseller unsubscribes from a connection: ACCEPTED → OPTED_OUT (SPEC I1, I4, I6).

    The owner is told. Strict: only an ACCEPTED connection can be opted out of; what the
    Unsubscribe link does in every state is :func:`unsubscribe`.
    """
    at = _accepted_at(invitation, now, "opt out of")
    opted_out = attrs.evolve(invitation, state=InvitationState.OPTED_OUT, ended_at=at)
    return opted_out, OwnerNotice.of(OwnerNoticeKind.OPTED_OUT, opted_out, at)


def unsubscribe(invitation: Invitation, now: datetime) -> tuple[Invitation, OwnerNotice | None]:
    """What the reseller's Unsubscribe link does (SPEC I1, I4, I5).

    - PENDING (before expiry): declines the invitation, as the invitation email says;
      the owner gets a DECLINED notice (:func:`decline`);
    - ACCEPTED: opts out of the connection; the owner gets an OPTED_OUT notice
      (:func:`opt_out`);
    - any other state, and a PENDING invitation past its expiry: nothing changes and no
      notice is due, ``(invitation, None)``. The reseller already receives nothing for
      this invitation, so the link shows its confirmation page again (unsubscribe links
      are reusable, SPEC I5); an expired invitation is left to the sweep, which tells
      the owner it expired.

    Raises:
        InvitationTimeReversed: ``now`` is earlier than the invitation's last instant.
    """
    at = _checked_now(invitation, now)
    if invitation.state is InvitationState.ACCEPTED:
        return opt_out(invitation, at)
    if invitation.state_at(at) is InvitationState.PENDING:
        return decline(invitation, at)
    return invitation, None


def is_connected(invitation: Invitation | None) -> bool:
    """Whether the reseller may receive anything: only an ACCEPTED connection (SPEC N7).

    >>> is_connected(None)
    False
    """
    require_optional(invitation, Invitation, "invitation")
    return invitation is not None and invitation.state is InvitationState.ACCEPTED


# --------------------------------------------------------------------------- reseller prompt


@final
@attrs.frozen
class ResellerPrompt:
    """The owner's "Not interested?" choice on the Reseller page (SPEC I7).

    It only stops the page from being offered when devices are added: it touches no
    invitation and no connection, and :func:`invite` does not read it.
    """

    not_interested: bool = attrs.field(default=False, validator=_bool_field)

    def choose(self, *, not_interested: bool) -> ResellerPrompt:
        """The preference after the owner ticks or clears "Not interested?"."""
        return ResellerPrompt(not_interested=not_interested)


def should_prompt_reseller(
    prompt: ResellerPrompt, current: Invitation | None, now: datetime
) -> bool:
    """Whether adding a device should offer the Reseller page to the owner (SPEC I7).

    Offered unless the owner chose "Not interested?" or already has a reseller invited
    (PENDING and not yet expired) or connected (ACCEPTED).

    >>> at = datetime(2025, 3, 1, tzinfo=UTC)
    >>> should_prompt_reseller(ResellerPrompt(), None, at)
    True
    >>> should_prompt_reseller(ResellerPrompt(not_interested=True), None, at)
    False
    """
    at = _utc(now)
    require_instance(prompt, ResellerPrompt, "prompt")
    require_optional(current, Invitation, "current")
    if prompt.not_interested:
        return False
    return current is None or current.state_at(at) not in _OPEN


# --------------------------------------------------------------------------- transition helpers


def _checked_now(invitation: Invitation, now: datetime) -> datetime:
    require_instance(invitation, Invitation, "invitation")
    at = _utc(now)
    _require_not_before(invitation, at)
    return at


def _require_not_before(invitation: Invitation, at: datetime) -> None:
    if at < invitation.last_at:
        raise InvitationTimeReversed(invitation.id, at, invitation.last_at)


def _pending_at(invitation: Invitation, now: datetime, action: str) -> datetime:
    at = _checked_now(invitation, now)
    if invitation.state_at(at) is not InvitationState.PENDING:
        raise _refusal(invitation, at, action)
    return at


def _accepted_at(invitation: Invitation, now: datetime, action: str) -> datetime:
    at = _checked_now(invitation, now)
    if invitation.state is not InvitationState.ACCEPTED:
        raise _refusal(invitation, at, action)
    return at


def _refusal(invitation: Invitation, at: datetime, action: str) -> InvitationError:
    """The typed error for an ``action`` that the invitation's state at ``at`` refuses (I3)."""
    iid = invitation.id
    state = invitation.state_at(at)
    if state is InvitationState.PENDING:
        return InvitationNotAccepted(
            iid,
            action,
            "the reseller has not accepted it yet; a pending invitation is "
            "withdrawn with cancel (SPEC I1)",
        )
    if state is InvitationState.ACCEPTED:
        return InvitationAlreadyAccepted(
            iid,
            action,
            f"the reseller accepted it at {_iso(invitation.responded_at)}; "
            "an accepted connection ends with disconnect or opt-out (SPEC I1)",
        )
    if state is InvitationState.EXPIRED:
        return InvitationExpired(
            iid,
            action,
            f"it expired at {_iso(invitation.expires_at)}; the owner must "
            "send a new invitation (SPEC I2, I3)",
        )
    if state is InvitationState.CANCELLED:
        return InvitationCancelled(
            iid, action, f"the owner cancelled it at {_iso(invitation.responded_at)} (SPEC I3)"
        )
    if state is InvitationState.DECLINED:
        return InvitationDeclined(
            iid, action, f"the reseller declined it at {_iso(invitation.responded_at)} (SPEC I3)"
        )
    if state is InvitationState.DISCONNECTED:
        return InvitationDisconnected(
            iid,
            action,
            f"the owner disconnected at {_iso(invitation.ended_at)}; "
            "reconnecting needs a new invitation (SPEC I3, I6)",
        )
    return InvitationOptedOut(
        iid,
        action,
        f"the reseller opted out at {_iso(invitation.ended_at)}; "
        "reconnecting needs a new invitation (SPEC I6)",
    )


def _iso(at: datetime | None) -> str:
    return "an unknown instant" if at is None else at.isoformat()


# --------------------------------------------------------------------------- signed tokens


class TokenAction(enum.Enum):
    """What a signed link does (SPEC I5, S2). Accept, decline and share links work once."""

    ACCEPT = "accept"
    DECLINE = "decline"
    UNSUBSCRIBE = "unsubscribe"
    SHARE = "share"  # a managed-service user accepts a shared device (SPEC S2)

    @property
    def single_use(self) -> bool:
        """Accept, decline and share tokens are single-use; unsubscribe tokens are
        reusable (I5)."""
        return self is not TokenAction.UNSUBSCRIBE


DIGEST_SUBJECT: Final = "digest:"
"""The prefix of an unsubscribe token's subject that names a daily digest's outbox key
instead of one invitation: its link opts the reseller out of every connection the digest
spoke for (SPEC N10, I5). Invitation ids may not start with it."""

_TOKEN_VERSION: Final = "v1"
_MAC_CONTEXT: Final = b"upslife invitation link\x00v1\x00"
_MAC_SIZE: Final = hashlib.sha256().digest_size
_ACTION_CODES: Final[dict[TokenAction, int]] = {
    TokenAction.ACCEPT: 1,
    TokenAction.DECLINE: 2,
    TokenAction.UNSUBSCRIBE: 3,
    TokenAction.SHARE: 4,
}
_ACTIONS_BY_CODE: Final = {code: action for action, code in _ACTION_CODES.items()}
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_KEY_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,32}")
_TOKEN: Final = re.compile(r"v1\.([A-Za-z0-9_-]+)")
_MAX_INVITATION_ID_BYTES: Final = 128
_MIN_SECRET_BYTES: Final = 32
_MAX_TOKEN_CHARS: Final = 512
# kid length (1) + kid (>= 1) + action (1) + expiry (8) + invitation id (>= 1) + MAC (32)
_MIN_BLOB: Final = 1 + 1 + 1 + 8 + 1 + _MAC_SIZE


@final
@attrs.frozen
class SigningKey:
    """One HMAC-SHA256 secret from configuration, named by ``key_id`` (SPEC I5).

    ``key_id`` is 1–32 characters of ``A–Z a–z 0–9 _ -`` and travels in every token so
    the verifier can pick the key; ``secret`` must be at least 32 random bytes. The
    secret is left out of ``repr``.

    >>> SigningKey("k1", b"short")
    Traceback (most recent call last):
    ...
    upslife.errors.InvalidInput: signing key k1: the secret must be at least 32 bytes, got 5
    """

    key_id: str
    secret: bytes = attrs.field(repr=False)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.key_id, str) or not _KEY_ID.fullmatch(self.key_id):
            raise InvalidInput(
                f"signing key id must be 1-32 characters of A-Z, a-z, 0-9, '_' or '-', "
                f"got {self.key_id!r}"
            )
        if not isinstance(self.secret, bytes):
            raise InvalidInput(f"signing key {self.key_id}: the secret must be bytes")
        if len(self.secret) < _MIN_SECRET_BYTES:
            raise InvalidInput(
                f"signing key {self.key_id}: the secret must be at least "
                f"{_MIN_SECRET_BYTES} bytes, got {len(self.secret)}"
            )

    @classmethod
    def from_base64(cls, key_id: str, text: str) -> SigningKey:
        """A key whose secret is configured as base64 or base64url text (padding optional)."""
        try:
            cleaned = text.strip().rstrip("=").replace("-", "+").replace("_", "/")
            # validate=True: a character outside the alphabet is an error, not skipped.
            secret = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
        except (AttributeError, ValueError, binascii.Error) as e:
            raise InvalidInput(f"signing key {key_id}: the secret is not base64 text") from e
        return cls(key_id, secret)


@final
@attrs.frozen
class Keyring:
    """The key that signs new tokens plus older keys that still verify (SPEC I5).

    Rotation: :meth:`rotate` makes a new key current and keeps the old one for verifying
    links already sent; :meth:`drop` retires an old key, after which its tokens fail with
    ``UnknownKey``. Key ids are unique within a keyring.
    """

    current: SigningKey
    previous: tuple[SigningKey, ...] = ()

    def __attrs_post_init__(self) -> None:
        require_items(self.previous, SigningKey, "previous keys")
        keys = self.keys
        if not all(isinstance(k, SigningKey) for k in keys):
            raise InvalidInput("a keyring holds SigningKey values")
        ids = [k.key_id for k in keys]
        if len(set(ids)) != len(ids):
            raise InvalidInput(f"key ids in a keyring must be unique, got {ids}")

    @property
    def keys(self) -> tuple[SigningKey, ...]:
        """Every key that verifies, the current one first."""
        return (self.current, *self.previous)

    def find(self, key_id: str) -> SigningKey:
        """The key named ``key_id``; ``UnknownKey`` if this keyring does not hold it."""
        for key in self.keys:
            if key.key_id == key_id:
                return key
        raise UnknownKey(key_id)

    def rotate(self, new: SigningKey) -> Keyring:
        """``new`` signs from now on; the current key moves to the verifying-only keys."""
        return Keyring(new, (self.current, *self.previous))

    def drop(self, key_id: str) -> Keyring:
        """The keyring without the old key ``key_id``; the current key cannot be dropped."""
        if self.current.key_id == key_id:
            raise InvalidInput(f"key {key_id} is the current signing key; rotate it out first")
        kept = tuple(k for k in self.previous if k.key_id != key_id)
        if len(kept) == len(self.previous):
            raise UnknownKey(key_id)
        return Keyring(self.current, kept)


@final
@attrs.frozen
class VerifiedToken:
    """What a verified link says (SPEC I5).

    ``token_id`` identifies the token; for a single-use action the caller stores it once
    the action is carried out and passes the stored ids as ``used`` to later
    :func:`verify` calls, which then raise ``TokenReplayed``.
    """

    invitation_id: str
    action: TokenAction
    expires_at: datetime
    key_id: str
    token_id: str


def sign(keyring: Keyring, invitation_id: str, action: TokenAction, expires_at: datetime) -> str:
    """The token for a link doing ``action`` on ``invitation_id`` until ``expires_at`` (I5).

    The token is ``v1.`` followed by unpadded base64url of the key id, action, expiry,
    invitation id and an HMAC-SHA256 over all of them with the keyring's current key;
    it holds no customer data. Signing is deterministic: the same arguments give the same
    token (so a resent email carries the same links). For accept and decline links use
    the invitation's ``expires_at``; an unsubscribe link lives as long as the caller
    chooses (it is also printed in notice emails).

    >>> ring = Keyring(SigningKey("k1", bytes(32)))
    >>> at = datetime(2025, 3, 8, 9, 0, tzinfo=UTC)
    >>> token = sign(ring, "inv-1", TokenAction.ACCEPT, at)
    >>> verify(ring, token, action=TokenAction.ACCEPT, now=at - timedelta(seconds=1)).invitation_id
    'inv-1'
    """
    if not isinstance(action, TokenAction):
        raise InvalidInput(f"action must be a TokenAction, got {action!r}")
    iid = _invitation_id(invitation_id)
    if iid != invitation_id:
        raise InvalidInput(f"invitation id {invitation_id!r} has leading or trailing blanks")
    iid_bytes = iid.encode("utf-8")
    if len(iid_bytes) > _MAX_INVITATION_ID_BYTES:
        raise InvalidInput(
            f"invitation id is {len(iid_bytes)} bytes; tokens take at most "
            f"{_MAX_INVITATION_ID_BYTES}"
        )
    expiry = (_utc(expires_at) - _EPOCH) // timedelta(microseconds=1)
    key = require_instance(keyring, Keyring, "keyring").current
    kid = key.key_id.encode("ascii")
    body = (
        bytes([len(kid)])
        + kid
        + bytes([_ACTION_CODES[action]])
        + expiry.to_bytes(8, "big", signed=True)
        + iid_bytes
    )
    return f"{_TOKEN_VERSION}.{_b64encode(body + _mac(key, body))}"


def verify(
    keyring: Keyring,
    token: str,
    *,
    action: TokenAction,
    now: datetime,
    used: Container[str] = (),
) -> VerifiedToken:
    """Check a link's token for ``action`` at ``now`` (SPEC I5).

    The MAC is compared with :func:`hmac.compare_digest`. ``used`` holds the ``token_id``
    of every single-use token already carried out; it is ignored for unsubscribe tokens,
    which are reusable. On any input string this raises only
    :class:`~upslife.errors.TokenError` subclasses (and ``NaiveDatetime`` for a naive
    ``now``, SPEC D1).

    Raises:
        TokenTampered: malformed, altered, or signed with another secret.
        UnknownKey: signed with a key this keyring does not (or no longer) hold.
        TokenWrongAction: a valid token for another action.
        TokenExpired: ``now`` is at or after the token's expiry.
        TokenReplayed: a single-use token whose ``token_id`` is in ``used``.
    """
    if not isinstance(action, TokenAction):
        raise InvalidInput(f"action must be a TokenAction, got {action!r}")
    at = _utc(now)
    blob = _decode(token)
    kid_len = blob[0]
    if not 1 <= kid_len <= 32 or len(blob) < _MIN_BLOB - 1 + kid_len:
        raise TokenTampered("the token's layout is wrong")
    try:
        kid = blob[1 : 1 + kid_len].decode("ascii")
    except UnicodeDecodeError as e:
        raise TokenTampered("the token's key id is not text") from e
    if not _KEY_ID.fullmatch(kid):
        raise TokenTampered("the token's key id is malformed")
    key = require_instance(keyring, Keyring, "keyring").find(kid)
    body, mac = blob[:-_MAC_SIZE], blob[-_MAC_SIZE:]
    if not hmac.compare_digest(_mac(key, body), mac):
        raise TokenTampered("the token's signature does not match")

    rest = body[1 + kid_len :]
    signed_action = _ACTIONS_BY_CODE.get(rest[0])
    try:
        expires_at = _EPOCH + timedelta(microseconds=int.from_bytes(rest[1:9], "big", signed=True))
        invitation_id = rest[9:].decode("utf-8")
    except (OverflowError, UnicodeDecodeError) as e:  # only reachable with a leaked key
        raise TokenTampered("the token's fields are malformed") from e
    if signed_action is None or not invitation_id:
        raise TokenTampered("the token's fields are malformed")
    if signed_action is not action:
        raise TokenWrongAction(invitation_id, expected=action.value, got=signed_action.value)
    if at >= expires_at:
        raise TokenExpired(invitation_id, expires_at)
    token_id = hashlib.sha256(b"upslife token id\x00" + mac).hexdigest()[:32]
    if action.single_use and token_id in used:
        raise TokenReplayed(invitation_id, token_id)
    return VerifiedToken(invitation_id, signed_action, expires_at, kid, token_id)


def _mac(key: SigningKey, body: bytes) -> bytes:
    return hmac.new(key.secret, _MAC_CONTEXT + body, hashlib.sha256).digest()


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(token: object) -> bytes:
    """The token's bytes, from its one canonical spelling only (no padding, no spare bits)."""
    if not isinstance(token, str):
        raise TokenTampered(f"a token is text, got {type(token).__name__}")
    if len(token) > _MAX_TOKEN_CHARS:
        raise TokenTampered(f"the token is {len(token)} characters long, too long to be one")
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise TokenTampered("the token is not 'v1.' followed by base64url text")
    text = match.group(1)
    if len(text) % 4 == 1:
        raise TokenTampered("the token's base64url text has an impossible length")
    try:
        blob = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error) as e:
        raise TokenTampered("the token's base64url text does not decode") from e
    if _b64encode(blob) != text:
        raise TokenTampered("the token's base64url text is not in its canonical form")
    if len(blob) < _MIN_BLOB:
        raise TokenTampered("the token is too short")
    return blob
