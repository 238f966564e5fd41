"""The executable spec of SPEC §2: lifecycle events and notices (N1–N10).

Worked examples state their expected dates as worked out by hand from the rules; the
comments beside them show the arithmetic. Properties check the schedule against an
independent oracle: "each stage goes out on the first sweep day inside its window".
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests import reference_rules as reference
from tests.strategies import dates
from tests.strategies_notifications import (
    DATED_KINDS,
    STATES,
    contacts,
    events,
    notice_parts,
    stage_for,
    sweep_days,
)
from upslife.entitlements import (
    ExtendedWarranty,
    License,
    Plan,
    Term,
    coverage,
    warranty,
)
from upslife.errors import (
    DateBeforeRegistration,
    EventAlreadyResolved,
    EventNotForReseller,
    InvalidDate,
    InvalidEmail,
    InvalidInput,
    ReminderOutOfWindow,
    ResellerNotConnected,
    RuleViolation,
    UpslifeError,
)
from upslife.invitations import InvitationState
from upslife.notifications import (
    DEFAULT_DUE_GRACE_DAYS,
    SCHEDULE,
    ChatKind,
    ChatRoute,
    Contact,
    DeliveryPreference,
    DeviceFacts,
    Digest,
    EventId,
    EventKind,
    LifecycleEvent,
    Notice,
    Recipient,
    RecipientKind,
    SentStage,
    Severity,
    Stage,
    default_plan_license_sku,
    due_notices,
    format_date,
    group_into_digests,
    lifecycle_events,
    next_notice_date,
    recipients_for,
    reminder,
    resolve,
    sent_stages,
    service_life_ends_on,
    stage_due,
    title_for,
)

D = date
STD, ADV = Plan.STANDARD, Plan.ADVANCED
BATTERY, WARRANTY = EventKind.BATTERY_REPLACEMENT, EventKind.WARRANTY_EXPIRY
PLAN, FAILURE, UPGRADE = EventKind.PLAN_EXPIRY, EventKind.BATTERY_FAILURE, EventKind.UPS_UPGRADE
D90, D30, D7, DUE = Stage.D90, Stage.D30, Stage.D7, Stage.DUE
INFO, WARNING, CRITICAL = Severity.INFO, Severity.WARNING, Severity.CRITICAL
ACCEPTED = InvitationState.ACCEPTED

SERIAL = "AS1234567890"
MODEL = "SMT1500RMI2UC"
OWNER = Contact(
    "Acme Data Ltd",
    "Alice Martin",
    "alice@example.com",
    job_role="IT manager",
    phone="+44 20 7946 0000",
)
RESELLER = "sales@reseller.example"
SLACK = ChatRoute(ChatKind.SLACK, "ops-alerts")
TEAMS = ChatRoute(ChatKind.TEAMS, "facilities")


REGISTERED = D(2024, 1, 10)


def facts(registered_on: date = REGISTERED, **fields: Any) -> DeviceFacts:
    """A device with SKUs from the catalog; dates as given, none by default. Registered on
    2024-01-10 unless told, its trial ended on 2024-07-10, before the examples' dates."""
    fields.setdefault("coverage", coverage(registered_on))
    fields.setdefault("battery_sku", "APCRBC152")
    fields.setdefault("warranty_extension_sku", "WBEXTWAR1YR-SP-03")
    return DeviceFacts(SERIAL, MODEL, **fields)


def battery(due: date, serial: str = SERIAL) -> LifecycleEvent:
    return LifecycleEvent(serial, BATTERY, due, sku="APCRBC152", model=MODEL)


def days(first: date, last: date, step: int = 1) -> list[date]:
    """Every ``step``-th day from ``first`` to ``last``, both included."""
    return [first + timedelta(days=n) for n in range(0, (last - first).days + 1, step)]


def sweep(
    device: DeviceFacts | Callable[[date], DeviceFacts],
    on_days: Iterable[date],
    *,
    state: Callable[[date], InvitationState | None] = lambda _day: None,
    **options: Any,
) -> list[Notice]:
    """Daily-sweep simulation: ``due_notices`` on each day, recording what it sent."""
    sent: list[SentStage] = []
    out: list[Notice] = []
    for day in on_days:
        current = device(day) if callable(device) else device
        reseller_state = state(day)
        notices = due_notices(
            current,
            day,
            owner=OWNER,
            reseller_email=RESELLER if reseller_state is not None else None,
            reseller_state=reseller_state,
            sent=sent,
            **options,
        )
        sent.extend(sent_stages(notices))
        out.extend(notices)
    return out


def summary(notices: Iterable[Notice]) -> list[tuple[date, Stage, Severity, str]]:
    return [(n.sent_on, n.stage, n.severity, n.title) for n in notices]


def simulate(
    event: LifecycleEvent, on_days: Iterable[date], grace: int = DEFAULT_DUE_GRACE_DAYS
) -> list[tuple[date, Stage]]:
    """``stage_due`` on each sweep day, recording sends in ``sent`` and ``last_sent_on``."""
    sent: set[Stage] = set()
    last: date | None = None
    out: list[tuple[date, Stage]] = []
    for day in on_days:
        stage = stage_due(event, day, sent, due_grace_days=grace, last_sent_on=last)
        if stage is not None:
            sent.add(stage)
            last = day
            out.append((day, stage))
    return out


def oracle(due: date, on_days: Sequence[date], grace: int = 7) -> list[tuple[date, Stage]]:
    """Independent statement of N2 + N4: each stage goes out on the first sweep day in its
    window, the windows being [due-90, due-31], [due-30, due-8], [due-7, due-1] and
    [due, due+grace]."""
    windows = [
        (D90, due - timedelta(days=90), due - timedelta(days=31)),
        (D30, due - timedelta(days=30), due - timedelta(days=8)),
        (D7, due - timedelta(days=7), due - timedelta(days=1)),
        (DUE, due, due + timedelta(days=grace)),
    ]
    out = []
    for stage, first, last in windows:
        inside = [d for d in sorted(on_days) if first <= d <= last]
        if inside:
            out.append((inside[0], stage))
    return out


# --------------------------------------------------------------------------- N1


class TestLifecycleEvents:
    def test_a_device_has_battery_warranty_plan_and_upgrade_events(self) -> None:
        # SPEC N1: kinds and due dates. Registered 2025-06-15: the trial ends 2025-12-15.
        device = facts(
            D(2025, 6, 15),
            battery_replace_by=D(2026, 3, 1),
            warranty_expires_on=D(2027, 6, 15),
            service_life_ends_on=D(2033, 6, 15),
            upgrade_sku="SMT1500RMI2UC-NEXT",
        )
        assert [(e.kind, e.due, e.plan, e.sku) for e in lifecycle_events(device)] == [
            (BATTERY, D(2026, 3, 1), None, "APCRBC152"),
            (WARRANTY, D(2027, 6, 15), None, "WBEXTWAR1YR-SP-03"),
            (PLAN, D(2025, 12, 15), STD, "Standard plan license 1Y/3Y/5Y"),
            (UPGRADE, D(2033, 6, 15), None, "SMT1500RMI2UC-NEXT"),
        ]
        assert {e.model for e in lifecycle_events(device)} == {MODEL}

    def test_every_drop_from_a_paid_plan_is_a_plan_expiry_the_trial_end_included(self) -> None:
        # SPEC N1 on a real coverage: registered 2024-08-31 (trial to 2025-02-28), an
        # ADVANCED 1Y license on 2024-12-10 pauses the trial's remaining days, Dec 10 →
        # Feb 28 = 21 + 31 + 28 = 80, which resume when ADVANCED ends on 2025-12-10:
        # 2025-12-10 + 80 days = (Dec 31 is +21, Jan 31 +52, Feb 28 +80) 2026-02-28.
        cov = coverage(D(2024, 8, 31), [License.of("A1", ADV, Term.Y1, D(2024, 12, 10))])
        device = facts(coverage=cov)
        assert [(e.due, e.plan) for e in lifecycle_events(device)] == [
            (D(2025, 12, 10), ADV),
            (D(2026, 2, 28), STD),
        ]

    def test_a_renewed_trial_has_no_expiry_at_the_trial_end(self) -> None:
        # SPEC N1: a STANDARD 1Y on the trial appends (E4a): one drop, 2024-01-31 + 18 months.
        cov = coverage(D(2024, 1, 31), [License.of("S1", STD, Term.Y1, D(2024, 3, 1))])
        assert [e.due for e in lifecycle_events(facts(coverage=cov))] == [D(2025, 7, 31)]

    def test_a_battery_failure_has_no_due_date_and_is_notified_at_once(self) -> None:
        # SPEC N1: identified by the day the UPS reported it.
        device = facts(battery_failure_reported_on=D(2025, 9, 3))
        (failure, _plan) = lifecycle_events(device)
        assert failure.kind is FAILURE
        assert failure.due is None
        assert failure.reported_on == D(2025, 9, 3)
        assert failure.id == EventId(SERIAL, FAILURE, D(2025, 9, 3))
        assert failure.sku == "APCRBC152"
        assert stage_due(failure, D(2025, 9, 3), ()) is Stage.IMMEDIATE
        assert stage_due(failure, D(2025, 9, 3), (Stage.IMMEDIATE,)) is None

    def test_an_event_is_identified_by_device_kind_and_due_date(self) -> None:
        # SPEC N1: the SKU and model describe the event, they do not identify it.
        first = LifecycleEvent("as123", BATTERY, D(2026, 3, 1), sku="A", model="smt750ic")
        second = LifecycleEvent("AS123", BATTERY, D(2026, 3, 1), sku="B", model="SMT750IC")
        assert first.id == second.id == EventId("AS123", BATTERY, D(2026, 3, 1))
        assert first != second
        assert battery(D(2026, 3, 2)).id != battery(D(2026, 3, 1)).id

    def test_the_plan_license_sku_is_a_visible_policy(self) -> None:
        # SPEC N1, N6: plan licenses are not model data; a caller can name real SKUs.
        assert default_plan_license_sku(ADV) == "Advanced plan license 1Y/3Y/5Y"
        (plan,) = lifecycle_events(facts(), plan_license_sku=lambda p: f"SC-{p.name}-1Y")
        assert plan.sku == "SC-STANDARD-1Y"

    def test_service_life_runs_from_manufacture_when_known(self) -> None:
        # SPEC N1: UPS upgrade due. 2024-02-29 + 96 months = 2032-02-29 (2032 is a leap
        # year); from manufacture 2023-08-31 + 96 months = 2031-08-31.
        assert service_life_ends_on(96, registered_on=D(2024, 2, 29)) == D(2032, 2, 29)
        assert service_life_ends_on(
            96, registered_on=D(2024, 2, 29), manufactured_on=D(2023, 8, 31)
        ) == D(2031, 8, 31)
        # 2024-02-29 + 12 months clamps to 2025-02-28 (SPEC D3).
        assert service_life_ends_on(12, registered_on=D(2024, 2, 29)) == D(2025, 2, 28)
        with pytest.raises(InvalidInput):
            service_life_ends_on(96, registered_on=D(2024, 1, 1), manufactured_on=D(2024, 1, 2))
        with pytest.raises(InvalidInput):
            service_life_ends_on(0, registered_on=D(2024, 1, 1))

    def test_bad_events_and_facts_get_typed_errors(self) -> None:
        # SPEC D5
        bad: list[Callable[[], object]] = [
            lambda: LifecycleEvent(SERIAL, BATTERY, None, model=MODEL),
            lambda: LifecycleEvent(SERIAL, FAILURE, D(2025, 1, 1), model=MODEL),
            lambda: LifecycleEvent(SERIAL, FAILURE, None, model=MODEL),
            lambda: LifecycleEvent(SERIAL, PLAN, D(2025, 1, 1), model=MODEL),
            lambda: LifecycleEvent(SERIAL, PLAN, D(2025, 1, 1), Plan.BASIC, model=MODEL),
            lambda: LifecycleEvent(SERIAL, BATTERY, D(2025, 1, 1), STD, model=MODEL),
            lambda: LifecycleEvent(" ", BATTERY, D(2025, 1, 1), model=MODEL),
            lambda: LifecycleEvent(SERIAL, "battery", D(2025, 1, 1), model=MODEL),  # type: ignore[arg-type]
            lambda: facts(battery_replace_by="2026-03-01"),
            lambda: facts(coverage="none"),
            lambda: facts(battery_failure_reported_on=D(2024, 1, 9)),
            lambda: facts(battery_sku=""),
            lambda: lifecycle_events("AS123"),  # type: ignore[arg-type]
        ]
        for attempt in bad:
            with pytest.raises(InvalidInput):
                attempt()
        with pytest.raises(DateBeforeRegistration):
            facts(battery_failure_reported_on=D(2024, 1, 9))


# --------------------------------------------------------------------------- N2


class TestSchedule:
    def test_a_battery_swept_daily_gets_four_notices_on_their_exact_days(self) -> None:
        # SPEC N2, N5. Replace-by 2026-03-01; February 2026 has 28 days.
        # 90 days before: back to Feb 1 is 28 days, to Jan 1 59, to Dec 1 90 → 2025-12-01.
        # 30 days before: Feb 1 is 28 days back, Jan 31 29, Jan 30 30 → 2026-01-30.
        # 7 days before: 2026-02-22.
        device = facts(battery_replace_by=D(2026, 3, 1))
        notices = sweep(device, days(D(2025, 11, 1), D(2026, 3, 31)))
        assert summary(n for n in notices if n.kind is BATTERY) == [
            (D(2025, 12, 1), D90, INFO, "Battery Replacement Due"),
            (D(2026, 1, 30), D30, WARNING, "Battery Replacement Due"),
            (D(2026, 2, 22), D7, WARNING, "Battery Replacement Due"),
            (D(2026, 3, 1), DUE, CRITICAL, "Replace Battery"),
        ]

    def test_the_stages_are_90_30_7_and_0_days_before_the_due_date(self) -> None:
        # SPEC N2
        assert SCHEDULE == (D90, D30, D7, DUE)
        assert [s.days_before for s in SCHEDULE] == [90, 30, 7, 0]
        assert Stage.IMMEDIATE.days_before is None
        assert Stage.REMINDER.days_before is None

    @given(due=dates(2001, 2059))
    def test_with_a_sweep_every_day_an_event_gets_exactly_its_four_stages(self, due: date) -> None:
        # SPEC N2: four notices, each on its exact date.
        sends = simulate(battery(due), days(due - timedelta(days=120), due + timedelta(days=30)))
        assert sends == [
            (due - timedelta(days=90), D90),
            (due - timedelta(days=30), D30),
            (due - timedelta(days=7), D7),
            (due, DUE),
        ]

    @given(data=st.data(), due=dates(2001, 2059))
    def test_any_sweep_days_give_at_most_four_notices_in_order_never_two_a_day(
        self, data: st.DataObject, due: date
    ) -> None:
        # SPEC N2, N4
        on_days = data.draw(sweep_days(due))
        sends = simulate(battery(due), on_days)
        assert len(sends) <= 4
        assert len({day for day, _ in sends}) == len(sends)
        stages = [stage for _, stage in sends]
        assert stages == sorted(stages, key=SCHEDULE.index)
        assert len(set(stages)) == len(stages)


# --------------------------------------------------------------------------- N3


class TestResolution:
    def test_resolve_tells_resolved_events_from_new_ones(self) -> None:
        # SPEC N3: a moved due date resolves the old event and makes a new one.
        old, kept = battery(D(2026, 3, 1)), battery(D(2030, 1, 1), serial="OTHER")
        new = battery(D(2029, 3, 1))
        assert resolve([old, kept], [kept, new]) == ((old,), (new,))
        assert resolve([old], [old]) == ((), ())

    def test_a_warranty_renewed_between_the_30_and_7_day_notices(self) -> None:
        # SPEC N3. Registered 2024-03-01 with a 24-month warranty: expires 2026-03-01.
        # A 12-month extension on 2026-02-10 (between the 30-day notice of 2026-01-30 and
        # the 7-day one of 2026-02-22) moves it to 2024-03-01 + 36 months = 2027-03-01.
        registered = D(2024, 3, 1)
        extension = ExtendedWarranty("X1", "WBEXTWAR1YR-SP-03", 12, D(2026, 2, 10))
        before = warranty(registered, 24).expires_on
        after = warranty(registered, 24, [extension]).expires_on
        assert (before, after) == (D(2026, 3, 1), D(2027, 3, 1))

        def device(day: date) -> DeviceFacts:
            expiry = after if day >= extension.activated_on else before
            return facts(registered, warranty_expires_on=expiry)

        notices = sweep(device, days(D(2025, 11, 1), D(2027, 3, 31)))
        # The new date's schedule: 2027-03-01 − 90 days: −28 → Feb 1, −59 → Jan 1,
        # −90 → 2026-12-01; − 30 days → 2027-01-30; − 7 days → 2027-02-22.
        assert summary(n for n in notices if n.kind is WARRANTY) == [
            (D(2025, 12, 1), D90, INFO, "Warranty Expires on 1 March 2026"),
            (D(2026, 1, 30), D30, WARNING, "Warranty Expires on 1 March 2026"),
            (D(2026, 12, 1), D90, INFO, "Warranty Expires on 1 March 2027"),
            (D(2027, 1, 30), D30, WARNING, "Warranty Expires on 1 March 2027"),
            (D(2027, 2, 22), D7, WARNING, "Warranty Expires on 1 March 2027"),
            (D(2027, 3, 1), DUE, CRITICAL, "Warranty Expires on 1 March 2027"),
        ]

    def test_a_replaced_battery_and_a_cleared_failure_are_resolved(self) -> None:
        # SPEC N3: the condition clears, the event is gone from the facts.
        failed = facts(battery_failure_reported_on=D(2025, 9, 3), battery_replace_by=D(2026, 3, 1))
        fixed = facts(battery_replace_by=D(2029, 9, 5))
        resolved, new = resolve(lifecycle_events(failed), lifecycle_events(fixed))
        assert [(e.kind, e.id.on) for e in resolved] == [
            (FAILURE, D(2025, 9, 3)),
            (BATTERY, D(2026, 3, 1)),
        ]
        assert [(e.kind, e.due) for e in new] == [(BATTERY, D(2029, 9, 5))]

    @given(data=st.data(), due=dates(2001, 2059), moved_by=st.integers(-200, 800))
    def test_after_a_due_date_moves_the_old_event_gets_nothing_more(
        self, data: st.DataObject, due: date, moved_by: int
    ) -> None:
        # SPEC N3: sweeps see the old date until the move, the new one after it; the old
        # event sends nothing after the move, the new one follows its own schedule.
        assume(moved_by != 0)
        new_due = due + timedelta(days=moved_by)
        move = due + timedelta(days=data.draw(st.integers(-100, 10)))
        on_days = data.draw(sweep_days(due, after=20))
        on_days += data.draw(sweep_days(new_due, after=20))
        on_days = sorted(d for d in on_days if d >= D(2000, 1, 1))

        def device(day: date) -> DeviceFacts:
            return facts(D(1999, 1, 1), battery_replace_by=new_due if day >= move else due)

        notices = [n for n in sweep(device, on_days) if n.kind is BATTERY]
        old = [(n.sent_on, n.stage) for n in notices if n.due == due]
        new = [(n.sent_on, n.stage) for n in notices if n.due == new_due]
        assert len(old) + len(new) == len(notices)
        assert all(day < move for day, _ in old)
        assert old == oracle(due, [d for d in on_days if d < move])
        assert new == oracle(new_due, [d for d in on_days if d >= move])


# --------------------------------------------------------------------------- N4


class TestCatchUp:
    def test_a_battery_swept_only_on_mondays(self) -> None:
        # SPEC N4. 2025-01-01 was a Wednesday; 2025-12-01 is 334 days later = 47 weeks and
        # 5 days: a Monday. Mondays: Dec 1 … Dec 29, Jan 5 … Jan 26, Feb 2 … Feb 23, Mar 2.
        # - Dec 1: the 90-day stage's own day → D90.
        # - Jan 30 (D30's day) is a Friday → first Monday in its window is Feb 2 → D30.
        # - Feb 22 (D7's day) is a Sunday → Feb 23 → D7.
        # - Mar 1 (due) is a Sunday → Mar 2, one day late, still in the grace → DUE,
        #   titled "Battery End of Life Exceeded" since it goes out after the due day.
        mondays = days(D(2025, 11, 3), D(2026, 3, 30), step=7)
        assert {d.weekday() for d in mondays} == {0}
        notices = sweep(facts(battery_replace_by=D(2026, 3, 1)), mondays)
        assert summary(n for n in notices if n.kind is BATTERY) == [
            (D(2025, 12, 1), D90, INFO, "Battery Replacement Due"),
            (D(2026, 2, 2), D30, WARNING, "Battery Replacement Due"),
            (D(2026, 2, 23), D7, WARNING, "Battery Replacement Due"),
            (D(2026, 3, 2), DUE, CRITICAL, "Battery End of Life Exceeded"),
        ]

    def test_a_stage_skipped_by_the_sweeps_is_never_sent_late(self) -> None:
        # SPEC N4. Sweeps on the 1st of each month. Feb 1 is in D30's window (Jan 30–Feb 21),
        # D7's window (Feb 22–28) has no sweep, Mar 1 is the due day: D7 is never sent.
        firsts = [D(2025, 11, 1), D(2025, 12, 1), D(2026, 1, 1), D(2026, 2, 1), D(2026, 3, 1)]
        notices = sweep(facts(battery_replace_by=D(2026, 3, 1)), [*firsts, D(2026, 4, 1)])
        assert summary(n for n in notices if n.kind is BATTERY) == [
            (D(2025, 12, 1), D90, INFO, "Battery Replacement Due"),
            (D(2026, 2, 1), D30, WARNING, "Battery Replacement Due"),
            (D(2026, 3, 1), DUE, CRITICAL, "Replace Battery"),
        ]

    def test_the_due_day_notice_may_go_out_up_to_seven_days_late(self) -> None:
        # SPEC N4: due 2026-03-01; due + 7 = 2026-03-08 yes, due + 8 = 2026-03-09 no.
        event = battery(D(2026, 3, 1))
        sent = {D90, D30, D7}
        assert stage_due(event, D(2026, 3, 8), sent) is DUE
        assert stage_due(event, D(2026, 3, 9), sent) is None
        device = facts(battery_replace_by=D(2026, 3, 1))
        late = [n for n in sweep(device, [D(2026, 3, 8)]) if n.kind is BATTERY]
        assert summary(late) == [(D(2026, 3, 8), DUE, CRITICAL, "Battery End of Life Exceeded")]
        assert [n for n in sweep(device, [D(2026, 3, 9)]) if n.kind is BATTERY] == []

    def test_the_grace_is_configurable(self) -> None:
        # SPEC N4: "(configurable)"; 0 means the due day only.
        event = battery(D(2024, 2, 29))
        assert stage_due(event, D(2024, 2, 29), (), due_grace_days=0) is DUE
        assert stage_due(event, D(2024, 3, 1), (), due_grace_days=0) is None
        assert stage_due(event, D(2024, 3, 3), (), due_grace_days=3) is DUE
        assert stage_due(event, D(2024, 3, 4), (), due_grace_days=3) is None
        for bad in (-1, True, 1.5, "7"):
            with pytest.raises(InvalidInput):
                stage_due(event, D(2024, 3, 1), (), due_grace_days=bad)  # type: ignore[arg-type]

    def test_an_event_first_seen_inside_its_window_gets_the_current_stage_at_once(self) -> None:
        # SPEC N4: registered 2026-02-09, 20 days before its warranty ends on 2026-03-01
        # (Feb 9 + 19 days = Feb 28, + 20 = Mar 1): the 30-day stage at once, then the rest.
        device = facts(D(2026, 2, 9), warranty_expires_on=D(2026, 3, 1))
        notices = sweep(device, days(D(2026, 2, 9), D(2026, 3, 20)))
        assert summary(n for n in notices if n.kind is WARRANTY) == [
            (D(2026, 2, 9), D30, WARNING, "Warranty Expires on 1 March 2026"),
            (D(2026, 2, 22), D7, WARNING, "Warranty Expires on 1 March 2026"),
            (D(2026, 3, 1), DUE, CRITICAL, "Warranty Expires on 1 March 2026"),
        ]

    def test_never_two_notices_for_one_event_on_one_day(self) -> None:
        # SPEC N4: last_sent_on protects a day even if the sent stages are stale or lost.
        event = battery(D(2026, 3, 1))
        assert stage_due(event, D(2026, 3, 1), (), last_sent_on=D(2026, 3, 1)) is None
        assert stage_due(event, D(2026, 3, 1), (), last_sent_on=D(2026, 2, 28)) is DUE
        device = facts(battery_replace_by=D(2026, 3, 1))
        record = SentStage(event.id, D7, D(2026, 3, 1))
        assert [
            n
            for n in due_notices(device, D(2026, 3, 1), owner=OWNER, sent=[record])
            if n.kind is BATTERY
        ] == []
        # A sweep run twice on one day: the second run sends nothing.
        assert sweep(device, [D(2026, 3, 1), D(2026, 3, 1)]) == sweep(device, [D(2026, 3, 1)])

    def test_a_stage_before_one_already_sent_is_never_sent(self) -> None:
        # SPEC N4: the schedule only moves forward.
        event = battery(D(2026, 3, 1))
        assert stage_due(event, D(2026, 1, 10), {D30}) is None  # D90's window, D30 sent
        assert stage_due(event, D(2026, 2, 25), {DUE}) is None

    @given(data=st.data(), due=dates(2001, 2059), grace=st.integers(0, 10))
    def test_each_stage_goes_out_on_the_first_sweep_inside_its_window(
        self, data: st.DataObject, due: date, grace: int
    ) -> None:
        # SPEC N4 against the oracle: skipped stages never go out late, the due stage up to
        # ``grace`` days late; with ``sent`` alone (no last_sent_on) the answer is the same.
        on_days = data.draw(sweep_days(due))
        sends = simulate(battery(due), on_days, grace)
        assert sends == oracle(due, on_days, grace)
        for day, stage in sends:
            days_before = (due - day).days
            inside = {
                D90: 31 <= days_before <= 90,
                D30: 8 <= days_before <= 30,
                D7: 1 <= days_before <= 7,
                DUE: -grace <= days_before <= 0,
            }
            assert inside[stage]
        sent: set[Stage] = set()
        without_last = []
        for day in on_days:
            found = stage_due(battery(due), day, sent, due_grace_days=grace)
            if found is not None:
                sent.add(found)
                without_last.append((day, found))
        assert without_last == sends


# --------------------------------------------------------------------------- N5


class TestTitlesAndSeverity:
    @pytest.mark.parametrize(
        ("on", "stage", "title", "severity"),
        [
            (D(2025, 12, 1), D90, "Battery Replacement Due", INFO),
            (D(2026, 1, 30), D30, "Battery Replacement Due", WARNING),
            (D(2026, 2, 22), D7, "Battery Replacement Due", WARNING),
            (D(2026, 3, 1), DUE, "Replace Battery", CRITICAL),
            (D(2026, 3, 2), DUE, "Battery End of Life Exceeded", CRITICAL),
        ],
    )
    def test_battery_titles_and_severities(
        self, on: date, stage: Stage, title: str, severity: Severity
    ) -> None:
        # SPEC N5
        notice = Notice(battery(D(2026, 3, 1)), stage, Recipient.owner(OWNER.email), OWNER, on)
        assert (notice.title, notice.severity) == (title, severity)

    def test_a_reported_battery_failure_needs_replacement_and_is_critical(self) -> None:
        # SPEC N5
        device = facts(battery_failure_reported_on=D(2025, 9, 3))
        (notice,) = due_notices(device, D(2025, 9, 3), owner=OWNER)
        assert (notice.stage, notice.severity, notice.title) == (
            Stage.IMMEDIATE,
            CRITICAL,
            "Battery Needs Replacement",
        )
        assert notice.due is None

    def test_a_trial_end_from_a_real_coverage(self) -> None:
        # SPEC N5 on coverage(): registered 2024-08-31, the trial ends 2024-08-31 + 6 months
        # = 2025-02-28 (clamped, D3). 90 days before: Feb 28 − 27 = Feb 1, − 28 = Jan 31,
        # − 59 = Dec 31, − 90 = 2024-11-30. 30 days before: − 28 = Jan 31, − 30 = 2025-01-29.
        # 7 days before: 2025-02-21. The Slack route gets the notices while the device is
        # on STANDARD, not the one of the due day, when it has fallen to BASIC (E10).
        device = facts(D(2024, 8, 31))
        notices = sweep(device, days(D(2024, 8, 31), D(2025, 3, 31)), chat_routes=[SLACK])
        expires = "Standard Plan Expires on 28 February 2025"
        expired = "Standard Plan Expired on 28 February 2025"
        assert [(n.sent_on, n.stage, n.severity, n.title, n.recipient.kind) for n in notices] == [
            (D(2024, 11, 30), D90, INFO, expires, RecipientKind.OWNER),
            (D(2024, 11, 30), D90, INFO, expires, RecipientKind.CHAT),
            (D(2025, 1, 29), D30, WARNING, expires, RecipientKind.OWNER),
            (D(2025, 1, 29), D30, WARNING, expires, RecipientKind.CHAT),
            (D(2025, 2, 21), D7, WARNING, expires, RecipientKind.OWNER),
            (D(2025, 2, 21), D7, WARNING, expires, RecipientKind.CHAT),
            (D(2025, 2, 28), DUE, CRITICAL, expired, RecipientKind.OWNER),
        ]
        assert {n.plan for n in notices} == {STD}

    def test_advanced_plan_titles(self) -> None:
        # SPEC N5: ADVANCED 1Y from 2024-12-10 ends 2025-12-10 (see the N1 example).
        cov = coverage(D(2024, 8, 31), [License.of("A1", ADV, Term.Y1, D(2024, 12, 10))])
        (advanced, _standard) = lifecycle_events(facts(coverage=cov))
        assert title_for(advanced, D(2025, 12, 3)) == "Advanced Plan Expires on 10 December 2025"
        assert title_for(advanced, D(2025, 12, 10)) == "Advanced Plan Expired on 10 December 2025"
        assert title_for(advanced, D(2025, 12, 12)) == "Advanced Plan Expired on 10 December 2025"

    def test_warranty_titles_name_the_expiry_date_at_every_stage(self) -> None:
        # SPEC N5: the product's one warranty title (D2: the date printed as "Expires on").
        event = LifecycleEvent(SERIAL, WARRANTY, D(2028, 2, 29), model=MODEL)
        for on in (D(2027, 12, 1), D(2028, 2, 29), D(2028, 3, 3)):
            assert title_for(event, on) == "Warranty Expires on 29 February 2028"

    def test_ups_upgrade_titles(self) -> None:
        # SPEC N5 is silent on upgrades: titles parallel to the battery's (docs).
        event = LifecycleEvent(SERIAL, UPGRADE, D(2033, 6, 15), model=MODEL)
        assert title_for(event, D(2033, 3, 17)) == "UPS Upgrade Due on 15 June 2033"
        assert title_for(event, D(2033, 6, 15)) == "Upgrade UPS"
        assert title_for(event, D(2033, 6, 16)) == "UPS Service Life Exceeded"

    def test_dates_in_titles_read_day_month_year(self) -> None:
        # SPEC N5: "[date]" is printed "1 March 2026", the same in every locale.
        assert format_date(D(2026, 3, 1)) == "1 March 2026"
        assert format_date(D(2024, 2, 29)) == "29 February 2024"
        assert format_date(D(1999, 12, 31)) == "31 December 1999"


# --------------------------------------------------------------------------- N6


class TestRecipients:
    def test_the_owner_always_and_the_connected_reseller_for_battery_warranty_and_plan(
        self,
    ) -> None:
        # SPEC N6
        for kind, event in (
            (BATTERY, battery(D(2026, 3, 1))),
            (WARRANTY, LifecycleEvent(SERIAL, WARRANTY, D(2026, 3, 1), model=MODEL)),
            (PLAN, LifecycleEvent(SERIAL, PLAN, D(2026, 3, 1), STD, model=MODEL)),
            (
                FAILURE,
                LifecycleEvent(SERIAL, FAILURE, None, model=MODEL, reported_on=D(2026, 3, 1)),
            ),
        ):
            got = recipients_for(
                event,
                owner=OWNER,
                reseller_email=RESELLER,
                reseller_state=ACCEPTED,
                plan_in_force=Plan.BASIC,
            )
            assert got == (Recipient.owner(OWNER.email), Recipient.reseller(RESELLER)), kind

    def test_a_reseller_is_not_told_of_a_ups_upgrade(self) -> None:
        # SPEC N6 lists battery, warranty and plan events only.
        event = LifecycleEvent(SERIAL, UPGRADE, D(2033, 6, 15), model=MODEL)
        got = recipients_for(
            event,
            owner=OWNER,
            reseller_email=RESELLER,
            reseller_state=ACCEPTED,
            plan_in_force=Plan.BASIC,
        )
        assert got == (Recipient.owner(OWNER.email),)

    @pytest.mark.parametrize(
        ("plan", "routed"), [(Plan.BASIC, False), (Plan.STANDARD, True), (Plan.ADVANCED, True)]
    )
    def test_chat_routes_only_where_the_plan_allows(self, plan: Plan, routed: bool) -> None:
        # SPEC N6, E10: Slack/Teams routing is STANDARD and up; duplicates are dropped.
        got = recipients_for(
            battery(D(2026, 3, 1)),
            owner=OWNER,
            chat_routes=[SLACK, TEAMS, SLACK],
            plan_in_force=plan,
        )
        chats = (Recipient.route(SLACK), Recipient.route(TEAMS)) if routed else ()
        assert got == (Recipient.owner(OWNER.email), *chats)

    def test_a_reseller_notice_carries_what_the_reseller_needs(self) -> None:
        # SPEC N6: model, serial, due date, SKU, and the customer's company, full name, job
        # role, email and phone; the owner's notice carries the same facts.
        device = facts(battery_replace_by=D(2026, 3, 1))
        notices = due_notices(
            device, D(2025, 12, 1), owner=OWNER, reseller_email=RESELLER, reseller_state=ACCEPTED
        )
        owner_notice, reseller_notice = notices
        assert reseller_notice.recipient == Recipient.reseller(RESELLER)
        assert (
            reseller_notice.model,
            reseller_notice.serial,
            reseller_notice.due,
            reseller_notice.sku,
        ) == (MODEL, SERIAL, D(2026, 3, 1), "APCRBC152")
        customer = reseller_notice.customer
        assert (customer.company, customer.full_name, customer.job_role) == (
            "Acme Data Ltd",
            "Alice Martin",
            "IT manager",
        )
        assert (customer.email, customer.phone) == ("alice@example.com", "+44 20 7946 0000")
        assert attrs.evolve(owner_notice, recipient=reseller_notice.recipient) == reseller_notice

    def test_recipients_are_checked(self) -> None:
        # SPEC D5
        with pytest.raises(InvalidEmail):
            Recipient.reseller("not an email")
        with pytest.raises(InvalidInput):
            Recipient(RecipientKind.CHAT, "ops")
        with pytest.raises(InvalidInput):
            Recipient(RecipientKind.OWNER, "a@example.com", ChatKind.SLACK)
        with pytest.raises(InvalidInput):
            Contact("", "Alice", "a@example.com")
        assert Recipient.owner("Alice@EXAMPLE.com").address == "Alice@example.com"


# --------------------------------------------------------------------------- N7


class TestConsent:
    @pytest.mark.parametrize("state", [s for s in InvitationState if s is not ACCEPTED])
    def test_no_reseller_notice_unless_the_connection_is_accepted(
        self, state: InvitationState
    ) -> None:
        # SPEC N7
        device = facts(battery_replace_by=D(2026, 3, 1))
        notices = due_notices(
            device, D(2025, 12, 1), owner=OWNER, reseller_email=RESELLER, reseller_state=state
        )
        assert [n.recipient.kind for n in notices] == [RecipientKind.OWNER]

    def test_a_reseller_state_needs_a_reseller_email(self) -> None:
        # SPEC N7, D5: a state without an address is inconsistent input.
        with pytest.raises(InvalidInput):
            recipients_for(
                battery(D(2026, 3, 1)), owner=OWNER, reseller_state=ACCEPTED, plan_in_force=STD
            )

    @given(
        due=dates(2001, 2059),
        states=st.lists(st.one_of(st.none(), STATES), min_size=1, max_size=30),
    )
    def test_no_reseller_notice_while_the_state_is_not_accepted(
        self, due: date, states: list[InvitationState | None]
    ) -> None:
        # SPEC N7: whatever the history of the connection, a reseller notice goes out only
        # on a day the connection is ACCEPTED, and on such a day every battery, warranty or
        # plan notice the owner gets, the reseller gets too.
        on_days = days(due - timedelta(days=95), due + timedelta(days=10))

        def state(day: date) -> InvitationState | None:
            return states[(day - on_days[0]).days % len(states)]

        device = facts(
            D(1999, 1, 1),
            battery_replace_by=due,
            warranty_expires_on=due + timedelta(days=20),
            service_life_ends_on=due,
        )
        notices = sweep(device, on_days, state=state)
        for notice in notices:
            accepted = state(notice.sent_on) is ACCEPTED
            if notice.recipient.kind is RecipientKind.RESELLER:
                assert accepted
                assert notice.kind is not UPGRADE
            elif accepted and notice.kind is not UPGRADE:
                assert attrs.evolve(notice, recipient=Recipient.reseller(RESELLER)) in notices


# --------------------------------------------------------------------------- N8


class TestReminders:
    EVENT = battery(D(2026, 3, 1))

    def remind(
        self,
        today: date,
        event: LifecycleEvent = EVENT,
        state: InvitationState | None = ACCEPTED,
        current: Sequence[LifecycleEvent] | None = None,
    ) -> Notice:
        return reminder(
            event,
            today,
            current_events=[event] if current is None else current,
            owner=OWNER,
            reseller_email=RESELLER,
            reseller_state=state,
        )

    def test_a_reminder_is_allowed_from_90_days_before_to_90_days_after(self) -> None:
        # SPEC N8: due − 90 days <= T < due + 90 days. Due 2026-03-01: from 2025-12-01
        # (see N2) until 2026-05-29 (Mar 1 + 30 = Mar 31, + 60 = Apr 30, + 89 = May 29).
        assert self.remind(D(2025, 12, 1)).recipient == Recipient.reseller(RESELLER)
        assert self.remind(D(2026, 5, 29)).sent_on == D(2026, 5, 29)
        for outside in (D(2025, 11, 30), D(2026, 5, 30)):
            with pytest.raises(ReminderOutOfWindow):
                self.remind(outside)

    def test_a_reminder_carries_the_title_and_severity_of_its_day(self) -> None:
        # SPEC N8, N5
        early, late = self.remind(D(2025, 12, 1)), self.remind(D(2026, 3, 10))
        assert (early.stage, early.title, early.severity) == (
            Stage.REMINDER,
            "Battery Replacement Due",
            INFO,
        )
        assert (late.title, late.severity) == ("Battery End of Life Exceeded", CRITICAL)
        assert late.customer == OWNER
        assert self.remind(D(2026, 2, 25)).severity is WARNING

    @pytest.mark.parametrize("state", [None, *(s for s in InvitationState if s is not ACCEPTED)])
    def test_a_reminder_needs_an_accepted_reseller(self, state: InvitationState | None) -> None:
        # SPEC N7, N8
        with pytest.raises(ResellerNotConnected):
            self.remind(D(2026, 2, 1), state=state)

    def test_a_resolved_event_gets_no_reminder(self) -> None:
        # SPEC N8, N3: the battery was replaced; its old replace-by date is resolved.
        with pytest.raises(EventAlreadyResolved):
            self.remind(D(2026, 2, 1), current=[battery(D(2029, 3, 1))])

    def test_no_reminder_of_a_ups_upgrade(self) -> None:
        # SPEC N8, N6: resellers are not told of upgrades.
        upgrade = LifecycleEvent(SERIAL, UPGRADE, D(2026, 3, 1), model=MODEL)
        with pytest.raises(EventNotForReseller):
            self.remind(D(2026, 2, 1), event=upgrade)

    def test_a_battery_failure_can_be_reminded_of_for_90_days(self) -> None:
        # SPEC N8: a failure has no due date; its window runs from the report day.
        failure = LifecycleEvent(SERIAL, FAILURE, None, model=MODEL, reported_on=D(2025, 9, 3))
        assert self.remind(D(2025, 9, 3), event=failure).title == "Battery Needs Replacement"
        assert self.remind(D(2025, 12, 1), event=failure).severity is CRITICAL
        for outside in (D(2025, 9, 2), D(2025, 12, 2)):  # Sep 3 + 90 days = Dec 2
            with pytest.raises(ReminderOutOfWindow):
                self.remind(outside, event=failure)

    def test_refusals_are_rule_violations_and_one_reminder_a_day(self) -> None:
        # SPEC N8, N9, D5
        for error in (
            ReminderOutOfWindow,
            ResellerNotConnected,
            EventAlreadyResolved,
            EventNotForReseller,
        ):
            assert issubclass(error, RuleViolation)
        assert self.remind(D(2026, 2, 1)).key == self.remind(D(2026, 2, 1)).key
        assert self.remind(D(2026, 2, 1)).key != self.remind(D(2026, 2, 2)).key
        assert sent_stages([self.remind(D(2026, 2, 1))]) == ()


# --------------------------------------------------------------------------- N9


class TestIdempotencyKeys:
    def test_the_key_follows_the_documented_formula(self) -> None:
        # SPEC N9, formula of docs/notifications.md, digest computed apart with sha256sum:
        # printf '%s' '["upslife.notice.v1","AS1234567890","battery-replacement",
        #   "2026-03-01","d90","owner","","alice@example.com"]' | sha256sum
        notice = Notice(
            battery(D(2026, 3, 1)), D90, Recipient.owner(OWNER.email), OWNER, D(2025, 12, 1)
        )
        assert notice.key == (
            "notice:AS1234567890:battery-replacement:2026-03-01:d90:owner:"
            "0803c182a84178a99f03c1ce1ecba6206323d2716a23fbd4a1cb3091c8d16a3f"
        )
        plan = LifecycleEvent(SERIAL, PLAN, D(2025, 2, 28), STD, model=MODEL)
        chat = Notice(plan, DUE, Recipient.route(SLACK), OWNER, D(2025, 3, 3))
        assert chat.key == (
            "notice:AS1234567890:plan-expiry:2025-02-28:due:chat:"
            "d61c0e8dccb2f7c37eb8f714b8529503b107b19da39a5e79152ff177d727f4b0"
        )

    def test_the_key_ignores_what_does_not_identify_the_notice(self) -> None:
        # SPEC N9: the sending day (for schedule stages), SKU and customer details.
        first = Notice(
            battery(D(2026, 3, 1)), DUE, Recipient.owner(OWNER.email), OWNER, D(2026, 3, 1)
        )
        other_owner = Contact("Other", "Bob Ng", "bob@example.com")
        again = Notice(
            LifecycleEvent(SERIAL, BATTERY, D(2026, 3, 1), sku="X", model="SMT750IC"),
            DUE,
            Recipient.owner(OWNER.email),
            other_owner,
            D(2026, 3, 5),
        )
        assert first.key == again.key

    @given(items=st.lists(notice_parts(), min_size=1, max_size=12))
    def test_keys_are_unique_per_device_kind_due_date_stage_and_recipient(
        self, items: list[tuple[LifecycleEvent, Stage, Recipient]]
    ) -> None:
        # SPEC N9
        identities = set()
        keys = set()
        for event, stage, recipient in items:
            notice = Notice(event, stage, recipient, OWNER, D(2030, 1, 1))
            identities.add((event.id, stage, recipient))
            keys.add(notice.key)
        assert len(keys) == len(identities)

    def test_a_sweep_that_is_run_again_sends_each_notice_once(self) -> None:
        # SPEC N9: a re-run after a crash that lost the sent stages but kept the delivered
        # keys sends nothing twice; a re-run that lost both decides the same keys again.
        device = facts(battery_replace_by=D(2026, 3, 1))
        first = due_notices(
            device, D(2025, 12, 1), owner=OWNER, reseller_email=RESELLER, reseller_state=ACCEPTED
        )
        again = due_notices(
            device, D(2025, 12, 1), owner=OWNER, reseller_email=RESELLER, reseller_state=ACCEPTED
        )
        assert [n.key for n in first] == [n.key for n in again]
        delivered = {first[0].key}
        rest = due_notices(
            device,
            D(2025, 12, 1),
            owner=OWNER,
            reseller_email=RESELLER,
            reseller_state=ACCEPTED,
            sent_keys=delivered,
        )
        assert rest == first[1:]


# --------------------------------------------------------------------------- N10


class TestDigests:
    def notices(self) -> list[Notice]:
        owner, reseller = Recipient.owner(OWNER.email), Recipient.reseller(RESELLER)
        day = D(2026, 2, 22)
        early = battery(D(2026, 3, 1))
        late = LifecycleEvent(SERIAL, WARRANTY, D(2026, 5, 23), model=MODEL)
        due_today = LifecycleEvent("AS0000000002", PLAN, day, ADV, model=MODEL)
        return [
            Notice(early, D7, owner, OWNER, day),
            Notice(late, D90, reseller, OWNER, day),  # 90 days before 2026-05-23
            Notice(early, D7, reseller, OWNER, day),
            Notice(due_today, DUE, reseller, OWNER, day),
        ]

    def test_all_notices_of_a_digest_recipient_on_one_day_make_one_digest(self) -> None:
        # SPEC N10: sorted by severity (critical first), then due date.
        notices = self.notices()
        reseller = Recipient.reseller(RESELLER)
        grouped = group_into_digests(notices, {reseller: DeliveryPreference.DAILY_DIGEST})
        assert len(grouped) == 2
        first, digest = grouped
        assert first == notices[0]
        assert isinstance(digest, Digest)
        assert (digest.recipient, digest.day) == (reseller, D(2026, 2, 22))
        assert [(n.severity, n.due) for n in digest.notices] == [
            (CRITICAL, D(2026, 2, 22)),
            (WARNING, D(2026, 3, 1)),
            (INFO, D(2026, 5, 23)),
        ]
        assert digest.severity is CRITICAL

    def test_without_a_preference_every_notice_goes_on_its_own(self) -> None:
        # SPEC N10: the digest is a choice; the default is one message per notice.
        notices = self.notices()
        assert group_into_digests(notices, {}) == tuple(notices)
        owner = Recipient.owner(OWNER.email)
        grouped = group_into_digests(notices, {owner: DeliveryPreference.DAILY_DIGEST})
        assert isinstance(grouped[0], Digest)
        assert grouped[1:] == tuple(notices[1:])

    def test_a_digest_has_a_stable_key_of_its_own(self) -> None:
        # SPEC N10, N9: the same notices give the same key in any order; other notices,
        # another key.
        notices = [n for n in self.notices() if n.recipient.kind is RecipientKind.RESELLER]
        reseller = Recipient.reseller(RESELLER)
        whole = Digest(reseller, D(2026, 2, 22), notices)
        assert whole.key == Digest(reseller, D(2026, 2, 22), notices[::-1]).key
        assert whole.key.startswith("digest:reseller:2026-02-22:")
        assert whole.key != Digest(reseller, D(2026, 2, 22), notices[1:]).key
        assert whole.key not in {n.key for n in notices}

    def test_a_digest_holds_only_its_recipient_and_day(self) -> None:
        # SPEC N10, D5
        notices = self.notices()
        with pytest.raises(InvalidInput):
            Digest(Recipient.reseller(RESELLER), D(2026, 2, 22), notices)
        with pytest.raises(InvalidInput):
            Digest(Recipient.reseller(RESELLER), D(2026, 2, 23), notices[1:2])
        with pytest.raises(InvalidInput):
            Digest(Recipient.reseller(RESELLER), D(2026, 2, 22), [])


# --------------------------------------------------------------------------- next notice date


class TestNextNoticeDate:
    def test_the_next_notice_date_follows_the_schedule(self) -> None:
        # SPEC N2, N4 for a store's index. Battery due 2026-03-01 (dates as in N2).
        event = battery(D(2026, 3, 1))

        def sent(*stages: tuple[Stage, date]) -> list[SentStage]:
            return [SentStage(event.id, stage, on) for stage, on in stages]

        assert next_notice_date([event]) == D(2025, 12, 1)
        assert next_notice_date([event], after=D(2025, 12, 1)) == D(2025, 12, 2)
        done_90 = sent((D90, D(2025, 12, 1)))
        assert next_notice_date([event], done_90, after=D(2025, 12, 1)) == D(2026, 1, 30)
        assert next_notice_date([event], sent((D7, D(2026, 2, 22)))) == D(2026, 3, 1)
        assert next_notice_date([event], after=D(2026, 3, 8)) is None  # past the grace
        assert next_notice_date([event], sent((DUE, D(2026, 3, 1)))) is None
        assert next_notice_date([]) is None

    def test_a_device_is_next_due_on_its_earliest_event(self) -> None:
        # SPEC N1, N4: registered 2025-06-15, the trial ends 2025-12-15: its 90-day stage
        # is 2025-09-16 (Dec 15 − 15 = Nov 30, − 45 = Oct 31, − 76 = Sep 30, − 90 = Sep 16).
        device = facts(D(2025, 6, 15), battery_replace_by=D(2026, 3, 1))
        assert next_notice_date(lifecycle_events(device)) == D(2025, 9, 16)
        failure = facts(D(2025, 6, 15), battery_failure_reported_on=D(2025, 7, 1))
        assert next_notice_date(lifecycle_events(failure), after=D(2025, 7, 10)) == D(2025, 7, 11)

    @given(
        data=st.data(),
        due=dates(2001, 2059),
        kinds=st.lists(DATED_KINDS, min_size=1, max_size=3),
        with_failure=st.booleans(),
        grace=st.integers(0, 9),
    )
    def test_it_agrees_with_stage_due_on_every_day(
        self,
        data: st.DataObject,
        due: date,
        kinds: list[EventKind],
        with_failure: bool,
        grace: int,
    ) -> None:
        # SPEC N4: no stage is due on any day before the date, one is on it.
        evs = []
        for n, kind in enumerate(kinds):
            on = due + timedelta(days=data.draw(st.integers(-60, 60)))
            plan = STD if kind is PLAN else None
            evs.append(LifecycleEvent(f"S{n}", kind, on, plan, model=MODEL))
        if with_failure:
            reported = due + timedelta(days=data.draw(st.integers(-60, 60)))
            evs.append(LifecycleEvent("F", FAILURE, None, model=MODEL, reported_on=reported))
        sent = [
            SentStage(
                event.id,
                data.draw(stage_for(event.kind)),
                event.id.on + timedelta(days=data.draw(st.integers(-95, 10))),
            )
            for event in evs
            for _ in range(data.draw(st.integers(0, 2)))
        ]
        after = data.draw(st.one_of(st.none(), st.integers(-130, 80)))
        after_day = None if after is None else due + timedelta(days=after)
        found = next_notice_date(evs, sent, after=after_day, due_grace_days=grace)
        assert found is None or after_day is None or found > after_day

        def anything_due(day: date) -> bool:
            for event in evs:
                mine = [r for r in sent if r.event == event.id]
                last = max((r.on for r in mine), default=None)
                stages = {r.stage for r in mine}
                if stage_due(event, day, stages, due_grace_days=grace, last_sent_on=last):
                    return True
            return False

        first = due - timedelta(days=160) if after_day is None else after_day + timedelta(days=1)
        last_checked = found or due + timedelta(days=80)
        day = first
        while day < last_checked:
            assert not anything_due(day), day
            day += timedelta(days=1)
        if found is not None:
            assert anything_due(found)


# --------------------------------------------------------------------------- D5


class TestBadInput:
    def test_a_sweep_before_registration_is_refused(self) -> None:
        # SPEC D5
        with pytest.raises(DateBeforeRegistration):
            due_notices(facts(), D(2024, 1, 9), owner=OWNER)

    @pytest.mark.parametrize(
        "junk",
        [
            {"chat_routes": datetime(2026, 3, 1, tzinfo=UTC)},
            {"chat_routes": [1]},
            {"events": [1]},
            {"events": 7},
            {"sent": 5},
            {"sent": ["stage"]},
            {"sent_keys": 3},
            {"sent_keys": "a key"},
        ],
        ids=repr,
    )
    def test_a_wrong_type_of_collection_is_refused_with_a_typed_error(
        self, junk: dict[str, Any]
    ) -> None:
        # SPEC N9: only typed errors escape, whatever the caller passes (a fuzzing find).
        with pytest.raises(InvalidInput):
            due_notices(facts(), D(2026, 3, 1), owner=OWNER, **junk)

    def test_a_datetime_is_not_a_sweep_day(self) -> None:
        # SPEC D1
        with pytest.raises(InvalidDate):
            stage_due(battery(D(2026, 3, 1)), datetime(2026, 3, 1, tzinfo=UTC), ())
        with pytest.raises(InvalidDate):
            due_notices(facts(), datetime(2026, 3, 1, tzinfo=UTC), owner=OWNER)

    def test_a_reminder_is_not_a_stage_of_the_schedule(self) -> None:
        # SPEC N8: only schedule stages (and a failure's IMMEDIATE) are recorded.
        with pytest.raises(InvalidInput):
            SentStage(battery(D(2026, 3, 1)).id, Stage.REMINDER, D(2026, 2, 1))
        with pytest.raises(InvalidInput):
            Notice(
                battery(D(2026, 3, 1)),
                Stage.IMMEDIATE,
                Recipient.owner(OWNER.email),
                OWNER,
                D(2026, 2, 1),
            )

    @given(
        owner=st.one_of(contacts(), st.none(), st.text(max_size=5)),
        email=st.one_of(st.none(), st.text(max_size=12), st.just(RESELLER)),
        state=st.one_of(st.none(), STATES, st.text(max_size=5)),
        today=st.one_of(dates(), st.none(), st.integers()),
        grace=st.one_of(st.integers(-3, 12), st.none(), st.booleans()),
        routes=st.lists(st.one_of(st.just(SLACK), st.text(max_size=3)), max_size=2),
    )
    def test_random_bad_input_raises_only_upslife_errors(
        # Typed Any on purpose: the point is to pass what the signatures refuse.
        self,
        owner: Any,
        email: Any,
        state: Any,
        today: Any,
        grace: Any,
        routes: Any,
    ) -> None:
        # SPEC D5: whatever comes in, the only errors are ours.
        device = facts(D(2000, 1, 1), battery_replace_by=D(2030, 1, 1))
        event = battery(D(2030, 1, 1))
        attempts: list[Callable[[], object]] = [
            lambda: due_notices(
                device,
                today,
                owner=owner,
                reseller_email=email,
                reseller_state=state,
                chat_routes=routes,
                due_grace_days=grace,
            ),
            lambda: stage_due(event, today, (), due_grace_days=grace),
            lambda: next_notice_date([event], after=today),
            lambda: reminder(
                event,
                today,
                current_events=[event],
                owner=owner,
                reseller_email=email,
                reseller_state=state,
            ),
            lambda: recipients_for(
                event,
                owner=owner,
                reseller_email=email,
                reseller_state=state,
                chat_routes=routes,
                plan_in_force=Plan.STANDARD,
            ),
        ]
        for attempt in attempts:
            with contextlib.suppress(UpslifeError):
                attempt()


@given(event=events())
def test_a_trusted_event_is_the_event_the_public_constructor_builds(
    event: LifecycleEvent,
) -> None:
    # B1 (docs/performance.md): events built from validated values skip the validators,
    # and are equal, field by field and by identity, to the checked ones.
    from upslife.notifications import trusted_event

    fast = trusted_event(
        event.serial, event.kind, event.due, event.plan, event.sku, event.model,
        event.reported_on,
    )
    assert fast == event
    assert fast.id == event.id
    assert hash(fast) == hash(event)


@given(parts=notice_parts(), customer=contacts(), on=dates(2015, 2040))
def test_a_trusted_notice_is_the_notice_the_public_constructor_builds(
    parts: tuple[LifecycleEvent, Stage, Recipient], customer: Contact, on: date
) -> None:
    # SPEC N5, N9 (docs/performance.md, B2a): the plan's notices, built without the
    # validators, have the same fields, severity, title and idempotency key.
    from upslife.notifications import _trusted_notice

    event, stage, recipient = parts
    fast = _trusted_notice(event, stage, recipient, customer, on)
    checked = Notice(event, stage, recipient, customer, on)
    assert fast == checked
    assert attrs.astuple(fast, recurse=False) == attrs.astuple(checked, recurse=False)


_ROUTES = st.builds(
    ChatRoute, st.sampled_from(list(ChatKind)), st.sampled_from(["ops", " alerts ", "Ops Room"])
)


@given(customer=contacts(), route=_ROUTES)
def test_trusted_recipients_are_the_recipients_the_public_constructors_build(
    customer: Contact, route: ChatRoute
) -> None:
    # SPEC N6: an owner's address from its checked Contact, a route's name from its
    # checked ChatRoute, as Recipient.owner and Recipient.route make them.
    from upslife.notifications import RecipientKind, _trusted_recipient

    owner = _trusted_recipient(RecipientKind.OWNER, customer.email, None)
    assert owner == Recipient.owner(customer.email)
    chat = _trusted_recipient(RecipientKind.CHAT, route.name, route.kind)
    assert chat == Recipient.route(route)
    assert hash(chat) == hash(Recipient.route(route))


@st.composite
def device_facts_values(draw: st.DrawFn) -> DeviceFacts:
    """Validated facts: any coverage of licenses, any of the dates, a failure or none."""
    registered = draw(dates(2015, 2030))
    count = draw(st.integers(0, 4))
    licenses = [
        License.of(
            f"L{n}",
            draw(st.sampled_from([STD, ADV])),
            draw(st.sampled_from(list(Term))),
            registered + timedelta(days=draw(st.integers(0, 2500))),
        )
        for n in range(count)
    ]
    optional_day = st.one_of(st.none(), dates(2015, 2040).filter(lambda d: d >= registered))
    return DeviceFacts(
        draw(st.sampled_from(["as1", "AS2 ", "Q9"])),
        MODEL,
        coverage(registered, licenses),
        warranty_expires_on=draw(optional_day),
        battery_replace_by=draw(optional_day),
        service_life_ends_on=draw(optional_day),
        battery_failure_reported_on=draw(optional_day),
        battery_sku=draw(st.sampled_from([None, "APCRBC152"])),
        warranty_extension_sku=draw(st.sampled_from([None, "WBEXTWAR1YR-SP-03"])),
        upgrade_sku=draw(st.sampled_from([None, "SRT3000XLI"])),
    )


@given(device=device_facts_values())
def test_trusted_facts_are_the_facts_the_public_constructor_builds(device: DeviceFacts) -> None:
    # SPEC N1: the write path's facts, built without the validators (B1), are the same.
    from upslife.notifications import trusted_facts

    fast = trusted_facts(
        device.serial,
        device.model,
        device.coverage,
        warranty_expires_on=device.warranty_expires_on,
        battery_replace_by=device.battery_replace_by,
        service_life_ends_on=device.service_life_ends_on,
        battery_failure_reported_on=device.battery_failure_reported_on,
        battery_sku=device.battery_sku,
        warranty_extension_sku=device.warranty_extension_sku,
        upgrade_sku=device.upgrade_sku,
    )
    assert fast == device
    assert attrs.astuple(fast, recurse=False) == attrs.astuple(device, recurse=False)


@given(device=device_facts_values(), custom=st.booleans())
def test_lifecycle_events_are_the_previous_codes(device: DeviceFacts, custom: bool) -> None:
    # SPEC N1: the same events, in the same order, as the code before B1, field by field
    # and by identity, with the default plan SKUs or a caller's.
    def sku(plan: Plan) -> str:
        return f"{plan.name}-LICENSE"

    chosen = sku if custom else default_plan_license_sku
    fast = lifecycle_events(device, plan_license_sku=chosen)
    slow = reference.lifecycle_events(device, plan_license_sku=chosen)
    assert fast == slow
    assert [e.id for e in fast] == [e.id for e in slow]


EDGE_EVENTS = st.builds(
    lambda due: battery(due, "EDGE"),
    st.sampled_from([date.min, D(1, 1, 20), D(9999, 12, 25), date.max]),
)
"""Battery events whose stage windows reach past the calendar's ends."""


@given(
    evs=st.lists(st.one_of(events(), EDGE_EVENTS), max_size=6),
    data=st.data(),
    grace=st.one_of(st.integers(0, 9), st.just(10**12)),
)
def test_next_notice_date_is_the_previous_codes(
    evs: list[LifecycleEvent], data: st.DataObject, grace: int
) -> None:
    # SPEC N2, N4: the same next date as the code before B1, with or without stages sent,
    # after any day (the calendar's ends included) and with any grace.
    sent = [
        SentStage(
            event.id,
            data.draw(stage_for(event.kind)),
            data.draw(st.one_of(dates(), st.just(date.max))),
        )
        for event in evs
        for _ in range(data.draw(st.integers(0, 2)))
    ]
    after = data.draw(st.one_of(st.none(), dates(), st.sampled_from([date.min, date.max])))
    assert next_notice_date(evs, sent, after=after, due_grace_days=grace) == (
        reference.next_notice_date(evs, sent, after=after, due_grace_days=grace)
    )


@given(
    device=device_facts_values(),
    data=st.data(),
    grace=st.one_of(st.integers(0, 9), st.sampled_from([timedelta.max.days, 10**12])),
)
def test_the_next_date_of_facts_with_nothing_sent_is_the_next_date_of_their_events(
    device: DeviceFacts, data: st.DataObject, grace: int
) -> None:
    # SPEC N2, N4: with nothing sent (the write path's case) the date is folded from the
    # facts' dates (B1); it is the date their events give, after any day, the calendar's
    # ends included, with any grace, and with event dates anywhere in the calendar.
    from upslife.notifications import next_notice_date_of

    anywhere = st.one_of(st.none(), st.dates(), st.sampled_from([date.min, date.max]))
    device = attrs.evolve(
        device,
        warranty_expires_on=data.draw(anywhere),
        battery_replace_by=data.draw(anywhere),
        service_life_ends_on=data.draw(anywhere),
    )
    evs = lifecycle_events(device)
    after = data.draw(st.one_of(st.none(), st.dates(), st.sampled_from([date.min, date.max])))
    assert next_notice_date_of(device, (), after=after, due_grace_days=grace) == (
        next_notice_date(evs, (), after=after, due_grace_days=grace)
    )
    assert next_notice_date(evs, (), after=after, due_grace_days=grace) == (
        reference.next_notice_date(evs, (), after=after, due_grace_days=grace)
    )


@given(device=device_facts_values(), data=st.data(), grace=st.integers(0, 9))
def test_the_next_date_of_facts_is_the_next_date_of_their_events(
    device: DeviceFacts, data: st.DataObject, grace: int
) -> None:
    # SPEC N2, N4: the write path reads the date without building the events (B1); it is
    # the date their events give, with or without stages sent, after any day.
    from upslife.notifications import next_notice_date_of

    evs = lifecycle_events(device)
    sent = [
        SentStage(event.id, data.draw(stage_for(event.kind)), data.draw(dates()))
        for event in (data.draw(st.lists(st.sampled_from(evs), max_size=3)) if evs else [])
    ]
    after = data.draw(st.one_of(st.none(), dates(), st.just(date.max)))
    assert next_notice_date_of(device, sent, after=after, due_grace_days=grace) == (
        next_notice_date(evs, sent, after=after, due_grace_days=grace)
    )
