"""The executable spec of SPEC §0 and §1: plans, licenses, coverage, warranty, battery.

Worked examples state their expected dates as worked out by hand from the rules; the
comments beside them show the arithmetic.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta

import attrs
import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import assume, given
from hypothesis import strategies as st

from tests import reference_rules as reference
from tests.strategies import PAID_PLANS, TERMS, dates, licenses_after, month_end_dates
from upslife import (
    ActivationCode,
    AlreadyRegistered,
    Battery,
    BonusMonthsPromotion,
    DateBeforeRegistration,
    ExtendedWarranty,
    Feature,
    FeatureNotInPlan,
    InvalidDate,
    InvalidInput,
    InvalidQuantity,
    License,
    OverAssignment,
    Plan,
    ReasonKind,
    Segment,
    Term,
    UnknownPlan,
    UpgradePolicy,
    UpslifeError,
    WarrantyNotRunning,
    add_months,
    can,
    coverage,
    explain,
    promotions_from_config,
    register,
    require,
    warranty,
)
from upslife.catalog import Chemistry
from upslife.entitlements import Coverage

D = date
STD, ADV, BASIC = Plan.STANDARD, Plan.ADVANCED, Plan.BASIC


def spans(cov: Coverage) -> list[tuple[Plan, date, date | None]]:
    return [(s.plan, s.start, s.end) for s in cov.segments]


def lic(id: str, plan: Plan, term: str, on: date) -> License:
    return License.of(id, plan, term, on)


# --------------------------------------------------------------------------- §0 conventions


class TestConventions:
    def test_a_datetime_is_not_a_lifecycle_date(self) -> None:
        # SPEC D1: lifecycle dates are calendar dates; a datetime hides a time zone.
        with pytest.raises(InvalidDate):
            coverage(datetime(2024, 1, 1, tzinfo=UTC))

    def test_the_expiry_day_itself_is_not_covered(self) -> None:
        # SPEC D2: a term from S that "expires on" E covers S <= d < E.
        cov = coverage(D(2024, 1, 15))
        assert cov.expires_on(D(2024, 1, 15)) == D(2024, 7, 15)
        assert cov.plan_on(D(2024, 7, 14)) is STD
        assert cov.plan_on(D(2024, 7, 15)) is BASIC

    @pytest.mark.parametrize(
        ("start", "months", "expected"),
        [
            (D(2024, 1, 31), 1, D(2024, 2, 29)),  # SPEC D3's own examples
            (D(2024, 2, 29), 12, D(2025, 2, 28)),
            (D(2023, 1, 31), 1, D(2023, 2, 28)),
            (D(2024, 8, 31), 6, D(2025, 2, 28)),
            (D(2024, 3, 31), 1, D(2024, 4, 30)),
        ],
    )
    def test_months_are_calendar_months_clamped_at_month_end(
        self, start: date, months: int, expected: date
    ) -> None:
        # SPEC D3
        assert add_months(start, months) == expected

    @given(start=dates(101, 9898), months=st.integers(-1200, 1200))
    def test_month_arithmetic_agrees_with_relativedelta(self, start: date, months: int) -> None:
        # SPEC D3: add_months is dateutil.relativedelta's calendar arithmetic, computed faster.
        assert add_months(start, months) == start + relativedelta(months=months)

    def test_month_arithmetic_past_year_9999_is_a_typed_error(self) -> None:
        # SPEC D5
        with pytest.raises(InvalidDate):
            add_months(date(9999, 12, 1), 1)
        with pytest.raises(InvalidDate):
            add_months(date(1, 1, 31), -1)

    def test_rules_are_pure_functions_of_their_inputs(self) -> None:
        # SPEC D4: same inputs, same answer; the inputs are not touched.
        licenses = [lic("A", ADV, "1Y", D(2024, 3, 1)), lic("S", STD, "3Y", D(2024, 2, 1))]
        before = list(licenses)
        assert coverage(D(2024, 1, 1), licenses) == coverage(D(2024, 1, 1), licenses)
        assert licenses == before

    def test_bad_input_gets_a_typed_error_from_one_hierarchy(self) -> None:
        # SPEC D5
        for bad in (
            lambda: Plan.parse("GOLD"),
            lambda: Term.parse("2Y"),
            lambda: License("x", BASIC, 12, D(2024, 1, 1)),
            lambda: License("x", STD, 0, D(2024, 1, 1)),
            lambda: ActivationCode.issue("C", STD, "1Y", 0, "ops@example.com"),
            lambda: ActivationCode.issue("C", STD, "1Y", 1, "not-an-email"),
            lambda: coverage(D(2024, 1, 1), [lic("x", STD, "1Y", D(2023, 12, 31))]),
        ):
            with pytest.raises(UpslifeError):
                bad()

    def test_unknown_plan_is_both_a_lookup_and_a_value_error(self) -> None:
        # SPEC D5: callers catching the builtin keep working.
        with pytest.raises(LookupError):
            Plan.parse("PLATINUM")
        with pytest.raises(ValueError, match="PLATINUM"):
            Plan.parse("PLATINUM")

    @given(
        registered=st.one_of(st.none(), st.integers(), st.text(max_size=5), dates()),
        plan=st.one_of(st.text(max_size=10), st.integers(-3, 5), PAID_PLANS),
        term=st.one_of(st.text(max_size=4), st.integers(-100, 100), TERMS),
        months=st.one_of(st.integers(-5, 5), st.floats(allow_nan=True), st.none()),
        on=st.one_of(st.none(), st.integers(), dates(), st.datetimes()),
        quantity=st.one_of(st.integers(-5, 5), st.booleans(), st.text(max_size=3)),
        email=st.text(max_size=20),
    )
    def test_random_bad_input_raises_only_upslife_errors(
        self,
        registered: object,
        plan: object,
        term: object,
        months: object,
        on: object,
        quantity: object,
        email: str,
    ) -> None:
        # SPEC D5: whatever comes in, the only errors are ours.
        attempts: list[Callable[[], object]] = [
            lambda: Plan.parse(plan),  # type: ignore[arg-type]
            lambda: Term.parse(term),  # type: ignore[arg-type]
            lambda: License.of("L", plan, term, on),  # type: ignore[arg-type]
            lambda: License("L", plan, months, on),  # type: ignore[arg-type]
            lambda: coverage(registered, [License.of("L", STD, "1Y", on)]),  # type: ignore[arg-type]
            lambda: ActivationCode.issue("C", plan, term, quantity, email),  # type: ignore[arg-type]
            lambda: warranty(registered, months),  # type: ignore[arg-type]
            lambda: register("SN", "SMT1500C", on, registered=()),  # type: ignore[arg-type]
            lambda: Battery(on).replace_by(months),  # type: ignore[arg-type]
        ]
        for attempt in attempts:
            with contextlib.suppress(UpslifeError):
                attempt()


# --------------------------------------------------------------------------- E1–E3


class TestPlansAndTerms:
    def test_plans_are_ordered_basic_standard_advanced(self) -> None:
        # SPEC E1
        assert BASIC < STD < ADV
        assert sorted([ADV, BASIC, STD]) == [BASIC, STD, ADV]

    def test_basic_is_what_is_left_and_never_expires(self) -> None:
        # SPEC E1
        cov = coverage(D(2024, 1, 15))
        last = cov.segments[-1]
        assert last.plan is BASIC
        assert last.end is None
        assert cov.plan_on(D(2099, 12, 31)) is BASIC
        assert cov.expires_on(D(2099, 12, 31)) is None

    def test_registration_grants_a_six_month_standard_trial(self) -> None:
        # SPEC E2: R + 6 months.
        assert spans(coverage(D(2024, 8, 31))) == [
            (STD, D(2024, 8, 31), D(2025, 2, 28)),
            (BASIC, D(2025, 2, 28), None),
        ]

    def test_a_serial_registers_once(self) -> None:
        # SPEC E2
        reg = register("as1234567890", "smt1500c", D(2024, 1, 1))
        assert reg.serial == "AS1234567890"
        assert reg.model == "SMT1500C"
        with pytest.raises(AlreadyRegistered):
            register("AS1234567890", "SMT1500C", D(2024, 5, 1), registered={reg.serial})

    @pytest.mark.parametrize(("term", "months"), [("1Y", 12), ("3Y", 36), ("5Y", 60)])
    def test_terms_are_one_three_and_five_years(self, term: str, months: int) -> None:
        # SPEC E3
        assert Term.parse(term).months == months
        assert Term.parse(months).label == term

    def test_online_and_partner_licenses_are_the_same_thing(self) -> None:
        # SPEC E3: a license from a code and one built directly compute the same coverage.
        code = ActivationCode.issue("PARTNER", STD, "1Y", 1, "installer@example.com")
        _, (from_code,) = code.assign(D(2024, 3, 1))
        online = lic("ONLINE", STD, "1Y", D(2024, 3, 1))
        assert spans(coverage(D(2024, 1, 1), [from_code])) == spans(
            coverage(D(2024, 1, 1), [online])
        )

    def test_a_license_is_never_basic(self) -> None:
        # SPEC E3
        with pytest.raises(InvalidInput):
            License.of("L", "BASIC", "1Y", D(2024, 1, 1))


# --------------------------------------------------------------------------- E4


class TestCoverageModel:
    def test_renewing_early_appends_and_loses_no_day(self) -> None:
        # SPEC E4a: trial 2024-01-15 → 2024-07-15; STANDARD 1Y on 2024-03-01 appends:
        # 2024-01-15 + (6 + 12) months = 2025-07-15.
        cov = coverage(D(2024, 1, 15), [lic("S1", STD, "1Y", D(2024, 3, 1))])
        assert spans(cov) == [(STD, D(2024, 1, 15), D(2025, 7, 15)), (BASIC, D(2025, 7, 15), None)]

    def test_one_year_plus_three_years_is_four_years_to_the_day(self) -> None:
        # SPEC E4b: both assigned on 2024-03-10, after the trial of a 2023 registration
        # ended (2023-06-01 + 6 months = 2023-12-01): 2024-03-10 + 48 months = 2028-03-10.
        cov = coverage(
            D(2023, 6, 1),
            [lic("S1", STD, "1Y", D(2024, 3, 10)), lic("S3", STD, "3Y", D(2024, 3, 10))],
        )
        assert cov.expires_on(D(2024, 3, 10)) == D(2028, 3, 10)

    def test_an_upgrade_starts_on_its_assignment_day(self) -> None:
        # SPEC E4c: ADVANCED on 2024-03-01 during the trial (2024-01-15 → 2024-07-15).
        cov = coverage(D(2024, 1, 15), [lic("A1", ADV, "1Y", D(2024, 3, 1))])
        assert cov.plan_on(D(2024, 2, 29)) is STD
        assert cov.plan_on(D(2024, 3, 1)) is ADV
        assert cov.expires_on(D(2024, 3, 1)) == D(2025, 3, 1)

    def test_the_paused_trial_resumes_in_days_after_the_upgrade(self) -> None:
        # SPEC E4d: trial 2024-01-15 → 2024-07-15, upgrade on 2024-03-01 pauses
        # 2024-03-01..2024-07-15 = 30 + 30 + 31 + 30 + 14 = 136 days (March 1 → July 15).
        # ADVANCED 2024-03-01 → 2025-03-01, then STANDARD 136 days → 2025-07-15.
        cov = coverage(D(2024, 1, 15), [lic("A1", ADV, "1Y", D(2024, 3, 1))])
        assert spans(cov) == [
            (STD, D(2024, 1, 15), D(2024, 3, 1)),
            (ADV, D(2024, 3, 1), D(2025, 3, 1)),
            (STD, D(2025, 3, 1), D(2025, 7, 15)),
            (BASIC, D(2025, 7, 15), None),
        ]
        assert (D(2024, 7, 15) - D(2024, 3, 1)).days == 136

    def test_forfeit_drops_the_paused_remainder(self) -> None:
        # SPEC E4d: the FORFEIT policy, explicit.
        cov = coverage(
            D(2024, 1, 15), [lic("A1", ADV, "1Y", D(2024, 3, 1))], policy=UpgradePolicy.FORFEIT
        )
        assert spans(cov) == [
            (STD, D(2024, 1, 15), D(2024, 3, 1)),
            (ADV, D(2024, 3, 1), D(2025, 3, 1)),
            (BASIC, D(2025, 3, 1), None),
        ]

    def test_defer_is_the_default_policy(self) -> None:
        # SPEC E4d
        licenses = [lic("A1", ADV, "1Y", D(2024, 3, 1))]
        assert coverage(D(2024, 1, 15), licenses) == coverage(
            D(2024, 1, 15), licenses, policy=UpgradePolicy.DEFER
        )

    def test_a_lower_plan_license_is_queued_behind_the_higher(self) -> None:
        # SPEC E4e: ADVANCED 1Y from 2024-02-01 (upgrade during the trial of 2024-01-15,
        # pausing 2024-02-01..2024-07-15 = 165 days); STANDARD 1Y on 2024-06-01 is
        # queued. STANDARD resumes on 2025-02-01: 165 days → 2025-07-16, then anchored
        # 12 months → 2026-07-16 (SPEC E5: (T + d days) + M months).
        cov = coverage(
            D(2024, 1, 15),
            [lic("A1", ADV, "1Y", D(2024, 2, 1)), lic("S1", STD, "1Y", D(2024, 6, 1))],
        )
        assert (D(2024, 7, 15) - D(2024, 2, 1)).days == 165
        assert spans(cov) == [
            (STD, D(2024, 1, 15), D(2024, 2, 1)),
            (ADV, D(2024, 2, 1), D(2025, 2, 1)),
            (STD, D(2025, 2, 1), D(2026, 7, 16)),
            (BASIC, D(2026, 7, 16), None),
        ]
        assert cov.plan_on(D(2024, 6, 1)) is ADV

    def test_a_license_on_a_device_with_no_time_starts_on_its_day(self) -> None:
        # SPEC E4f: trial ended 2024-07-15; a license on 2024-09-20 is not back-dated.
        cov = coverage(D(2024, 1, 15), [lic("S1", STD, "1Y", D(2024, 9, 20))])
        assert spans(cov) == [
            (STD, D(2024, 1, 15), D(2024, 7, 15)),
            (BASIC, D(2024, 7, 15), D(2024, 9, 20)),
            (STD, D(2024, 9, 20), D(2025, 9, 20)),
            (BASIC, D(2025, 9, 20), None),
        ]

    def test_a_license_dated_before_registration_is_refused(self) -> None:
        # SPEC E4f, D5
        with pytest.raises(DateBeforeRegistration, match="2024-01-14"):
            coverage(D(2024, 1, 15), [lic("S1", STD, "1Y", D(2024, 1, 14))])

    def test_a_same_day_upgrade_after_a_gap_leaves_one_basic_gap(self) -> None:
        # SPEC E4c, E4f: trial 2024-01-15 → 2024-07-15; on 2024-09-20 a STANDARD and then
        # an ADVANCED license. ADVANCED is in force from that day; the STANDARD year
        # (2024-09-20 → 2025-09-20, 365 days) waits paused and resumes on 2025-09-20.
        cov = coverage(
            D(2024, 1, 15),
            [lic("S1", STD, "1Y", D(2024, 9, 20)), lic("A1", ADV, "1Y", D(2024, 9, 20))],
        )
        assert spans(cov) == [
            (STD, D(2024, 1, 15), D(2024, 7, 15)),
            (BASIC, D(2024, 7, 15), D(2024, 9, 20)),
            (ADV, D(2024, 9, 20), D(2025, 9, 20)),
            (STD, D(2025, 9, 20), D(2026, 9, 20)),
            (BASIC, D(2026, 9, 20), None),
        ]

    def test_a_license_on_the_expiry_day_continues_the_run(self) -> None:
        # SPEC E4a, E5 (decision): no day is uncovered between the two, so the run's anchor
        # holds: 2024-01-31 + (6 + 12) months = 2025-07-31, not 2024-07-31 + 12 months.
        cov = coverage(D(2024, 1, 31), [lic("S1", STD, "1Y", D(2024, 7, 31))])
        assert cov.expires_on(D(2024, 7, 31)) == D(2025, 7, 31)


class TestWorkedExample:
    """Registered 2024-08-31; STANDARD 1Y on 2024-10-10; ADVANCED 1Y on 2024-12-10;
    STANDARD 3Y on 2025-03-01. Dates worked out by hand.

    - trial: 2024-08-31 + 6 months = 2025-02-28 (clamped);
    - STANDARD 1Y appends: 2024-08-31 + 18 months = 2026-02-28;
    - ADVANCED 1Y on 2024-12-10: STANDARD pauses with 2024-12-10..2026-02-28 left
      = 365 (to 2025-12-10) + 21 + 31 + 28 (to 2026-02-28) = 445 days;
      ADVANCED runs 2024-12-10 → 2025-12-10;
    - STANDARD 3Y on 2025-03-01 is queued (ADVANCED in force);
    - DEFER: STANDARD resumes 2025-12-10, 445 days → 2027-02-28, + 36 months → 2030-02-28;
    - FORFEIT: the 445 days are dropped; 2025-12-10 + 36 months = 2028-12-10.
    """

    REGISTERED = D(2024, 8, 31)
    S1 = lic("S1", STD, "1Y", D(2024, 10, 10))
    A1 = lic("A1", ADV, "1Y", D(2024, 12, 10))
    S3 = lic("S3", STD, "3Y", D(2025, 3, 1))

    @pytest.mark.parametrize("policy", list(UpgradePolicy))
    def test_after_registration(self, policy: UpgradePolicy) -> None:
        # SPEC E2, E12
        assert spans(coverage(self.REGISTERED, policy=policy)) == [
            (STD, D(2024, 8, 31), D(2025, 2, 28)),
            (BASIC, D(2025, 2, 28), None),
        ]

    @pytest.mark.parametrize("policy", list(UpgradePolicy))
    def test_after_the_standard_year(self, policy: UpgradePolicy) -> None:
        # SPEC E4a, E5
        assert spans(coverage(self.REGISTERED, [self.S1], policy=policy)) == [
            (STD, D(2024, 8, 31), D(2026, 2, 28)),
            (BASIC, D(2026, 2, 28), None),
        ]

    def test_after_the_upgrade_under_defer(self) -> None:
        # SPEC E4c, E4d
        assert (D(2026, 2, 28) - D(2024, 12, 10)).days == 445
        assert spans(coverage(self.REGISTERED, [self.S1, self.A1])) == [
            (STD, D(2024, 8, 31), D(2024, 12, 10)),
            (ADV, D(2024, 12, 10), D(2025, 12, 10)),
            (STD, D(2025, 12, 10), D(2027, 2, 28)),
            (BASIC, D(2027, 2, 28), None),
        ]

    def test_after_the_upgrade_under_forfeit(self) -> None:
        # SPEC E4d
        cov = coverage(self.REGISTERED, [self.S1, self.A1], policy=UpgradePolicy.FORFEIT)
        assert spans(cov) == [
            (STD, D(2024, 8, 31), D(2024, 12, 10)),
            (ADV, D(2024, 12, 10), D(2025, 12, 10)),
            (BASIC, D(2025, 12, 10), None),
        ]

    def test_after_the_queued_three_years_under_defer(self) -> None:
        # SPEC E4e, E5
        cov = coverage(self.REGISTERED, [self.S1, self.A1, self.S3])
        assert spans(cov) == [
            (STD, D(2024, 8, 31), D(2024, 12, 10)),
            (ADV, D(2024, 12, 10), D(2025, 12, 10)),
            (STD, D(2025, 12, 10), D(2030, 2, 28)),
            (BASIC, D(2030, 2, 28), None),
        ]

    def test_after_the_queued_three_years_under_forfeit(self) -> None:
        # SPEC E4d, E4e
        cov = coverage(
            self.REGISTERED, [self.S1, self.A1, self.S3], policy=UpgradePolicy.FORFEIT
        )
        assert spans(cov) == [
            (STD, D(2024, 8, 31), D(2024, 12, 10)),
            (ADV, D(2024, 12, 10), D(2025, 12, 10)),
            (STD, D(2025, 12, 10), D(2028, 12, 10)),
            (BASIC, D(2028, 12, 10), None),
        ]

    def test_the_explanation_names_every_step(self) -> None:
        # SPEC E12
        segments = explain(self.REGISTERED, [self.S1, self.A1, self.S3])
        kinds = [[r.kind for r in s.reasons] for s in segments]
        assert kinds[0] == [ReasonKind.TRIAL, ReasonKind.APPENDED, ReasonKind.PAUSED]
        assert kinds[1] == [ReasonKind.UPGRADE]
        assert kinds[2] == [ReasonKind.QUEUED, ReasonKind.RESUMED]
        assert kinds[3] == [ReasonKind.NO_TIME_LEFT]
        assert "445" in segments[0].reasons[-1].text
        assert segments[2].reasons[0].license_id == "S3"
        text = coverage(self.REGISTERED, [self.S1, self.A1, self.S3]).explain()
        assert "2030-02-28" in text
        assert "paused" in text

    def test_forfeit_explains_what_was_dropped(self) -> None:
        # SPEC E12, E4d
        segments = explain(self.REGISTERED, [self.S1, self.A1], policy=UpgradePolicy.FORFEIT)
        assert segments[0].reasons[-1].kind is ReasonKind.FORFEITED
        assert "445" in segments[0].reasons[-1].text


# --------------------------------------------------------------------------- properties


def same_plan_runs(licenses: Sequence[License]) -> list[tuple[date, date]]:
    """An independent oracle for the top plan: it is never paused, so its licenses form
    runs by the plain append rule, each run ending at anchor + total months (SPEC E5)."""
    runs: list[tuple[date, int]] = []
    for item in sorted(licenses, key=lambda x: x.assigned_on):
        if runs and item.assigned_on <= add_months(runs[-1][0], runs[-1][1]):
            runs[-1] = (runs[-1][0], runs[-1][1] + item.months)
        else:
            runs.append((item.assigned_on, item.months))
    return [(start, add_months(start, months)) for start, months in runs]


def check_well_formed(cov: Coverage) -> None:
    segments = cov.segments
    assert segments[0].start == cov.registered_on
    assert segments[-1].plan is BASIC
    assert segments[-1].end is None
    for a, b in itertools.pairwise(segments):
        assert a.end == b.start
        assert a.plan is not b.plan
    for s in segments[:-1]:
        assert s.end is not None
        assert s.end > s.start


class TestProperties:
    @given(start=dates(), terms=st.lists(TERMS, min_size=1, max_size=12), data=st.data())
    def test_anchored_stacking_end_is_start_plus_all_months(
        self, start: date, terms: list[Term], data: st.DataObject
    ) -> None:
        # SPEC E5, E4b: a run of same-plan terms ends at start + sum(months), computed once
        # from the anchor, whenever each term is assigned during the run.
        months = 6  # the trial
        licenses = []
        for n, term in enumerate(terms):
            end = add_months(start, months)
            offset = data.draw(st.integers(0, (end - start).days), label=f"offset{n}")
            licenses.append(License.of(f"L{n}", STD, term, start + timedelta(days=offset)))
            months += term.months
        cov = coverage(start, licenses)
        assert spans(cov) == [
            (STD, start, add_months(start, months)),
            (BASIC, add_months(start, months), None),
        ]

    @given(start=month_end_dates(), a=TERMS, b=TERMS, offset=st.integers(0, 4000))
    def test_two_terms_stack_like_one_from_any_start(
        self, start: date, a: Term, b: Term, offset: int
    ) -> None:
        # SPEC E4b: 1Y + 3Y == 4Y to the day, 29 February and month ends included.
        day = start + timedelta(days=offset)
        two = coverage(start, [License.of("a", ADV, a, day), License.of("b", ADV, b, day)])
        one = coverage(start, [License("ab", ADV, a.months + b.months, day)])
        assert two.expires_on(day) == one.expires_on(day) == add_months(day, a.months + b.months)

    @given(start=dates(), data=st.data(), policy=st.sampled_from(list(UpgradePolicy)))
    def test_coverage_is_well_formed_and_advanced_time_is_never_touched(
        self, start: date, data: st.DataObject, policy: UpgradePolicy
    ) -> None:
        # SPEC E4: ADVANCED, the highest plan, is in force exactly where its own licenses
        # put it, whatever lower licenses do (checked against an independent oracle).
        licenses = data.draw(licenses_after(start))
        cov = coverage(start, licenses, policy=policy)
        check_well_formed(cov)
        advanced = [(s.start, s.end) for s in cov.segments if s.plan is ADV]
        assert advanced == same_plan_runs([x for x in licenses if x.plan is ADV])

    @given(start=dates(), data=st.data())
    def test_basic_only_when_no_time_is_left(self, start: date, data: st.DataObject) -> None:
        # SPEC E1, E4: on a BASIC day every license assigned so far has been used up.
        licenses = data.draw(licenses_after(start))
        cov = coverage(start, licenses)
        for seg in cov.segments:
            if seg.plan is BASIC:
                known = [x for x in licenses if x.assigned_on <= seg.start]
                paid = coverage(start, known).paid_until
                assert paid is not None
                assert paid <= seg.start

    @given(start=dates(), data=st.data())
    def test_standard_time_interrupted_by_upgrades_resumes_in_full(
        self, start: date, data: st.DataObject
    ) -> None:
        # SPEC E4d: under DEFER, STANDARD time assigned before the upgrades is consumed
        # in full, to the day: as many STANDARD days as without any upgrade.
        standard = data.draw(licenses_after(start, plans=st.just(STD), within_days=1500))
        first_upgrade = data.draw(st.integers(0, 2500))
        advanced = data.draw(
            licenses_after(
                start + timedelta(days=first_upgrade), plans=st.just(ADV), max_size=4
            )
        )
        assume(advanced)
        upgrade_day = min(x.assigned_on for x in advanced)
        standard = [x for x in standard if x.assigned_on < upgrade_day]
        alone = coverage(start, standard)
        both = coverage(start, standard + advanced)
        assert both.days_of(STD) == alone.days_of(STD)
        assert both.days_of(ADV) == sum((e - s).days for s, e in same_plan_runs(advanced))

    @given(start=dates(), data=st.data())
    def test_forfeit_differs_from_defer_by_exactly_the_paused_remainder(
        self, start: date, data: st.DataObject
    ) -> None:
        # SPEC E4d: one upgrade; whatever STANDARD time is left at it is resumed under
        # DEFER and dropped under FORFEIT, nothing else differs.
        standard = data.draw(licenses_after(start, plans=st.just(STD), within_days=1500))
        upgrade_day = start + timedelta(days=data.draw(st.integers(0, 2000)))
        upgrade = License.of("A", ADV, data.draw(TERMS), upgrade_day)
        standard = [x for x in standard if x.assigned_on < upgrade.assigned_on]
        before = coverage(start, standard)
        running_end = before.expires_on(upgrade.assigned_on)
        left = (running_end - upgrade.assigned_on).days if running_end else 0
        defer = coverage(start, [*standard, upgrade])
        forfeit = coverage(start, [*standard, upgrade], policy=UpgradePolicy.FORFEIT)
        assert defer.paid_until is not None
        assert forfeit.paid_until is not None
        assert (defer.paid_until - forfeit.paid_until).days == left
        assert defer.days_of(STD) - forfeit.days_of(STD) == left
        assert defer.days_of(ADV) == forfeit.days_of(ADV)

    @given(start=dates(), data=st.data())
    def test_queued_licenses_add_their_full_months_after_the_paused_days(
        self, start: date, data: st.DataObject
    ) -> None:
        # SPEC E4e, E5: every license contributes its full months from the day its time
        # starts: STANDARD resumes on T with d paused days and ends on (T + d) + M months.
        upgrade_day = start + timedelta(days=data.draw(st.integers(0, 400)))
        upgrade = License.of("A", ADV, data.draw(TERMS), upgrade_day)
        adv_end = add_months(upgrade_day, upgrade.months)
        queued = [
            License.of(f"Q{n}", STD, term, upgrade_day + timedelta(days=offset))
            for n, (term, offset) in enumerate(
                data.draw(st.lists(st.tuples(TERMS, st.integers(0, 300)), max_size=5))
            )
        ]
        trial_end = add_months(start, 6)
        paused = max(0, (trial_end - upgrade_day).days)
        cov = coverage(start, [upgrade, *queued])
        expected = add_months(adv_end + timedelta(days=paused), sum(q.months for q in queued))
        assert cov.paid_until == max(expected, adv_end)

    @given(start=dates(), data=st.data())
    def test_an_extra_license_never_moves_paid_coverage_earlier(
        self, start: date, data: st.DataObject
    ) -> None:
        # SPEC E4 (under DEFER nothing is lost): more licenses, never less coverage.
        licenses = data.draw(licenses_after(start, max_size=6))
        extra = data.draw(licenses_after(start, max_size=1).filter(bool))[0]
        extra = attrs.evolve(extra, id="extra")
        base = coverage(start, licenses).paid_until
        more = coverage(start, [*licenses, extra]).paid_until
        assert base is not None
        assert more is not None
        assert more >= base

    @given(start=dates(), data=st.data(), policy=st.sampled_from(list(UpgradePolicy)))
    def test_the_plan_in_force_is_the_segment_covering_the_day(
        self, start: date, data: st.DataObject, policy: UpgradePolicy
    ) -> None:
        # SPEC D2, E4: lookups agree with the segments, and the day before registration is
        # refused.
        cov = coverage(start, data.draw(licenses_after(start)), policy=policy)
        day = start + timedelta(days=data.draw(st.integers(0, 6000)))
        seg = cov.segment_on(day)
        assert seg.covers(day)
        assert cov.plan_on(day) is seg.plan
        with pytest.raises(DateBeforeRegistration):
            cov.plan_on(start - timedelta(days=1))


# --------------------------------------------------------------------------- E6


class TestActivationCodes:
    def test_parts_of_a_code_go_to_several_devices_on_several_days(self) -> None:
        # SPEC E6: a code for 5 licenses; 2 to one device on one day, 3 to another later.
        code = ActivationCode.issue("AC-1", ADV, "3Y", 5, "installer@example.com")
        code, first = code.assign(D(2024, 3, 1), 2)
        code, second = code.assign(D(2024, 5, 20), 3)
        assert code.remaining == 0
        assert [x.id for x in first + second] == [f"AC-1#{n}" for n in range(1, 6)]
        assert {x.assigned_on for x in second} == {D(2024, 5, 20)}
        # each assignment is calculated for its device from its own day (E4):
        # 2 × 3Y from 2024-03-01 stack to 2030-03-01.
        assert coverage(D(2024, 1, 1), first).expires_on(D(2024, 3, 1)) == D(2030, 3, 1)

    def test_assigning_more_than_is_left_assigns_nothing(self) -> None:
        # SPEC E6
        code = ActivationCode.issue("AC-2", STD, "1Y", 2, "installer@example.com")
        code, _ = code.assign(D(2024, 3, 1))
        with pytest.raises(OverAssignment) as err:
            code.assign(D(2024, 3, 2), 2)
        assert err.value.remaining == 1
        assert code.remaining == 1

    def test_the_code_goes_to_the_installer_email(self) -> None:
        # SPEC E6
        code = ActivationCode.issue("AC-3", STD, "1Y", 1, "Installer@Example.COM")
        assert code.installer_email == "Installer@example.com"

    def test_quantity_must_be_positive(self) -> None:
        # SPEC E6, D5
        with pytest.raises(InvalidQuantity):
            ActivationCode.issue("AC-4", STD, "1Y", 0, "installer@example.com")
        code = ActivationCode.issue("AC-4", STD, "1Y", 1, "installer@example.com")
        with pytest.raises(InvalidQuantity):
            code.assign(D(2024, 1, 1), 0)

    @given(
        quantity=st.integers(1, 30),
        requests=st.lists(st.integers(-2, 12), max_size=20),
    )
    def test_a_code_never_goes_below_zero(self, quantity: int, requests: list[int]) -> None:
        # SPEC E6: a refused over-assignment changes nothing.
        code = ActivationCode.issue("AC", STD, "1Y", quantity, "installer@example.com")
        handed_out = 0
        for count in requests:
            before = code
            try:
                code, licenses = code.assign(D(2024, 1, 1), count)
            except (OverAssignment, InvalidQuantity):
                assert code == before
                assert count < 1 or count > code.remaining
                continue
            handed_out += len(licenses)
            assert len(licenses) == count
            assert code.remaining >= 0
        assert code.remaining == quantity - handed_out >= 0


# --------------------------------------------------------------------------- E7–E9


class TestWarranty:
    def test_warranty_runs_base_months_from_registration_plus_extensions(self) -> None:
        # SPEC E8: 2024-02-29 + (24 + 12) months = 2027-02-28 (anchored, clamped once).
        ext = ExtendedWarranty("W1", "WEXTWAR1YR-SP-01", 12, D(2025, 6, 1))
        result = warranty(D(2024, 2, 29), 24, [ext], chemistry=Chemistry.LITHIUM_ION)
        assert result.expires_on == D(2027, 2, 28)
        assert result.battery_expires_on == D(2027, 2, 28)

    def test_an_extension_on_or_after_expiry_is_refused(self) -> None:
        # SPEC E8: warranty 2024-01-10 + 24 months = 2026-01-10.
        late = ExtendedWarranty("W1", "WEXTWAR1YR-SP-01", 12, D(2026, 1, 10))
        with pytest.raises(WarrantyNotRunning):
            warranty(D(2024, 1, 10), 24, [late])
        in_time = attrs.evolve(late, activated_on=D(2026, 1, 9))
        assert warranty(D(2024, 1, 10), 24, [in_time]).expires_on == D(2027, 1, 10)

    def test_a_lead_acid_device_gets_twelve_more_battery_months(self) -> None:
        # SPEC E8
        result = warranty(D(2024, 1, 10), 24, chemistry=Chemistry.LEAD_ACID)
        assert result.expires_on == D(2026, 1, 10)
        assert result.battery_expires_on == D(2027, 1, 10)

    def test_an_extended_warranty_before_the_cutoff_also_credits_standard(self) -> None:
        # SPEC E7: registered 2023-01-15 (trial → 2023-07-15). A 1-year extension on
        # 2023-07-31, before 2023-08-01, credits STANDARD from that day: → 2024-07-31.
        ext = ExtendedWarranty("W1", "WEXTWAR1YR-SP-01", 12, D(2023, 7, 31))
        cov = coverage(D(2023, 1, 15), warranties=[ext])
        assert spans(cov) == [
            (STD, D(2023, 1, 15), D(2023, 7, 15)),
            (BASIC, D(2023, 7, 15), D(2023, 7, 31)),
            (STD, D(2023, 7, 31), D(2024, 7, 31)),
            (BASIC, D(2024, 7, 31), None),
        ]
        assert cov.segments[2].reasons[0].kind is ReasonKind.WARRANTY_CREDIT
        # and it extends the warranty: 2023-01-15 + (36 + 12) months = 2027-01-15.
        assert warranty(D(2023, 1, 15), 36, [ext]).expires_on == D(2027, 1, 15)

    def test_an_extended_warranty_from_the_cutoff_on_changes_no_coverage(self) -> None:
        # SPEC E7: activated 2023-08-01: warranty only.
        ext = ExtendedWarranty("W1", "WEXTWAR1YR-SP-01", 12, D(2023, 8, 1))
        assert spans(coverage(D(2023, 1, 15), warranties=[ext])) == [
            (STD, D(2023, 1, 15), D(2023, 7, 15)),
            (BASIC, D(2023, 7, 15), None),
        ]
        assert warranty(D(2023, 1, 15), 36, [ext]).expires_on == D(2027, 1, 15)


class TestBattery:
    def test_the_reported_replace_by_date_wins(self) -> None:
        # SPEC E9
        battery = Battery(D(2024, 1, 31)).reported(D(2026, 6, 1))
        assert battery.replace_by(36) == D(2026, 6, 1)

    def test_otherwise_install_date_plus_expected_life(self) -> None:
        # SPEC E9: 2024-01-31 + 36 months = 2027-01-31; lithium-ion life differs (96).
        assert Battery(D(2024, 1, 31)).replace_by(36) == D(2027, 1, 31)
        assert Battery(D(2024, 2, 29)).replace_by(96) == D(2032, 2, 29)

    def test_a_new_install_date_replaces_the_reported_date(self) -> None:
        # SPEC E9
        battery = Battery(D(2022, 1, 1)).reported(D(2025, 1, 1)).installed(D(2024, 11, 5))
        assert battery.replace_by(36) == D(2027, 11, 5)


# --------------------------------------------------------------------------- E10, E11


FEATURE_TABLE = {
    Feature.REMOTE_FIRMWARE_INSTALL: (False, True, True),
    Feature.INPUT_SENSITIVITY: (False, True, True),
    Feature.SELF_TEST: (False, True, True),
    Feature.OUTLET_GROUP_REBOOT: (False, False, True),
    Feature.EVENT_LOG: (False, True, True),
    Feature.CUSTOM_EMAILS: (False, True, True),
    Feature.CHAT_ROUTING: (False, True, True),
    Feature.SHARE_WITH_NEW_USER: (False, True, True),
    Feature.FIRMWARE_DELIVERY: (True, True, True),
    Feature.SET_BATTERY_INSTALL_DATE: (True, True, True),
    Feature.LIFECYCLE_NOTICES: (True, True, True),
    Feature.REPORTS: (True, True, True),
}


class TestFeatures:
    @pytest.mark.parametrize("feature", list(Feature))
    def test_the_feature_table(self, feature: Feature) -> None:
        # SPEC E10: the table, row by row.
        assert tuple(can(p, feature) for p in (BASIC, STD, ADV)) == FEATURE_TABLE[feature]

    def test_a_refusal_names_the_plan_needed(self) -> None:
        # SPEC E10
        with pytest.raises(FeatureNotInPlan, match="Advanced plan") as err:
            require(STD, Feature.OUTLET_GROUP_REBOOT)
        assert err.value.required is ADV
        with pytest.raises(FeatureNotInPlan, match="Standard plan"):
            require(BASIC, Feature.REMOTE_FIRMWARE_INSTALL)
        require(BASIC, Feature.REPORTS)

    def test_unknown_plan_names_are_refused(self) -> None:
        # SPEC E10, D5
        with pytest.raises(UnknownPlan):
            can("GOLD", Feature.REPORTS)  # type: ignore[arg-type]


class TestPromotions:
    SPRING = BonusMonthsPromotion(
        "spring", ADV, (Term.Y1, Term.Y3), D(2025, 3, 1), D(2025, 6, 1), months=3
    )

    def test_advanced_licenses_in_the_window_get_extra_months(self) -> None:
        # SPEC E11: 3 extra months: ADVANCED 1Y on 2025-03-01 runs to 2026-06-01.
        code = ActivationCode.issue("P", ADV, "1Y", 1, "installer@example.com")
        _, (granted,) = code.assign(D(2025, 3, 1), promotions=[self.SPRING])
        assert granted.months == 15
        assert "spring" in granted.notes[0]
        cov = coverage(D(2025, 1, 1), [granted])
        assert cov.expires_on(D(2025, 3, 1)) == D(2026, 6, 1)

    def test_outside_the_window_or_another_term_gets_nothing(self) -> None:
        # SPEC E11: the window is half-open; 5Y is not in this promotion.
        code = ActivationCode.issue("P", ADV, "1Y", 2, "installer@example.com")
        _, (late,) = code.assign(D(2025, 6, 1), promotions=[self.SPRING])
        five = ActivationCode.issue("P5", ADV, "5Y", 1, "installer@example.com")
        _, (long,) = five.assign(D(2025, 4, 1), promotions=[self.SPRING])
        assert late.months == 12
        assert long.months == 60

    def test_an_order_of_more_than_ten_gets_extra_licenses(self) -> None:
        # SPEC E11: amounts are configuration, not constants.
        (volume,) = promotions_from_config(
            [{"kind": "volume", "name": "bulk", "more_than": 10, "extra": 2}]
        )
        def issued(quantity: int) -> int:
            code = ActivationCode.issue("B", STD, "1Y", quantity, "i@x.com", promotions=[volume])
            return code.quantity

        assert issued(11) == 13
        assert issued(10) == 10

    def test_promotions_come_from_configuration(self) -> None:
        # SPEC E11
        (promo,) = promotions_from_config(
            [
                {
                    "kind": "bonus-months",
                    "name": "spring",
                    "plan": "ADVANCED",
                    "terms": ["1Y", "3Y"],
                    "starts_on": "2025-03-01",
                    "ends_on": "2025-06-01",
                    "months": 3,
                }
            ]
        )
        assert promo == self.SPRING

    @pytest.mark.parametrize(
        "entry",
        [
            {"kind": "lottery"},
            {"kind": "volume", "name": "bulk"},
            {"kind": "volume", "name": "bulk", "more_than": "ten", "extra": 1},
            {"kind": "bonus-months", "name": "x", "plan": "ADVANCED", "terms": "1Y",
             "starts_on": "2025-01-01", "ends_on": "2025-02-01", "months": 1},
            {"kind": "bonus-months", "name": "x", "plan": "ADVANCED", "terms": ["1Y"],
             "starts_on": "soon", "ends_on": "2025-02-01", "months": 1},
            {"kind": "bonus-months", "name": "x", "plan": "ADVANCED", "terms": ["1Y"],
             "starts_on": "2025-03-01", "ends_on": "2025-02-01", "months": 1},
        ],
    )
    def test_bad_configuration_is_a_typed_error(self, entry: dict[str, object]) -> None:
        # SPEC E11, D5
        with pytest.raises(InvalidInput):
            promotions_from_config([entry])


class TestExplain:
    def test_every_segment_has_a_reason(self) -> None:
        # SPEC E12
        segments = explain(D(2024, 1, 15), [lic("S1", STD, "1Y", D(2024, 9, 20))])
        assert all(s.reasons for s in segments)
        assert isinstance(segments[0], Segment)
        assert "trial" in str(segments[0])
        assert "open-ended" in str(segments[-1])

    def test_an_upgrade_on_the_registration_day_keeps_the_trial_explained(self) -> None:
        # SPEC E12, E4d: the trial never ran, but its days resume after ADVANCED.
        segments = explain(D(2024, 1, 15), [lic("A1", ADV, "1Y", D(2024, 1, 15))])
        assert [s.plan for s in segments] == [ADV, STD, BASIC]
        assert ReasonKind.TRIAL in {r.kind for r in segments[1].reasons}
        # 2024-01-15 + 6 months = 2024-07-15: 182 days, resumed from 2025-01-15.
        assert segments[1].end == D(2025, 1, 15) + timedelta(days=182)


# --------------------------------------------------------------------------- fast paths (B1)


@st.composite
def extended_warranties(draw: st.DrawFn, start: date) -> list[ExtendedWarranty]:
    """Extended warranties activated from ``start`` on, some before the E7 cutoff."""
    count = draw(st.integers(0, 3))
    return [
        ExtendedWarranty(
            f"W{n}",
            "WEXTWAR1YR-SP-01",
            draw(st.sampled_from([12, 24, 36])),
            start + timedelta(days=draw(st.integers(0, 2000))),
        )
        for n in range(count)
    ]


class TestFastPaths:
    """The write path's fast code (docs/performance.md, B1) against the code it replaced,
    kept in ``tests/reference_rules.py``, and the trusted constructors against the public."""

    @given(
        start=st.one_of(dates(2015, 2030), st.dates(max_value=date(9999, 6, 30))),
        policy=st.sampled_from(list(UpgradePolicy)),
    )
    def test_trial_only_coverage_is_the_previous_bank_machines(
        self, start: date, policy: UpgradePolicy
    ) -> None:
        # SPEC E1, E2, E12: a device with no license or warranty credit has the trial, then
        # BASIC for good, with the reasons the bank machine gives, on any registration day.
        fast = coverage(start, (), policy=policy)
        assert fast == reference.coverage(start, (), policy=policy)
        assert attrs.astuple(fast) == attrs.astuple(reference.coverage(start, (), policy=policy))

    @given(
        start=dates(2015, 2030),
        data=st.data(),
        policy=st.sampled_from(list(UpgradePolicy)),
    )
    def test_coverage_is_the_previous_bank_machines(
        self, start: date, data: st.DataObject, policy: UpgradePolicy
    ) -> None:
        # SPEC E4 (E4a-E4f), E7, E12: the same segments, ends and reasons, for any licenses
        # and warranty credits under either policy.
        licenses = data.draw(licenses_after(start))
        warranties = data.draw(extended_warranties(start))
        fast = coverage(start, licenses, warranties=warranties, policy=policy)
        assert fast == reference.coverage(start, licenses, warranties=warranties, policy=policy)
        public = Coverage(fast.registered_on, fast.policy, fast.segments)
        assert fast.segment_on(start) == public.segment_on(start)
        for segment in fast.segments:
            assert fast.segment_on(segment.start) == public.segment_on(segment.start)

    def test_month_arithmetic_keeps_a_date_subclass_as_relativedelta_does(self) -> None:
        # SPEC D3: a subclass of date comes back as itself, as from relativedelta.
        class Day(date):
            pass

        moved = add_months(Day(2024, 1, 31), 1)
        assert moved == Day(2024, 1, 31) + relativedelta(months=1) == D(2024, 2, 29)
        assert type(moved) is Day
        assert type(add_months(D(2024, 1, 31), 1)) is date

    def test_plan_titles_are_the_capitalized_names(self) -> None:
        # SPEC E1
        assert [plan.title for plan in Plan] == [plan.name.capitalize() for plan in Plan]
