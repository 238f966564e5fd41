"""The rules' previous implementations, kept as references for the fast ones (B1).

``coverage``, ``next_notice_date`` and ``lifecycle_events`` as they were before the write
path was made cheap (docs/performance.md, B1): every object built through its public,
validating constructor, every run's end recomputed, every stage hashed. Property tests
hold the library's functions equal to these; nothing in ``src`` imports this module.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import date, timedelta

import attrs

from upslife._validation import require_date, require_items, require_text
from upslife.entitlements import (
    PLAN_CREDIT_CUTOFF,
    Coverage,
    ExtendedWarranty,
    License,
    LicenseSource,
    Plan,
    Reason,
    ReasonKind,
    Segment,
    UpgradePolicy,
    add_months,
    warranty_credits,
)
from upslife.errors import DateBeforeRegistration, InvalidInput, InvalidType
from upslife.notifications import (
    DEFAULT_DUE_GRACE_DAYS,
    SCHEDULE,
    DeviceFacts,
    EventId,
    EventKind,
    LifecycleEvent,
    SentStage,
    Stage,
    default_plan_license_sku,
)

_DAYS_BEFORE = {Stage.D90: 90, Stage.D30: 30, Stage.D7: 7, Stage.DUE: 0}


def _title(plan: Plan) -> str:
    return plan.name.capitalize()


def trial_license(registered_on: date) -> License:
    return License("trial", Plan.STANDARD, 6, registered_on, LicenseSource.TRIAL)


def trusted_event(
    serial: str,
    kind: EventKind,
    due: date | None,
    plan: Plan | None,
    sku: str | None,
    model: str,
    reported_on: date | None = None,
) -> LifecycleEvent:
    """The public, validating constructor, under the name the library's code calls."""
    return LifecycleEvent(serial, kind, due, plan, sku, model=model, reported_on=reported_on)


def _require_grace(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"due_grace_days must be a whole number of days >= 0, got {value!r}")
    return value

@attrs.define
class _Run:
    """Time of one plan being consumed: ends on ``(start + days) + months`` (SPEC E5)."""

    plan: Plan
    start: date
    days: int
    months: int
    reasons: list[Reason]

    @property
    def end(self) -> date:
        return add_months(self.start + timedelta(days=self.days), self.months)


@attrs.define
class _Bank:
    """Time of one plan waiting: paused days first, then queued months (SPEC E5)."""

    days: int = 0
    months: int = 0
    reasons: list[Reason] = attrs.Factory(list)

    def __bool__(self) -> bool:
        return self.days > 0 or self.months > 0


class _Timeline:
    """The E4 bank machine, fed licenses in assignment order."""

    def __init__(self, registered_on: date, policy: UpgradePolicy) -> None:
        self.policy = policy
        self.run: _Run | None = None
        self.banks = {Plan.STANDARD: _Bank(), Plan.ADVANCED: _Bank()}
        self.segments: list[Segment] = []
        self.cursor = registered_on  # where the last emitted segment ended

    def _emit(self, plan: Plan, start: date, end: date, reasons: Sequence[Reason]) -> None:
        if start > self.cursor:
            gap = Reason(ReasonKind.NO_TIME_LEFT, "no paid or trial time left: BASIC (SPEC E1)")
            self.segments.append(Segment(Plan.BASIC, self.cursor, start, (gap,)))
            self.cursor = start
        if end > start:
            self.segments.append(Segment(plan, start, end, tuple(reasons)))
            self.cursor = end

    def _resume_from_banks(self, day: date) -> None:
        for plan in (Plan.ADVANCED, Plan.STANDARD):
            bank = self.banks[plan]
            if bank:
                reasons = list(bank.reasons)
                if bank.days:
                    reasons.append(
                        Reason(
                            ReasonKind.RESUMED,
                            f"{bank.days} paused day(s) of {_title(plan)} resume (SPEC E4d)",
                        )
                    )
                self.run = _Run(plan, day, bank.days, bank.months, reasons)
                self.banks[plan] = _Bank()
                return
        self.run = None

    def advance(self, day: date) -> None:
        """Close every run that ended before ``day``, resuming lower banks as they do.

        A run ending exactly on ``day`` stays open: a license assigned on its expiry day
        continues it without a gap, so its anchor holds (SPEC E4a, E5).
        """
        while self.run is not None and self.run.end < day:
            run = self.run
            self._emit(run.plan, run.start, run.end, run.reasons)
            self._resume_from_banks(run.end)

    def add(self, lic: License) -> None:
        self.advance(lic.assigned_on)
        day, run = lic.assigned_on, self.run
        label = _license_label(lic)
        if run is None:
            self.run = _Run(lic.plan, day, 0, lic.months, [_start_reason(lic, label)])
        elif lic.plan is run.plan:
            run.months += lic.months
            kind = ReasonKind.TRIAL if lic.source is LicenseSource.TRIAL else ReasonKind.APPENDED
            run.reasons.append(Reason(kind, f"{label} appended (SPEC E4a)", lic.id))
        elif lic.plan > run.plan:
            self._upgrade(run, lic, label)
        else:
            bank = self.banks[lic.plan]
            bank.months += lic.months
            bank.reasons.append(
                Reason(
                    ReasonKind.QUEUED,
                    f"{label} queued behind {_title(run.plan)} on {day.isoformat()} (SPEC E4e)",
                    lic.id,
                )
            )

    def _upgrade(self, run: _Run, lic: License, label: str) -> None:
        day = lic.assigned_on
        remainder = (run.end - day).days
        closing = list(run.reasons)
        bank = self.banks[run.plan]
        if remainder > 0 and self.policy is UpgradePolicy.DEFER:
            closing.append(
                Reason(
                    ReasonKind.PAUSED,
                    f"upgrade to {_title(lic.plan)} paused {remainder} day(s) of "
                    f"{_title(run.plan)} (SPEC E4d)",
                    lic.id,
                )
            )
            bank.days += remainder
            bank.reasons.extend(r for r in run.reasons if run.start == day)
        elif remainder > 0:
            closing.append(
                Reason(
                    ReasonKind.FORFEITED,
                    f"upgrade to {_title(lic.plan)} forfeited {remainder} day(s) of "
                    f"{_title(run.plan)} (policy FORFEIT)",
                    lic.id,
                )
            )
        self._emit(run.plan, run.start, day, closing)
        upgrade = Reason(
            ReasonKind.UPGRADE, f"{label}: upgrade starts on assignment (SPEC E4c)", lic.id
        )
        self.run = _Run(lic.plan, day, 0, lic.months, [upgrade])

    def finish(self) -> tuple[Segment, ...]:
        while self.run is not None:
            run = self.run
            self._emit(run.plan, run.start, run.end, run.reasons)
            self._resume_from_banks(run.end)
        end = Reason(ReasonKind.NO_TIME_LEFT, "no paid or trial time left: BASIC (SPEC E1)")
        self.segments.append(Segment(Plan.BASIC, self.cursor, None, (end,)))
        return tuple(self.segments)


def _license_label(lic: License) -> str:
    if lic.source is LicenseSource.TRIAL:
        return f"{lic.months}-month {_title(lic.plan)} trial"
    what = "extended-warranty credit" if lic.source is LicenseSource.WARRANTY_CREDIT else "license"
    extra = f" [{'; '.join(lic.notes)}]" if lic.notes else ""
    return f"{_title(lic.plan)} {lic.months}-month {what} {lic.id}{extra}"


def _start_reason(lic: License, label: str) -> Reason:
    if lic.source is LicenseSource.TRIAL:
        return Reason(ReasonKind.TRIAL, f"{label} from registration (SPEC E2)", lic.id)
    if lic.source is LicenseSource.WARRANTY_CREDIT:
        return Reason(
            ReasonKind.WARRANTY_CREDIT,
            f"{label} starts on activation (before {PLAN_CREDIT_CUTOFF.isoformat()}, SPEC E7)",
            lic.id,
        )
    return Reason(ReasonKind.STARTED, f"{label} starts on assignment (SPEC E4f)", lic.id)


def coverage(
    registered_on: date,
    licenses: Iterable[License] = (),
    *,
    warranties: Iterable[ExtendedWarranty] = (),
    policy: UpgradePolicy = UpgradePolicy.DEFER,
    plan_credit_cutoff: date = PLAN_CREDIT_CUTOFF,
) -> Coverage:
    """The plan coverage of a device registered on ``registered_on`` (SPEC E2–E7).

    The trial is added here (SPEC E2); ``licenses`` are taken in assignment order, ties in
    the order given. Extended warranties activated before ``plan_credit_cutoff`` credit
    STANDARD time (SPEC E7). ``policy`` decides what an upgrade does to the lower plan's
    unused time (SPEC E4d). A license assigned before registration raises
    :class:`DateBeforeRegistration`.
    """
    require_date(registered_on, "registered_on")
    if not isinstance(policy, UpgradePolicy):
        raise InvalidInput(f"policy must be an UpgradePolicy, got {policy!r}")
    require_date(plan_credit_cutoff, "plan_credit_cutoff")
    grants = [trial_license(registered_on)]
    grants.extend(require_items(licenses, License, "licenses"))
    grants.extend(
        warranty_credits(
            require_items(warranties, ExtendedWarranty, "warranties"), cutoff=plan_credit_cutoff
        )
    )
    for lic in grants:
        if lic.assigned_on < registered_on:
            raise DateBeforeRegistration(f"license {lic.id}", lic.assigned_on, registered_on)
    grants.sort(key=lambda g: g.assigned_on)  # stable: same-day grants keep their order
    timeline = _Timeline(registered_on, policy)
    for lic in grants:
        timeline.add(lic)
    return Coverage(registered_on, policy, timeline.finish())


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
    if not callable(sku_of):
        raise InvalidType(f"plan_license_sku must be callable, got {type(sku_of).__name__}")
    serial, model = device.serial, device.model
    events: list[LifecycleEvent] = []
    # The facts are validated: their events are built without validating again (B1).
    if device.battery_failure_reported_on is not None:
        events.append(
            trusted_event(
                serial,
                EventKind.BATTERY_FAILURE,
                None,
                None,
                device.battery_sku,
                model,
                device.battery_failure_reported_on,
            )
        )
    if device.battery_replace_by is not None:
        events.append(
            trusted_event(
                serial, EventKind.BATTERY_REPLACEMENT, device.battery_replace_by, None,
                device.battery_sku, model,
            )
        )
    if device.warranty_expires_on is not None:
        events.append(
            trusted_event(
                serial, EventKind.WARRANTY_EXPIRY, device.warranty_expires_on, None,
                device.warranty_extension_sku, model,
            )
        )
    default_sku = plan_license_sku is default_plan_license_sku
    for drop in device.coverage.drops:
        if not drop.from_plan.is_paid:
            continue
        sku = plan_license_sku(drop.from_plan)
        if not default_sku:
            sku = require_text(sku, "sku")  # a caller's function: its answer is checked
        events.append(
            trusted_event(serial, EventKind.PLAN_EXPIRY, drop.on, drop.from_plan, sku, model)
        )
    if device.service_life_ends_on is not None:
        events.append(
            trusted_event(
                serial, EventKind.UPS_UPGRADE, device.service_life_ends_on, None,
                device.upgrade_sku, model,
            )
        )
    return tuple(events)


def _shift(day: date, days: int) -> date:
    """``day + days``, clamped to the calendar's ends instead of overflowing."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


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


_NOTHING_SENT: tuple[frozenset[Stage], None] = (frozenset(), None)


def _first_day(
    event: LifecycleEvent, sent: Collection[Stage], lower: date | None, grace: int
) -> date | None:
    """The first day from ``lower`` on (any day if ``None``) that ``_stage_on`` is not None."""
    due = event.due
    if due is None:
        if Stage.IMMEDIATE in sent:
            return None
        assert event.reported_on is not None  # guaranteed by LifecycleEvent
        start = event.reported_on
        return start if lower is None else max(start, lower)
    pending = len(SCHEDULE)
    while pending and SCHEDULE[pending - 1] not in sent:
        pending -= 1
    if pending == len(SCHEDULE):
        return None  # the due stage was sent: the event is done
    # The stages' windows tile [due - 90, due + grace] without gaps, so the first open day
    # is the start of the first stage after the last one sent (or ``lower``).
    start = _shift(due, -_DAYS_BEFORE[SCHEDULE[pending]])
    day = start if lower is None else max(start, lower)
    return day if day <= _shift(due, grace) else None


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
    grace = _require_grace(due_grace_days)
    lower: date | None = None
    if after is not None:
        if require_date(after, "after") == date.max:
            return None
        lower = after + timedelta(days=1)
    progress = _progress(require_items(sent, SentStage, "sent"))
    best: date | None = None
    for event in require_items(events, LifecycleEvent, "events"):
        if not isinstance(event, LifecycleEvent):
            raise InvalidInput(f"expected a LifecycleEvent, got {type(event).__name__}")
        stages, last = progress.get(event.id, _NOTHING_SENT)
        floor = lower
        if last is not None:
            if last == date.max:
                continue
            day_after_last = last + timedelta(days=1)
            floor = day_after_last if floor is None else max(floor, day_after_last)
        day = _first_day(event, stages, floor, grace)
        if day is not None and (best is None or day < best):
            best = day
    return best
