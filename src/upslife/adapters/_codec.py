"""JSON documents for the values the stores keep, and the argument checks they share.

Pure functions, one pair per stored type: ``<type>_to_doc(value) -> Doc`` and
``<type>_from_doc(doc) -> value``; :func:`to_doc` and :func:`from_doc` dispatch on the
type. The round trip is exact: ``from_doc(type(v), to_doc(v)) == v`` for every value the
domain constructors accept. Conventions, so a document can be read by hand or by SQL:

- dates are ISO strings (``"2025-02-28"``), instants ISO strings in UTC with microseconds
  (``"2025-02-28T09:30:00.000000+00:00"``, fixed width, so text order is time order);
- enums are stored by member *name* (``"STANDARD"``, ``"D90"``): names are stable and
  some enums have tuple values;
- tuples and frozensets are JSON arrays (frozensets sorted); ``None`` is ``null``.

:func:`dumps` writes a document compactly with sorted keys and ASCII only, so the text of
one value is always the same. A document that cannot be decoded raises
:class:`~upslife.errors.StorageError`: it is a damaged store, not bad input.

The argument checks at the end (:func:`check_limit`, :func:`lease_end`, ...) are shared
by every shipped store (SQL and memory), so they refuse the same arguments with the same
errors before touching any data.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, TypeVar, cast

import attrs

from upslife._validation import require_date, require_instant
from upslife.entitlements import (
    ActivationCode,
    ExtendedWarranty,
    License,
    LicenseSource,
    Plan,
    Term,
    UpgradePolicy,
)
from upslife.errors import InvalidInput, StorageError, UpslifeError
from upslife.invitations import Invitation, InvitationState, ResellerPrompt
from upslife.notifications import (
    ChatKind,
    ChatRoute,
    Contact,
    DeliveryPreference,
    EventId,
    EventKind,
    Recipient,
    RecipientKind,
    SentStage,
    Severity,
    Stage,
)
from upslife.ports import DeliveryStatus, Device, OutboxItem, Owner, ScheduleEntry
from upslife.rendering.templates import templates_from_doc, templates_to_doc
from upslife.reports import Vitals
from upslife.sharing import (
    Action,
    LogEntry,
    Outcome,
    Role,
    Share,
    ShareState,
    ShareVia,
    SharingState,
)

__all__ = [
    "MIN_INSTANT",
    "Doc",
    "check_day",
    "check_instant",
    "check_item",
    "check_keys",
    "check_limit",
    "check_schedule",
    "day_from_text",
    "day_to_text",
    "decode",
    "dumps",
    "encode",
    "enum_from_name",
    "from_doc",
    "instant_from_text",
    "instant_to_text",
    "lease_end",
    "loads",
    "ready_at",
    "to_doc",
]

Doc = dict[str, Any]
"""A JSON object as :func:`json.loads` returns it."""

MIN_INSTANT: Final = datetime(1, 1, 1, tzinfo=UTC)
"""The instant stored as an outbox item's readiness when it has no ``next_attempt_at``."""

_E = TypeVar("_E", bound=enum.Enum)
_T = TypeVar("_T")


# --------------------------------------------------------------------------- scalars


def day_to_text(day: date) -> str:
    """``date(2025, 2, 28)`` -> ``"2025-02-28"`` (always four-digit years)."""
    return require_date(day).isoformat()


def day_from_text(text: str) -> date:
    """The inverse of :func:`day_to_text`."""
    return date.fromisoformat(text)


def instant_to_text(instant: datetime) -> str:
    """An aware instant as fixed-width ISO text in UTC; text order is time order.

    Raises :class:`~upslife.errors.NaiveDatetime` for a naive ``datetime`` (SPEC D1).
    """
    return require_instant(instant).astimezone(UTC).isoformat(timespec="microseconds")


def instant_from_text(text: str) -> datetime:
    """The inverse of :func:`instant_to_text`: an aware ``datetime`` in UTC."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"stored instant {text!r} has no time zone")
    return value.astimezone(UTC)


def enum_from_name(kind: type[_E], name: object) -> _E:
    """The member of ``kind`` named ``name`` (enums are stored by name)."""
    if not isinstance(name, str) or name not in kind.__members__:
        raise ValueError(f"{name!r} is not a {kind.__name__}")
    return kind[name]


def _opt_day(value: date | None) -> str | None:
    return None if value is None else day_to_text(value)


def _opt_instant(value: datetime | None) -> str | None:
    return None if value is None else instant_to_text(value)


# --------------------------------------------------------------------------- reading helpers


def _get(doc: Doc, key: str) -> object:
    if key not in doc:
        raise ValueError(f"document has no {key!r}")
    return doc[key]


def _str(doc: Doc, key: str) -> str:
    value = _get(doc, key)
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string, got {value!r}")
    return value


def _opt_str(doc: Doc, key: str) -> str | None:
    value = doc.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string or null, got {value!r}")
    return value


def _int(doc: Doc, key: str) -> int:
    value = _get(doc, key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key!r} must be an integer, got {value!r}")
    return value


def _bool(doc: Doc, key: str) -> bool:
    value = _get(doc, key)
    if not isinstance(value, bool):
        raise ValueError(f"{key!r} must be true or false, got {value!r}")
    return value


def _day(doc: Doc, key: str) -> date:
    return day_from_text(_str(doc, key))


def _opt_day_of(doc: Doc, key: str) -> date | None:
    text = _opt_str(doc, key)
    return None if text is None else day_from_text(text)


def _instant(doc: Doc, key: str) -> datetime:
    return instant_from_text(_str(doc, key))


def _opt_instant_of(doc: Doc, key: str) -> datetime | None:
    text = _opt_str(doc, key)
    return None if text is None else instant_from_text(text)


def _enum(kind: type[_E], doc: Doc, key: str) -> _E:
    return enum_from_name(kind, _get(doc, key))


def _opt_enum(kind: type[_E], doc: Doc, key: str) -> _E | None:
    value = doc.get(key)
    return None if value is None else enum_from_name(kind, value)


def _list(doc: Doc, key: str) -> list[Any]:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise ValueError(f"{key!r} must be a list, got {value!r}")
    return value


def _sub(doc: Doc, key: str) -> Doc:
    value = _get(doc, key)
    if not isinstance(value, dict):
        raise ValueError(f"{key!r} must be an object, got {value!r}")
    return value


def _docs(doc: Doc, key: str) -> list[Doc]:
    items = _list(doc, key)
    for item in items:
        if not isinstance(item, dict):
            raise ValueError(f"{key!r} must hold objects, got {item!r}")
    return items


def _strs(doc: Doc, key: str) -> tuple[str, ...]:
    items = _list(doc, key)
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"{key!r} must hold strings, got {item!r}")
    return tuple(items)


# --------------------------------------------------------------------------- owners


def contact_to_doc(contact: Contact) -> Doc:
    return {
        "company": contact.company,
        "full_name": contact.full_name,
        "email": contact.email,
        "job_role": contact.job_role,
        "phone": contact.phone,
    }


def contact_from_doc(doc: Doc) -> Contact:
    return Contact(
        _str(doc, "company"),
        _str(doc, "full_name"),
        _str(doc, "email"),
        _opt_str(doc, "job_role"),
        _opt_str(doc, "phone"),
    )


def chat_route_to_doc(route: ChatRoute) -> Doc:
    return {"kind": route.kind.name, "name": route.name}


def chat_route_from_doc(doc: Doc) -> ChatRoute:
    return ChatRoute(_enum(ChatKind, doc, "kind"), _str(doc, "name"))


def owner_to_doc(owner: Owner) -> Doc:
    """The whole :class:`~upslife.ports.Owner` record, contact and routes included."""
    doc: Doc = {
        "id": owner.id,
        "contact": contact_to_doc(owner.contact),
        "timezone": owner.timezone,
        "chat_routes": [chat_route_to_doc(r) for r in owner.chat_routes],
        "chat_webhooks": [[name, url] for name, url in owner.chat_webhooks],
        "owner_delivery": owner.owner_delivery.name,
        "reseller_delivery": owner.reseller_delivery.name,
        "reseller_not_interested": owner.reseller_prompt.not_interested,
    }
    if owner.email_templates is not None:  # written only when set: older documents lack it
        doc["email_templates"] = templates_to_doc(owner.email_templates)
    return doc


def owner_from_doc(doc: Doc) -> Owner:
    webhooks: list[tuple[str, str]] = []
    for pair in _list(doc, "chat_webhooks"):
        if not (isinstance(pair, list) and len(pair) == 2):
            raise ValueError(f"a chat webhook must be [route, url], got {pair!r}")
        if not all(isinstance(part, str) for part in pair):
            raise ValueError(f"a chat webhook must be [route, url], got {pair!r}")
        webhooks.append((pair[0], pair[1]))
    return Owner(
        id=_str(doc, "id"),
        contact=contact_from_doc(_sub(doc, "contact")),
        timezone=_str(doc, "timezone"),
        chat_routes=tuple(chat_route_from_doc(r) for r in _docs(doc, "chat_routes")),
        chat_webhooks=tuple(webhooks),
        owner_delivery=_enum(DeliveryPreference, doc, "owner_delivery"),
        reseller_delivery=_enum(DeliveryPreference, doc, "reseller_delivery"),
        reseller_prompt=ResellerPrompt(_bool(doc, "reseller_not_interested")),
        email_templates=(
            templates_from_doc(_sub(doc, "email_templates")) if "email_templates" in doc else None
        ),
    )


# --------------------------------------------------------------------------- devices


def device_to_doc(device: Device) -> Doc:
    """The whole :class:`~upslife.ports.Device` record (the key columns are copies)."""
    return {
        "serial": device.serial,
        "owner_id": device.owner_id,
        "model": device.model,
        "registered_on": day_to_text(device.registered_on),
        "policy": device.policy.name,
        "battery_installed_on": _opt_day(device.battery_installed_on),
        "battery_reported_replace_by": _opt_day(device.battery_reported_replace_by),
        "battery_failure_reported_on": _opt_day(device.battery_failure_reported_on),
        "manufactured_on": _opt_day(device.manufactured_on),
        "firmware": device.firmware,
        "next_notice_on": _opt_day(device.next_notice_on),
        "vitals": None if device.vitals is None else vitals_to_doc(device.vitals),
    }


def vitals_to_doc(vitals: Vitals) -> Doc:
    """A UPS's last reported operational data (SPEC R1, R3): every field of
    :class:`~upslife.reports.Vitals`, by name, so a new field is stored without wiring."""
    doc: Doc = {}
    for field in attrs.fields(Vitals):
        value = getattr(vitals, field.name)
        doc[field.name] = _opt_instant(value) if isinstance(value, datetime) else value
    return doc


def _vitals_field(doc: Doc, name: str, kind: str) -> object:
    value = doc.get(name)
    if value is None:
        return None
    if kind == "datetime":
        return _opt_instant_of(doc, name)
    if kind == "str":
        return _opt_str(doc, name)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{name!r} must be true, false or null, got {value!r}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name!r} must be an integer or null, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name!r} must be a number or null, got {value!r}")
    return float(value)


_VITALS_KINDS: Final = {
    field.name: str(field.type).removesuffix(" | None") for field in attrs.fields(Vitals)
}


def vitals_from_doc(doc: Doc) -> Vitals:
    values: dict[str, Any] = {
        name: _vitals_field(doc, name, kind) for name, kind in _VITALS_KINDS.items()
    }
    return Vitals(**values)


def device_from_doc(doc: Doc) -> Device:
    return Device(
        serial=_str(doc, "serial"),
        owner_id=_str(doc, "owner_id"),
        model=_str(doc, "model"),
        registered_on=_day(doc, "registered_on"),
        policy=_enum(UpgradePolicy, doc, "policy"),
        battery_installed_on=_opt_day_of(doc, "battery_installed_on"),
        battery_reported_replace_by=_opt_day_of(doc, "battery_reported_replace_by"),
        battery_failure_reported_on=_opt_day_of(doc, "battery_failure_reported_on"),
        manufactured_on=_opt_day_of(doc, "manufactured_on"),
        firmware=_opt_str(doc, "firmware"),
        next_notice_on=_opt_day_of(doc, "next_notice_on"),
        vitals=_opt_vitals(doc.get("vitals")),
    )


def _opt_vitals(value: object) -> Vitals | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"'vitals' must be an object or null, got {value!r}")
    return vitals_from_doc(value)


# --------------------------------------------------------------------------- entitlements


def license_to_doc(license: License) -> Doc:
    return {
        "id": license.id,
        "plan": license.plan.name,
        "months": license.months,
        "assigned_on": day_to_text(license.assigned_on),
        "source": license.source.name,
        "notes": list(license.notes),
    }


def license_from_doc(doc: Doc) -> License:
    return License(
        _str(doc, "id"),
        _enum(Plan, doc, "plan"),
        _int(doc, "months"),
        _day(doc, "assigned_on"),
        _enum(LicenseSource, doc, "source"),
        _strs(doc, "notes"),
    )


def warranty_to_doc(warranty: ExtendedWarranty) -> Doc:
    return {
        "id": warranty.id,
        "sku": warranty.sku,
        "months": warranty.months,
        "activated_on": day_to_text(warranty.activated_on),
    }


def warranty_from_doc(doc: Doc) -> ExtendedWarranty:
    return ExtendedWarranty(
        _str(doc, "id"), _str(doc, "sku"), _int(doc, "months"), _day(doc, "activated_on")
    )


def code_to_doc(code: ActivationCode) -> Doc:
    return {
        "code": code.code,
        "plan": code.plan.name,
        "term": code.term.name,
        "quantity": code.quantity,
        "installer_email": code.installer_email,
        "assigned": code.assigned,
    }


def code_from_doc(doc: Doc) -> ActivationCode:
    return ActivationCode(
        _str(doc, "code"),
        _enum(Plan, doc, "plan"),
        _enum(Term, doc, "term"),
        _int(doc, "quantity"),
        _str(doc, "installer_email"),
        _int(doc, "assigned"),
    )


# --------------------------------------------------------------------------- invitations


def invitation_to_doc(invitation: Invitation) -> Doc:
    return {
        "id": invitation.id,
        "owner_id": invitation.owner_id,
        "reseller_email": invitation.reseller_email,
        "company_name": invitation.company_name,
        "sent_at": instant_to_text(invitation.sent_at),
        "state": invitation.state.name,
        "responded_at": _opt_instant(invitation.responded_at),
        "ended_at": _opt_instant(invitation.ended_at),
    }


def invitation_from_doc(doc: Doc) -> Invitation:
    return Invitation(
        id=_str(doc, "id"),
        owner_id=_str(doc, "owner_id"),
        reseller_email=_str(doc, "reseller_email"),
        company_name=_str(doc, "company_name"),
        sent_at=_instant(doc, "sent_at"),
        state=_enum(InvitationState, doc, "state"),
        responded_at=_opt_instant_of(doc, "responded_at"),
        ended_at=_opt_instant_of(doc, "ended_at"),
    )


# --------------------------------------------------------------------------- sharing


def share_to_doc(share: Share) -> Doc:
    return {
        "device": share.device,
        "owner": share.owner,
        "user": share.user,
        "invited_by": share.invited_by,
        "via": share.via.name,
        "sent_at": instant_to_text(share.sent_at),
        "expires_at": instant_to_text(share.expires_at),
        "needs_sign_up": share.needs_sign_up,
        "state": share.state.name,
        "accepted_at": _opt_instant(share.accepted_at),
        "ended_at": _opt_instant(share.ended_at),
        "ended_by": share.ended_by,
    }


def share_from_doc(doc: Doc) -> Share:
    return Share(
        device=_str(doc, "device"),
        owner=_str(doc, "owner"),
        user=_str(doc, "user"),
        invited_by=_str(doc, "invited_by"),
        via=_enum(ShareVia, doc, "via"),
        sent_at=_instant(doc, "sent_at"),
        expires_at=_instant(doc, "expires_at"),
        needs_sign_up=_bool(doc, "needs_sign_up"),
        state=_enum(ShareState, doc, "state"),
        accepted_at=_opt_instant_of(doc, "accepted_at"),
        ended_at=_opt_instant_of(doc, "ended_at"),
        ended_by=_opt_str(doc, "ended_by"),
    )


def sharing_to_doc(state: SharingState) -> Doc:
    return {
        "owner": state.owner,
        "devices": sorted(state.devices),
        "shares": [share_to_doc(s) for s in state.shares],
        "updated_at": _opt_instant(state.updated_at),
    }


def sharing_from_doc(doc: Doc) -> SharingState:
    return SharingState(
        owner=_str(doc, "owner"),
        devices=frozenset(_strs(doc, "devices")),
        shares=tuple(share_from_doc(s) for s in _docs(doc, "shares")),
        updated_at=_opt_instant_of(doc, "updated_at"),
    )


def log_entry_to_doc(entry: LogEntry) -> Doc:
    return {
        "at": instant_to_text(entry.at),
        "actor": entry.actor,
        "role": None if entry.role is None else entry.role.name,
        "action": entry.action.name,
        "device": entry.device,
        "outcome": entry.outcome.name,
        "severity": entry.severity.name,
        "message": entry.message,
        "reason": entry.reason,
    }


def log_entry_from_doc(doc: Doc) -> LogEntry:
    return LogEntry(
        at=_instant(doc, "at"),
        actor=_str(doc, "actor"),
        role=_opt_enum(Role, doc, "role"),
        action=_enum(Action, doc, "action"),
        device=_str(doc, "device"),
        outcome=_enum(Outcome, doc, "outcome"),
        severity=_enum(Severity, doc, "severity"),
        message=_str(doc, "message"),
        reason=_opt_str(doc, "reason"),
    )


# --------------------------------------------------------------------------- notifications


def sent_stage_to_doc(sent: SentStage) -> Doc:
    return {
        "serial": sent.event.serial,
        "kind": sent.event.kind.name,
        "due": day_to_text(sent.event.on),
        "stage": sent.stage.name,
        "on": day_to_text(sent.on),
    }


def sent_stage_from_doc(doc: Doc) -> SentStage:
    event = EventId(_str(doc, "serial"), _enum(EventKind, doc, "kind"), _day(doc, "due"))
    return SentStage(event, _enum(Stage, doc, "stage"), _day(doc, "on"))


def recipient_to_doc(recipient: Recipient) -> Doc:
    return {
        "kind": recipient.kind.name,
        "address": recipient.address,
        "chat": None if recipient.chat is None else recipient.chat.name,
    }


def recipient_from_doc(doc: Doc) -> Recipient:
    return Recipient(
        _enum(RecipientKind, doc, "kind"), _str(doc, "address"), _opt_enum(ChatKind, doc, "chat")
    )


def outbox_item_to_doc(item: OutboxItem) -> Doc:
    return {
        "key": item.key,
        "serial": item.serial,
        "owner_id": item.owner_id,
        "recipient": recipient_to_doc(item.recipient),
        "day": day_to_text(item.day),
        "payload": item.payload,
        "status": item.status.name,
        "attempts": item.attempts,
        "next_attempt_at": _opt_instant(item.next_attempt_at),
        "delivered_at": _opt_instant(item.delivered_at),
        "last_error": item.last_error,
        "digest_key": item.digest_key,
    }


def outbox_item_from_doc(doc: Doc) -> OutboxItem:
    return OutboxItem(
        key=_str(doc, "key"),
        serial=_opt_str(doc, "serial"),
        owner_id=_str(doc, "owner_id"),
        recipient=recipient_from_doc(_sub(doc, "recipient")),
        day=_day(doc, "day"),
        payload=_str(doc, "payload"),
        status=_enum(DeliveryStatus, doc, "status"),
        attempts=_int(doc, "attempts"),
        next_attempt_at=_opt_instant_of(doc, "next_attempt_at"),
        delivered_at=_opt_instant_of(doc, "delivered_at"),
        last_error=_opt_str(doc, "last_error"),
        digest_key=_opt_str(doc, "digest_key"),
    )


# --------------------------------------------------------------------------- dispatch

_CODECS: Final[dict[type[Any], tuple[Callable[[Any], Doc], Callable[[Doc], Any]]]] = {
    Owner: (owner_to_doc, owner_from_doc),
    Contact: (contact_to_doc, contact_from_doc),
    ChatRoute: (chat_route_to_doc, chat_route_from_doc),
    Device: (device_to_doc, device_from_doc),
    License: (license_to_doc, license_from_doc),
    ExtendedWarranty: (warranty_to_doc, warranty_from_doc),
    ActivationCode: (code_to_doc, code_from_doc),
    Invitation: (invitation_to_doc, invitation_from_doc),
    Share: (share_to_doc, share_from_doc),
    SharingState: (sharing_to_doc, sharing_from_doc),
    LogEntry: (log_entry_to_doc, log_entry_from_doc),
    SentStage: (sent_stage_to_doc, sent_stage_from_doc),
    Recipient: (recipient_to_doc, recipient_from_doc),
    OutboxItem: (outbox_item_to_doc, outbox_item_from_doc),
}


def to_doc(value: object) -> Doc:
    """The document of any stored value.

    >>> to_doc(ExtendedWarranty("W1", "WEXTWAR1YR-SP-01", 12, date(2024, 2, 29)))
    {'id': 'W1', 'sku': 'WEXTWAR1YR-SP-01', 'months': 12, 'activated_on': '2024-02-29'}
    """
    codec = _CODECS.get(type(value))
    if codec is None:
        raise InvalidInput(f"no document format for {type(value).__name__}")
    return codec[0](value)


def from_doc(kind: type[_T], doc: Doc) -> _T:
    """The value of type ``kind`` that ``doc`` holds.

    Raises :class:`~upslife.errors.StorageError` if the document is damaged (a missing or
    mistyped field, or values the domain refuses), with the cause chained.
    """
    codec = _CODECS.get(kind)
    if codec is None:
        raise InvalidInput(f"no document format for {kind.__name__}")
    try:
        return cast(_T, codec[1](doc))
    except (ValueError, TypeError, KeyError, UpslifeError) as e:
        raise StorageError(f"stored {kind.__name__} document cannot be read: {e}") from e


def dumps(doc: Doc) -> str:
    """Compact JSON text with sorted keys, ASCII only: one text per value."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def loads(text: str) -> Doc:
    """The document in ``text``; damaged text raises :class:`~upslife.errors.StorageError`."""
    try:
        doc = json.loads(text)
    except (ValueError, TypeError) as e:
        raise StorageError(f"stored document is not JSON: {e}") from e
    if not isinstance(doc, dict):
        raise StorageError("stored document is not a JSON object")
    return cast(Doc, doc)


def decode(kind: type[_T], text: str) -> _T:
    """``from_doc(kind, loads(text))``."""
    return from_doc(kind, loads(text))


def encode(value: object) -> str:
    """``dumps(to_doc(value))``."""
    return dumps(to_doc(value))


# --------------------------------------------------------------------------- shared checks


def check_limit(limit: object, name: str = "limit") -> int:
    """A whole number ``>= 0``; ``0`` asks for nothing. Else :class:`InvalidInput`."""
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise InvalidInput(f"{name} must be a whole number, got {type(limit).__name__}")
    if limit < 0:
        raise InvalidInput(f"{name} must not be negative, got {limit}")
    return limit


def check_instant(value: object, name: str) -> datetime:
    """An aware ``datetime``; a naive one raises :class:`~upslife.errors.NaiveDatetime`."""
    return require_instant(value, name)


def check_day(value: object, name: str) -> date:
    """A ``date`` (not a ``datetime``); else :class:`~upslife.errors.InvalidDate`."""
    return require_date(value, name)


def lease_end(now: datetime, lease_seconds: object) -> datetime:
    """``now + lease_seconds``; the lease must be a finite number of seconds above zero."""
    if (
        isinstance(lease_seconds, bool)
        or not isinstance(lease_seconds, int | float)
        or not math.isfinite(lease_seconds)
        or lease_seconds <= 0
    ):
        raise InvalidInput(f"lease_seconds must be a positive number, got {lease_seconds!r}")
    try:
        return now + timedelta(seconds=lease_seconds)
    except OverflowError as e:
        raise InvalidInput(f"a lease of {lease_seconds} s from {now} is out of range") from e


def check_item(item: OutboxItem) -> OutboxItem:
    """An outbox item whose instants are aware and whose attempts are not negative."""
    check_day(item.day, f"day of outbox item {item.key}")
    if item.next_attempt_at is not None:
        check_instant(item.next_attempt_at, f"next_attempt_at of outbox item {item.key}")
    if item.delivered_at is not None:
        check_instant(item.delivered_at, f"delivered_at of outbox item {item.key}")
    check_limit(item.attempts, f"attempts of outbox item {item.key}")
    return item


def check_schedule(entry: ScheduleEntry) -> ScheduleEntry:
    """A schedule entry a store can keep: a ScheduleEntry of text keys, a date or None."""
    if not isinstance(entry, ScheduleEntry):
        raise InvalidInput(f"expected a ScheduleEntry, got {type(entry).__name__}")
    for name in ("serial", "owner_id", "doc"):
        if not isinstance(getattr(entry, name), str):
            raise InvalidInput(f"the {name} of a schedule entry must be text")
    if entry.next_on is not None:
        check_day(entry.next_on, f"next_on of the schedule of {entry.serial}")
    return entry


def check_keys(keys: Sequence[str], name: str) -> tuple[str, ...]:
    """A sequence of keys, not a lone string (which would be read letter by letter)."""
    if isinstance(keys, str):
        raise InvalidInput(f"{name} must be a sequence of keys, not a string")
    return tuple(keys)


def ready_at(item: OutboxItem) -> datetime:
    """When the item may be claimed: ``next_attempt_at``, or at once (:data:`MIN_INSTANT`)."""
    return MIN_INSTANT if item.next_attempt_at is None else item.next_attempt_at
