"""Lifecycle events and the notices they give rise to (SPEC N1–N10).

The flow of a daily sweep, for one device, is a chain of pure functions:

1. :func:`lifecycle_events` turns what is known of a device (:class:`DeviceFacts`) into its
   events: battery replacement, warranty expiry, plan expiry (one per paid-plan drop of its
   coverage), battery failure and UPS upgrade due (SPEC N1);
2. :func:`stage_due` decides which stage of the 90/30/7/due schedule, if any, an event has to
   send on the sweep day, with catch-up and the due-day grace (SPEC N2, N4);
3. :func:`recipients_for` picks the owner, the connected reseller and the chat routes
   (SPEC N6, N7);
4. :class:`Notice` carries everything a message needs, its title and severity (SPEC N5) and
   its idempotency key (SPEC N9).

:func:`due_notices` chains the four; :func:`next_notice_date` says when a device next has
anything to send, so a store can index it; :func:`reminder` is the owner's reminder to the
reseller (SPEC N8); :func:`group_into_digests` folds one day's notices into digests for the
recipients who chose them (SPEC N10). Nothing here reads a clock: "today" is an argument, a
calendar date in the owner's local calendar (SPEC D1, D4).

>>> from upslife.entitlements import coverage
>>> facts = DeviceFacts("as123", "smt1500c", coverage(date(2025, 6, 15)),
...                     battery_replace_by=date(2026, 3, 1), battery_sku="APCRBC152")
>>> battery = [e for e in lifecycle_events(facts) if e.kind is EventKind.BATTERY_REPLACEMENT][0]
>>> stage_due(battery, date(2025, 12, 1), sent=())
<Stage.D90: 'd90'>
>>> stage_due(battery, date(2026, 2, 1), sent=(Stage.D90,))
<Stage.D30: 'd30'>
>>> stage_due(battery, date(2026, 3, 9), sent=(Stage.D90, Stage.D30))  # due + 8: too late
"""

from __future__ import annotations

import enum
import hashlib
import itertools
import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any, Final, final

import attrs

from upslife._validation import (
    MAX_SERIAL,
    require_date,
    require_email,
    require_instance,
    require_items,
    require_text,
    slot_setters,
    trusted_instance,
)
from upslife.entitlements import Coverage, Feature, Plan, add_months, can
from upslife.errors import (
    DateBeforeRegistration,
    EventAlreadyResolved,
    EventNotForReseller,
    InvalidInput,
    InvalidType,
    ReminderOutOfWindow,
    ResellerNotConnected,
)
from upslife.invitations import InvitationState

__all__ = [
    "DEFAULT_DUE_GRACE_DAYS",
    "REMINDER_WINDOW_DAYS",
    "SCHEDULE",
    "ChatKind",
    "ChatRoute",
    "Contact",
    "DeliveryPreference",
    "DeviceFacts",
    "Digest",
    "EventId",
    "EventKind",
    "LifecycleEvent",
    "Notice",
    "Recipient",
    "RecipientKind",
    "SentStage",
    "Severity",
    "Stage",
    "default_plan_license_sku",
    "due_notices",
    "format_date",
    "group_into_digests",
    "lifecycle_events",
    "next_notice_date",
    "next_notice_date_of",
    "recipients_for",
    "reminder",
    "resolve",
    "scheduled_notices",
    "sent_stages",
    "service_life_ends_on",
    "stage_due",
    "title_for",
    "trusted_event",
    "trusted_facts",
]

DEFAULT_DUE_GRACE_DAYS: Final = 7
"""How many days late the due-day stage may still go out (SPEC N4): due + 7 yes, due + 8 no."""

REMINDER_WINDOW_DAYS: Final = 90
"""A reminder is allowed while ``due - 90 days <= today < due + 90 days`` (SPEC N8)."""

_NOTICE_KEY_VERSION: Final = "upslife.notice.v1"
_DIGEST_KEY_VERSION: Final = "upslife.digest.v1"
_MONTHS: Final = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


# --------------------------------------------------------------------------- kinds and stages


class EventKind(enum.Enum):
    """The kinds of lifecycle event (SPEC N1). The value is the stable name used in keys."""

    BATTERY_REPLACEMENT = "battery-replacement"
    WARRANTY_EXPIRY = "warranty-expiry"
    PLAN_EXPIRY = "plan-expiry"
    BATTERY_FAILURE = "battery-failure"
    UPS_UPGRADE = "ups-upgrade"

    # Members are singletons compared by identity, so identity's hash is theirs: a C call
    # instead of Enum's Python-level ``hash(self._name_)`` (events and stages key the
    # sweep's dicts; docs/performance.md, B2a).
    __hash__ = object.__hash__

    @property
    def has_due_date(self) -> bool:
        """Every kind but a battery failure, which is notified at once (SPEC N1)."""
        return self is not EventKind.BATTERY_FAILURE

    @property
    def reaches_reseller(self) -> bool:
        """Battery, warranty and plan events go to a connected reseller; upgrades do not (N6)."""
        return self is not EventKind.UPS_UPGRADE


class Severity(enum.IntEnum):
    """How urgent a notice is (SPEC N5); ordered ``INFO < WARNING < CRITICAL``."""

    INFO = 1
    WARNING = 2
    CRITICAL = 3


class Stage(enum.Enum):
    """A notice's place in its event's life (SPEC N2, N4, N8).

    ``D90``, ``D30``, ``D7`` and ``DUE`` are the schedule of a dated event (:data:`SCHEDULE`);
    ``IMMEDIATE`` is the single stage of a battery failure, sent at once; ``REMINDER`` is a
    reminder the owner sends to the reseller, outside the schedule.
    """

    D90 = "d90"
    D30 = "d30"
    D7 = "d7"
    DUE = "due"
    IMMEDIATE = "immediate"
    REMINDER = "reminder"

    __hash__ = object.__hash__  # as EventKind's

    @property
    def days_before(self) -> int | None:
        """The stage's offset before the due date: 90, 30, 7 or 0; ``None`` off the schedule."""
        return _DAYS_BEFORE.get(self)


_DAYS_BEFORE: Final[Mapping[Stage, int]] = {Stage.D90: 90, Stage.D30: 30, Stage.D7: 7, Stage.DUE: 0}

SCHEDULE: Final = (Stage.D90, Stage.D30, Stage.D7, Stage.DUE)
"""The four stages of a dated event, in order: at most four notices per event (SPEC N2)."""

_SCHEDULE_SEVERITY: Final[Mapping[Stage, Severity]] = {
    Stage.D90: Severity.INFO,
    Stage.D30: Severity.WARNING,
    Stage.D7: Severity.WARNING,
    Stage.DUE: Severity.CRITICAL,
    Stage.IMMEDIATE: Severity.CRITICAL,
}
_STAGE_ORDER: Final[Mapping[Stage, int]] = {stage: n for n, stage in enumerate(Stage)}
_OPENS: Final = tuple(timedelta(-_DAYS_BEFORE[stage]) for stage in SCHEDULE)
"""When each schedule stage opens, from the due date, by its index in :data:`SCHEDULE`."""
_ONE_DAY: Final = timedelta(1)


def _schedule_stage(days_before: int) -> Stage:
    """The schedule stage in force ``days_before`` the due date (negative: after it)."""
    if days_before > 30:
        return Stage.D90
    if days_before > 7:
        return Stage.D30
    if days_before > 0:
        return Stage.D7
    return Stage.DUE


# --------------------------------------------------------------------------- validation helpers


def _serial(value: object) -> str:
    return require_text(value, "serial", max_length=MAX_SERIAL).upper()


def _model(value: object) -> str:
    return require_text(value, "model", max_length=MAX_SERIAL).upper()


def _optional_text(value: object) -> str | None:
    return None if value is None else require_text(value, "sku", max_length=MAX_SERIAL)


def _optional_date(_instance: object, attribute: Any, value: Any) -> None:
    if value is not None:
        require_date(value, attribute.name)


def _date_field(_instance: object, attribute: Any, value: Any) -> None:
    require_date(value, attribute.name)


def _instance_of(kind: type) -> Callable[[object, Any, Any], None]:
    def check(_instance: object, attribute: Any, value: Any) -> None:
        if not isinstance(value, kind):
            raise InvalidInput(
                f"{attribute.name} must be a {kind.__name__}, got {type(value).__name__}: {value!r}"
            )

    return check


def _require_grace(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"due_grace_days must be a whole number of days >= 0, got {value!r}")
    return value


def _shift(day: date, delta: timedelta) -> date:
    """``day + delta``, clamped to the calendar's ends instead of overflowing."""
    try:
        return day + delta
    except OverflowError:
        return date.max if delta > _NO_TIME else date.min


_NO_TIME: Final = timedelta(0)


def format_date(day: date) -> str:
    """A date as titles print it, "1 March 2026": unambiguous in every locale (SPEC N5).

    >>> format_date(date(2024, 2, 29))
    '29 February 2024'
    """
    require_date(day, "day")
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


# --------------------------------------------------------------------------- events


@final
@attrs.frozen(cache_hash=True)  # it keys the sweep's dicts: hashed once, not per lookup
class EventId:
    """What identifies a lifecycle event: (device, kind, due date) (SPEC N1, N3).

    ``on`` is the due date; for a battery failure, which has none, the day it was reported.
    A moved due date is a different :class:`EventId`, hence a new event (SPEC N3).
    """

    serial: str
    kind: EventKind
    on: date


@final
@attrs.frozen
class LifecycleEvent:
    """One lifecycle event of one device (SPEC N1).

    ``due`` is ``None`` only for a battery failure, which carries ``reported_on`` instead.
    ``plan`` is the paid plan that expires, for a plan expiry only. ``sku`` is what the
    customer needs: the replacement battery cartridge, the warranty extension, the plan
    license, or the recommended replacement UPS. ``model`` is carried so that a notice needs
    nothing else (SPEC N6). Equality compares every field; :attr:`id` is the identity.
    """

    serial: str = attrs.field(converter=_serial)
    kind: EventKind = attrs.field(validator=_instance_of(EventKind))
    due: date | None = attrs.field(validator=_optional_date)
    plan: Plan | None = None
    sku: str | None = attrs.field(default=None, converter=_optional_text)
    model: str = attrs.field(kw_only=True, converter=_model)
    reported_on: date | None = attrs.field(default=None, kw_only=True, validator=_optional_date)
    id: EventId = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        if self.kind.has_due_date:
            if self.due is None:
                raise InvalidInput(f"a {self.kind.value} event needs a due date (SPEC N1)")
            if self.reported_on is not None:
                raise InvalidInput("only a battery failure has a reported_on day (SPEC N1)")
            on = self.due
        else:
            if self.due is not None or self.reported_on is None:
                raise InvalidInput(
                    "a battery failure has no due date and needs the day it was reported "
                    "(reported_on) (SPEC N1)"
                )
            on = self.reported_on
        if self.kind is EventKind.PLAN_EXPIRY:
            if not isinstance(self.plan, Plan) or not self.plan.is_paid:
                raise InvalidInput(
                    f"a plan expiry names the paid plan that expires, got {self.plan!r} (SPEC N1)"
                )
        elif self.plan is not None:
            raise InvalidInput(f"only a plan expiry names a plan, not a {self.kind.value} event")
        object.__setattr__(self, "id", EventId(self.serial, self.kind, on))


_EVENT_SLOTS: Final = slot_setters(
    LifecycleEvent, "serial", "kind", "due", "plan", "sku", "model", "reported_on", "id"
)
_EVENT_ID_SLOTS: Final = slot_setters(EventId, "serial", "kind", "on", "_attrs_cached_hash")


def trusted_event(
    serial: str,
    kind: EventKind,
    due: date | None,
    plan: Plan | None,
    sku: str | None,
    model: str,
    reported_on: date | None = None,
) -> LifecycleEvent:
    """A :class:`LifecycleEvent` of values the library built and checked itself (validated
    facts, or its own stored schedule), without running the validators again: the
    sweep's and the rules' hot path (docs/performance.md, B1). Never for caller input: the
    public constructor is the one that checks."""
    on = reported_on if due is None else due
    assert on is not None  # a failure has its reported day, other kinds a due date
    event_id = object.__new__(EventId)
    set_serial, set_kind, set_on, set_no_hash_yet = _EVENT_ID_SLOTS
    set_serial(event_id, serial)
    set_kind(event_id, kind)
    set_on(event_id, on)
    set_no_hash_yet(event_id, None)
    event = object.__new__(LifecycleEvent)
    set_serial, set_kind, set_due, set_plan, set_sku, set_model, set_reported, set_id = (
        _EVENT_SLOTS
    )
    set_serial(event, serial)
    set_kind(event, kind)
    set_due(event, due)
    set_plan(event, plan)
    set_sku(event, sku)
    set_model(event, model)
    set_reported(event, reported_on)
    set_id(event, event_id)
    return event


def default_plan_license_sku(plan: Plan) -> str:
    """What a plan-expiry notice names as the SKU needed: ``"Standard plan license 1Y/3Y/5Y"``.

    The shipped catalog has no plan license part numbers; with an operator's catalog that
    has some, callers pass ``reports.plan_license_sku_of(catalog)`` as ``plan_license_sku``.
    """
    return _PLAN_LICENSE_SKUS[require_instance(plan, Plan, "plan")]


_PLAN_LICENSE_SKUS: Final = tuple(f"{plan.title} plan license 1Y/3Y/5Y" for plan in Plan)
""":func:`default_plan_license_sku` by plan value."""


def service_life_ends_on(
    service_life_months: int, *, registered_on: date, manufactured_on: date | None = None
) -> date:
    """The day a UPS reaches its model's recommended service life: UPS upgrade due (SPEC N1).

    The service life runs from the manufacture date when it is known (a UPS ages on the
    shelf too), otherwise from registration; months are calendar months (SPEC D3).

    >>> service_life_ends_on(96, registered_on=date(2024, 2, 29))
    datetime.date(2032, 2, 29)
    >>> service_life_ends_on(96, registered_on=date(2024, 2, 29), manufactured_on=date(2023, 8, 31))
    datetime.date(2031, 8, 31)
    """
    require_date(registered_on, "registered_on")
    if isinstance(service_life_months, bool) or not isinstance(service_life_months, int):
        raise InvalidInput(
            f"service_life_months must be a whole number, got {service_life_months!r}"
        )
    if service_life_months < 1:
        raise InvalidInput(f"service_life_months must be at least 1, got {service_life_months}")
    start = registered_on
    if manufactured_on is not None:
        require_date(manufactured_on, "manufactured_on")
        if manufactured_on > registered_on:
            raise InvalidInput(
                f"a UPS manufactured on {manufactured_on.isoformat()} cannot have been "
                f"registered before, on {registered_on.isoformat()}"
            )
        start = manufactured_on
    return add_months(start, service_life_months)


@final
@attrs.frozen
class DeviceFacts:
    """What the lifecycle rules need to know of one device (SPEC N1).

    The dates come from the other rules: ``warranty_expires_on`` from ``warranty()`` (E8),
    ``battery_replace_by`` from ``Battery.replace_by`` (E9), ``service_life_ends_on`` from
    :func:`service_life_ends_on`; ``battery_failure_reported_on`` is the day, in the owner's
    calendar, that the UPS reported a failed battery, ``None`` while it reports none. The
    SKUs come from the catalog (C1) and may be unknown (``None``). A date left ``None`` means
    no event of that kind. Serial and model are compared in upper case, as at registration.
    """

    serial: str = attrs.field(converter=_serial)
    model: str = attrs.field(converter=_model)
    coverage: Coverage = attrs.field(validator=_instance_of(Coverage))
    warranty_expires_on: date | None = attrs.field(default=None, validator=_optional_date)
    battery_replace_by: date | None = attrs.field(default=None, validator=_optional_date)
    service_life_ends_on: date | None = attrs.field(default=None, validator=_optional_date)
    battery_failure_reported_on: date | None = attrs.field(default=None, validator=_optional_date)
    battery_sku: str | None = attrs.field(default=None, converter=_optional_text)
    warranty_extension_sku: str | None = attrs.field(default=None, converter=_optional_text)
    upgrade_sku: str | None = attrs.field(default=None, converter=_optional_text)

    def __attrs_post_init__(self) -> None:
        reported = self.battery_failure_reported_on
        if reported is not None and reported < self.registered_on:
            raise DateBeforeRegistration("the battery failure report", reported, self.registered_on)

    @property
    def registered_on(self) -> date:
        """The registration day, which starts the coverage (SPEC E2)."""
        return self.coverage.registered_on


_FACTS_SLOTS: Final = slot_setters(
    DeviceFacts,
    "serial", "model", "coverage", "warranty_expires_on", "battery_replace_by",
    "service_life_ends_on", "battery_failure_reported_on", "battery_sku",
    "warranty_extension_sku", "upgrade_sku",
)  # fmt: skip


def trusted_facts(
    serial: str,
    model: str,
    coverage: Coverage,
    *,
    warranty_expires_on: date | None,
    battery_replace_by: date | None,
    service_life_ends_on: date | None,
    battery_failure_reported_on: date | None,
    battery_sku: str | None,
    warranty_extension_sku: str | None,
    upgrade_sku: str | None,
) -> DeviceFacts:
    """:class:`DeviceFacts` of values the library computed and checked itself (the write
    path's :func:`~upslife.app.facts.build_facts`), without running the validators again
    (docs/performance.md, B1). Serial and model must be in upper case already, the dates
    those of the rules, a failure not reported before registration. Never for caller
    input: the public constructor is the one that checks."""
    facts = object.__new__(DeviceFacts)
    (
        set_serial, set_model, set_coverage, set_warranty, set_replace_by, set_life,
        set_failure, set_battery_sku, set_extension_sku, set_upgrade_sku,
    ) = _FACTS_SLOTS  # fmt: skip
    set_serial(facts, serial)
    set_model(facts, model)
    set_coverage(facts, coverage)
    set_warranty(facts, warranty_expires_on)
    set_replace_by(facts, battery_replace_by)
    set_life(facts, service_life_ends_on)
    set_failure(facts, battery_failure_reported_on)
    set_battery_sku(facts, battery_sku)
    set_extension_sku(facts, warranty_extension_sku)
    set_upgrade_sku(facts, upgrade_sku)
    return facts


_EventSpec = tuple[EventKind, date | None, Plan | None, str | None, date | None]
"""One event of a device's facts: kind, due date, plan, SKU and reported day."""


def _event_specs(
    device: DeviceFacts, plan_license_sku: Callable[[Plan], str]
) -> list[_EventSpec]:
    """The events of :func:`lifecycle_events`, in its order, before they are built."""
    specs: list[_EventSpec] = []
    if device.battery_failure_reported_on is not None:
        specs.append(
            (EventKind.BATTERY_FAILURE, None, None, device.battery_sku,
             device.battery_failure_reported_on)
        )  # fmt: skip
    if device.battery_replace_by is not None:
        specs.append(
            (EventKind.BATTERY_REPLACEMENT, device.battery_replace_by, None, device.battery_sku,
             None)
        )  # fmt: skip
    if device.warranty_expires_on is not None:
        specs.append(
            (EventKind.WARRANTY_EXPIRY, device.warranty_expires_on, None,
             device.warranty_extension_sku, None)
        )  # fmt: skip
    default_sku = plan_license_sku is default_plan_license_sku
    # Coverage.drops, without a PlanDrop each: a fall to a lower plan is always from a paid
    # one (BASIC is the lowest), so every drop is a plan expiry.
    for before, after in itertools.pairwise(device.coverage.segments):
        expiring = before.plan
        if after.plan >= expiring:
            continue
        if default_sku:
            sku = _PLAN_LICENSE_SKUS[expiring]
        else:  # a caller's function: its answer is checked
            sku = require_text(plan_license_sku(expiring), "sku")
        specs.append((EventKind.PLAN_EXPIRY, after.start, expiring, sku, None))
    if device.service_life_ends_on is not None:
        specs.append(
            (EventKind.UPS_UPGRADE, device.service_life_ends_on, None, device.upgrade_sku, None)
        )
    return specs


def lifecycle_events(
    device: DeviceFacts,
    *,
    plan_license_sku: Callable[[Plan], str] = default_plan_license_sku,
) -> tuple[LifecycleEvent, ...]:
    """The lifecycle events of a device (SPEC N1), in a fixed order.

    A battery failure (when one is reported), the battery replacement, the warranty expiry,
    one plan expiry per day the coverage falls from a paid plan to a lower one (the trial's
    end included: ``Coverage.drops``), and the UPS upgrade due at the end of service life.
    Past events are included: :func:`stage_due` decides whether they still send anything.
    """
    if not isinstance(device, DeviceFacts):
        raise InvalidInput(f"expected DeviceFacts, got {type(device).__name__}")
    sku_of: object = plan_license_sku
    if plan_license_sku is not default_plan_license_sku and not callable(sku_of):
        raise InvalidType(f"plan_license_sku must be callable, got {type(sku_of).__name__}")
    serial, model = device.serial, device.model
    # The facts are validated: their events are built without validating again (B1).
    return tuple(
        trusted_event(serial, kind, due, plan, sku, model, reported_on)
        for kind, due, plan, sku, reported_on in _event_specs(device, plan_license_sku)
    )


def resolve(
    previous: Iterable[LifecycleEvent], current: Iterable[LifecycleEvent]
) -> tuple[tuple[LifecycleEvent, ...], tuple[LifecycleEvent, ...]]:
    """``(resolved, new)`` between two readings of a device's events (SPEC N3).

    Events are compared by :attr:`LifecycleEvent.id`, (device, kind, due date). An event of
    ``previous`` that ``current`` no longer has is resolved: its due date moved (license
    renewed, battery replaced, warranty extended) or its condition cleared; it gets no further
    notices. An event of ``current`` that ``previous`` lacked is new, with its own schedule.
    """
    before = require_items(previous, LifecycleEvent, "previous")
    after = require_items(current, LifecycleEvent, "current")
    before_ids = {event.id for event in before}
    after_ids = {event.id for event in after}
    return (
        tuple(e for e in before if e.id not in after_ids),
        tuple(e for e in after if e.id not in before_ids),
    )


# --------------------------------------------------------------------------- schedule


@final
@attrs.frozen
class SentStage:
    """The sweep's memory: ``stage`` of ``event`` was sent on ``on`` (SPEC N2, N4).

    A store keeps one per (event, stage) sent; :func:`sent_stages` makes them from the
    notices of a sweep. Reminders are outside the schedule and are not recorded here (N8).
    """

    event: EventId = attrs.field(validator=_instance_of(EventId))
    stage: Stage = attrs.field(validator=_instance_of(Stage))
    on: date = attrs.field(validator=_date_field)

    def __attrs_post_init__(self) -> None:
        if self.stage is Stage.REMINDER:
            raise InvalidInput("a reminder is not a stage of the schedule (SPEC N8)")


def _progress(sent: Iterable[SentStage]) -> dict[EventId, tuple[set[Stage], date]]:
    """Stages sent per event, and the last day one was."""
    progress: dict[EventId, tuple[set[Stage], date]] = {}
    for record in sent:
        if not isinstance(record, SentStage):
            raise InvalidInput(f"sent must hold SentStage records, got {type(record).__name__}")
        seen = progress.get(record.event)
        if seen is None:
            progress[record.event] = ({record.stage}, record.on)
        else:
            seen[0].add(record.stage)
            if record.on > seen[1]:
                progress[record.event] = (seen[0], record.on)
    return progress


_NOTHING_SENT: Final[tuple[frozenset[Stage], None]] = (frozenset(), None)


def _stage_on(
    event: LifecycleEvent, today: date, sent: Collection[Stage], grace: int
) -> Stage | None:
    """The core of :func:`stage_due`, without argument checks (the sweep's hot path)."""
    due = event.due
    if due is None:  # a battery failure: one IMMEDIATE stage, from the day it was reported
        reported = event.reported_on
        assert reported is not None  # guaranteed by LifecycleEvent
        return Stage.IMMEDIATE if today >= reported and Stage.IMMEDIATE not in sent else None
    days_before = (due - today).days
    if days_before > 90 or days_before < -grace:
        return None
    stage = _schedule_stage(days_before)
    for later in SCHEDULE[SCHEDULE.index(stage) :]:
        if later in sent:
            return None
    return stage


def stage_due(
    event: LifecycleEvent,
    today: date,
    sent: Collection[Stage],
    *,
    due_grace_days: int = DEFAULT_DUE_GRACE_DAYS,
    last_sent_on: date | None = None,
) -> Stage | None:
    """The stage ``event`` has to send on ``today``, or ``None`` (SPEC N2, N4).

    ``event`` must be unresolved (an event of the device's current facts, SPEC N3); ``sent``
    holds the stages it already sent. The answer is the latest stage of :data:`SCHEDULE`
    whose date (due − 90, − 30, − 7 days, due) is on or before ``today``, unless it or a
    later stage was sent: skipped stages are never sent late (N4). The due-day stage stays
    due up to ``due_grace_days`` days late: with the default 7, on due + 7 yes, due + 8 no;
    from due + 1 on, a battery's due stage is titled "Battery End of Life Exceeded" (N5).
    An event first seen inside its window gets the current stage at once (N4).

    A battery failure has one stage, ``IMMEDIATE``, due from the day it was reported until
    it is sent. ``last_sent_on``, the day the event last sent a notice, guarantees one notice
    per event per day even if ``sent`` is stale: on or before that day nothing is due.
    """
    require_date(today, "today")
    grace = _require_grace(due_grace_days)
    if not isinstance(event, LifecycleEvent):
        raise InvalidInput(f"expected a LifecycleEvent, got {type(event).__name__}")
    if last_sent_on is not None and require_date(last_sent_on, "last_sent_on") >= today:
        return None
    stages = frozenset(require_items(sent, Stage, "sent"))
    return _stage_on(event, today, stages, grace)


def _open_day(
    due: date | None,
    reported_on: date | None,
    seen: tuple[Collection[Stage], date | None],
    lower: date | None,
    grace: timedelta,
) -> date | None:
    """The first day from ``lower`` on (any day if ``None``) that an event has a stage to
    send (``_stage_on`` is not None), given ``seen``: its stages sent and the last day one
    was. ``due`` is the event's due date; a battery failure has ``reported_on`` instead."""
    sent, last = seen
    if last is not None:  # one notice per event per day: none on or before the last one
        if last == date.max:
            return None
        day_after_last = last + _ONE_DAY
        lower = day_after_last if lower is None else max(lower, day_after_last)
    if due is None:
        if Stage.IMMEDIATE in sent:
            return None
        assert reported_on is not None  # guaranteed by LifecycleEvent
        return reported_on if lower is None else max(reported_on, lower)
    pending = 0  # the index in SCHEDULE of the first stage after the last one sent
    if sent:  # (an empty collection: nothing sent, and no stage hashed to find that out)
        pending = len(SCHEDULE)
        while pending and SCHEDULE[pending - 1] not in sent:
            pending -= 1
        if pending == len(SCHEDULE):
            return None  # the due stage was sent: the event is done
    # The stages' windows tile [due - 90, due + grace] without gaps, so the first open day
    # is the start of the first stage after the last one sent (or ``lower``).
    start = _shift(due, _OPENS[pending])
    day = start if lower is None else max(start, lower)
    return day if day <= _shift(due, grace) else None


_Window = tuple[dict[EventId, tuple[set[Stage], date]], date | None, timedelta]


def _window(sent: Iterable[SentStage], after: date | None, due_grace_days: int) -> _Window | None:
    """The checked arguments of :func:`next_notice_date`: the stages sent per event, the
    first day to consider and the grace; ``None`` when no day is left after ``after``."""
    if type(due_grace_days) is int and due_grace_days == DEFAULT_DUE_GRACE_DAYS:  # the default
        grace = _DEFAULT_GRACE
    else:  # (any grace past timedelta's range ends past date.max too: the same answer)
        grace = timedelta(min(_require_grace(due_grace_days), timedelta.max.days))
    lower: date | None = None
    if after is not None:
        if require_date(after, "after") == date.max:
            return None
        lower = after + _ONE_DAY
    if type(sent) is tuple and not sent:  # nothing sent: nothing to check or to index
        return {}, lower, grace
    return _progress(require_items(sent, SentStage, "sent")), lower, grace


_DEFAULT_GRACE: Final = timedelta(DEFAULT_DUE_GRACE_DAYS)


def next_notice_date(
    events: Iterable[LifecycleEvent],
    sent: Iterable[SentStage] = (),
    *,
    after: date | None = None,
    due_grace_days: int = DEFAULT_DUE_GRACE_DAYS,
) -> date | None:
    """The first day, after ``after`` if given, on which any of ``events`` sends a notice.

    It agrees with :func:`stage_due` given ``sent`` (and each event's last sent day as its
    ``last_sent_on``): on every day before the answer, no event has a stage due; on the
    answer, one has. ``None`` means nothing will ever be sent for these events. A store can
    index this per device so that a daily sweep on day ``T`` reads only the devices whose
    date is on or before ``T``; recompute it after each sweep (``after=T``) and whenever the
    device's facts change. Costs O(events + sent), with no loop over days (SPEC N2, N4).
    """
    window = _window(sent, after, due_grace_days)
    if window is None:
        return None
    progress, lower, grace = window
    best: date | None = None
    for event in require_items(events, LifecycleEvent, "events"):
        # nothing sent: no event's id to hash
        seen = progress.get(event.id, _NOTHING_SENT) if progress else _NOTHING_SENT
        day = _open_day(event.due, event.reported_on, seen, lower, grace)
        if day is not None and (best is None or day < best):
            best = day
    return best


def next_notice_date_of(
    device: DeviceFacts,
    sent: Iterable[SentStage] = (),
    *,
    after: date | None = None,
    due_grace_days: int = DEFAULT_DUE_GRACE_DAYS,
) -> date | None:
    """``next_notice_date(lifecycle_events(device), sent, ...)`` without building the
    events, when only the date is wanted (SPEC N2, N4): the write path's cost
    (docs/performance.md, B1). The events' dates come from the code that builds them."""
    if not isinstance(device, DeviceFacts):
        raise InvalidInput(f"expected DeviceFacts, got {type(device).__name__}")
    window = _window(sent, after, due_grace_days)
    if window is None:
        return None
    progress, lower, grace = window
    if not progress:  # the write path's case: nothing sent yet
        return _first_open_day_unsent(device, lower, grace)
    serial = device.serial
    best: date | None = None
    for kind, due, _plan, _sku, reported_on in _event_specs(device, default_plan_license_sku):
        seen: tuple[Collection[Stage], date | None] = _NOTHING_SENT
        if progress:
            on = reported_on if due is None else due
            assert on is not None  # a failure has its reported day, other kinds a due date
            seen = progress.get(EventId(serial, kind, on), _NOTHING_SENT)
        day = _open_day(due, reported_on, seen, lower, grace)
        if day is not None and (best is None or day < best):
            best = day
    return best


def _first_open_day_unsent(
    device: DeviceFacts, lower: date | None, grace: timedelta
) -> date | None:
    """The loop of :func:`next_notice_date_of` when no stage was sent, folded (B1).

    With nothing sent, a dated event's first open day is ``max(due - 90, lower)``, and it
    has one iff ``lower <= due + grace`` (``_open_day``). Among those events the earliest
    such day is ``max(earliest due - 90, lower)``: one subtraction, not one per event. A
    reported battery failure opens on ``max(reported, lower)``. A property test holds this
    to the event loop.
    """
    # lower <= due + grace, clamped at the calendar's ends as _shift clamps
    earliest_due = date.min if lower is None else _shift(lower, -grace)
    soonest: date | None = None
    for due in (device.battery_replace_by, device.warranty_expires_on, device.service_life_ends_on):
        if due is not None and due >= earliest_due and (soonest is None or due < soonest):
            soonest = due
    # the plan expiries: every day the coverage falls to a lower plan (as in _event_specs)
    for before, after in itertools.pairwise(device.coverage.segments):
        due = after.start
        if after.plan < before.plan and due >= earliest_due and (soonest is None or due < soonest):
            soonest = due
    best = None if soonest is None else _shift(soonest, _OPENS[0])
    if best is not None and lower is not None and lower > best:
        best = lower
    reported = device.battery_failure_reported_on
    if reported is not None:
        failure = reported if lower is None else max(reported, lower)
        if best is None or failure < best:
            best = failure
    return best


# --------------------------------------------------------------------------- titles


def title_for(event: LifecycleEvent, on: date) -> str:
    """The title of a notice of ``event`` sent on ``on`` (SPEC N5).

    The title follows from the sending day, not the stage: the due-day stage sent late
    reads "Battery End of Life Exceeded", and a reminder reads like a notice of its day.

    Battery: "Battery Replacement Due" before the due date, "Replace Battery" on it,
    "Battery End of Life Exceeded" after it; a failure: "Battery Needs Replacement".
    Warranty: "Warranty Expires on [date]" at every stage. Plan: "Standard Plan Expires on
    [date]" before the due date, "Standard Plan Expired on [date]" on and after it (and
    likewise "Advanced"). UPS upgrade: "UPS Upgrade Due on [date]" before, "Upgrade UPS" on
    the day, "UPS Service Life Exceeded" after. Dates print as :func:`format_date` does.
    """
    if not isinstance(event, LifecycleEvent):
        raise InvalidInput(f"expected a LifecycleEvent, got {type(event).__name__}")
    require_date(on, "on")
    kind = event.kind
    if kind is EventKind.BATTERY_FAILURE:
        return "Battery Needs Replacement"
    due = event.due
    assert due is not None  # every other kind has a due date
    if kind is EventKind.WARRANTY_EXPIRY:
        return f"Warranty Expires on {format_date(due)}"
    if kind is EventKind.PLAN_EXPIRY:
        assert event.plan is not None  # guaranteed by LifecycleEvent
        verb = "Expires" if on < due else "Expired"
        return f"{event.plan.title} Plan {verb} on {format_date(due)}"
    if kind is EventKind.BATTERY_REPLACEMENT:
        if on < due:
            return "Battery Replacement Due"
        return "Replace Battery" if on == due else "Battery End of Life Exceeded"
    if on < due:
        return f"UPS Upgrade Due on {format_date(due)}"
    return "Upgrade UPS" if on == due else "UPS Service Life Exceeded"


def _severity(event: LifecycleEvent, stage: Stage, on: date) -> Severity:
    """90 days informational, 30 and 7 a warning, the due day and after critical (N5).

    A reminder takes the severity of the stage in force on its day; a failure is critical.
    """
    if stage is Stage.REMINDER:
        if event.due is None:
            return Severity.CRITICAL
        stage = _schedule_stage((event.due - on).days)
    return _SCHEDULE_SEVERITY[stage]


# --------------------------------------------------------------------------- recipients


class RecipientKind(enum.Enum):
    """Who a notice goes to (SPEC N6)."""

    OWNER = "owner"
    RESELLER = "reseller"
    CHAT = "chat"


class ChatKind(enum.Enum):
    """The chat systems a route can point to (SPEC E10, N6)."""

    SLACK = "slack"
    TEAMS = "teams"


def _route_name(value: object) -> str:
    return require_text(value, "route name")


@final
@attrs.frozen
class ChatRoute:
    """One of the owner's Slack or Teams routes, by name; the URL is the adapter's business."""

    kind: ChatKind = attrs.field(validator=_instance_of(ChatKind))
    name: str = attrs.field(converter=_route_name)


@final
@attrs.frozen
class Recipient:
    """Where one notice goes: the owner's or the reseller's email, or a chat route (SPEC N6).

    Build with :meth:`owner`, :meth:`reseller` or :meth:`route`. ``address`` is the email
    address (its domain in lower case) or the route's name; ``chat`` is set for routes only.
    """

    kind: RecipientKind = attrs.field(validator=_instance_of(RecipientKind))
    address: str
    chat: ChatKind | None = None

    def __attrs_post_init__(self) -> None:
        if self.kind is RecipientKind.CHAT:
            if not isinstance(self.chat, ChatKind):
                raise InvalidInput("a chat recipient needs its ChatKind (SLACK or TEAMS)")
            object.__setattr__(self, "address", require_text(self.address, "route name"))
        else:
            if self.chat is not None:
                raise InvalidInput(f"an {self.kind.value} recipient is an email, not a chat route")
            email = require_email(self.address, f"{self.kind.value} email")
            object.__setattr__(self, "address", email)

    @classmethod
    def owner(cls, email: str) -> Recipient:
        return cls(RecipientKind.OWNER, email)

    @classmethod
    def reseller(cls, email: str) -> Recipient:
        return cls(RecipientKind.RESELLER, email)

    @classmethod
    def route(cls, route: ChatRoute) -> Recipient:
        return cls(RecipientKind.CHAT, route.name, route.kind)


_RECIPIENT_SLOTS: Final = slot_setters(Recipient, "kind", "address", "chat")


def _trusted_recipient(kind: RecipientKind, address: str, chat: ChatKind | None) -> Recipient:
    """A :class:`Recipient` of an address the library checked already (a :class:`Contact`'s
    email, a checked reseller email, a :class:`ChatRoute`'s name), without checking it
    again: the sweep's hot path. Never for caller input."""
    return trusted_instance(Recipient, _RECIPIENT_SLOTS, kind, address, chat)


def _recipient_parts(recipient: Recipient) -> tuple[str, str, str]:
    """The recipient's part of an idempotency key: kind, chat kind or "", address."""
    chat = recipient.chat.value if recipient.chat is not None else ""
    return (recipient.kind.value, chat, recipient.address)


def _company(value: object) -> str:
    return require_text(value, "company")


def _full_name(value: object) -> str:
    return require_text(value, "full_name")


def _optional_contact_text(value: object) -> str | None:
    return None if value is None else require_text(value, "contact detail")


@final
@attrs.frozen
class Contact:
    """The owner's contact details, which every notice carries (SPEC N6).

    Company, full name and email are required; job role and phone may be unknown.
    """

    company: str = attrs.field(converter=_company)
    full_name: str = attrs.field(converter=_full_name)
    email: str = attrs.field(converter=require_email)
    job_role: str | None = attrs.field(default=None, converter=_optional_contact_text)
    phone: str | None = attrs.field(default=None, converter=_optional_contact_text)


@attrs.frozen
class _Audience:
    """The recipients a device's notices can have on one day, built once per sweep."""

    everyone: tuple[Recipient, ...]  # owner, reseller if connected, chat routes if allowed
    without_reseller: tuple[Recipient, ...]

    def for_kind(self, kind: EventKind) -> tuple[Recipient, ...]:
        return self.everyone if kind.reaches_reseller else self.without_reseller


def _check_audience(
    owner: object, reseller_email: object, reseller_state: object, routes: tuple[object, ...]
) -> None:
    """Cheap type checks, done on every call; addresses are checked when a notice is built."""
    if not isinstance(owner, Contact):
        raise InvalidInput(f"owner must be a Contact, got {type(owner).__name__}")
    if reseller_state is not None and not isinstance(reseller_state, InvitationState):
        raise InvalidInput(f"reseller_state must be an InvitationState, got {reseller_state!r}")
    if reseller_state is not None and reseller_email is None:
        raise InvalidInput(f"a reseller state ({reseller_state.value}) without a reseller email")
    for route in routes:
        if not isinstance(route, ChatRoute):
            raise InvalidInput(f"chat_routes must hold ChatRoute values, got {route!r}")


def _audience(
    owner: Contact,
    reseller_email: str | None,
    reseller_state: InvitationState | None,
    routes: tuple[ChatRoute, ...],
    plan_in_force: Plan,
) -> _Audience:
    chats: tuple[Recipient, ...] = ()
    if routes and can(plan_in_force, Feature.CHAT_ROUTING):
        # a ChatRoute's name is checked text, as Recipient.route would make it
        chats = tuple(
            dict.fromkeys(
                _trusted_recipient(RecipientKind.CHAT, route.name, route.kind) for route in routes
            )
        )
    # a Contact's email is checked and normalised, as Recipient.owner would make it
    base = (_trusted_recipient(RecipientKind.OWNER, owner.email, None), *chats)
    if reseller_email is not None and reseller_state is InvitationState.ACCEPTED:
        return _Audience((base[0], Recipient.reseller(reseller_email), *chats), base)
    return _Audience(base, base)


def recipients_for(
    event: LifecycleEvent,
    *,
    owner: Contact,
    reseller_email: str | None = None,
    reseller_state: InvitationState | None = None,
    chat_routes: Iterable[ChatRoute] = (),
    plan_in_force: Plan,
) -> tuple[Recipient, ...]:
    """Who a notice of ``event`` goes to, in this order (SPEC N6, N7).

    The owner, always. The reseller, for battery, warranty and plan events, only when
    ``reseller_state`` is ACCEPTED: pass the state at the moment of sending (N7). The
    owner's chat routes (duplicates dropped), only when ``plan_in_force`` includes
    Slack/Teams routing (E10).
    """
    if not isinstance(event, LifecycleEvent):
        raise InvalidInput(f"expected a LifecycleEvent, got {type(event).__name__}")
    plan_in_force = Plan.parse(plan_in_force)
    routes = require_items(chat_routes, ChatRoute, "chat_routes")
    _check_audience(owner, reseller_email, reseller_state, routes)
    return _audience(owner, reseller_email, reseller_state, routes, plan_in_force).for_kind(
        event.kind
    )


# --------------------------------------------------------------------------- notices


_KEY_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
"""``json.dumps(parts, ensure_ascii=False, separators=(",", ":"))`` without building an
encoder for every key (the plan makes one key per notice)."""


def _sha256(parts: Iterable[str]) -> str:
    canonical = _KEY_ENCODER.encode(list(parts))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _notice_key(event: LifecycleEvent, stage: Stage, recipient: Recipient, on: date) -> str:
    """The idempotency key of SPEC N9; the formula is in docs/notifications.md."""
    event_id = event.id
    anchor = event_id.on.isoformat()
    stage_part = f"reminder@{on.isoformat()}" if stage is Stage.REMINDER else stage.value
    digest = _sha256(
        (
            _NOTICE_KEY_VERSION,
            event_id.serial,
            event_id.kind.value,
            anchor,
            stage_part,
            *_recipient_parts(recipient),
        )
    )
    return (
        f"notice:{event_id.serial}:{event_id.kind.value}:{anchor}:{stage_part}:"
        f"{recipient.kind.value}:{digest}"
    )


@final
@attrs.frozen
class Notice:
    """One notice to one recipient: everything a message needs (SPEC N5, N6, N9).

    ``sent_on`` is the sweep day (or the reminder's day). ``customer`` is the owner's contact,
    carried to every recipient: the reseller needs it to reach the customer (N6), and the
    owner's own messages show the same facts. ``severity``, ``title`` and ``key`` follow from
    the other fields: :func:`title_for`, the N5 severities, and the N9 idempotency key, stable
    across runs and processes and unique per (device, kind, due date, stage, recipient).
    """

    event: LifecycleEvent = attrs.field(validator=_instance_of(LifecycleEvent))
    stage: Stage = attrs.field(validator=_instance_of(Stage))
    recipient: Recipient = attrs.field(validator=_instance_of(Recipient))
    customer: Contact = attrs.field(validator=_instance_of(Contact))
    sent_on: date = attrs.field(validator=_date_field)
    severity: Severity = attrs.field(init=False)
    title: str = attrs.field(init=False)
    key: str = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        failure = self.event.kind is EventKind.BATTERY_FAILURE
        if self.stage is not Stage.REMINDER and failure != (self.stage is Stage.IMMEDIATE):
            raise InvalidInput(
                f"stage {self.stage.value} does not fit a {self.event.kind.value} event: a "
                "failure has the IMMEDIATE stage, dated events the 90/30/7/due schedule"
            )
        object.__setattr__(self, "severity", _severity(self.event, self.stage, self.sent_on))
        object.__setattr__(self, "title", title_for(self.event, self.sent_on))
        object.__setattr__(
            self, "key", _notice_key(self.event, self.stage, self.recipient, self.sent_on)
        )

    @property
    def serial(self) -> str:
        return self.event.serial

    @property
    def model(self) -> str:
        return self.event.model

    @property
    def kind(self) -> EventKind:
        return self.event.kind

    @property
    def due(self) -> date | None:
        """The due date; ``None`` for a battery failure (see ``event.reported_on``)."""
        return self.event.due

    @property
    def sku(self) -> str | None:
        return self.event.sku

    @property
    def plan(self) -> Plan | None:
        """The plan that expires, for a plan-expiry notice."""
        return self.event.plan


_NOTICE_SLOTS: Final = slot_setters(
    Notice, "event", "stage", "recipient", "customer", "sent_on", "severity", "title", "key"
)


def _trusted_notice(
    event: LifecycleEvent, stage: Stage, recipient: Recipient, customer: Contact, sent_on: date
) -> Notice:
    """``Notice(event, stage, recipient, customer, sent_on)`` of values the library checked
    already and a stage :func:`_stage_on` picked for the event (so it fits its kind),
    without the field validators: the sweep's hot path. Severity, title and key are
    computed by the same functions as the public constructor's. Never for caller input."""
    return trusted_instance(
        Notice,
        _NOTICE_SLOTS,
        event,
        stage,
        recipient,
        customer,
        sent_on,
        _severity(event, stage, sent_on),
        title_for(event, sent_on),
        _notice_key(event, stage, recipient, sent_on),
    )


def sent_stages(notices: Iterable[Notice]) -> tuple[SentStage, ...]:
    """The :class:`SentStage` records a store keeps for notices it sent: one per stage.

    Reminders are left out: they are not part of the schedule (SPEC N8).
    """
    records = dict.fromkeys(
        SentStage(n.event.id, n.stage, n.sent_on)
        for n in require_items(notices, Notice, "notices")
        if n.stage is not Stage.REMINDER
    )
    return tuple(records)


def due_notices(
    device: DeviceFacts,
    today: date,
    *,
    owner: Contact,
    reseller_email: str | None = None,
    reseller_state: InvitationState | None = None,
    chat_routes: Iterable[ChatRoute] = (),
    sent: Iterable[SentStage] = (),
    sent_keys: Collection[str] = frozenset(),
    due_grace_days: int = DEFAULT_DUE_GRACE_DAYS,
    plan_license_sku: Callable[[Plan], str] = default_plan_license_sku,
    events: Sequence[LifecycleEvent] | None = None,
) -> tuple[Notice, ...]:
    """The notices a daily sweep on ``today`` sends for one device (SPEC N1–N9).

    ``events`` may pass ``lifecycle_events(device)`` computed already (the sweep also
    needs them for :func:`next_notice_date`), so they are not built twice.

    Events come from the device's current facts, so resolved events are simply absent (N3).
    For each event, :func:`stage_due` picks at most one stage, given the ``sent`` records
    (their last day is the event's ``last_sent_on``); each stage goes to
    :func:`recipients_for`, with ``reseller_state`` as it is at sending time (N7) and the
    plan in force on ``today`` for chat routing (E10). Notices whose key is in ``sent_keys``
    are left out, so a sweep run twice, or re-run after a crash, sends each notice once (N9).

    The caller delivers the notices (or folds them into digests, N10), and records
    :func:`sent_stages` of them: best in one transaction with its outbox keyed by
    :attr:`Notice.key`. A sweep day before registration raises
    :class:`DateBeforeRegistration`.
    """
    if not isinstance(device, DeviceFacts):
        raise InvalidInput(f"expected DeviceFacts, got {type(device).__name__}")
    require_date(today, "today")
    if today < device.registered_on:
        raise DateBeforeRegistration("the sweep day", today, device.registered_on)
    grace = _require_grace(due_grace_days)
    routes = require_items(chat_routes, ChatRoute, "chat_routes")
    _check_audience(owner, reseller_email, reseller_state, routes)
    if isinstance(sent_keys, str) or not isinstance(sent_keys, Collection):
        raise InvalidType(f"sent_keys must be a collection of keys, got {type(sent_keys).__name__}")
    if events is None:
        events = lifecycle_events(device, plan_license_sku=plan_license_sku)
    else:
        events = require_items(events, LifecycleEvent, "events")
    return _notices_of(
        events, today, _progress(require_items(sent, SentStage, "sent")), grace,
        device.coverage.plan_on,
        (owner, reseller_email, reseller_state, routes), sent_keys,
    )


def scheduled_notices(
    events: Sequence[LifecycleEvent],
    today: date,
    *,
    registered_on: date,
    plan_on: Callable[[date], Plan],
    owner: Contact,
    reseller_email: str | None = None,
    reseller_state: InvitationState | None = None,
    chat_routes: Iterable[ChatRoute] = (),
    sent: Iterable[SentStage] = (),
    due_grace_days: int = DEFAULT_DUE_GRACE_DAYS,
) -> tuple[Notice, ...]:
    """:func:`due_notices` from a device's stored events and plan timeline (``plan_on``,
    the plan in force on a day) instead of its facts: the same rules (SPEC N1–N9), the
    same code, without recomputing coverage. The stored schedule's read path."""
    require_date(today, "today")
    if today < registered_on:
        raise DateBeforeRegistration("the sweep day", today, registered_on)
    grace = _require_grace(due_grace_days)
    routes = tuple(chat_routes)
    _check_audience(owner, reseller_email, reseller_state, routes)
    return _notices_of(
        require_items(events, LifecycleEvent, "events"), today, _progress(sent), grace, plan_on,
        (owner, reseller_email, reseller_state, routes), frozenset(),
    )


def _notices_of(
    events: Iterable[LifecycleEvent],
    today: date,
    progress: Mapping[EventId, tuple[set[Stage], date]],
    grace: int,
    plan_on: Callable[[date], Plan],
    audience_of: tuple[Contact, str | None, InvitationState | None, tuple[ChatRoute, ...]],
    sent_keys: Collection[str],
) -> tuple[Notice, ...]:
    """The core of :func:`due_notices` and :func:`scheduled_notices`, arguments checked."""
    owner, reseller_email, reseller_state, routes = audience_of
    audience: _Audience | None = None  # built on the first due stage: most days have none
    notices: list[Notice] = []
    for event in events:
        stages, last = progress.get(event.id, _NOTHING_SENT)
        if last is not None and last >= today:
            continue
        stage = _stage_on(event, today, stages, grace)
        if stage is None:
            continue
        if audience is None:
            plan = plan_on(today)
            audience = _audience(owner, reseller_email, reseller_state, routes, plan)
        for recipient in audience.for_kind(event.kind):
            notice = _trusted_notice(event, stage, recipient, owner, today)
            if notice.key not in sent_keys:
                notices.append(notice)
    return tuple(notices)


# --------------------------------------------------------------------------- reminders


def reminder(
    event: LifecycleEvent,
    today: date,
    *,
    current_events: Iterable[LifecycleEvent],
    owner: Contact,
    reseller_email: str | None,
    reseller_state: InvitationState | None,
) -> Notice:
    """The owner's reminder to the connected reseller about ``event`` (SPEC N7, N8).

    Refused, in this order, with a :class:`~upslife.errors.RuleViolation`:
    :class:`ResellerNotConnected` unless the connection is ACCEPTED now (N7);
    :class:`EventNotForReseller` for a UPS upgrade, which resellers are not told of (N6);
    :class:`EventAlreadyResolved` unless ``event`` is among the device's ``current_events``
    (N3); :class:`ReminderOutOfWindow` unless ``due - 90 days <= today < due + 90 days``
    (for a battery failure: from the day it was reported to 90 days after).

    The notice has stage ``REMINDER`` and the title and severity of its day; its key holds
    the day, so one reminder per event and day goes out however often it is asked for.
    """
    if not isinstance(event, LifecycleEvent):
        raise InvalidInput(f"expected a LifecycleEvent, got {type(event).__name__}")
    require_date(today, "today")
    _check_audience(owner, reseller_email, reseller_state, ())
    if reseller_email is None or reseller_state is not InvitationState.ACCEPTED:
        state = "there is none" if reseller_state is None else f"it is {reseller_state.value}"
        raise ResellerNotConnected(
            f"a reminder goes only to a connected (accepted) reseller, and {state}; "
            "invite the reseller and wait for the acceptance (SPEC N7, N8)"
        )
    if not event.kind.reaches_reseller:
        raise EventNotForReseller(
            f"resellers are told of battery, warranty and plan events, not of a "
            f"{event.kind.value} (SPEC N6)"
        )
    if event.id not in {current.id for current in current_events}:
        raise EventAlreadyResolved(
            f"the {event.kind.value} event of {event.serial} on {event.id.on.isoformat()} is "
            "resolved (its date moved or its condition cleared); remind of the current one "
            "(SPEC N3)"
        )
    anchor = event.id.on
    window = timedelta(REMINDER_WINDOW_DAYS)
    opens = anchor if event.due is None else _shift(anchor, -window)
    closes = _shift(anchor, window)
    if not opens <= today < closes:
        raise ReminderOutOfWindow(
            f"a reminder for the {event.kind.value} event of {event.serial} on "
            f"{anchor.isoformat()} can be sent from {opens.isoformat()} until before "
            f"{closes.isoformat()}, not on {today.isoformat()} (SPEC N8)"
        )
    return Notice(event, Stage.REMINDER, Recipient.reseller(reseller_email), owner, today)


# --------------------------------------------------------------------------- digests


class DeliveryPreference(enum.Enum):
    """How a recipient takes its notices: one message each, or one digest a day (SPEC N10)."""

    IMMEDIATE = "immediate"
    DAILY_DIGEST = "daily-digest"


def _digest_order(notice: Notice) -> tuple[int, date, str, int, str]:
    """Critical first, then the earliest due date (a failure, with none, first)."""
    return (
        -notice.severity,
        notice.due or date.min,
        notice.serial,
        _STAGE_ORDER[notice.stage],
        notice.key,
    )


def _sorted_notices(notices: Iterable[Notice]) -> tuple[Notice, ...]:
    items = require_items(notices, Notice, "notices of a digest")
    return tuple(sorted(items, key=_digest_order))


@final
@attrs.frozen
class Digest:
    """All notices due to one recipient on one day, in one message (SPEC N10).

    ``notices`` are sorted by severity (critical first), then due date, then serial. The
    key is stable: a SHA-256 over the recipient, the day and the notices' keys, so the same
    digest computed again (a re-run sweep) has the same key, and a digest of different
    notices has another.
    """

    recipient: Recipient = attrs.field(validator=_instance_of(Recipient))
    day: date = attrs.field(validator=_date_field)
    notices: tuple[Notice, ...] = attrs.field(converter=_sorted_notices)
    key: str = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        if not self.notices:
            raise InvalidInput("a digest holds at least one notice")
        for notice in self.notices:
            if notice.recipient != self.recipient or notice.sent_on != self.day:
                raise InvalidInput(
                    f"notice {notice.key} is not for {self.recipient.kind.value} "
                    f"{self.recipient.address} on {self.day.isoformat()}"
                )
        digest = _sha256(
            (
                _DIGEST_KEY_VERSION,
                *_recipient_parts(self.recipient),
                self.day.isoformat(),
                *sorted(n.key for n in self.notices),
            )
        )
        object.__setattr__(
            self, "key", f"digest:{self.recipient.kind.value}:{self.day.isoformat()}:{digest}"
        )

    @property
    def severity(self) -> Severity:
        """The highest severity among the notices."""
        return self.notices[0].severity


def group_into_digests(
    notices: Iterable[Notice],
    preferences: Mapping[Recipient, DeliveryPreference],
) -> tuple[Digest | Notice, ...]:
    """Fold notices into digests for the recipients who chose one (SPEC N10).

    A recipient absent from ``preferences`` gets each notice on its own (IMMEDIATE). For a
    DAILY_DIGEST recipient, all its notices of one day become one :class:`Digest`, even a
    single one, placed where its first notice was; other notices keep their order.
    """
    notices = require_items(notices, Notice, "notices")
    if not isinstance(preferences, Mapping):
        raise InvalidType(f"preferences must be a mapping, got {type(preferences).__name__}")
    slots: list[Notice | tuple[Recipient, date]] = []
    groups: dict[tuple[Recipient, date], list[Notice]] = {}
    for notice in notices:
        if not isinstance(notice, Notice):
            raise InvalidInput(f"expected a Notice, got {type(notice).__name__}")
        preference = preferences.get(notice.recipient, DeliveryPreference.IMMEDIATE)
        if not isinstance(preference, DeliveryPreference):
            raise InvalidInput(f"preferences map to DeliveryPreference, got {preference!r}")
        if preference is DeliveryPreference.IMMEDIATE:
            slots.append(notice)
            continue
        group = (notice.recipient, notice.sent_on)
        if group not in groups:
            groups[group] = []
            slots.append(group)
        groups[group].append(notice)
    return tuple(
        slot if isinstance(slot, Notice) else Digest(slot[0], slot[1], groups[slot])
        for slot in slots
    )
