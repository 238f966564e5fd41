"""Outbox inspection and repair: what is waiting, what failed and why, and trying again.

Use cases over the :class:`~upslife.ports.Store` port, for an operator (``upslife outbox
list|show|retry|requeue``) or an admin screen. They never send anything: a retried item is
made PENDING and ready now, and the next sweep (or :func:`~upslife.app.sweep.deliver`)
delivers it, with its consent checked again at that moment (SPEC N7) and its
``Message-ID`` unchanged, so a message the receiver had already got is dropped there
(SPEC N9).

Every item has one *state* here, finer than its stored status: a PENDING item is
``pending`` (not tried yet), ``retrying`` (tried, failed, will be tried again) or ``held``
(waiting to be folded into a daily digest, SPEC N10).
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from datetime import date, datetime

import attrs

from upslife._validation import require_date, require_instant, require_items
from upslife.app import payloads
from upslife.app.mails import PlainMail
from upslife.app.sweep import HELD_FOR_DIGEST
from upslife.errors import InvalidInput, OutboxItemNotRetryable, UpslifeError
from upslife.notifications import Digest
from upslife.ports import DeliveryStatus, OutboxItem, Store

__all__ = [
    "OutboxEntry",
    "OutboxState",
    "list_outbox",
    "requeue_day",
    "retry_item",
    "show_item",
    "state_of",
]


class OutboxState(enum.Enum):
    """Where an outbox item is, as an operator asks about it."""

    PENDING = "pending"  # not tried yet
    RETRYING = "retrying"  # tried, failed for a reason that may pass; tried again later
    HELD = "held"  # waiting to be folded into a daily digest (SPEC N10)
    FAILED = "failed"  # given up: refused, unreadable, or no longer useful
    SENT = "sent"
    SUPPRESSED = "suppressed"  # not sent on purpose: no consent at sending time (SPEC N7)
    DIGESTED = "digested"  # folded into a digest item, which is delivered instead


def state_of(item: OutboxItem) -> OutboxState:
    """The item's :class:`OutboxState`."""
    if item.status is DeliveryStatus.PENDING:
        if item.next_attempt_at == HELD_FOR_DIGEST and item.digest_key is None:
            return OutboxState.HELD
        return OutboxState.RETRYING if item.attempts else OutboxState.PENDING
    return OutboxState[item.status.name]


@attrs.frozen
class OutboxEntry:
    """One item as :func:`list_outbox` and :func:`show_item` describe it: the stored item,
    its state, and a one-line summary of what it carries (the notice's title, a digest's
    size, an account mail's subject; or why its payload cannot be read)."""

    item: OutboxItem
    state: OutboxState
    summary: str


def _summary(item: OutboxItem) -> str:
    try:
        message = payloads.decode(item.payload)
    except UpslifeError as e:
        return f"(payload cannot be read: {e})"
    if isinstance(message, PlainMail):
        return message.subject
    if isinstance(message, Digest):
        return f"daily digest of {len(message.notices)} notice(s)"
    return message.title


def _entry(item: OutboxItem) -> OutboxEntry:
    return OutboxEntry(item, state_of(item), _summary(item))


def _states(states: Collection[OutboxState] | None) -> frozenset[OutboxState] | None:
    if states is None:
        return None
    if isinstance(states, OutboxState):
        raise InvalidInput(f"states must be a collection of OutboxState, got {states!r}")
    return frozenset(require_items(states, OutboxState, "states"))


def list_outbox(
    store: Store,
    *,
    states: Collection[OutboxState] | None = None,
    day: date | None = None,
    owner_id: str | None = None,
) -> tuple[OutboxEntry, ...]:
    """The outbox items in ``states`` (all when None), of one owner-local ``day`` and one
    owner if given, by key."""
    wanted = _states(states)
    if day is not None:
        require_date(day, "day")
    statuses: set[DeliveryStatus | None] = (
        {None}
        if wanted is None
        else {
            DeliveryStatus.PENDING
            if s in (OutboxState.PENDING, OutboxState.RETRYING, OutboxState.HELD)
            else DeliveryStatus[s.name]
            for s in wanted
        }
    )
    found: dict[str, OutboxEntry] = {}
    for status in statuses:
        for item in store.items(status=status, owner_id=owner_id):
            if day is not None and item.day != day:
                continue
            entry = _entry(item)
            if wanted is None or entry.state in wanted:
                found[item.key] = entry
    return tuple(found[key] for key in sorted(found))


def show_item(store: Store, key: str) -> OutboxEntry:
    """One item, with its attempts, next attempt, last error (why it failed) and summary;
    an unknown key raises :class:`~upslife.errors.NotFound`."""
    if not isinstance(key, str) or not key:
        raise InvalidInput(f"an outbox key must be non-empty text, got {key!r}")
    return _entry(store.get_item(key))


def retry_item(store: Store, key: str, now: datetime) -> OutboxEntry:
    """Make a FAILED or retrying item PENDING and ready at ``now``: the next delivery tries
    it once more (its usefulness window still applies to a new transient failure).

    Raises:
        NotFound: no item with ``key``.
        OutboxItemNotRetryable: the item was sent, suppressed (no consent, SPEC N7), folded
            into a digest, or is held for one: retrying it would send what must not be.
    """
    require_instant(now, "now")
    entry = show_item(store, key)
    if entry.state not in (OutboxState.FAILED, OutboxState.RETRYING, OutboxState.PENDING):
        raise OutboxItemNotRetryable(key, entry.state.value)
    store.requeue([key], at=now)
    return _entry(store.get_item(key))


def requeue_day(
    store: Store, day: date, now: datetime, *, owner_id: str | None = None
) -> tuple[str, ...]:
    """Make every FAILED item of owner-local ``day`` (of one owner if given) PENDING and
    ready at ``now``, e.g. after fixing the mail settings that made them fail. Returns
    their keys; items sent, suppressed, digested or still pending are left alone."""
    require_instant(now, "now")
    keys = tuple(
        e.item.key
        for e in list_outbox(store, states={OutboxState.FAILED}, day=day, owner_id=owner_id)
    )
    if keys:
        store.requeue(keys, at=now)
    return keys
