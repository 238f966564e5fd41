"""Device sharing with managed-service users, and the owner's event log (SPEC S1–S5, E10).

Everything here is a pure function of its arguments: the instant ``now`` is always passed
in, nothing is read from a clock or written anywhere. Values are frozen ``attrs`` classes
holding tuples and frozensets; a transition returns a :class:`Decision` with the new
:class:`SharingState`, the shares it changed and the :class:`LogEntry` values that describe
it, which the application layer stores and records (with :func:`record`).

Everyone is named by the email address of their account: the owner, the users a device is
shared with, and whoever acts (``by``). Instants are aware ``datetime`` values, kept in UTC;
a naive one is refused (SPEC D1).

>>> from datetime import datetime, UTC
>>> noon = datetime(2025, 3, 1, 12, tzinfo=UTC)
>>> state = SharingState.of("owner@example.com", ["AS1234567890"])
>>> d = invite_share(state, "AS1234567890", Plan.STANDARD, "msp@example.net", noon,
...                  via=ShareVia.EMAIL, user_has_account=False)
>>> d.needs_sign_up, d.shares[0].state.name, d.shares[0].expires_at.isoformat()
(True, 'PENDING', '2025-03-08T12:00:00+00:00')
>>> invite_share(state, "AS1234567890", Plan.BASIC, "msp@example.net", noon,
...              via=ShareVia.EMAIL, user_has_account=True)
Traceback (most recent call last):
...
upslife.errors.FeatureNotInPlan: sharing a device with a new user needs the Standard plan; \
the device is on the Basic plan (SPEC E10)
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final, TypeVar, final

import attrs

from upslife._validation import (
    MAX_MESSAGE,
    MAX_SERIAL,
    require_email,
    require_instance,
    require_instant,
    require_items,
    require_text,
)
from upslife.entitlements import Feature, Plan, can, require
from upslife.errors import (
    AlreadyShared,
    DeviceNotOwned,
    InstantOutOfOrder,
    InvalidDate,
    InvalidInput,
    NotPermitted,
    ShareExpired,
    ShareLimitReached,
    ShareNotFound,
    ShareNotPending,
    SignUpRequired,
    UpslifeError,
)
from upslife.notifications import Severity

__all__ = [
    "DEFAULT_RETENTION",
    "DEFAULT_SHARE_EXPIRY",
    "MAX_SHARED_USERS",
    "PRIVILEGES",
    "SYSTEM_ACTOR",
    "Action",
    "Decision",
    "EventLog",
    "LogEntry",
    "Outcome",
    "Role",
    "Share",
    "ShareState",
    "ShareVia",
    "SharingState",
    "accept_share",
    "access",
    "add_device",
    "authorize",
    "default_severity",
    "delete_device",
    "expire_shares",
    "invite_share",
    "listing",
    "permit",
    "prune",
    "record",
    "remove_from_view",
    "revoke",
    "shared_users",
    "transfer_ownership",
]

MAX_SHARED_USERS: Final = 5
"""Distinct other users an owner may share devices with (SPEC S1)."""

DEFAULT_SHARE_EXPIRY: Final = timedelta(days=7)
"""How long a share invitation stays valid by default (SPEC S2, like SPEC I2)."""

DEFAULT_RETENTION: Final = timedelta(days=30)
"""How long the event log keeps entries by default (SPEC S5)."""

SYSTEM_ACTOR: Final = "system"
"""The actor of log entries no user caused (an invitation that expired)."""


# --------------------------------------------------------------------------- validation


def _utc(value: object, name: str = "instant") -> datetime:
    """An aware instant, converted to UTC (SPEC D1); naive ones raise ``NaiveDatetime``."""
    aware = require_instant(value, name)
    try:
        return aware.astimezone(UTC)
    except OverflowError as e:
        raise InvalidDate(f"{name} {aware.isoformat()} is out of range in UTC") from e


def _to_utc(value: datetime) -> datetime:
    return _utc(value)


def _to_opt_utc(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)


def _device(value: object, name: str = "device") -> str:
    """A device serial number: non-empty text, surrounding blanks dropped."""
    return require_text(value, name, max_length=MAX_SERIAL)


def _message(value: object) -> str:
    return require_text(value, "message", max_length=MAX_MESSAGE, multiline=True)


def _actor(value: object) -> str:
    return require_text(value, "actor", max_length=254)


def _opt_email(value: str | None) -> str | None:
    return None if value is None else require_email(value, "ended_by")


def _devices(value: Iterable[str]) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidInput(f"devices must be a collection of serial numbers, got {value!r}")
    return frozenset(_device(d) for d in value)


_T = TypeVar("_T")


def _member_of(kind: type[_T], value: object, name: str) -> _T:
    """``value`` if it is a ``kind``; otherwise :class:`InvalidInput` (SPEC D5)."""
    if not isinstance(value, kind):
        raise InvalidInput(f"{name} must be a {kind.__name__}, got {value!r}")
    return value


def _enum_field(kind: type[enum.Enum]) -> Callable[[Any, Any, Any], None]:
    def check(_instance: Any, attribute: Any, value: Any) -> None:
        _member_of(kind, value, attribute.name)

    return check


def _optional_enum_field(kind: type[enum.Enum]) -> Callable[[Any, Any, Any], None]:
    def check(_instance: Any, attribute: Any, value: Any) -> None:
        if value is not None:
            _member_of(kind, value, attribute.name)

    return check


def _bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be True or False, got {value!r}")
    return value


def _positive_timedelta(value: object, name: str) -> timedelta:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise InvalidInput(f"{name} must be a positive timedelta, got {value!r}")
    return value


# --------------------------------------------------------------------------- roles and actions


class Role(enum.Enum):
    """Who someone is to a device: its owner or a user it is shared with (SPEC S3)."""

    OWNER = "owner"
    SHARED_USER = "shared user"

    @property
    def label(self) -> str:
        return self.value


class Action(enum.Enum):
    """Everything someone can do to or with a device, with the plan feature gating it (SPEC E10).

    The value is ``(description, feature)``; ``feature`` is ``None`` for actions no plan
    withholds (viewing, licenses, deleting, transferring, revoking and leaving shares: a
    device that fell back to BASIC stays shared and can be unshared, SPEC E10).
    """

    VIEW = ("view the device", None)
    DOWNLOAD_REPORTS = ("download the device's reports", Feature.REPORTS)
    APPLY_LICENSE = ("apply a license to the device", None)
    BUY_LICENSE = ("buy a license for the device", None)
    FIRMWARE_INSTALL = ("start a firmware install remotely", Feature.REMOTE_FIRMWARE_INSTALL)
    INPUT_SENSITIVITY = ("adjust the input sensitivity remotely", Feature.INPUT_SENSITIVITY)
    SELF_TEST = ("run a remote self-test", Feature.SELF_TEST)
    SET_BATTERY_INSTALL_DATE = ("set the battery install date", Feature.SET_BATTERY_INSTALL_DATE)
    OUTLET_GROUP_REBOOT = ("reboot an outlet group remotely", Feature.OUTLET_GROUP_REBOOT)
    DELETE_DEVICE = ("delete the device", None)
    TRANSFER_OWNERSHIP = ("transfer the device's ownership", None)
    SHARE = ("share the device with a new user", Feature.SHARE_WITH_NEW_USER)
    ACCEPT_SHARE = ("accept an invitation to the device", None)
    REVOKE_SHARE = ("revoke a share of the device", None)
    REMOVE_FROM_VIEW = ("remove the device from their own view", None)
    EXPIRE_SHARE = ("expire an invitation to the device", None)

    @property
    def description(self) -> str:
        text: str = self.value[0]
        return text

    @property
    def feature(self) -> Feature | None:
        """The plan feature that gates this action, or ``None`` (SPEC E10)."""
        feature: Feature | None = self.value[1]
        return feature

    @property
    def minimum_plan(self) -> Plan:
        """The lowest plan on which this action is allowed (SPEC E10)."""
        return Plan.BASIC if self.feature is None else self.feature.minimum_plan


# SPEC S1 and S4 give sharing and revoking to the owner; S3's list of a shared user's
# privileges does not include them.
_OWNER_ONLY: Final = frozenset(
    {Action.DELETE_DEVICE, Action.TRANSFER_OWNERSHIP, Action.SHARE, Action.REVOKE_SHARE}
)
_SHARED_ONLY: Final = frozenset({Action.ACCEPT_SHARE, Action.REMOVE_FROM_VIEW})
_SYSTEM_ONLY: Final = frozenset({Action.EXPIRE_SHARE})

PRIVILEGES: Final[Mapping[Role, frozenset[Action]]] = MappingProxyType(
    {
        Role.OWNER: frozenset(Action) - _SHARED_ONLY - _SYSTEM_ONLY,
        Role.SHARED_USER: frozenset(Action) - _OWNER_ONLY - _SYSTEM_ONLY,
    }
)
"""The privilege matrix (SPEC S3, S4): the actions each role may take on a device.

A shared user has every privilege of the owner except :attr:`Action.DELETE_DEVICE` and
:attr:`Action.TRANSFER_OWNERSHIP` (SPEC S3); sharing and revoking other users' access stay
with the owner (SPEC S1, S4). Only a shared user can accept an invitation or remove a
device from their own view (the owner deletes or transfers instead); nobody "expires" an
invitation, time does. It is a read-only mapping.
"""


def permit(role: Role | None, action: Action, device: str | None = None) -> None:
    """Raise :class:`NotPermitted` unless ``role`` may take ``action`` at all (SPEC S3, S4).

    ``role`` ``None`` is someone without access to the device: they may do nothing. The
    plan is not looked at here; :func:`authorize` checks both.
    """
    action = _member_of(Action, action, "action")
    if role is not None:
        role = _member_of(Role, role, "role")
    if role is None or action not in PRIVILEGES[role]:
        raise NotPermitted(role, action, device)


def authorize(role: Role | None, action: Action, plan: Plan, device: str | None = None) -> None:
    """Raise unless ``role`` may take ``action`` on a device on ``plan`` (SPEC S3, E10).

    Raises:
        NotPermitted: the role may not take the action (a shared user deleting or
            transferring the device, someone without access doing anything).
        FeatureNotInPlan: the device's plan lacks the feature; ``required`` names the plan
            that has it (outlet-group reboot needs ADVANCED, sharing needs STANDARD).

    >>> authorize(Role.SHARED_USER, Action.SELF_TEST, Plan.STANDARD)
    >>> authorize(Role.SHARED_USER, Action.DELETE_DEVICE, Plan.ADVANCED)
    Traceback (most recent call last):
    ...
    upslife.errors.NotPermitted: a shared user may not delete the device: only its owner may \
(SPEC S3)
    """
    permit(role, action, device)
    plan = Plan.parse(plan)
    if action.feature is not None:
        require(plan, action.feature)


# --------------------------------------------------------------------------- the event log


class Outcome(enum.Enum):
    """Whether a logged action was carried out or refused (SPEC S5)."""

    SUCCEEDED = "succeeded"
    REFUSED = "refused"


_CRITICAL_ACTIONS: Final = frozenset(
    {Action.OUTLET_GROUP_REBOOT, Action.DELETE_DEVICE, Action.TRANSFER_OWNERSHIP}
)
_WARNING_ACTIONS: Final = frozenset({Action.FIRMWARE_INSTALL})


def default_severity(action: Action, outcome: Outcome) -> Severity:
    """The severity a log entry gets unless the caller chooses one (SPEC S5).

    A refused attempt is a WARNING. A carried-out outlet-group reboot (it cuts power to
    loads), deletion or ownership transfer is CRITICAL; a remote firmware install is a
    WARNING; everything else is INFO.
    """
    require_instance(action, Action, "action")
    require_instance(outcome, Outcome, "outcome")
    if outcome is Outcome.REFUSED:
        return Severity.WARNING
    if action in _CRITICAL_ACTIONS:
        return Severity.CRITICAL
    if action in _WARNING_ACTIONS:
        return Severity.WARNING
    return Severity.INFO


@final
@attrs.frozen
class LogEntry:
    """One line of the owner's event log (SPEC S5): who, which role, what, which device, when,
    and the outcome.

    ``role`` is ``None`` when the actor had no role on the device (a refused stranger, or
    :data:`SYSTEM_ACTOR`). A refused entry carries ``reason``, the name of the error that
    refused it (``"FeatureNotInPlan"``); a succeeded one has ``reason=None``.
    """

    at: datetime = attrs.field(converter=_to_utc)
    actor: str = attrs.field(converter=_actor)
    role: Role | None = attrs.field(validator=_optional_enum_field(Role))
    action: Action = attrs.field(validator=_enum_field(Action))
    device: str = attrs.field(converter=_device)
    outcome: Outcome = attrs.field(validator=_enum_field(Outcome))
    severity: Severity = attrs.field(validator=_enum_field(Severity))
    message: str = attrs.field(converter=_message)
    reason: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.outcome is Outcome.REFUSED:
            require_text(self.reason, "reason of a refused entry")
        elif self.reason is not None:
            raise InvalidInput("a succeeded log entry has no refusal reason")

    @classmethod
    def succeeded(
        cls,
        at: datetime,
        actor: str,
        role: Role | None,
        action: Action,
        device: str,
        message: str,
        *,
        severity: Severity | None = None,
    ) -> LogEntry:
        """The entry for an action that was carried out (SPEC S5)."""
        if severity is None:
            severity = default_severity(action, Outcome.SUCCEEDED)
        return cls(at, actor, role, action, device, Outcome.SUCCEEDED, severity, message)

    @classmethod
    def refused(
        cls,
        at: datetime,
        actor: str,
        role: Role | None,
        action: Action,
        device: str,
        error: UpslifeError,
        *,
        severity: Severity | None = None,
    ) -> LogEntry:
        """The entry for an attempt that ``error`` refused (SPEC S5).

        ``reason`` is the error's class name, ``message`` its text, so the log says why.

        >>> from datetime import datetime, UTC
        >>> e = LogEntry.refused(datetime(2025, 1, 1, tzinfo=UTC), "msp@example.net",
        ...                      Role.SHARED_USER, Action.DELETE_DEVICE, "AS1",
        ...                      NotPermitted(Role.SHARED_USER, Action.DELETE_DEVICE, "AS1"))
        >>> e.outcome.name, e.reason, e.severity.name
        ('REFUSED', 'NotPermitted', 'WARNING')
        """
        if not isinstance(error, UpslifeError):
            raise InvalidInput(f"a refusal is an UpslifeError, got {type(error).__name__}")
        if severity is None:
            severity = default_severity(action, Outcome.REFUSED)
        return cls(
            at,
            actor,
            role,
            action,
            device,
            Outcome.REFUSED,
            severity,
            str(error) or type(error).__name__,
            type(error).__name__,
        )


def _log_entries(value: Iterable[LogEntry]) -> tuple[LogEntry, ...]:
    return require_items(value, LogEntry, "entries")


@final
@attrs.frozen
class EventLog:
    """An owner's event log (SPEC S5): entries in the order they were recorded.

    Change it with :func:`record` and :func:`prune`; read it with :func:`listing`.
    """

    entries: tuple[LogEntry, ...] = attrs.field(default=(), converter=_log_entries)


def record(log: EventLog, entry: LogEntry, *, plan: Plan) -> EventLog:
    """``log`` with ``entry`` appended, unless ``plan`` (the device's plan) is BASIC (SPEC E10).

    No new entries are written to the event log of a device while it is on BASIC: the
    very same ``log`` object is returned, so ``record(log, e, plan=p) is log`` tells the
    caller nothing was written (``can(p, Feature.EVENT_LOG)`` says so in advance).

    >>> from datetime import datetime, UTC
    >>> e = LogEntry.succeeded(datetime(2025, 1, 1, tzinfo=UTC), "o@example.com",
    ...                        Role.OWNER, Action.SELF_TEST, "AS1", "self-test started")
    >>> log = EventLog()
    >>> record(log, e, plan=Plan.BASIC) is log
    True
    >>> len(record(log, e, plan=Plan.STANDARD).entries)
    1
    """
    log = _member_of(EventLog, log, "log")
    entry = _member_of(LogEntry, entry, "entry")
    if not can(Plan.parse(plan), Feature.EVENT_LOG):
        return log
    return EventLog((*log.entries, entry))


def _cutoff(now: datetime, retention: timedelta) -> datetime | None:
    """``now - retention``, or ``None`` when that is before the first representable instant."""
    try:
        return now - retention
    except OverflowError:
        return None


def _retained(log: EventLog, now: object, retention: object) -> tuple[LogEntry, ...]:
    log = _member_of(EventLog, log, "log")
    cutoff = _cutoff(_utc(now, "now"), _positive_timedelta(retention, "retention"))
    if cutoff is None:
        return log.entries
    return tuple(e for e in log.entries if e.at > cutoff)


def prune(log: EventLog, now: datetime, *, retention: timedelta = DEFAULT_RETENTION) -> EventLog:
    """``log`` without the entries beyond retention (SPEC S5).

    An entry is kept while ``entry.at > now - retention``: an entry exactly ``retention``
    old is gone (the window is half-open, like every period in SPEC D2). Entries stamped
    after ``now`` are kept.
    """
    kept = _retained(log, now, retention)
    return log if len(kept) == len(log.entries) else EventLog(kept)


def listing(
    log: EventLog, now: datetime, *, retention: timedelta = DEFAULT_RETENTION
) -> tuple[LogEntry, ...]:
    """The entries within retention, critical first, then warning, then info (SPEC S5).

    Within a severity the newest comes first; entries with the same instant and severity
    are listed last-recorded first. The retention boundary is that of :func:`prune`.
    """
    kept = list(enumerate(_retained(log, now, retention)))
    kept.sort(key=lambda pair: (pair[1].at, pair[0]), reverse=True)
    kept.sort(key=lambda pair: -pair[1].severity)  # stable: keeps newest first
    return tuple(entry for _, entry in kept)


# --------------------------------------------------------------------------- shares


class ShareVia(enum.Enum):
    """How an invitation reaches the user (SPEC S2)."""

    EMAIL = "email"
    LINK = "link"


class ShareState(enum.Enum):
    """States of a share (SPEC S2, S4).

    PENDING → ACTIVE (accepted) | REVOKED (by the owner, a transfer or a deletion) |
    EXPIRED; ACTIVE → REVOKED | REMOVED (the shared user removed it from their view).
    """

    PENDING = "pending"
    ACTIVE = "active"
    REVOKED = "revoked"
    REMOVED = "removed"
    EXPIRED = "expired"


_ENDED: Final = frozenset({ShareState.REVOKED, ShareState.REMOVED, ShareState.EXPIRED})


@final
@attrs.frozen
class Share:
    """A device shared by its owner with one user (SPEC S1, S2, S4).

    ``sent_at``, ``accepted_at`` and ``ended_at`` are the instants of its changes;
    ``ended_by`` is who revoked or removed it (``None`` when it expired). ``invited_by`` is
    the owner or the shared user who sent the invitation (SPEC S3). ``needs_sign_up``
    records that the user had no account when invited (SPEC S2).
    """

    device: str = attrs.field(converter=_device)
    owner: str = attrs.field(converter=require_email)
    user: str = attrs.field(converter=require_email)
    invited_by: str = attrs.field(converter=require_email)
    via: ShareVia = attrs.field(validator=_enum_field(ShareVia))
    sent_at: datetime = attrs.field(converter=_to_utc)
    expires_at: datetime = attrs.field(converter=_to_utc)
    needs_sign_up: bool = False
    state: ShareState = attrs.field(default=ShareState.PENDING, validator=_enum_field(ShareState))
    accepted_at: datetime | None = attrs.field(default=None, converter=_to_opt_utc)
    ended_at: datetime | None = attrs.field(default=None, converter=_to_opt_utc)
    ended_by: str | None = attrs.field(default=None, converter=_opt_email)

    def __attrs_post_init__(self) -> None:
        _bool(self.needs_sign_up, "needs_sign_up")
        where = f"share of {self.device} with {self.user}"
        if self.user == self.owner:
            raise InvalidInput(f"{where}: the owner is not shared their own device")
        if self.expires_at <= self.sent_at:
            raise InvalidInput(f"{where}: expires_at must be after sent_at")
        if self.state in (ShareState.ACTIVE, ShareState.REMOVED) and self.accepted_at is None:
            raise InvalidInput(f"{where}: a {self.state.value} share needs an accepted_at")
        if self.state in (ShareState.PENDING, ShareState.EXPIRED) and self.accepted_at:
            raise InvalidInput(f"{where}: a {self.state.value} share was never accepted")
        if self.accepted_at is not None and not (
            self.sent_at <= self.accepted_at < self.expires_at
        ):
            raise InvalidInput(f"{where}: accepted_at must be in [sent_at, expires_at)")
        if (self.ended_at is not None) != (self.state in _ENDED):
            raise InvalidInput(f"{where}: ended_at does not fit state {self.state.name}")
        if (self.ended_by is not None) != (self.state in _ENDED - {ShareState.EXPIRED}):
            raise InvalidInput(f"{where}: ended_by does not fit state {self.state.name}")
        if self.ended_at is not None and self.ended_at < (self.accepted_at or self.sent_at):
            raise InvalidInput(f"{where}: ended_at is before the share started")
        if self.state is ShareState.EXPIRED and self.ended_at != self.expires_at:
            raise InvalidInput(f"{where}: an expired share ended at its expires_at")

    def state_at(self, now: datetime) -> ShareState:
        """The state at instant ``now``: a PENDING share has EXPIRED once ``now >= expires_at``."""
        if self.state is ShareState.PENDING and _utc(now, "now") >= self.expires_at:
            return ShareState.EXPIRED
        return self.state

    def is_live_at(self, now: datetime) -> bool:
        """ACTIVE, or PENDING and not yet expired at ``now``: what SPEC S1 counts."""
        return self.state_at(now) in (ShareState.ACTIVE, ShareState.PENDING)


def _key(share: Share) -> tuple[str, str]:
    return (share.device, share.user)


def _share_tuple(value: Iterable[Share]) -> tuple[Share, ...]:
    shares = require_items(value, Share, "shares")
    for share in shares:
        if not isinstance(share, Share):
            raise InvalidInput(f"expected a Share, got {type(share).__name__}")
    return tuple(sorted(shares, key=_key))


@final
@attrs.frozen
class SharingState:
    """All shares of one owner's devices (SPEC S1–S4).

    ``devices`` are the serial numbers the owner owns now; ``shares`` hold at most one
    record per (device, user), the latest, sorted; ``updated_at`` is the instant of the
    last transition (transitions at an earlier instant are refused, so time only moves
    forward). Shares of a device that was transferred or deleted stay, REVOKED, as a record.
    """

    owner: str = attrs.field(converter=require_email)
    devices: frozenset[str] = attrs.field(default=frozenset(), converter=_devices)
    shares: tuple[Share, ...] = attrs.field(default=(), converter=_share_tuple)
    updated_at: datetime | None = attrs.field(default=None, converter=_to_opt_utc)

    def __attrs_post_init__(self) -> None:
        keys = [_key(s) for s in self.shares]
        if len(set(keys)) != len(keys):
            raise InvalidInput("a sharing state holds one share per (device, user)")
        for share in self.shares:
            if share.owner != self.owner:
                raise InvalidInput(f"share of {share.device} belongs to {share.owner}")
            live = share.state in (ShareState.ACTIVE, ShareState.PENDING)
            if live and share.device not in self.devices:
                raise InvalidInput(f"a live share of {share.device}, which {self.owner} lacks")
        users = {
            s.user
            for s in self.shares
            if (s.is_live_at(self.updated_at) if self.updated_at else s.state not in _ENDED)
        }
        if len(users) > MAX_SHARED_USERS:
            raise InvalidInput(f"{self.owner} shares with more than {MAX_SHARED_USERS} users")

    @classmethod
    def of(cls, owner: str, devices: Iterable[str] = ()) -> SharingState:
        """An owner's state with no shares yet."""
        return cls(owner, _devices(devices))


@final
@attrs.frozen
class Decision:
    """What a sharing transition decided (SPEC S5): the new state, the shares it created or
    changed (in their new form), and the log entries describing it, oldest first.

    ``needs_sign_up`` is set by :func:`invite_share` when the user has no account: the
    invitation asks them to sign up first (SPEC S2).
    """

    state: SharingState
    shares: tuple[Share, ...]
    entries: tuple[LogEntry, ...]
    needs_sign_up: bool = False


# --------------------------------------------------------------------------- queries


def _find(state: SharingState, device: str, user: str) -> Share | None:
    for share in state.shares:
        if share.device == device and share.user == user:
            return share
    return None


def access(state: SharingState, device: str, user: str) -> Role | None:
    """``user``'s role on ``device``: OWNER, SHARED_USER (an ACTIVE share), or ``None``.

    A pending invitation gives no access. Access does not depend on the plan: a device
    that fell back to BASIC stays shared (SPEC E10).
    """
    state = _member_of(SharingState, state, "state")
    device = _device(device)
    user = require_email(user, "user")
    if device not in state.devices:
        return None
    if user == state.owner:
        return Role.OWNER
    share = _find(state, device, user)
    if share is not None and share.state is ShareState.ACTIVE:
        return Role.SHARED_USER
    return None


def shared_users(state: SharingState, now: datetime) -> frozenset[str]:
    """The distinct users SPEC S1 counts at ``now``: those with ACTIVE access to, or a
    PENDING unexpired invitation for, any of the owner's devices. At most five.
    """
    state = _member_of(SharingState, state, "state")
    at = _utc(now, "now")
    return frozenset(s.user for s in state.shares if s.is_live_at(at))


# --------------------------------------------------------------------------- transitions


def _begin(state: SharingState, now: object) -> tuple[SharingState, datetime]:
    state = _member_of(SharingState, state, "state")
    at = _utc(now, "now")
    if state.updated_at is not None and at < state.updated_at:
        raise InstantOutOfOrder(at, state.updated_at)
    return state, at


def _owned(state: SharingState, device: object) -> str:
    serial = _device(device)
    if serial not in state.devices:
        raise DeviceNotOwned(serial, state.owner)
    return serial


def _expire_due(
    state: SharingState, now: datetime
) -> tuple[dict[tuple[str, str], Share], list[Share], list[LogEntry]]:
    """Every PENDING share whose ``expires_at <= now`` becomes EXPIRED (SPEC S2)."""
    shares = {_key(s): s for s in state.shares}
    expired: list[Share] = []
    entries: list[LogEntry] = []
    due = [s for s in state.shares if s.state is ShareState.PENDING and s.expires_at <= now]
    for share in sorted(due, key=lambda s: (s.expires_at, _key(s))):
        done = attrs.evolve(share, state=ShareState.EXPIRED, ended_at=share.expires_at)
        shares[_key(done)] = done
        expired.append(done)
        entries.append(
            LogEntry.succeeded(
                share.expires_at,
                SYSTEM_ACTOR,
                None,
                Action.EXPIRE_SHARE,
                share.device,
                f"the invitation of {share.user} to device {share.device} expired (SPEC S2)",
            )
        )
    return shares, expired, entries


def _decide(
    state: SharingState,
    now: datetime,
    shares: dict[tuple[str, str], Share],
    changed: list[Share],
    entries: list[LogEntry],
    *,
    devices: frozenset[str] | None = None,
    needs_sign_up: bool = False,
) -> Decision:
    new_state = attrs.evolve(
        state,
        devices=state.devices if devices is None else devices,
        shares=tuple(shares.values()),
        updated_at=now,
    )
    return Decision(new_state, tuple(changed), tuple(entries), needs_sign_up)


def add_device(state: SharingState, device: str) -> SharingState:
    """``state`` with ``device`` among the owner's devices (registration, or the receiving
    side of :func:`transfer_ownership`). A device owned already raises
    :class:`~upslife.errors.InvalidInput`.
    """
    state = _member_of(SharingState, state, "state")
    serial = _device(device)
    if serial in state.devices:
        raise InvalidInput(f"device {serial} is already one of {state.owner}'s devices")
    return attrs.evolve(state, devices=state.devices | {serial})


def invite_share(
    state: SharingState,
    device: str,
    device_plan: Plan,
    user_email: str,
    now: datetime,
    *,
    via: ShareVia,
    user_has_account: bool,
    expiry: timedelta = DEFAULT_SHARE_EXPIRY,
    by: str | None = None,
) -> Decision:
    """Invite ``user_email`` to ``device`` (SPEC S1, S2, S3, E10).

    The invitation is PENDING until accepted and expires at ``now + expiry`` (7 days by
    default): at that instant it has expired. ``by`` is who shares, the owner by default;
    a shared user may share too (SPEC S3: every privilege of the owner but two).

    Raises:
        DeviceNotOwned: ``device`` is not one of the owner's devices.
        NotPermitted: ``by`` has no access to the device.
        FeatureNotInPlan: the device is on BASIC; sharing with a new user needs STANDARD.
        AlreadyShared: the user is the owner, or has an active share or an unexpired
            invitation for this device (revoke it first).
        ShareLimitReached: the owner would share with a sixth distinct user (SPEC S1);
            sharing another device with a user already counted is fine.

    ``Decision.needs_sign_up`` is true when the user has no account: the invitation asks
    them to sign up first (SPEC S2); the library does not own accounts.
    """
    state, at = _begin(state, now)
    serial = _owned(state, device)
    plan = Plan.parse(device_plan)
    user = require_email(user_email, "user_email")
    actor = state.owner if by is None else require_email(by, "by")
    via = _member_of(ShareVia, via, "via")
    has_account = _bool(user_has_account, "user_has_account")
    expiry = _positive_timedelta(expiry, "expiry")
    try:
        expires_at = at + expiry
    except OverflowError as e:
        raise InvalidInput(f"now + expiry is out of range: {at.isoformat()} + {expiry}") from e
    role = access(state, serial, actor)
    authorize(role, Action.SHARE, plan, serial)
    if user == state.owner:
        raise AlreadyShared(serial, user, "access as the device's owner")
    existing = _find(state, serial, user)
    if existing is not None and existing.is_live_at(at):
        what = "an active share" if existing.state is ShareState.ACTIVE else "an invitation"
        raise AlreadyShared(serial, user, what)
    counted = shared_users(state, at)
    if user not in counted and len(counted) >= MAX_SHARED_USERS:
        raise ShareLimitReached(state.owner, user, MAX_SHARED_USERS, counted)

    shares, changed, entries = _expire_due(state, at)
    share = Share(
        serial, state.owner, user, actor, via, at, expires_at, needs_sign_up=not has_account
    )
    shares[_key(share)] = share
    changed.append(share)
    sign_up = f"; {user} must sign up first" if not has_account else ""
    entries.append(
        LogEntry.succeeded(
            at,
            actor,
            role,
            Action.SHARE,
            serial,
            f"{actor} shared device {serial} with {user} by {via.value}; the invitation "
            f"expires at {expires_at.isoformat()}{sign_up}",
        )
    )
    return _decide(state, at, shares, changed, entries, needs_sign_up=not has_account)


def accept_share(
    state: SharingState, device: str, user: str, now: datetime, *, user_has_account: bool
) -> Decision:
    """``user`` accepts their invitation to ``device``; the share becomes ACTIVE (SPEC S2).

    Accepting is not plan-gated: the sharing was allowed when the invitation was sent.

    Raises:
        ShareNotFound: there is no invitation of that user to that device.
        ShareExpired: ``now >= expires_at``.
        ShareNotPending: it was accepted, revoked or removed already.
        SignUpRequired: the user has no account yet; they sign up, then accept.
    """
    state, at = _begin(state, now)
    serial = _device(device)
    user = require_email(user, "user")
    has_account = _bool(user_has_account, "user_has_account")
    share = _find(state, serial, user)
    if share is None:
        raise ShareNotFound(serial, user)
    current = share.state_at(at)
    if current is ShareState.EXPIRED:
        raise ShareExpired(serial, user, share.expires_at)
    if current is not ShareState.PENDING:
        raise ShareNotPending(serial, user, current)
    if not has_account:
        raise SignUpRequired(serial, user)

    shares, changed, entries = _expire_due(state, at)
    active = attrs.evolve(share, state=ShareState.ACTIVE, accepted_at=at, needs_sign_up=False)
    shares[_key(active)] = active
    changed.append(active)
    entries.append(
        LogEntry.succeeded(
            at,
            user,
            Role.SHARED_USER,
            Action.ACCEPT_SHARE,
            serial,
            f"{user} accepted the share of device {serial}",
        )
    )
    return _decide(state, at, shares, changed, entries)


def _revoked(share: Share, at: datetime, by: str) -> Share:
    return attrs.evolve(share, state=ShareState.REVOKED, ended_at=at, ended_by=by)


def revoke(state: SharingState, device: str, user: str, by: str, now: datetime) -> Decision:
    """``by`` revokes ``user``'s share of (or cancels their invitation to) ``device`` (SPEC S4).

    The owner can revoke any share; so can a shared user of the device (SPEC S3 gives them
    every privilege of the owner but deleting and transferring). Revoking is never
    plan-gated: a device on BASIC stays shared and can be unshared (SPEC E10).

    Raises:
        DeviceNotOwned: ``device`` is not one of the owner's devices.
        NotPermitted: ``by`` has no access to the device.
        ShareNotFound: ``user`` has no active share of, or unexpired invitation to, it.
    """
    state, at = _begin(state, now)
    serial = _owned(state, device)
    user = require_email(user, "user")
    actor = require_email(by, "by")
    role = access(state, serial, actor)
    permit(role, Action.REVOKE_SHARE, serial)
    share = _find(state, serial, user)
    if share is None or not share.is_live_at(at):
        raise ShareNotFound(serial, user)

    shares, changed, entries = _expire_due(state, at)
    done = _revoked(share, at, actor)
    shares[_key(done)] = done
    changed.append(done)
    what = "share of" if share.state is ShareState.ACTIVE else "invitation to"
    entries.append(
        LogEntry.succeeded(
            at,
            actor,
            role,
            Action.REVOKE_SHARE,
            serial,
            f"{actor} revoked the {what} device {serial} of {user}",
        )
    )
    return _decide(state, at, shares, changed, entries)


def remove_from_view(state: SharingState, device: str, user: str, now: datetime) -> Decision:
    """Shared user ``user`` removes ``device`` from their own view (SPEC S4).

    It revokes only their access (the share becomes REMOVED) and changes nothing of the
    owner's. It is never plan-gated.

    Raises:
        NotPermitted: ``user`` is the owner (who deletes or transfers instead).
        ShareNotFound: ``user`` has no active share of the device.
    """
    state, at = _begin(state, now)
    serial = _device(device)
    user = require_email(user, "user")
    role = access(state, serial, user)
    if role is None:
        raise ShareNotFound(serial, user)
    permit(role, Action.REMOVE_FROM_VIEW, serial)
    share = _find(state, serial, user)
    assert share is not None  # access() found it ACTIVE

    shares, changed, entries = _expire_due(state, at)
    done = attrs.evolve(share, state=ShareState.REMOVED, ended_at=at, ended_by=user)
    shares[_key(done)] = done
    changed.append(done)
    entries.append(
        LogEntry.succeeded(
            at,
            user,
            role,
            Action.REMOVE_FROM_VIEW,
            serial,
            f"{user} removed device {serial} from their view; only their access is revoked",
        )
    )
    return _decide(state, at, shares, changed, entries)


def _give_up_device(
    state: SharingState, device: object, by: object, now: object, action: Action
) -> tuple[datetime, str, str, Role, dict[tuple[str, str], Share], list[Share], list[LogEntry]]:
    """Checks and share revocations common to transfer and deletion (SPEC S3, S4)."""
    state, at = _begin(state, now)
    serial = _owned(state, device)
    actor = require_email(by, "by")
    role = access(state, serial, actor)
    permit(role, action, serial)
    assert role is not None  # permit() refuses someone without access
    shares, changed, entries = _expire_due(state, at)
    for key, share in sorted(shares.items()):
        if share.device == serial and share.state in (ShareState.PENDING, ShareState.ACTIVE):
            done = _revoked(share, at, actor)
            shares[key] = done
            changed.append(done)
            entries.append(
                LogEntry.succeeded(
                    at,
                    actor,
                    role,
                    Action.REVOKE_SHARE,
                    serial,
                    f"the share of device {serial} with {share.user} is revoked: "
                    f"{action.description} revokes all its shares (SPEC S4)",
                )
            )
    return at, serial, actor, role, shares, changed, entries


def transfer_ownership(
    state: SharingState, device: str, new_owner: str, by: str, now: datetime
) -> Decision:
    """The owner transfers ``device`` to ``new_owner``; all its shares are revoked (SPEC S4).

    The device leaves ``state``; the application adds it to the new owner's state with
    :func:`add_device`. Transferring is never plan-gated.

    Raises:
        DeviceNotOwned: ``device`` is not one of the owner's devices.
        NotPermitted: ``by`` is a shared user (SPEC S3) or has no access.
        InvalidInput: ``new_owner`` is the owner already.
    """
    target = require_email(new_owner, "new_owner")
    state = _member_of(SharingState, state, "state")
    if target == state.owner:
        raise InvalidInput(f"{target} already owns device {device}; nothing to transfer")
    at, serial, actor, role, shares, changed, entries = _give_up_device(
        state, device, by, now, Action.TRANSFER_OWNERSHIP
    )
    revoked = len(changed) - sum(1 for s in changed if s.state is ShareState.EXPIRED)
    entries.append(
        LogEntry.succeeded(
            at,
            actor,
            role,
            Action.TRANSFER_OWNERSHIP,
            serial,
            f"{actor} transferred device {serial} to {target}; {revoked} share(s) revoked",
        )
    )
    return _decide(state, at, shares, changed, entries, devices=state.devices - {serial})


def delete_device(state: SharingState, device: str, by: str, now: datetime) -> Decision:
    """The owner deletes ``device``; all its shares are revoked (SPEC S3, S4).

    Raises:
        DeviceNotOwned: ``device`` is not one of the owner's devices.
        NotPermitted: ``by`` is a shared user (SPEC S3) or has no access.
    """
    state = _member_of(SharingState, state, "state")
    at, serial, actor, role, shares, changed, entries = _give_up_device(
        state, device, by, now, Action.DELETE_DEVICE
    )
    revoked = len(changed) - sum(1 for s in changed if s.state is ShareState.EXPIRED)
    entries.append(
        LogEntry.succeeded(
            at,
            actor,
            role,
            Action.DELETE_DEVICE,
            serial,
            f"{actor} deleted device {serial}; {revoked} share(s) revoked",
        )
    )
    return _decide(state, at, shares, changed, entries, devices=state.devices - {serial})


def expire_shares(state: SharingState, now: datetime) -> Decision:
    """Mark every invitation with ``expires_at <= now`` EXPIRED (SPEC S2).

    Each expiry is logged at its own ``expires_at`` by :data:`SYSTEM_ACTOR`. Every other
    transition does this first as well, so a state never holds a PENDING share that had
    expired by its ``updated_at``.
    """
    state, at = _begin(state, now)
    shares, changed, entries = _expire_due(state, at)
    return _decide(state, at, shares, changed, entries)
