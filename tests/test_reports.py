"""The executable spec of SPEC §5: report rows, order, authorization, quotes (R1–R6, S5).

Worked examples state their dates as worked out by hand; the comments beside them show the
arithmetic (SPEC D3: calendar months with end-of-month clamping). Properties check the rows
against the rules they follow from. The strategies at the top are shared with
``tests/test_formats.py``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import dates, licenses_after
from upslife.catalog import Catalog
from upslife.entitlements import (
    Battery,
    BonusMonthsPromotion,
    ExtendedWarranty,
    License,
    Plan,
    Term,
    UpgradePolicy,
    add_months,
    register,
)
from upslife.errors import (
    DateBeforeRegistration,
    InvalidInput,
    NaiveDatetime,
    ReportNotPermitted,
    ResellerNotConnected,
    RowsOutOfOrder,
    RuleViolation,
)
from upslife.invitations import InvitationState
from upslife.notifications import Contact, EventKind, lifecycle_events
from upslife.reports import (
    DEFAULT_HORIZON_MONTHS,
    OPERATIONAL_FIELDS,
    QUOTED_OPTIONS,
    Audience,
    CalendarEntry,
    DeviceQuote,
    EventLogRow,
    InventoryRow,
    RenewalRow,
    ReportDevice,
    Vitals,
    age_in_months,
    authorize_report,
    budget_forecast,
    calendar_entries,
    event_log_rows,
    fleet_quote,
    in_renewal_order,
    inventory_row,
    inventory_rows,
    operational_row,
    quote,
    renewal_due_on,
    renewal_key,
    renewal_needs,
    renewal_row,
    renewal_rows,
    report_device,
    reportable,
    reseller_calendar_entries,
    revise,
    sorted_for_renewal,
)
from upslife.sharing import (
    Action,
    EventLog,
    LogEntry,
    Role,
    ShareVia,
    SharingState,
    accept_share,
    invite_share,
    record,
)

CATALOG = Catalog.default()
MODELS = sorted(info.model for info in CATALOG.entries)
NOON = datetime(2025, 3, 1, 12, tzinfo=UTC)
PLAN_SKU = "Standard plan license 1Y/3Y/5Y"


def device(
    serial: str,
    model: str,
    registered_on: date,
    *,
    licenses: Sequence[License] = (),
    extensions: Sequence[ExtendedWarranty] = (),
    battery: Battery | None = None,
    manufactured_on: date | None = None,
    failure: date | None = None,
    vitals: Vitals | None = None,
    policy: UpgradePolicy = UpgradePolicy.DEFER,
) -> ReportDevice:
    return report_device(
        register(serial, model, registered_on),
        CATALOG,
        licenses=licenses,
        extensions=extensions,
        battery=battery,
        manufactured_on=manufactured_on,
        battery_failure_reported_on=failure,
        vitals=vitals,
        policy=policy,
    )


# --------------------------------------------------------------------------- strategies


def vitals() -> st.SearchStrategy[Vitals]:
    """Any plausible readings, some missing."""
    maybe = st.none
    return st.builds(
        Vitals,
        status=maybe() | st.sampled_from(["On Line", "On Battery", "Overload"]),
        load_percent=maybe() | st.floats(0, 150),
        charge_percent=maybe() | st.floats(0, 100),
        runtime_seconds=maybe() | st.integers(0, 100_000),
        temperature_c=maybe() | st.floats(-20, 70),
        firmware_version=maybe() | st.sampled_from(["UPS 09.8", "UPS 15.5"]),
        update_available=maybe() | st.booleans(),
        input_voltage=maybe() | st.floats(0, 260),
        output_voltage=maybe() | st.floats(0, 260),
        observed_at=maybe() | st.datetimes(timezones=st.just(UTC)),
    )


@st.composite
def report_devices(
    draw: st.DrawFn, vitals: st.SearchStrategy[Vitals | None] | None = None
) -> ReportDevice:
    """A registered device with licenses, maybe an extension, battery facts and vitals."""
    registered_on = draw(dates(2012, 2030))
    serial = draw(st.from_regex(r"[A-Z]{2}[0-9]{4}", fullmatch=True))
    licenses = draw(licenses_after(registered_on, max_size=4, within_days=2500))
    extensions = []
    if draw(st.booleans()):
        activated = registered_on + timedelta(days=draw(st.integers(0, 600)))
        extensions.append(ExtendedWarranty("W1", "WEXTWAR1YR-SP-01", 12, activated))
    battery = None
    if draw(st.booleans()):
        installed = registered_on + timedelta(days=draw(st.integers(-300, 1500)))
        reported = draw(st.none() | st.integers(100, 2000))
        battery = Battery(
            installed, None if reported is None else installed + timedelta(days=reported)
        )
    manufactured = draw(st.none() | st.integers(0, 500))
    failure = draw(st.none() | st.integers(0, 3000))
    return device(
        serial,
        draw(st.sampled_from(MODELS)),
        registered_on,
        licenses=licenses,
        extensions=extensions,
        battery=battery,
        manufactured_on=None if manufactured is None else registered_on - timedelta(manufactured),
        failure=None if failure is None else registered_on + timedelta(days=failure),
        vitals=draw(vitals if vitals is not None else st.none() | globals()["vitals"]()),
    )


def earliest_report_day(d: ReportDevice) -> date:
    """The first day a report of ``d`` may be made: registered, battery installed."""
    return max(d.registered_on, d.battery_installed_on or d.registered_on)


@st.composite
def devices_and_days(draw: st.DrawFn) -> tuple[ReportDevice, date]:
    d = draw(report_devices())
    return d, earliest_report_day(d) + timedelta(days=draw(st.integers(0, 4000)))


@st.composite
def fleets_and_days(draw: st.DrawFn, max_size: int = 8) -> tuple[list[ReportDevice], date]:
    fleet = draw(st.lists(report_devices(), min_size=0, max_size=max_size))
    start = max((earliest_report_day(d) for d in fleet), default=date(2020, 1, 1))
    return fleet, start + timedelta(days=draw(st.integers(0, 3000)))


# --------------------------------------------------------------------------- ages


class TestAges:
    def test_an_age_counts_completed_calendar_months_with_month_end_clamping(self) -> None:
        # SPEC R1, D3: 2024-01-31 + 1 month = 2024-02-29, so a month has passed that day.
        assert age_in_months(date(2024, 1, 31), date(2024, 2, 28)) == 0
        assert age_in_months(date(2024, 1, 31), date(2024, 2, 29)) == 1
        assert age_in_months(date(2024, 2, 29), date(2025, 2, 28)) == 12  # clamped anniversary
        assert age_in_months(date(2024, 5, 20), date(2024, 12, 10)) == 6  # 11-20 <= 12-10 < 12-20
        assert age_in_months(date(2024, 5, 20), date(2024, 5, 20)) == 0

    def test_an_age_up_to_a_day_before_its_start_is_refused(self) -> None:
        with pytest.raises(InvalidInput):
            age_in_months(date(2024, 5, 20), date(2024, 5, 19))

    @given(dates(), st.integers(0, 400))
    def test_an_age_is_n_months_from_start_plus_n_months_until_the_next(
        self, start: date, n: int
    ) -> None:
        # SPEC R1, D3: the largest n with start + n months <= day.
        assert age_in_months(start, add_months(start, n)) == n
        assert age_in_months(start, add_months(start, n + 1) - timedelta(days=1)) == n


# --------------------------------------------------------------------------- R1 MyInventory


R1_FIELDS = {
    "model",
    "serial",
    "device_age_months",
    "battery_age_months",
    "status",
    "load_percent",
    "charge_percent",
    "runtime_seconds",
    "temperature_c",
    "firmware_version",
    "update_available",
    "plan",
    "plan_expires_on",
    "warranty_expires_on",
    "battery_replace_by",
    "battery_sku",
    "warranty_extension_sku",
    "renewal_needs",
}

ONLINE = Vitals(
    status="On Line",
    load_percent=23.5,
    charge_percent=100,
    runtime_seconds=2460,
    temperature_c=24.8,
    firmware_version="UPS 09.8",
    update_available=True,
    observed_at=datetime(2024, 12, 10, 9, 30, tzinfo=UTC),
)


class TestR1MyInventory:
    def test_an_inventory_row_has_every_field_R1_names(self) -> None:
        # SPEC R1
        assert set(attrs.fields_dict(InventoryRow)) >= R1_FIELDS

    def test_a_worked_inventory_row(self) -> None:
        # SPEC R1: SMT1500C registered 2024-08-31, made 2024-05-20, battery in 2024-09-15.
        d = device(
            "as1",
            "smt1500c",
            date(2024, 8, 31),
            battery=Battery(date(2024, 9, 15)),
            manufactured_on=date(2024, 5, 20),
            vitals=ONLINE,
        )
        row = inventory_row(d, date(2024, 12, 10))
        assert (row.model, row.serial) == ("SMT1500C", "AS1")
        assert row.device_age_months == 6  # from manufacture: 05-20 + 6 months = 11-20
        assert row.battery_age_months == 2  # 09-15 + 2 months = 11-15 <= 12-10 < 12-15
        assert (row.status, row.load_percent, row.charge_percent) == ("On Line", 23.5, 100)
        assert (row.runtime_seconds, row.temperature_c) == (2460, 24.8)
        assert (row.firmware_version, row.update_available) == ("UPS 09.8", True)
        assert row.plan is Plan.STANDARD  # the trial
        assert row.plan_expires_on == date(2025, 2, 28)  # 2024-08-31 + 6 months, clamped
        assert row.warranty_expires_on == date(2027, 8, 31)  # + 36 months base warranty
        assert row.battery_replace_by == date(2028, 9, 15)  # install + 48 months
        assert (row.battery_sku, row.warranty_extension_sku) == ("RBC7", "WEXTWAR1YR-SP-02")
        assert row.renewal_due_on == date(2025, 2, 28)
        assert row.skus_needed == (PLAN_SKU,)
        [need] = row.renewal_needs
        assert (need.kind, need.due, need.plan) == (
            EventKind.PLAN_EXPIRY,
            date(2025, 2, 28),
            Plan.STANDARD,
        )

    def test_a_device_without_vitals_has_empty_operational_fields(self) -> None:
        # SPEC R1: the UPS reported nothing yet.
        row = inventory_row(device("as1", "SMT750C", date(2024, 1, 31)), date(2025, 2, 28))
        operational = (row.status, row.load_percent, row.charge_percent, row.runtime_seconds)
        assert operational == (None, None, None, None)
        assert (row.temperature_c, row.firmware_version, row.update_available) == (None,) * 3
        assert row.device_age_months == 13  # 2024-01-31 + 13 months = 2025-02-28
        assert row.plan is Plan.BASIC
        assert row.plan_expires_on is None

    def test_an_unknown_battery_install_day_is_presumed_to_be_the_registration(self) -> None:
        # SPEC E9, R1: report_device(battery=None); a hand-built device may leave it unknown.
        d = device("as1", "SMT750C", date(2024, 1, 31))
        assert d.battery_installed_on == date(2024, 1, 31)
        assert d.battery_replace_by == date(2028, 1, 31)
        unknown = attrs.evolve(d, battery_installed_on=None)
        assert inventory_row(unknown, date(2025, 1, 1)).battery_age_months is None

    def test_a_report_day_before_registration_is_refused(self) -> None:
        d = device("as1", "SMT750C", date(2024, 1, 31))
        with pytest.raises(DateBeforeRegistration):
            inventory_row(d, date(2024, 1, 30))
        with pytest.raises(DateBeforeRegistration):
            renewal_row(d, date(2024, 1, 30))

    def test_a_battery_installed_after_the_report_day_is_refused(self) -> None:
        d = device("as1", "SMT750C", date(2024, 1, 31), battery=Battery(date(2024, 6, 1)))
        with pytest.raises(InvalidInput, match="after the report day"):
            inventory_row(d, date(2024, 5, 1))

    def test_rows_are_built_lazily_in_the_order_given(self) -> None:
        # SPEC R1: a generator in, a generator out: nothing is held.
        fleet = [device(s, "SMT750C", date(2024, 1, 31)) for s in ("B", "A")]
        rows = inventory_rows(iter(fleet), date(2025, 1, 1))
        assert next(rows).serial == "B"
        assert [r.serial for r in rows] == ["A"]


class TestR1RenewalNeeds:
    # SMT1500C registered 2024-08-31, no license: trial to 2025-02-28, warranty to
    # 2027-08-31, battery (presumed installed at registration) to 2028-08-31, service life
    # (96 months) to 2032-08-31.
    D = device("as1", "SMT1500C", date(2024, 8, 31))

    def kinds(self, as_of: date, horizon: int = DEFAULT_HORIZON_MONTHS) -> list[EventKind]:
        return [e.kind for e in renewal_needs(self.D, as_of, horizon_months=horizon)]

    def test_needs_are_the_events_due_within_the_horizon(self) -> None:
        # SPEC R1: default horizon 12 months, [as_of, as_of + 12 months).
        assert self.kinds(date(2024, 12, 10)) == [EventKind.PLAN_EXPIRY]
        assert self.kinds(date(2024, 12, 10), horizon=48) == [
            EventKind.PLAN_EXPIRY,
            EventKind.WARRANTY_EXPIRY,
            EventKind.BATTERY_REPLACEMENT,
        ]
        assert self.kinds(date(2026, 8, 31)) == []  # warranty on 2027-08-31 = the horizon's end
        assert self.kinds(date(2026, 9, 1)) == [EventKind.WARRANTY_EXPIRY]

    def test_a_warranty_is_no_need_from_its_expiry_day_on(self) -> None:
        # SPEC E8, R1: an extension activated on the expiry day is refused.
        assert self.kinds(date(2027, 8, 30)) == [EventKind.WARRANTY_EXPIRY]
        assert self.kinds(date(2027, 8, 31)) == []  # battery 2028-08-31 = the horizon's end

    def test_a_plan_expiry_is_a_need_on_its_day_but_not_after(self) -> None:
        # SPEC R1: a license assigned on the expiry day still continues the run.
        assert self.kinds(date(2025, 2, 28)) == [EventKind.PLAN_EXPIRY]
        assert self.kinds(date(2025, 3, 1)) == []

    def test_a_battery_past_its_replace_by_and_a_ups_past_its_service_life_stay_needed(
        self,
    ) -> None:
        # SPEC R1, N1: only a new battery or a new UPS resolves them.
        assert self.kinds(date(2029, 1, 1)) == [EventKind.BATTERY_REPLACEMENT]
        assert self.kinds(date(2033, 1, 1)) == [
            EventKind.BATTERY_REPLACEMENT,
            EventKind.UPS_UPGRADE,
        ]
        assert renewal_due_on(self.D, date(2029, 1, 1)) == date(2028, 8, 31)

    def test_a_reported_battery_failure_is_a_need_from_its_report_day(self) -> None:
        # SPEC N1, R1
        failed = attrs.evolve(self.D, battery_failure_reported_on=date(2025, 6, 1))
        assert [e.kind for e in renewal_needs(failed, date(2025, 5, 31))] == []
        needs = renewal_needs(failed, date(2025, 6, 1))
        assert [e.kind for e in needs] == [EventKind.BATTERY_FAILURE]
        assert renewal_row(failed, date(2025, 6, 1)).skus_needed == ("RBC7",)
        assert renewal_due_on(failed, date(2025, 6, 1)) == date(2025, 6, 1)

    def test_the_horizon_is_a_positive_number_of_months(self) -> None:
        with pytest.raises(InvalidInput):
            renewal_needs(self.D, date(2025, 1, 1), horizon_months=0)

    @given(devices_and_days(), st.integers(1, 60))
    def test_needs_are_exactly_the_open_events_of_the_horizon(
        self, case: tuple[ReportDevice, date], horizon: int
    ) -> None:
        # SPEC R1, N1: an independent statement of which events are needs.
        d, as_of = case
        until = add_months(as_of, horizon)
        expected = set()
        for event in lifecycle_events(d.facts()):
            due = event.due
            if due is None:
                assert event.reported_on is not None
                if event.reported_on <= as_of:
                    expected.add(event)
            elif event.kind is EventKind.WARRANTY_EXPIRY:
                if as_of < due < until:
                    expected.add(event)
            elif as_of <= due < until or (
                due < as_of and event.kind in (EventKind.BATTERY_REPLACEMENT, EventKind.UPS_UPGRADE)
            ):
                expected.add(event)
        needs = renewal_needs(d, as_of, horizon_months=horizon)
        assert set(needs) == expected
        assert len(needs) == len(expected)


# --------------------------------------------------------------------------- R2 MyRenewals


OPERATIONAL_WORDS = ("status", "load", "charge", "runtime", "temperature", "firmware", "voltage")


class TestR2MyRenewals:
    def test_a_renewal_row_has_no_operational_field_at_all(self) -> None:
        # SPEC R2: privacy by construction.
        names = set(attrs.fields_dict(RenewalRow))
        assert names.isdisjoint(OPERATIONAL_FIELDS)
        assert not [n for n in names for word in OPERATIONAL_WORDS if word in n]
        assert names >= {
            "model",
            "serial",
            "device_age_months",
            "plan_expires_on",
            "warranty_expires_on",
            "battery_replace_by",
            "skus_needed",
        }

    @given(devices_and_days(), vitals())
    def test_a_renewal_row_does_not_depend_on_the_vitals(
        self, case: tuple[ReportDevice, date], readings: Vitals
    ) -> None:
        # SPEC R2, as a property: whatever the UPS reports, MyRenewals is the same.
        d, as_of = case
        with_vitals = attrs.evolve(d, vitals=readings)
        without = attrs.evolve(d, vitals=None)
        assert renewal_row(with_vitals, as_of) == renewal_row(without, as_of)

    @given(devices_and_days())
    def test_renewal_and_inventory_rows_agree_on_what_they_share(
        self, case: tuple[ReportDevice, date]
    ) -> None:
        # SPEC R1, R2
        d, as_of = case
        renewal, inventory = renewal_row(d, as_of), inventory_row(d, as_of)
        for name in attrs.fields_dict(RenewalRow):
            assert getattr(renewal, name) == getattr(inventory, name), name


# --------------------------------------------------------------------------- R3 operational


class TestR3Operational:
    def test_an_operational_row_carries_the_vitals(self) -> None:
        # SPEC R3
        d = device("as1", "SMT1500C", date(2024, 8, 31), vitals=ONLINE)
        row = operational_row(d)
        assert (row.model, row.serial, row.status) == ("SMT1500C", "AS1", "On Line")
        assert (row.charge_percent, row.runtime_seconds, row.load_percent) == (100, 2460, 23.5)
        assert (row.temperature_c, row.firmware_version) == (24.8, "UPS 09.8")
        assert row.observed_at == datetime(2024, 12, 10, 9, 30, tzinfo=UTC)

    def test_a_reading_instant_is_kept_in_utc(self) -> None:
        # SPEC D1
        from zoneinfo import ZoneInfo

        paris = datetime(2024, 12, 10, 10, 30, tzinfo=ZoneInfo("Europe/Paris"))
        observed = Vitals(observed_at=paris).observed_at
        assert observed is not None
        assert observed.tzinfo is UTC
        assert observed.hour == 9

    @pytest.mark.parametrize(
        "bad",
        [
            {"charge_percent": 100.5},
            {"charge_percent": -1},
            {"load_percent": float("nan")},
            {"temperature_c": float("inf")},
            {"runtime_seconds": -1},
            {"runtime_seconds": 1.5},
            {"load_percent": True},
            {"update_available": "yes"},
            {"status": ""},
        ],
    )
    def test_implausible_readings_are_refused(self, bad: dict[str, object]) -> None:
        # SPEC D5
        with pytest.raises(InvalidInput):
            Vitals(**bad)  # type: ignore[arg-type]

    def test_a_naive_reading_instant_is_refused(self) -> None:
        # SPEC D1
        with pytest.raises(NaiveDatetime):
            Vitals(observed_at=datetime(2024, 12, 10, 9, 30))


# --------------------------------------------------------------------------- S5 event-log export


def sample_log() -> EventLog:
    """An owner's log: two entries for AS1, one critical for AS2, one beyond retention."""
    entries = [
        LogEntry.succeeded(NOON, "o@example.com", Role.OWNER, Action.SELF_TEST, "AS1", "a"),
        LogEntry.succeeded(
            NOON + timedelta(hours=1),
            "o@example.com",
            Role.OWNER,
            Action.OUTLET_GROUP_REBOOT,
            "AS2",
            "b",
        ),
        LogEntry.succeeded(
            NOON + timedelta(hours=2), "o@example.com", Role.OWNER, Action.VIEW, "AS1", "c"
        ),
        LogEntry.succeeded(
            NOON - timedelta(days=40), "o@example.com", Role.OWNER, Action.VIEW, "AS1", "old"
        ),
    ]
    log = EventLog()
    for entry in entries:
        log = record(log, entry, plan=Plan.STANDARD)
    return log


class TestS5EventLogExport:
    def log(self) -> EventLog:
        return sample_log()

    def test_the_export_lists_retained_entries_by_severity_then_newest_first(self) -> None:
        # SPEC S5: critical first; newest first within a severity; 30 days kept.
        rows = event_log_rows(self.log(), NOON + timedelta(days=1))
        assert [r.message for r in rows] == ["b", "c", "a"]
        first = rows[0]
        assert isinstance(first, EventLogRow)
        assert (first.actor, first.role, first.action, first.device) == (
            "o@example.com",
            Role.OWNER,
            Action.OUTLET_GROUP_REBOOT,
            "AS2",
        )
        assert first.at == NOON + timedelta(hours=1)

    def test_the_export_can_be_limited_to_the_devices_a_user_may_see(self) -> None:
        # SPEC S5, R5: a shared user exports the entries of the devices shared with them.
        rows = event_log_rows(self.log(), NOON + timedelta(days=1), devices=["as1"])
        assert [r.message for r in rows] == ["c", "a"]


# --------------------------------------------------------------------------- R4 order


class TestR4RenewalOrder:
    AS_OF = date(2025, 6, 1)

    def fleet(self) -> list[ReportDevice]:
        nothing_due = attrs.evolve(
            device("ZZ1", "SMT750C", date(2020, 3, 1)), battery_replace_by=None
        )
        return [
            device("C", "SMC1500C", date(2024, 6, 10)),  # warranty (24 months) 2026-06-10
            nothing_due,  # BASIC, warranty expired 2023-03-01, no battery date: nothing
            device("AS2", "SMT750C", date(2025, 1, 15)),  # trial ends 2025-07-15
            device("B", "SMT750C", date(2020, 3, 1)),  # battery overdue since 2024-03-01
            device("AA9", "SMT750C", date(2025, 1, 15)),  # trial ends 2025-07-15: tie
        ]

    def test_rows_come_earliest_due_first_overdue_batteries_first_nothing_due_last(
        self,
    ) -> None:
        # SPEC R4
        rows = sorted_for_renewal(renewal_rows(self.fleet(), self.AS_OF))
        assert [(r.serial, r.renewal_due_on) for r in rows] == [
            ("B", date(2024, 3, 1)),  # 2020-03-01 + 48 months, still not replaced
            ("AA9", date(2025, 7, 15)),  # ties by serial
            ("AS2", date(2025, 7, 15)),
            ("C", date(2026, 6, 10)),  # trial over; warranty before battery (2028-06-10)
            ("ZZ1", None),
        ]

    def test_inventory_rows_follow_the_same_order(self) -> None:
        # SPEC R4
        rows = sorted_for_renewal(inventory_rows(self.fleet(), self.AS_OF))
        assert [r.serial for r in rows] == ["B", "AA9", "AS2", "C", "ZZ1"]

    def test_a_stream_in_renewal_order_passes_through_and_one_out_of_order_is_refused(
        self,
    ) -> None:
        # SPEC R4: a store streams rows sorted by its index; a mistake is not silent.
        rows = sorted_for_renewal(renewal_rows(self.fleet(), self.AS_OF))
        assert list(in_renewal_order(iter(rows))) == rows
        swapped = [rows[1], rows[0], *rows[2:]]
        checked = in_renewal_order(swapped)
        assert next(checked).serial == "AA9"
        with pytest.raises(RowsOutOfOrder, match="SPEC R4"):
            next(checked)

    @settings(max_examples=100)  # a fleet per example: keep CI under a minute
    @given(fleets_and_days())
    def test_sorted_rows_have_non_decreasing_due_dates_none_last_ties_by_serial(
        self, case: tuple[list[ReportDevice], date]
    ) -> None:
        # SPEC R4
        fleet, as_of = case
        rows = sorted_for_renewal(renewal_rows(fleet, as_of))
        assert sorted(r.serial for r in rows) == sorted(d.serial for d in fleet)
        dues = [r.renewal_due_on for r in rows]
        known = [d for d in dues if d is not None]
        assert dues == known + [None] * (len(dues) - len(known))
        assert known == sorted(known)
        for a, b in itertools.pairwise(rows):
            assert renewal_key(a) <= renewal_key(b)
        assert list(in_renewal_order(rows)) == rows

    @given(devices_and_days())
    def test_the_due_date_is_the_earliest_open_renewal_date(
        self, case: tuple[ReportDevice, date]
    ) -> None:
        # SPEC R4: plan in force's expiry, a running warranty, the battery (even overdue),
        # a reported failure.
        d, as_of = case
        candidates = [d.coverage.expires_on(as_of), d.battery_replace_by]
        if d.warranty.expires_on > as_of:
            candidates.append(d.warranty.expires_on)
        failure = d.battery_failure_reported_on
        if failure is not None and failure <= as_of:
            candidates.append(failure)
        known = [c for c in candidates if c is not None]
        assert renewal_due_on(d, as_of) == (min(known) if known else None)
        assert renewal_row(d, as_of).renewal_due_on == renewal_due_on(d, as_of)


# --------------------------------------------------------------------------- R5 authorization


class TestR5WhoMayProduceAReport:
    OWNER = "owner@example.com"
    MSP = "msp@example.net"

    def state(self) -> SharingState:
        state = SharingState.of(self.OWNER, ["AS1", "AS2"])
        shared = invite_share(
            state, "AS1", Plan.STANDARD, self.MSP, NOON, via=ShareVia.EMAIL, user_has_account=True
        )
        accepted = accept_share(
            shared.state, "AS1", self.MSP, NOON + timedelta(hours=1), user_has_account=True
        )
        pending = invite_share(
            accepted.state,
            "AS1",
            Plan.STANDARD,
            "later@example.net",
            NOON + timedelta(hours=2),
            via=ShareVia.LINK,
            user_has_account=True,
        )
        return pending.state

    def test_the_owner_may_produce_every_report_of_their_devices(self) -> None:
        # SPEC R5
        assert authorize_report(self.state(), "AS1", self.OWNER) is Role.OWNER
        assert authorize_report(self.state(), "AS2", self.OWNER) is Role.OWNER

    def test_a_user_the_device_is_shared_with_may_too(self) -> None:
        # SPEC R5, S3
        assert authorize_report(self.state(), "AS1", self.MSP) is Role.SHARED_USER

    @pytest.mark.parametrize(
        ("device", "user"),
        [
            ("AS1", "sales@reseller.example"),  # a reseller: only what notices carry (N6)
            ("AS1", "stranger@example.org"),
            ("AS1", "later@example.net"),  # invited, not yet accepted
            ("AS2", MSP),  # shared another device only
            ("AS9", OWNER),  # not one of the owner's devices
        ],
    )
    def test_anyone_else_gets_a_typed_refusal(self, device: str, user: str) -> None:
        # SPEC R5
        with pytest.raises(ReportNotPermitted, match="SPEC R5") as refused:
            authorize_report(self.state(), device, user)
        assert isinstance(refused.value, RuleViolation)
        assert (refused.value.device, refused.value.user) == (device, user)

    def test_a_fleet_report_leaves_out_the_devices_a_user_may_not_see(self) -> None:
        # SPEC R5
        fleet = [device(s, "SMT750C", date(2024, 1, 31)) for s in ("AS1", "AS2", "AS3")]
        assert [d.serial for d in reportable(self.state(), fleet, self.MSP)] == ["AS1"]
        assert [d.serial for d in reportable(self.state(), fleet, self.OWNER)] == ["AS1", "AS2"]
        assert list(reportable(self.state(), fleet, "sales@reseller.example")) == []


# --------------------------------------------------------------------------- R6 quotes


def expiries(q: DeviceQuote) -> dict[str, tuple[date, date]]:
    return {f"{o.plan.name} {o.term.label}": (o.expires_on, o.paid_until) for o in q.options}


class TestR6Quotes:
    # A device registered 2024-08-31 is on its trial until 2024-08-31 + 6 months =
    # 2025-02-28. Quoted on 2024-12-10, the trial has 80 days left (21 of December, 31 of
    # January, 28 of February).
    D = device("as1", "SMT1500C", date(2024, 8, 31))
    ON = date(2024, 12, 10)

    def test_the_six_options_with_their_expiries_worked_by_hand(self) -> None:
        # SPEC R6, E4a, E4c, E4d, E5
        q = quote(self.D, self.ON)
        assert [(o.plan, o.term) for o in q.options] == list(QUOTED_OPTIONS)
        assert expiries(q) == {
            # STANDARD appends to the trial: anchored at 2024-08-31 (E4a, E5).
            "STANDARD 1Y": (date(2026, 2, 28), date(2026, 2, 28)),  # + 18 months
            "STANDARD 3Y": (date(2028, 2, 29), date(2028, 2, 29)),  # + 42 months, leap year
            "STANDARD 5Y": (date(2030, 2, 28), date(2030, 2, 28)),  # + 66 months
            # ADVANCED starts on the quote day (E4c); the trial's 80 days resume after it.
            "ADVANCED 1Y": (date(2025, 12, 10), date(2026, 2, 28)),  # 12-10 + 80 days
            "ADVANCED 3Y": (date(2027, 12, 10), date(2028, 2, 28)),  # 2027-12-10 + 80 days
            "ADVANCED 5Y": (date(2029, 12, 10), date(2030, 2, 28)),  # 2029-12-10 + 80 days
        }
        assert (q.plan, q.plan_expires_on, q.paid_until) == (
            Plan.STANDARD,
            date(2025, 2, 28),
            date(2025, 2, 28),
        )
        assert q.option("advanced", "1Y").coverage.plan_on(date(2026, 1, 1)) is Plan.STANDARD

    def test_with_forfeit_an_upgrade_drops_the_trials_remainder(self) -> None:
        # SPEC R6, E4d: FORFEIT is an explicit option.
        q = quote(self.D, self.ON, policy=UpgradePolicy.FORFEIT)
        assert expiries(q)["ADVANCED 1Y"] == (date(2025, 12, 10), date(2025, 12, 10))
        assert expiries(q)["STANDARD 3Y"] == (date(2028, 2, 29), date(2028, 2, 29))

    def test_a_promotion_adds_its_months_to_the_quoted_license(self) -> None:
        # SPEC R6, E11: ADVANCED 1Y/3Y activated in December 2024 get 3 months free.
        winter = BonusMonthsPromotion(
            "winter", Plan.ADVANCED, (Term.Y1, Term.Y3), date(2024, 12, 1), date(2025, 1, 1), 3
        )
        q = quote(self.D, self.ON, promotions=[winter])
        one = q.option(Plan.ADVANCED, Term.Y1)
        assert (one.months, one.promotions) == (15, ("promotion winter: +3 months",))
        assert expiries(q)["ADVANCED 1Y"] == (
            date(2026, 3, 10),  # 2024-12-10 + 15 months
            date(2026, 5, 29),  # + 80 days: 21 of March, 30 of April, 29 of May
        )
        assert expiries(q)["ADVANCED 3Y"][0] == date(2028, 3, 10)  # + 39 months
        assert expiries(q)["ADVANCED 5Y"][0] == date(2029, 12, 10)  # 5Y: no bonus
        assert expiries(q)["STANDARD 1Y"][0] == date(2026, 2, 28)  # STANDARD: no bonus

    def test_on_advanced_a_standard_license_queues_and_an_advanced_one_appends(self) -> None:
        # SPEC R6, E4a, E4e: ADVANCED 1Y assigned 2024-12-10 runs to 2025-12-10; the trial's
        # 80 days follow, to 2026-02-28.
        upgraded = device(
            "as1",
            "SMT1500C",
            date(2024, 8, 31),
            licenses=[License.of("A1", Plan.ADVANCED, Term.Y1, self.ON)],
        )
        q = quote(upgraded, date(2025, 3, 1))
        assert (q.plan, q.plan_expires_on, q.paid_until) == (
            Plan.ADVANCED,
            date(2025, 12, 10),
            date(2026, 2, 28),
        )
        assert expiries(q)["STANDARD 1Y"] == (
            date(2027, 2, 28),  # (2025-12-10 + 80 days) + 12 months
            date(2027, 2, 28),
        )
        assert expiries(q)["ADVANCED 1Y"] == (
            date(2026, 12, 10),  # 2024-12-10 + 24 months
            date(2027, 2, 28),  # + the trial's 80 days
        )

    def test_battery_and_warranty_needs(self) -> None:
        # SPEC R6, E8, E9: SMT750C registered 2021-01-10; battery 2025-01-10; warranty
        # (36 months) expired 2024-01-10 and can no longer be extended.
        old = device("as2", "SMT750C", date(2021, 1, 10))
        q = quote(old, self.ON)
        assert (q.battery.sku, q.battery.replace_by, q.battery.due) == (
            "RBC48",
            date(2025, 1, 10),
            True,
        )
        assert (q.warranty.sku, q.warranty.expires_on) == ("WEXTWAR1YR-SP-01", date(2024, 1, 10))
        assert (q.warranty.extendable, q.warranty.due) == (False, False)
        fresh = quote(self.D, self.ON)
        assert (fresh.battery.due, fresh.warranty.extendable, fresh.warranty.due) == (
            False,
            True,
            False,
        )
        assert quote(self.D, date(2026, 9, 1)).warranty.due  # expires 2027-08-31

    def test_a_fleet_quote_totals_the_skus_needed(self) -> None:
        # SPEC R6: quoted on 2025-02-01, needs over the next 12 months.
        fleet = [
            self.D,  # trial ends 2025-02-28: a plan license
            device("as2", "SMT750C", date(2021, 1, 10)),  # battery overdue since 2025-01-10
            device("as3", "SMT750C", date(2024, 3, 5), failure=date(2025, 1, 20)),  # failed
            device("as4", "SMC1500C", date(2023, 6, 15)),  # warranty ends 2025-06-15
        ]
        fq = fleet_quote(fleet, date(2025, 2, 1))
        assert [q.serial for q in fq.quotes] == ["AS1", "AS2", "AS3", "AS4"]
        assert [(line.kind, line.sku, line.quantity, line.serials) for line in fq.lines] == [
            (EventKind.BATTERY_REPLACEMENT, "RBC48", 2, ("AS2", "AS3")),
            (EventKind.WARRANTY_EXPIRY, "WEXTWAR1YR-SP-02", 1, ("AS4",)),
            (EventKind.PLAN_EXPIRY, PLAN_SKU, 1, ("AS1",)),
        ]

    def test_a_quote_before_registration_is_refused(self) -> None:
        with pytest.raises(DateBeforeRegistration):
            quote(self.D, date(2024, 8, 30))

    def test_a_device_whose_coverage_does_not_follow_from_its_licenses_is_refused(
        self,
    ) -> None:
        # SPEC D5: a hand-built ReportDevice that disagrees with itself.
        lic = License.of("L1", Plan.STANDARD, Term.Y1, self.ON)
        inconsistent = attrs.evolve(self.D, licenses=(lic,))
        with pytest.raises(InvalidInput, match="report_device"):
            quote(inconsistent, self.ON)

    @given(devices_and_days(), st.sampled_from(list(UpgradePolicy)))
    def test_every_option_gives_at_least_its_months_and_longer_terms_never_less(
        self, case: tuple[ReportDevice, date], policy: UpgradePolicy
    ) -> None:
        # SPEC R6, E4: nothing is lost by buying (E4a), an upgrade starts on the day (E4c).
        d, day = case
        on = max([day, *(lic.assigned_on for lic in d.licenses)])
        q = quote(d, on, policy=policy)
        for option in q.options:
            assert option.expires_on >= add_months(on, option.months)
            assert option.paid_until >= option.expires_on
            if option.plan is Plan.ADVANCED and q.plan is not Plan.ADVANCED:
                assert option.expires_on == add_months(on, option.months)  # E4c
            if policy is UpgradePolicy.DEFER and q.paid_until is not None:
                assert option.paid_until >= q.paid_until  # E4d: nothing is lost
        for plan in (Plan.STANDARD, Plan.ADVANCED):
            ends = [q.option(plan, term).expires_on for term in Term]
            assert ends == sorted(ends)


# --------------------------------------------------------------------------- budget forecast


class TestBudgetForecast:
    FLEET = (
        device("as1", "SMT1500C", date(2024, 8, 31)),  # trial ends 2025-02-28
        device("as2", "SMT750C", date(2021, 1, 10)),  # battery due 2025-01-10: overdue
        device("as3", "SMT750C", date(2024, 3, 5), failure=date(2025, 1, 20)),  # failed
    )

    def test_a_worked_forecast_counts_per_month_kind_and_sku(self) -> None:
        # Month 1 is February 2025 from the 15th; the window ends on 2025-05-01.
        f = budget_forecast(iter(self.FLEET), date(2025, 2, 15), 3)
        assert [m.month for m in f.months] == [date(2025, 2, 1), date(2025, 3, 1), date(2025, 4, 1)]
        feb = f.months[0]
        assert [(x.kind, x.sku, x.count, x.overdue) for x in feb.lines] == [
            # as2's battery (overdue) and as3's failed one (its replace-by is not counted too)
            (EventKind.BATTERY_REPLACEMENT, "RBC48", 2, 2),
            (EventKind.PLAN_EXPIRY, PLAN_SKU, 1, 0),  # as1's trial ends 2025-02-28
        ]
        assert f.months[1].lines == f.months[2].lines == ()
        assert (f.total, f.missing_prices, feb.cost) == (None, (), None)

    def test_costs_come_from_the_callers_price_list_and_missing_prices_are_reported(
        self,
    ) -> None:
        prices = {"RBC48": Decimal("189.00"), "WEXTWAR1YR-SP-01": Decimal("59.00")}
        f = budget_forecast(self.FLEET, date(2025, 2, 15), 3, prices=prices)
        feb = f.months[0]
        assert [(x.unit_price, x.cost) for x in feb.lines] == [
            (Decimal("189.00"), Decimal("378.00")),
            (None, None),
        ]
        assert (feb.cost, feb.unpriced) == (Decimal("378.00"), 1)
        assert (f.total, f.missing_prices, f.complete) == (Decimal("378.00"), (PLAN_SKU,), False)

        def sku(plan: Plan) -> str:
            return f"{plan.name}-1Y"

        full = budget_forecast(
            self.FLEET,
            date(2025, 2, 15),
            3,
            prices={**prices, "STANDARD-1Y": Decimal("99.50")},
            plan_license_sku=sku,
        )
        assert (full.total, full.complete) == (Decimal("477.50"), True)

    def test_a_ups_upgrade_without_sku_is_counted_and_reported_unpriceable(self) -> None:
        # as1 reaches its service life on 2032-08-31; its battery is overdue by then.
        f = budget_forecast(self.FLEET[:1], date(2032, 8, 1), 1, prices={})
        assert [(x.kind, x.sku, x.count, x.overdue) for x in f.months[0].lines] == [
            (EventKind.BATTERY_REPLACEMENT, "RBC7", 1, 1),
            (EventKind.UPS_UPGRADE, None, 1, 0),
        ]
        assert (f.missing_prices, f.without_sku, f.total) == (("RBC7",), 1, Decimal(0))

    @pytest.mark.parametrize("price", [189.0, Decimal("NaN"), Decimal("-1")])
    def test_prices_are_finite_non_negative_decimals(self, price: object) -> None:
        prices: dict[str, object] = {"RBC48": price}
        with pytest.raises(InvalidInput):
            budget_forecast(self.FLEET, date(2025, 2, 15), prices=prices)  # type: ignore[arg-type]

    @settings(max_examples=100)  # a fleet per example: keep CI under a minute
    @given(fleets_and_days(), st.integers(1, 36))
    def test_every_event_of_the_window_is_counted_once_in_its_month(
        self, case: tuple[list[ReportDevice], date], months: int
    ) -> None:
        # An independent count: dated events in [start, end) by month, plus month 1's
        # overdue batteries (or failures) and UPS upgrades.
        fleet, start = case
        first = start.replace(day=1)
        end = add_months(first, months)
        expected: dict[tuple[date, EventKind], int] = {}
        for d in fleet:
            for e in lifecycle_events(d.facts()):
                kind, due = e.kind, e.due
                failed = d.battery_failure_reported_on is not None
                if kind is EventKind.BATTERY_FAILURE:
                    key = (first, EventKind.BATTERY_REPLACEMENT)
                elif kind is EventKind.BATTERY_REPLACEMENT and failed:
                    continue
                else:
                    assert due is not None
                    if start <= due < end:
                        key = (due.replace(day=1), kind)
                    elif due < start and kind in (
                        EventKind.BATTERY_REPLACEMENT,
                        EventKind.UPS_UPGRADE,
                    ):
                        key = (first, kind)
                    else:
                        continue
                expected[key] = expected.get(key, 0) + 1
        f = budget_forecast(iter(fleet), start, months)
        assert len(f.months) == months
        counted: dict[tuple[date, EventKind], int] = {}
        for m in f.months:
            for line in m.lines:
                counted[(m.month, line.kind)] = counted.get((m.month, line.kind), 0) + line.count
        assert counted == expected


# --------------------------------------------------------------------------- calendar


class TestCalendarEntries:
    D = device("as1", "SMT1500C", date(2024, 8, 31))

    def by_kind(self, entries: Sequence[CalendarEntry]) -> dict[EventKind, CalendarEntry]:
        return {e.kind: e for e in entries}

    def test_one_entry_per_dated_event_with_n5_titles(self) -> None:
        # SPEC N1, N5
        entries = calendar_entries(self.D)
        assert [(e.kind, e.due) for e in entries] == [
            (EventKind.PLAN_EXPIRY, date(2025, 2, 28)),
            (EventKind.WARRANTY_EXPIRY, date(2027, 8, 31)),
            (EventKind.BATTERY_REPLACEMENT, date(2028, 8, 31)),
            (EventKind.UPS_UPGRADE, date(2032, 8, 31)),
        ]
        plan = entries[0]
        assert plan.summary == "Standard Plan Expires on 28 February 2025: SMT1500C AS1"
        assert "SKU needed: Standard plan license 1Y/3Y/5Y" in plan.description
        assert entries[2].summary == "Battery Replacement Due: SMT1500C AS1"
        assert all(e.audience is Audience.OWNER and e.uid.endswith("@upslife") for e in entries)

    def test_a_moved_due_date_keeps_its_uid(self) -> None:
        # SPEC N3: a renewal moves the plan expiry to 2026-02-28; the event moves in place.
        renewed = device(
            "as1",
            "SMT1500C",
            date(2024, 8, 31),
            licenses=[License.of("L1", Plan.STANDARD, Term.Y1, date(2024, 12, 10))],
        )
        before, after = (
            self.by_kind(calendar_entries(self.D)),
            self.by_kind(calendar_entries(renewed)),
        )
        assert after[EventKind.PLAN_EXPIRY].uid == before[EventKind.PLAN_EXPIRY].uid
        assert after[EventKind.PLAN_EXPIRY].due == date(2026, 2, 28)
        assert {e.uid for e in before.values()} == {e.uid for e in after.values()}

    def test_two_expiries_of_one_plan_after_a_lapse_have_distinct_uids(self) -> None:
        # Trial to 2024-07-31, then BASIC, then STANDARD 1Y from 2024-09-01 to 2025-09-01.
        lapsed = device(
            "as1",
            "SMT750C",
            date(2024, 1, 31),
            licenses=[License.of("L1", Plan.STANDARD, Term.Y1, date(2024, 9, 1))],
        )
        plans = [e for e in calendar_entries(lapsed) if e.kind is EventKind.PLAN_EXPIRY]
        assert [e.due for e in plans] == [date(2024, 7, 31), date(2025, 9, 1)]
        assert plans[0].uid != plans[1].uid

    def test_revise_raises_the_sequence_of_changed_entries_only(self) -> None:
        # RFC 5545 SEQUENCE: 0 when new, +1 when what a reader sees changed.
        first = list(revise(calendar_entries(self.D), {}))
        assert {e.sequence for e in first} == {0}
        published = {e.uid: e.revision for e in first}
        renewed = attrs.evolve(self.D, battery_replace_by=date(2029, 1, 1))
        second = self.by_kind(list(revise(calendar_entries(renewed), published)))
        assert second[EventKind.BATTERY_REPLACEMENT].sequence == 1
        assert second[EventKind.WARRANTY_EXPIRY].sequence == 0
        again = {e.uid: e.revision for e in second.values()}
        third = self.by_kind(list(revise(calendar_entries(renewed), again)))
        assert third[EventKind.BATTERY_REPLACEMENT].sequence == 1

    def test_a_resellers_calendar_holds_only_what_notices_carry(self) -> None:
        # SPEC N6, R5: battery, warranty and plan events; no UPS upgrade; the company name.
        acme = Contact("Acme Data Ltd", "Alice Martin", "alice@example.com", phone="555-0100")
        entries = reseller_calendar_entries(
            self.D, reseller_state=InvitationState.ACCEPTED, customer=acme
        )
        assert EventKind.UPS_UPGRADE not in {e.kind for e in entries}
        assert len(entries) == 3
        for e in entries:
            assert e.audience is Audience.RESELLER
            assert "Customer: Acme Data Ltd" in e.description
            assert "555-0100" not in e.description
            assert "alice" not in e.description
        owner_uids = {e.uid for e in calendar_entries(self.D)}
        assert owner_uids.isdisjoint(e.uid for e in entries)

    @pytest.mark.parametrize("state", [None, InvitationState.PENDING, InvitationState.DISCONNECTED])
    def test_a_reseller_not_connected_gets_no_calendar(self, state: InvitationState | None) -> None:
        # SPEC N7
        with pytest.raises(ResellerNotConnected):
            reseller_calendar_entries(self.D, reseller_state=state)

    @settings(max_examples=50)
    @given(report_devices())
    def test_uids_are_unique_per_device_and_do_not_depend_on_dates(self, d: ReportDevice) -> None:
        entries = calendar_entries(d)
        assert len({e.uid for e in entries}) == len(entries)
        shifted = attrs.evolve(
            d,
            battery_replace_by=None
            if d.battery_replace_by is None
            else d.battery_replace_by + timedelta(days=1),
        )
        assert {e.uid for e in calendar_entries(shifted)} == {e.uid for e in entries}


# --------------------------------------------------------------------------- inputs


class TestReportDevice:
    def test_report_device_computes_the_dates_from_the_rules(self) -> None:
        # SPEC E8, E9, N1: lead-acid SMT750C, base warranty 36 months, battery 48, life 96.
        d = device(
            "as1",
            "SMT750C",
            date(2024, 2, 29),
            battery=Battery(date(2024, 3, 31)),
            manufactured_on=date(2023, 8, 31),
        )
        assert d.registered_on == date(2024, 2, 29)
        assert d.warranty.expires_on == date(2027, 2, 28)
        assert d.battery_replace_by == date(2028, 3, 31)
        assert d.service_life_ends_on == date(2031, 8, 31)  # from manufacture + 96 months

    def test_a_device_made_after_its_registration_is_refused(self) -> None:
        with pytest.raises(InvalidInput):
            device("as1", "SMT750C", date(2024, 2, 29), manufactured_on=date(2024, 3, 1))

    def test_a_failure_reported_before_registration_is_refused(self) -> None:
        with pytest.raises(DateBeforeRegistration):
            device("as1", "SMT750C", date(2024, 2, 29), failure=date(2024, 2, 28))


@given(
    registered=dates(2015, 2030),
    data=st.data(),
    model=st.sampled_from(sorted(CATALOG)),
    upgrade_sku=st.sampled_from([None, "SRT3000XLI", " SRT3000XLI "]),
)
def test_device_facts_are_the_report_devices_facts(
    registered: date, data: st.DataObject, model: str, upgrade_sku: str | None
) -> None:
    # SPEC N1, R1: the write path's facts (B1) skip the report row, not its rules.
    from upslife.reports import device_facts

    registration = register("as1", model, registered)
    later = st.one_of(st.none(), dates(2015, 2040).filter(lambda d: d >= registered))
    battery = data.draw(st.one_of(st.none(), later.map(lambda d: Battery(d or registered, d))))
    kwargs: dict[str, Any] = {
        "licenses": data.draw(licenses_after(registered, max_size=4)),
        "battery": battery,
        "policy": data.draw(st.sampled_from(list(UpgradePolicy))),
        "manufactured_on": data.draw(st.one_of(st.none(), st.just(registered))),
        "battery_failure_reported_on": data.draw(later),
        "upgrade_sku": upgrade_sku,
    }
    assert device_facts(registration, CATALOG, **kwargs) == (
        report_device(registration, CATALOG, **kwargs).facts()
    )
