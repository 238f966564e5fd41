"""The one error hierarchy of upslife (SPEC D5).

Every error the library raises on purpose derives from :class:`UpslifeError`. The
intermediate classes also derive from the fitting builtin, so callers that already
catch ``ValueError`` or ``LookupError`` keep working:

- :class:`InvalidInput` (``ValueError``): the caller passed something malformed;
- :class:`NotFound` (``LookupError``): a name that does not exist (model, device, ...);
- :class:`RuleViolation`: well-formed input that a business rule refuses;
- :class:`AdapterError`: a storage, mail, chat or UPS peer failed; the driver's own
  exception is chained as ``__cause__``.

Concrete errors are ``@final``; domain modules raise only these, never a bare
``KeyError`` or ``AttributeError``. Messages are written for a support engineer:
they say what was wrong and, where there is one, what to do instead.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, final

if TYPE_CHECKING:
    from upslife.entitlements import Feature, Plan
    from upslife.sharing import Action, Role, ShareState

__all__ = [
    "AdapterError",
    "AlreadyExists",
    "AlreadyRegistered",
    "AlreadyShared",
    "ConcurrentUpdate",
    "ConfigurationError",
    "DamagedRecord",
    "DateBeforeRegistration",
    "DeliveryFailed",
    "DeviceNotOwned",
    "EventAlreadyResolved",
    "EventNotForReseller",
    "ExtraNotInstalled",
    "FeatureNotInPlan",
    "InstantOutOfOrder",
    "InvalidCommand",
    "InvalidDate",
    "InvalidEmail",
    "InvalidInput",
    "InvalidQuantity",
    "InvalidSnapshot",
    "InvalidTemplate",
    "InvalidTransportConfig",
    "InvalidType",
    "InvitationAlreadyAccepted",
    "InvitationCancelled",
    "InvitationDeclined",
    "InvitationDisconnected",
    "InvitationError",
    "InvitationExpired",
    "InvitationNotAccepted",
    "InvitationNotSettled",
    "InvitationOptedOut",
    "InvitationTimeReversed",
    "MalformedResponse",
    "MissingUnsubscribeLink",
    "ModbusRefused",
    "NaiveDatetime",
    "NotFound",
    "NotPermitted",
    "NutAccessDenied",
    "NutDeviceUnavailable",
    "NutError",
    "NutNotSupported",
    "NutRefused",
    "NutUnknownUps",
    "OutboxItemNotRetryable",
    "OverAssignment",
    "ReminderOutOfWindow",
    "ReportNotPermitted",
    "ResellerAlreadyInvited",
    "ResellerNotConnected",
    "RowsOutOfOrder",
    "RuleViolation",
    "ShareExpired",
    "ShareLimitReached",
    "ShareNotFound",
    "ShareNotPending",
    "SignUpRequired",
    "StorageError",
    "StorageUnavailable",
    "TemporaryFailure",
    "TokenError",
    "TokenExpired",
    "TokenReplayed",
    "TokenTampered",
    "TokenWrongAction",
    "TransportError",
    "TransportTimeout",
    "UnknownCode",
    "UnknownDevice",
    "UnknownInvitation",
    "UnknownKey",
    "UnknownModel",
    "UnknownOwner",
    "UnknownPlan",
    "UnknownUps",
    "UnsupportedCommand",
    "UpslifeError",
    "WarrantyNotRunning",
]


class UpslifeError(Exception):
    """Root of every error upslife raises on purpose."""


class InvalidInput(UpslifeError, ValueError):
    """The input is malformed: wrong type, out of range, inconsistent."""


class NotFound(UpslifeError, LookupError):
    """Something named by the caller does not exist."""


class RuleViolation(UpslifeError):
    """Well-formed input that a business rule of the SPEC refuses."""


class AdapterError(UpslifeError):
    """A peer outside the library (database, mail server, UPS) failed."""


class ConfigurationError(InvalidInput):
    """A setting the call needs is missing or wrong; the message names the setting, and
    ``setting`` (when given) holds it as the operator writes it (``UPSLIFE_SECRET``).
    The sweep's preflight raises it before anything changes (docs/operations.md)."""

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


@final
class InvalidType(InvalidInput, TypeError):
    """An argument of the wrong type: ``None`` for a date, a list for a plan (issue 13).

    Also a ``TypeError``, so callers that catch the builtin keep working.
    """


@final
class InvalidQuantity(InvalidInput):
    """A quantity, term or count that must be positive was not (SPEC E6)."""


@final
class InvalidDate(InvalidInput):
    """A date argument was not a ``datetime.date`` or is out of the allowed range."""


@final
class NaiveDatetime(InvalidInput):
    """An instant without ``tzinfo`` was passed where an aware one is required (SPEC D1)."""


@final
class InvalidEmail(InvalidInput):
    """A malformed email address (SPEC D5)."""


@final
class DateBeforeRegistration(InvalidInput):
    """An action dated before the device was registered (SPEC D5, E4f)."""

    def __init__(self, what: str, day: date, registered_on: date) -> None:
        super().__init__(
            f"{what} is dated {day.isoformat()}, before the device was registered on "
            f"{registered_on.isoformat()}; nothing is back-dated (SPEC E4f)"
        )
        self.day = day
        self.registered_on = registered_on


@final
class UnknownPlan(NotFound, ValueError):
    """A plan name that is not BASIC, STANDARD or ADVANCED (SPEC E1)."""


@final
class UnknownModel(NotFound):
    """A UPS model that the catalog does not know (SPEC C1)."""


class AlreadyExists(RuleViolation):
    """A record with this identity is stored already."""


@final
class AlreadyRegistered(AlreadyExists):
    """A serial number that is registered already (SPEC E2)."""


@final
class OverAssignment(RuleViolation):
    """Assigning more licenses than an activation code has left (SPEC E6)."""

    def __init__(self, code: str, requested: int, remaining: int) -> None:
        super().__init__(
            f"activation code {code} has {remaining} license(s) left; {requested} were "
            "requested and none was assigned (SPEC E6)"
        )
        self.code = code
        self.requested = requested
        self.remaining = remaining


@final
class WarrantyNotRunning(RuleViolation):
    """An extended warranty activated on or after the warranty's expiry (SPEC E8)."""


@final
class FeatureNotInPlan(RuleViolation):
    """An action that the device's plan in force does not include (SPEC E10).

    ``required`` names the lowest plan that includes the feature, so the product can
    say "this needs the Advanced plan".
    """

    def __init__(self, feature: Feature, plan: Plan, required: Plan) -> None:
        super().__init__(
            f"{feature.description} needs the {required.title} plan; "
            f"the device is on the {plan.title} plan (SPEC E10)"
        )
        self.feature = feature
        self.plan = plan
        self.required = required


# --- sharing (SPEC S1–S5)



@final
class NotPermitted(RuleViolation):
    """A role that may not take an action on a device (SPEC S3, S4).

    ``role`` is ``None`` for someone with no access to the device. A shared user may do
    everything the owner may except delete the device and transfer its ownership.
    """

    def __init__(self, role: Role | None, action: Action, device: str | None = None) -> None:
        who = {None: "someone without access", "OWNER": "the owner"}.get(
            None if role is None else role.name, "a shared user"
        )
        if role is None:
            hint = ": ask the owner to share it (SPEC S3)"
        elif action.name in ("DELETE_DEVICE", "TRANSFER_OWNERSHIP"):
            hint = ": only its owner may (SPEC S3)"
        elif action.name == "REMOVE_FROM_VIEW":
            hint = ": the owner deletes it or transfers its ownership instead (SPEC S4)"
        else:
            hint = " (SPEC S3)"
        on = "" if device is None else f" (device {device})"
        super().__init__(f"{who} may not {action.description}{on}{hint}")
        self.role = role
        self.action = action
        self.device = device


@final
class ShareLimitReached(RuleViolation):
    """A share that would give an owner more than ``limit`` distinct other users (SPEC S1)."""

    def __init__(self, owner: str, user: str, limit: int, users: frozenset[str]) -> None:
        super().__init__(
            f"{owner} already shares devices with {len(users)} other user(s) "
            f"({', '.join(sorted(users))}), the most allowed is {limit}; {user} is refused. "
            "Revoke a share or cancel a pending invitation first (SPEC S1)"
        )
        self.owner = owner
        self.user = user
        self.limit = limit
        self.users = users


@final
class AlreadyShared(RuleViolation):
    """Inviting a user who already has access to, or a live invitation for, the device (SPEC S2)."""

    def __init__(self, device: str, user: str, what: str) -> None:
        super().__init__(
            f"{user} already has {what} for device {device}; "
            "revoke it first to send a new invitation (SPEC S1, S2)"
        )
        self.device = device
        self.user = user


@final
class ShareNotFound(NotFound):
    """No pending or active share of the device with that user (SPEC S4)."""

    def __init__(self, device: str, user: str) -> None:
        super().__init__(f"device {device} has no pending or active share with {user} (SPEC S4)")
        self.device = device
        self.user = user


@final
class ShareExpired(RuleViolation):
    """Accepting a share invitation at or after its expiry instant (SPEC S2)."""

    def __init__(self, device: str, user: str, expires_at: datetime) -> None:
        super().__init__(
            f"the invitation of {user} to device {device} expired at {expires_at.isoformat()}; "
            "ask the owner for a new one (SPEC S2)"
        )
        self.device = device
        self.user = user
        self.expires_at = expires_at


@final
class ShareNotPending(RuleViolation):
    """Accepting a share that was accepted, revoked or removed already (SPEC S2)."""

    def __init__(self, device: str, user: str, state: ShareState) -> None:
        super().__init__(
            f"the share of device {device} with {user} is {state.value}, not pending: "
            "it cannot be accepted (SPEC S2)"
        )
        self.device = device
        self.user = user
        self.state = state


@final
class SignUpRequired(RuleViolation):
    """A share accepted by a user who has no account yet (SPEC S2)."""

    def __init__(self, device: str, user: str) -> None:
        super().__init__(
            f"{user} has no account yet: sign up first, then accept the invitation to "
            f"device {device} (SPEC S2)"
        )
        self.device = device
        self.user = user


@final
class DeviceNotOwned(NotFound):
    """A device that is not (or no longer) one of the owner's devices (SPEC S1, S4)."""

    def __init__(self, device: str, owner: str) -> None:
        super().__init__(f"device {device} is not one of the devices owned by {owner}")
        self.device = device
        self.owner = owner


@final
class InstantOutOfOrder(InvalidInput):
    """A sharing change dated before the last change already made (SPEC D4)."""

    def __init__(self, now: datetime, last: datetime) -> None:
        super().__init__(
            f"now={now.isoformat()} is before the last sharing change at {last.isoformat()}; "
            "sharing changes are applied in time order"
        )
        self.now = now
        self.last = last


# --- invitations (SPEC I1–I7)


class InvitationError(RuleViolation):
    """A reseller invitation refuses the requested step (SPEC I1–I6).

    Each reason has its own subclass so the product can show its own page ("this
    invitation has expired", "your customer has disconnected"); ``invitation_id`` names the
    invitation and ``action`` the refused step (``"accept"``, ``"cancel"``, ...).
    """

    def __init__(self, invitation_id: str, action: str, reason: str) -> None:
        super().__init__(f"cannot {action} invitation {invitation_id}: {reason}")
        self.invitation_id = invitation_id
        self.action = action


@final
class ResellerAlreadyInvited(InvitationError):
    """Inviting while the owner's invitation is PENDING or ACCEPTED (SPEC I1)."""

    def __init__(
        self, invitation_id: str, owner_id: str, reseller_email: str, *, accepted: bool
    ) -> None:
        if accepted:
            how, fix = f"is connected to {reseller_email} through it", "disconnect first"
        else:
            how, fix = f"has it pending with {reseller_email}", "cancel it first"
        RuleViolation.__init__(
            self,
            f"cannot invite a reseller: owner {owner_id} {how} (invitation {invitation_id}); "
            f"an owner has one reseller at a time: {fix} (SPEC I1)",
        )
        self.invitation_id = invitation_id
        self.action = "invite"
        self.owner_id = owner_id
        self.reseller_email = reseller_email


@final
class InvitationExpired(InvitationError):
    """The invitation expired: EXPIRED, or PENDING at or after its expiry (SPEC I2, I3)."""


@final
class InvitationCancelled(InvitationError):
    """The owner cancelled the invitation (SPEC I3)."""


@final
class InvitationDeclined(InvitationError):
    """The reseller declined the invitation (SPEC I3)."""


@final
class InvitationDisconnected(InvitationError):
    """The owner disconnected the connection; a new invitation is needed (SPEC I3, I6)."""


@final
class InvitationOptedOut(InvitationError):
    """The reseller opted out of the connection; a new invitation is needed (SPEC I6)."""


@final
class InvitationAlreadyAccepted(InvitationError):
    """A step that needs a pending invitation, on an accepted one: accepting twice (SPEC I1)."""


@final
class InvitationNotAccepted(InvitationError):
    """Disconnecting or opting out of an invitation that is still pending (SPEC I1)."""


@final
class InvitationNotSettled(InvalidInput):
    """An invitation still PENDING in storage although its expiry has passed (SPEC I2).

    Pass it through ``upslife.invitations.settle`` (store the EXPIRED result and send its
    notice) before inviting again, so storage never holds two open invitations.
    """

    def __init__(self, invitation_id: str, expires_at: datetime) -> None:
        super().__init__(
            f"invitation {invitation_id} is stored as pending but expired at "
            f"{expires_at.isoformat()}; settle it (store the EXPIRED invitation, send the "
            "owner's notice) before inviting again (SPEC I2, I4)"
        )
        self.invitation_id = invitation_id
        self.expires_at = expires_at


@final
class InvitationTimeReversed(InvalidInput):
    """A step dated before the invitation's last recorded instant (SPEC D4)."""

    def __init__(self, invitation_id: str, now: datetime, last: datetime) -> None:
        super().__init__(
            f"now={now.isoformat()} is before the last change of invitation {invitation_id} "
            f"at {last.isoformat()}; invitation changes are applied in time order"
        )
        self.invitation_id = invitation_id
        self.now = now
        self.last = last


class TokenError(InvalidInput):
    """A link token is refused (SPEC I5): the link page shows an error, nothing changes."""


@final
class TokenTampered(TokenError):
    """A token that is malformed, altered, or signed with another secret (SPEC I5)."""


@final
class UnknownKey(TokenError):
    """A token signed with a key the keyring does not (or no longer) hold (SPEC I5)."""

    def __init__(self, key_id: str) -> None:
        super().__init__(
            f"no signing key {key_id!r} in the keyring: the link was signed with a key that "
            "was retired or never configured (SPEC I5)"
        )
        self.key_id = key_id


@final
class TokenWrongAction(TokenError):
    """A valid token used for another action, e.g. an accept token to unsubscribe (SPEC I5)."""

    def __init__(self, invitation_id: str, expected: str, got: str) -> None:
        super().__init__(
            f"the token for invitation {invitation_id} is a {got} token, not a {expected} "
            "token (SPEC I5)"
        )
        self.invitation_id = invitation_id
        self.expected = expected
        self.got = got


@final
class TokenExpired(TokenError):
    """A token used at or after its expiry (SPEC I2, I5)."""

    def __init__(self, invitation_id: str, expires_at: datetime) -> None:
        super().__init__(
            f"the link for invitation {invitation_id} expired at {expires_at.isoformat()} "
            "(SPEC I5)"
        )
        self.invitation_id = invitation_id
        self.expires_at = expires_at


@final
class TokenReplayed(TokenError):
    """A single-use (accept or decline) token used a second time (SPEC I5)."""

    def __init__(self, invitation_id: str, token_id: str) -> None:
        super().__init__(
            f"the link for invitation {invitation_id} was used already (token {token_id}); "
            "accept and decline links work once (SPEC I5)"
        )
        self.invitation_id = invitation_id
        self.token_id = token_id


# --- notifications (SPEC N1–N10)


@final
class ResellerNotConnected(RuleViolation):
    """A reminder for a reseller whose connection is not ACCEPTED at that moment (SPEC N7, N8)."""


@final
class ReminderOutOfWindow(RuleViolation):
    """A reminder outside ``due - 90 days <= today < due + 90 days`` (SPEC N8)."""


@final
class EventAlreadyResolved(RuleViolation):
    """A reminder for an event whose due date moved or whose condition cleared (SPEC N3, N8)."""


@final
class EventNotForReseller(RuleViolation):
    """A reminder for an event resellers are not told of: a UPS upgrade (SPEC N6, N8)."""


# --- storage, delivery and the application layer


@final
class UnknownDevice(NotFound):
    """No device with this serial number is registered."""


@final
class UnknownOwner(NotFound):
    """No owner with this id."""


@final
class UnknownCode(NotFound):
    """No activation code with this value (SPEC E6)."""


@final
class UnknownInvitation(NotFound):
    """No reseller invitation with this id (SPEC I1)."""


class StorageError(AdapterError):
    """The database failed; the driver's exception is the ``__cause__``."""


@final
class ConcurrentUpdate(StorageError):
    """Someone else changed the record first; nothing was written. Retry the use case."""


@final
class DeliveryFailed(AdapterError):
    """A mail server or webhook did not take a message.

    ``permanent`` is true for a refusal that retrying will not fix (SMTP 5xx, HTTP 4xx);
    the outbox retries the others with backoff.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class TemporaryFailure(AdapterError):
    """A peer the job needs is not available now: the mail server unreachable, the
    database held by another writer past the busy timeout. Nothing is lost; run the job
    again later (the ``upslife`` command exits 75, ``EX_TEMPFAIL``, docs/operations.md)."""


@final
class StorageUnavailable(StorageError, TemporaryFailure):
    """The database cannot serve the call now: locked by another writer for longer than
    the busy timeout (SQLite), a lock timeout, deadlock, serialization failure or lost
    connection (PostgreSQL). Nothing was changed; try again later."""


@final
class DamagedRecord(StorageError):
    """A stored record that cannot be read back (a damaged document); ``key`` names it
    (a device's serial, an outbox key), so a sweep can set it aside and go on."""

    def __init__(self, message: str, *, key: str) -> None:
        super().__init__(message)
        self.key = key


@final
class OutboxItemNotRetryable(RuleViolation):
    """An outbox item that is sent, suppressed (no consent, SPEC N7), digested or held for
    a digest (SPEC N10): retrying it would send what must not be sent, or send it twice."""

    def __init__(self, key: str, state: str) -> None:
        super().__init__(
            f"outbox item {key} is {state}: only failed or pending items can be retried"
        )
        self.key = key
        self.state = state


# --- rendering


@final
class InvalidTemplate(InvalidInput):
    """A message template that cannot be filled, refused when it is built (SPEC E10).

    An unknown ``$name``, a stray ``$``, a subject with a line break, or a body that leaves
    out a detail its recipient must see (SPEC N6, N10). ``template`` names the part
    (``"reseller"``, ``"subject"``, ...).
    """

    def __init__(self, template: str, reason: str) -> None:
        super().__init__(f"template {template}: {reason}")
        self.template = template
        self.reason = reason


@final
class MissingUnsubscribeLink(InvalidInput):
    """A reseller email rendered without the unsubscribe URL it must carry (SPEC I6, N6).

    Mail to a reseller carries ``List-Unsubscribe`` and ``List-Unsubscribe-Post`` (RFC 8058)
    built from a signed link the caller makes; without one the message is not rendered.
    """


# --- reports (SPEC R1–R6)


@final
class ReportNotPermitted(RuleViolation):
    """Someone who is neither the owner nor a shared user asks for a device's report (SPEC R5).

    A reseller is refused too: it sees only what lifecycle notices carry (SPEC N6).
    """

    def __init__(self, device: str, user: str) -> None:
        super().__init__(
            f"{user} may not produce the reports of device {device}: only its owner and the "
            "users it is shared with may (SPEC R5); a reseller receives what lifecycle "
            "notices carry instead (SPEC N6)"
        )
        self.device = device
        self.user = user


@final
class RowsOutOfOrder(InvalidInput):
    """Rows streamed to an export are not in renewal order (SPEC R4).

    Raised by ``upslife.reports.in_renewal_order`` when a caller promised pre-sorted rows
    (e.g. from a store's index) and one arrives before its predecessor's due date.
    """

    def __init__(self, serial: str, previous: str) -> None:
        super().__init__(
            f"row {serial} comes after row {previous} but is due earlier: rows must be in "
            "renewal order, earliest due date first, ties by serial (SPEC R4); sort them "
            "with sorted_for_renewal or read them from the store by the indexed due date"
        )
        self.serial = serial
        self.previous = previous


@final
class ExtraNotInstalled(UpslifeError, ImportError):
    """A format needs an optional extra whose package is not installed (XLSX, iCalendar)."""

    def __init__(self, extra: str, package: str) -> None:
        super().__init__(
            f"this format needs the {package} package, which is not installed; "
            f'install it with: pip install "upslife[{extra}]"'
        )
        self.extra = extra
        self.package = package


# --- hardware (UPS transports in upslife.hardware: NUT, Modbus TCP, the simulator)


class TransportError(AdapterError):
    """A UPS transport failed: connection refused or lost, or the peer misbehaved.

    ``device`` names the UPS on the transport when the failure concerns one. Transports
    raise a subclass where one fits; the driver's own exception is the ``__cause__``.
    """

    def __init__(self, message: str, *, device: str | None = None) -> None:
        super().__init__(message)
        self.device = device


@final
class TransportTimeout(TransportError, TimeoutError):
    """The UPS peer did not answer within the configured bound (``timeout`` seconds)."""

    def __init__(self, message: str, *, timeout: float, device: str | None = None) -> None:
        super().__init__(message, device=device)
        self.timeout = timeout


@final
class MalformedResponse(TransportError):
    """The peer answered with bytes or register values that do not decode to a reading.

    A value out of range (a charge of 140 %) is malformed too: the UPS, not the caller,
    is at fault. The connection is dropped and opened afresh on the next call.
    """


class UnknownUps(TransportError, NotFound):
    """The transport knows no UPS by that name (NUT's ``ERR UNKNOWN-UPS``, or a name the
    Modbus or simulated transport was not configured with)."""


class UnsupportedCommand(TransportError):
    """The transport or the device cannot carry out a command or variable write.

    Raised before any byte is sent when the transport has no mapping for it (no public
    Modbus register for the input sensitivity, no remote firmware install over NUT), or
    when the peer says so (:class:`NutNotSupported`). Nothing was changed.
    """


@final
class ModbusRefused(TransportError):
    """The Modbus device answered with an exception response (``exception_code``:
    1 illegal function, 2 illegal address, 3 illegal value, 4 device failure, ...)."""

    def __init__(self, message: str, *, exception_code: int, device: str | None = None) -> None:
        super().__init__(message, device=device)
        self.exception_code = exception_code


class NutError(TransportError):
    """``upsd`` answered ``ERR <code> [<detail>]`` (NUT network protocol, "Error responses").

    ``code`` is the code as sent (compare it with ``upslife.hardware.nut.NutErrorCode``);
    ``request`` is the command that was refused, with any password masked.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        detail: str = "",
        request: str = "",
        device: str | None = None,
    ) -> None:
        super().__init__(message, device=device)
        self.code = code
        self.detail = detail
        self.request = request


@final
class NutUnknownUps(NutError, UnknownUps):
    """``ERR UNKNOWN-UPS``: no such UPS in the server's ``ups.conf``."""


@final
class NutNotSupported(NutError, UnsupportedCommand):
    """``ERR VAR-NOT-SUPPORTED``, ``CMD-NOT-SUPPORTED``, ``READONLY``,
    ``FEATURE-NOT-SUPPORTED`` or ``FEATURE-NOT-CONFIGURED``: the device or server cannot."""


@final
class NutAccessDenied(NutError):
    """``ERR ACCESS-DENIED`` and the login errors: the credentials, or the user's
    ``actions``/``instcmds`` in ``upsd.users``, do not allow the request."""


@final
class NutDeviceUnavailable(NutError):
    """``ERR DATA-STALE`` or ``DRIVER-NOT-CONNECTED``: upsd has no fresh data from the UPS
    (driver stopped, cable or network to the UPS down). Worth retrying later."""


@final
class NutRefused(NutError):
    """Any other ``ERR`` (``INVALID-VALUE``, ``TOO-LONG``, ``SET-FAILED``, ...)."""


@final
class InvalidSnapshot(InvalidInput):
    """A device snapshot value that is out of range or of the wrong type."""


@final
class InvalidCommand(InvalidInput):
    """A device command or variable write that is malformed (missing argument, a name
    with spaces, a value with a line break); it is refused before anything is sent."""


@final
class InvalidTransportConfig(InvalidInput):
    """A transport URL, address, timeout or retry count that cannot be used."""
