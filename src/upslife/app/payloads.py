"""Notices and digests as JSON text, for the outbox's opaque ``payload`` column.

The outbox stores what a notice *is* (its event, stage, recipient, customer and day), not a
rendered message: delivery renders it, so a template fix reaches notices already queued,
and the key, title and severity are recomputed by the domain on the way back.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from upslife.app.mails import PlainMail, mail_from_doc, mail_to_doc
from upslife.entitlements import Plan
from upslife.errors import InvalidInput
from upslife.notifications import (
    ChatKind,
    Contact,
    Digest,
    EventKind,
    LifecycleEvent,
    Notice,
    Recipient,
    RecipientKind,
    Stage,
)

__all__ = ["decode", "encode", "recipient_from_doc", "recipient_to_doc"]


def recipient_to_doc(recipient: Recipient) -> dict[str, Any]:
    return {
        "kind": recipient.kind.value,
        "address": recipient.address,
        "chat": recipient.chat.value if recipient.chat else None,
    }


def recipient_from_doc(doc: dict[str, Any]) -> Recipient:
    chat = doc.get("chat")
    return Recipient(RecipientKind(doc["kind"]), doc["address"], ChatKind(chat) if chat else None)


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _undate(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _notice_doc(notice: Notice) -> dict[str, Any]:
    event, customer = notice.event, notice.customer
    return {
        "event": {
            "serial": event.serial,
            "kind": event.kind.value,
            "due": _day(event.due),
            "plan": event.plan.name if event.plan else None,
            "sku": event.sku,
            "model": event.model,
            "reported_on": _day(event.reported_on),
        },
        "stage": notice.stage.value,
        "recipient": recipient_to_doc(notice.recipient),
        "customer": {
            "company": customer.company,
            "full_name": customer.full_name,
            "email": customer.email,
            "job_role": customer.job_role,
            "phone": customer.phone,
        },
        "sent_on": notice.sent_on.isoformat(),
        "key": notice.key,
    }


def _notice_from(doc: dict[str, Any]) -> Notice:
    ev = doc["event"]
    event = LifecycleEvent(
        ev["serial"],
        EventKind(ev["kind"]),
        _undate(ev["due"]),
        Plan[ev["plan"]] if ev["plan"] else None,
        ev["sku"],
        model=ev["model"],
        reported_on=_undate(ev["reported_on"]),
    )
    notice = Notice(
        event,
        Stage(doc["stage"]),
        recipient_from_doc(doc["recipient"]),
        Contact(**doc["customer"]),
        date.fromisoformat(doc["sent_on"]),
    )
    if notice.key != doc["key"]:
        raise InvalidInput(f"outbox payload for {doc['key']} decodes to another notice")
    return notice


_ENCODER = json.JSONEncoder(separators=(",", ":"), sort_keys=True)
"""``json.dumps(doc, separators=(",", ":"), sort_keys=True)`` without building an encoder
for every payload (the plan writes one payload per notice)."""


def encode(item: Notice | Digest | PlainMail) -> str:
    """JSON text for a notice, a digest or an account mail."""
    if isinstance(item, PlainMail):
        return _ENCODER.encode({"mail": mail_to_doc(item)})
    if isinstance(item, Digest):
        doc: dict[str, Any] = {
            "digest": {
                "recipient": recipient_to_doc(item.recipient),
                "day": item.day.isoformat(),
                "notices": [_notice_doc(n) for n in item.notices],
                "key": item.key,
            }
        }
    else:
        doc = {"notice": _notice_doc(item)}
    return _ENCODER.encode(doc)


def decode(text: str) -> Notice | Digest | PlainMail:
    """The notice or digest that :func:`encode` wrote; a payload that does not decode to
    the same idempotency key raises :class:`InvalidInput`."""
    try:
        doc = json.loads(text)
        if "mail" in doc:
            return mail_from_doc(doc["mail"])
        if "digest" in doc:
            d = doc["digest"]
            digest = Digest(
                recipient_from_doc(d["recipient"]),
                date.fromisoformat(d["day"]),
                tuple(_notice_from(n) for n in d["notices"]),
            )
            if digest.key != d["key"]:
                raise InvalidInput(f"outbox payload for digest {d['key']} does not match")
            return digest
        return _notice_from(doc["notice"])
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, InvalidInput):
            raise
        raise InvalidInput(f"malformed outbox payload: {e}") from e
