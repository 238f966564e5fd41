"""The stored lifecycle schedule: the daily plan reads it instead of recomputing coverage.

A device's coverage, warranty, battery and service-life dates change only when something
happens to the device (a license assigned, a battery replaced, a warranty extended, a poll
that reports a new date). So the work moves from the daily read path to the write path:

- **write**: when a use case saves a device, :func:`reschedule` computes its lifecycle
  events once (SPEC N1) and stores them as a :class:`~upslife.ports.ScheduleEntry`, with
  each event's stages sent, the plan timeline (for chat routing, E10) and the device's
  next stage date, which the store indexes. A store marks the entry of any device, license
  or warranty it writes :data:`~upslife.ports.STALE` first, so a write path that forgets to
  reschedule cannot make the schedule disagree: the plan recomputes a stale entry from the
  stored facts, exactly as the reference planner does.
- **read**: :func:`plan_scheduled` reads the due entries (``schedule_due``), and picks
  stages (N2, with catch-up N4), recipients (N6, the reseller's consent as it is now, N7),
  keys (N9) and owner-local days (D1) from them, with the same code as the reference
  :func:`~upslife.app.sweep.plan_notices` (:func:`~upslife.notifications.scheduled_notices`
  shares its core with :func:`~upslife.notifications.due_notices`). Consent is checked
  again at sending (N7), as before.
- **rules change**: the schedule is stamped with the rules version and a digest of the
  catalog (:func:`schedule_stamp`). :func:`rebuild_schedule` (``upslife schedule
  rebuild``) recomputes every entry; a plan whose stamp does not match rebuilds first, so a
  store migrated to schema 5 (no stamp yet) or a new catalog is never planned from a
  stale schedule.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import zlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Final

import attrs

from upslife._validation import require_instant
from upslife.app.clock import local_date
from upslife.app.facts import facts_of
from upslife.app.sweep import (
    _MAX_UTC_OFFSET,
    PlanReport,
    _check_shard,
    _Choices,
    _reason,
    _reseller,
    device_notices,
    outbox_items,
)
from upslife.catalog import Catalog
from upslife.entitlements import Plan
from upslife.errors import DamagedRecord, StorageError, TemporaryFailure
from upslife.invitations import InvitationState
from upslife.notifications import (
    DEFAULT_DUE_GRACE_DAYS,
    DeviceFacts,
    EventId,
    EventKind,
    LifecycleEvent,
    Notice,
    SentStage,
    Stage,
    lifecycle_events,
    next_notice_date,
    scheduled_notices,
    sent_stages,
    trusted_event,
)
from upslife.ports import STALE, Device, OutboxItem, Owner, ScheduleEntry, Store
from upslife.reports import plan_license_sku_of

__all__ = [
    "SCHEDULE_VERSION",
    "RebuildReport",
    "Scheduled",
    "decode_entry",
    "plan_scheduled",
    "rebuild_schedule",
    "reschedule",
    "schedule_entry",
    "schedule_stamp",
]

log = logging.getLogger(__name__)

SCHEDULE_VERSION: Final = 1
"""The version of the rules and of the entry format; a new one rebuilds every schedule."""

_KINDS: Final = {k.value: k for k in EventKind}
_STAGES: Final = {s.value: s for s in Stage}
_PLANS: Final = {p.name: p for p in Plan}


_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
"""How an entry's document is written (one encoder, not one per document)."""


def schedule_stamp(catalog: Catalog) -> str:
    """What a schedule is built with: the rules version and a digest of the catalog (C1),
    its plan license part numbers included when it has any (they are the SKUs stored)."""
    built_from = repr(catalog.entries)
    if catalog.plan_licenses:
        built_from += repr(catalog.plan_licenses)
    digest = hashlib.sha256(built_from.encode("utf-8")).hexdigest()[:16]
    return f"upslife.schedule.v{SCHEDULE_VERSION}:{digest}"


@attrs.frozen
class Scheduled:
    """A decoded :class:`~upslife.ports.ScheduleEntry`: what the plan needs of a device."""

    serial: str
    owner_id: str
    next_on: date | None
    registered_on: date
    plan_starts: tuple[date, ...]
    plans: tuple[Plan, ...]
    events: tuple[LifecycleEvent, ...]
    sent: tuple[SentStage, ...]

    def plan_on(self, day: date) -> Plan:
        """The plan in force on ``day`` (SPEC E4), from the stored timeline."""
        return self.plans[bisect.bisect_right(self.plan_starts, day) - 1]


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _encode(
    facts: DeviceFacts, events: Sequence[LifecycleEvent], sent: Sequence[SentStage]
) -> str:
    by_event: dict[EventId, list[list[str]]] = defaultdict(list)
    for record in sent:
        by_event[record.event].append([record.stage.value, record.on.isoformat()])
    model = facts.model
    doc = {
        "r": facts.registered_on.isoformat(),
        "m": model,
        "p": [[s.start.isoformat(), s.plan.name] for s in facts.coverage.segments],
        "e": [
            [
                e.kind.value,
                None if e.due is None else e.due.isoformat(),
                None if e.plan is None else e.plan.name,
                e.sku,
                None if e.reported_on is None else e.reported_on.isoformat(),
                by_event.get(e.id, []),
            ]
            for e in events
        ],
    }
    return _ENCODER.encode(doc)


def decode_entry(entry: ScheduleEntry) -> Scheduled:
    """The events, stages sent and plan timeline of a stored entry; a document that is
    not one this module wrote raises :class:`~upslife.errors.StorageError`."""
    return _decode(entry)[0]


_Doc = dict[str, Any]


def _decode(entry: ScheduleEntry) -> tuple[Scheduled, _Doc]:
    """:func:`decode_entry`, and the parsed document (the plan appends stages to it)."""
    if entry.doc == STALE:
        raise StorageError(f"the schedule of {entry.serial} is stale: recompute it")
    try:
        doc = json.loads(entry.doc)
        serial, model = entry.serial, doc["m"]
        events: list[LifecycleEvent] = []
        sent: list[SentStage] = []
        for kind, due, plan, sku, reported, stages in doc["e"]:
            event = trusted_event(
                serial,
                _KINDS[kind],
                _day(due),
                None if plan is None else _PLANS[plan],
                sku,
                model,
                _day(reported),
            )
            events.append(event)
            if stages:
                sent.extend(
                    SentStage(event.id, _STAGES[stage], date.fromisoformat(on))
                    for stage, on in stages
                )
        timeline = doc["p"]
        scheduled = Scheduled(
            serial,
            entry.owner_id,
            entry.next_on,
            date.fromisoformat(doc["r"]),
            tuple(date.fromisoformat(start) for start, _ in timeline),
            tuple(_PLANS[plan] for _, plan in timeline),
            tuple(events),
            tuple(sent),
        )
        return scheduled, doc
    except (ValueError, KeyError, TypeError) as e:
        raise StorageError(f"the stored schedule of {entry.serial} cannot be read: {e}") from e


def schedule_entry(
    device: Device,
    facts: DeviceFacts,
    sent: Sequence[SentStage],
    next_on: date | None,
    *,
    events: Sequence[LifecycleEvent] | None = None,
) -> ScheduleEntry:
    """The entry of ``device``: its events (SPEC N1), the stages they sent, its timeline.
    Only the stages of current events are kept: a resolved event sends nothing (N3)."""
    if events is None:
        events = lifecycle_events(facts)
    ids = {e.id for e in events}
    kept = [r for r in sent if r.event in ids]
    return ScheduleEntry(device.serial, device.owner_id, next_on, _encode(facts, events, kept))


def reschedule(store: Store, catalog: Catalog, device: Device) -> ScheduleEntry:
    """Store the schedule of ``device`` as saved (the write path): its events from the
    stored facts, its next stage date the device's ``next_notice_on`` just computed."""
    facts = facts_of(store, catalog, device)
    events = lifecycle_events(facts, plan_license_sku=plan_license_sku_of(catalog))
    sent = store.sent_stages(device.serial)
    entry = schedule_entry(device, facts, sent, device.next_notice_on, events=events)
    store.save_schedule(entry)
    return entry


@attrs.frozen
class RebuildReport:
    """What :func:`rebuild_schedule` did: devices scheduled, and those set aside (a stored
    document that cannot be read, or any error computing that one device's events)."""

    devices: int = 0
    damaged: tuple[tuple[str, str], ...] = ()


def _devices_page(
    store: Store, after: str | None, limit: int, damaged: list[tuple[str, str]]
) -> tuple[tuple[Device, ...], str | None]:
    """A page of devices and the serial to read on from (None: no more); a damaged device
    document is set aside and the rest of the page read one device at a time."""
    try:
        devices = store.all_devices(after=after, limit=limit)
        return devices, (devices[-1].serial if len(devices) == limit else None)
    except DamagedRecord:
        pass
    found: list[Device] = []
    cursor = after
    while len(found) < limit:
        try:
            one = store.all_devices(after=cursor, limit=1)
        except DamagedRecord as e:
            damaged.append((e.key, str(e)))
            _mark_stale(store, e.key)
            cursor = e.key
            continue
        if not one:
            return tuple(found), None
        found.append(one[0])
        cursor = one[0].serial
    return tuple(found), cursor


def rebuild_schedule(
    store: Store,
    catalog: Catalog,
    *,
    page: int = 500,
    due_grace_days: int = DEFAULT_DUE_GRACE_DAYS,
    on_page: Callable[[int], None] | None = None,
) -> RebuildReport:
    """Recompute every device's schedule entry and stamp the schedule (after a rules or
    catalog change, or once after migrating to schema 5).

    Each entry's next stage date is the first day, from registration on and after the
    last stage sent, that one of its events has a stage due (SPEC N2, N4): never later than
    the reference planner would read the device, so nothing is missed. Pages commit one at
    a time: an interrupted rebuild is resumed by running it again. A device that cannot
    be scheduled is set aside (its entry stays stale, so the plan reports it too) and the
    others are rebuilt.
    """
    done = 0
    damaged: list[tuple[str, str]] = []
    after: str | None = None
    while True:
        with store.transaction():
            devices, cursor = _devices_page(store, after, page, damaged)
            for device in devices:
                try:
                    with store.transaction():
                        _rebuild_one(store, catalog, device, due_grace_days)
                except TemporaryFailure:
                    raise
                except Exception as e:  # this device only
                    damaged.append((device.serial, _reason(e)))
                    log.warning("schedule of %s not rebuilt: %s", device.serial, _reason(e))
                    _mark_stale(store, device.serial)
                    continue
                done += 1
        if on_page is not None:
            on_page(done)
        if cursor is None:
            break
        after = cursor
    store.set_schedule_stamp(schedule_stamp(catalog))
    log.info("schedule rebuilt for %d device(s), %d set aside", done, len(damaged))
    return RebuildReport(done, tuple(damaged))


def _mark_stale(store: Store, serial: str) -> None:
    """A device that cannot be scheduled keeps a stale entry: the plan recomputes it from
    the stored device, and so sets it aside and reports it every day until it is repaired."""
    entry = store.get_schedule(serial)
    if entry is not None and entry.doc != STALE:
        store.save_schedule(attrs.evolve(entry, doc=STALE))


def _rebuild_one(store: Store, catalog: Catalog, device: Device, due_grace_days: int) -> None:
    serial = device.serial
    facts = facts_of(store, catalog, device)
    events = lifecycle_events(facts, plan_license_sku=plan_license_sku_of(catalog))
    sent = store.sent_stages(serial)
    floor = device.registered_on - timedelta(days=1)
    nxt = next_notice_date(events, sent, after=floor, due_grace_days=due_grace_days)
    store.save_schedule(schedule_entry(device, facts, sent, nxt, events=events))


@attrs.frozen
class _Planned:
    """One due device's writes, held until its page is written (:func:`_write_page`)."""

    serial: str
    items: list[OutboxItem]
    sent: tuple[SentStage, ...]
    entry: ScheduleEntry
    notices: tuple[Notice, ...]


def _plan_entry(
    store: Store,
    entry: ScheduleEntry,
    owner: Owner,
    reseller: tuple[str | None, InvitationState | None],
    today: date,
    now: datetime,
    due_grace_days: int,
    choices: _Choices,
) -> _Planned:
    """Plan one fresh entry: no device, license or warranty is read, nothing written yet."""
    scheduled, doc = _decode(entry)
    reseller_email, reseller_state = reseller
    notices = scheduled_notices(
        scheduled.events,
        today,
        registered_on=scheduled.registered_on,
        plan_on=scheduled.plan_on,
        owner=owner.contact,
        reseller_email=reseller_email,
        reseller_state=reseller_state,
        chat_routes=owner.chat_routes,
        sent=scheduled.sent,
        due_grace_days=due_grace_days,
    )
    new_sent = sent_stages(notices)
    sent = (*scheduled.sent, *new_sent) if new_sent else scheduled.sent
    nxt = next_notice_date(scheduled.events, sent, after=today, due_grace_days=due_grace_days)
    text = _with_sent(doc, scheduled.events, new_sent) if new_sent else entry.doc
    updated = ScheduleEntry(entry.serial, entry.owner_id, nxt, text)
    items = outbox_items(store, owner, entry.serial, notices, (today, now), choices)
    return _Planned(entry.serial, items, new_sent, updated, notices)


def _with_sent(doc: _Doc, events: Sequence[LifecycleEvent], new: Sequence[SentStage]) -> str:
    """The entry's document with the stages ``new`` appended to their events."""
    index = {e.id: n for n, e in enumerate(events)}
    for record in new:
        doc["e"][index[record.event]][5].append([record.stage.value, record.on.isoformat()])
    return _ENCODER.encode(doc)


def _write_page(
    store: Store, planned: Sequence[_Planned], damaged: list[tuple[str, str]]
) -> tuple[list[_Planned], int]:
    """Write a page's planned devices in one call (one statement per table); returns the
    devices written and the items added. If that call is refused, each device is written
    on its own, so only a device whose write fails is set aside (and stays due)."""
    if not planned:
        return [], 0
    try:
        added = store.enqueue(
            [item for p in planned for item in p.items],
            [record for p in planned for record in p.sent],
            schedules=[p.entry for p in planned],
        )
        return list(planned), added
    except TemporaryFailure:
        raise
    except Exception as e:  # find the device(s) it was: the call changed nothing
        log.info("a page's writes were refused (%s): writing its devices one by one", _reason(e))
    written: list[_Planned] = []
    added = 0
    for p in planned:
        try:
            added += store.enqueue(p.items, p.sent, schedule=p.entry)
        except TemporaryFailure:
            raise
        except Exception as e:  # this device only
            damaged.append((p.serial, _reason(e)))
            log.warning("device %s set aside: %s", p.serial, _reason(e))
            continue
        written.append(p)
    return written, added


def _plan_stale(
    store: Store,
    catalog: Catalog,
    entry: ScheduleEntry,
    owner: Owner,
    reseller: tuple[str | None, InvitationState | None],
    today: date,
    now: datetime,
    due_grace_days: int,
    choices: _Choices,
) -> tuple[int, tuple[Notice, ...]] | None:
    """A stale entry: recompute it from the stored device, as the reference planner does
    (SPEC N1–N9), and store it fresh; only what changed is recomputed. None: not due."""
    device = store.get_device(entry.serial)
    facts = facts_of(store, catalog, device)
    events = lifecycle_events(facts, plan_license_sku=plan_license_sku_of(catalog))
    sent = store.sent_stages(device.serial)
    if device.next_notice_on is None or device.next_notice_on > today:
        entry = schedule_entry(device, facts, sent, device.next_notice_on, events=events)
        store.save_schedule(entry)
        return None
    notices, new_sent, nxt = device_notices(
        facts, events, sent, owner, reseller, today, due_grace_days
    )
    updated = attrs.evolve(device, next_notice_on=nxt)
    fresh = schedule_entry(updated, facts, (*sent, *new_sent), nxt, events=events)
    items = outbox_items(store, owner, device.serial, notices, (today, now), choices)
    return store.enqueue(items, new_sent, device=updated, schedule=fresh), notices


def _read_owners(
    store: Store,
    owner_ids: Sequence[str],
    now: datetime,
    owners: dict[str, Owner],
    resellers: dict[str, tuple[str | None, InvitationState | None]],
) -> None:
    """Read the page's owners not met yet, and their current invitations, in two reads
    instead of two per owner. If that fails (a damaged owner document), the plan reads
    each owner on its own, so only that owner's devices are set aside."""
    wanted = [i for i in dict.fromkeys(owner_ids) if i not in owners]
    if not wanted:
        return
    try:
        found = store.get_owners(wanted)
        invitations = store.current_invitations(list(found))
    except TemporaryFailure:
        raise
    except Exception as e:  # one owner at a time instead, in the plan's loop
        log.info("the page's owners were not read at once (%s): one by one", _reason(e))
        return
    for owner_id, owner in found.items():
        owners[owner_id] = owner
        resellers[owner_id] = _reseller(invitations.get(owner_id), now)


def plan_scheduled(
    store: Store,
    catalog: Catalog,
    now: datetime,
    *,
    batch: int = 2000,
    due_grace_days: int = DEFAULT_DUE_GRACE_DAYS,
    on_device: Callable[[str], None] | None = None,
    shard: tuple[int, int] | None = None,
) -> PlanReport:
    """Write the notices due at ``now`` to the outbox from the stored schedule (step 1 of
    the sweep): :func:`~upslife.app.sweep.plan_notices` without recomputing coverage.

    Same arguments, same report, same transactions (one per page), same notices: a
    differential test holds the two equal day by day. A page's fresh entries are planned
    first and written together, in one :meth:`~upslife.ports.Store.enqueue` (one statement
    per table, not a few per device); a page commits whole or not at all, so a crash
    loses nothing (the page is still due) and repeats nothing (N9). Pages are larger
    than the reference's (2,000 entries): a commit costs about as much as planning over a
    hundred devices on SQLite (the WAL write and its checkpoints), and a page holds the
    write lock for about half a second on a two-core machine. A schedule whose stamp
    does not match the rules and ``catalog`` is rebuilt first.
    """
    require_instant(now, "now")
    part, parts = _check_shard(shard)
    if store.schedule_stamp() != schedule_stamp(catalog):
        log.info("the stored schedule was built with other rules or another catalog: rebuilding")
        rebuild_schedule(store, catalog, due_grace_days=due_grace_days)
    horizon = (now + _MAX_UTC_OFFSET).date()
    owners: dict[str, Owner] = {}
    resellers: dict[str, tuple[str | None, InvitationState | None]] = {}
    days: dict[str, date] = {}  # the owner-local date at ``now``, per time zone (SPEC D1)
    choices: _Choices = {}  # each reseller's own choice of delivery (SPEC N10)
    read = due = planned_items = 0
    by_kind: dict[str, int] = defaultdict(int)
    damaged: list[tuple[str, str]] = []
    after: str | None = None
    while True:
        committed: list[str] = []
        with store.transaction():
            entries = store.schedule_due(horizon, after=after, limit=batch)
            mine = [
                e for e in entries if parts == 1 or zlib.crc32(e.serial.encode()) % parts == part
            ]
            _read_owners(store, [e.owner_id for e in mine], now, owners, resellers)
            planned: list[_Planned] = []
            read += len(entries)
            for entry in mine:
                serial = entry.serial
                # No savepoint of its own: a fresh entry's writes wait for the page's one
                # enqueue, and a stale one's are one atomic call, so a failure before them
                # leaves nothing.
                try:
                    owner = owners.get(entry.owner_id)
                    if owner is None:
                        owner = owners[entry.owner_id] = store.get_owner(entry.owner_id)
                        resellers[owner.id] = _reseller(store.current_invitation(owner.id), now)
                    today = days.get(owner.timezone)
                    if today is None:
                        today = days[owner.timezone] = local_date(now, owner.timezone)
                    if entry.next_on is None or entry.next_on > today:
                        continue
                    if entry.doc != STALE:
                        planned.append(
                            _plan_entry(
                                store, entry, owner, resellers[owner.id], today, now,
                                due_grace_days, choices,
                            )
                        )
                        continue
                    outcome = _plan_stale(
                        store, catalog, entry, owner, resellers[owner.id], today, now,
                        due_grace_days, choices,
                    )
                    if outcome is None:
                        continue
                    added, notices = outcome
                except TemporaryFailure:
                    raise
                except Exception as e:  # isolate the device, report it, plan the others
                    damaged.append((serial, _reason(e)))
                    log.warning("device %s set aside: %s", serial, _reason(e))
                    continue
                due += 1
                planned_items += added
                for n in notices:
                    by_kind[f"{n.kind.value}/{n.stage.value}"] += 1
                committed.append(serial)
            written, added = _write_page(store, planned, damaged)
            planned_items += added
            for p in written:
                due += 1
                for n in p.notices:
                    by_kind[f"{n.kind.value}/{n.stage.value}"] += 1
                committed.append(p.serial)
        if on_device is not None:
            for serial in sorted(committed):
                on_device(serial)
        if len(entries) < batch:
            break
        after = entries[-1].serial
    log.info("planned %d notice(s) for %d due device(s) of %d read", planned_items, due, read)
    return PlanReport(read, due, planned_items, dict(by_kind), tuple(damaged))
