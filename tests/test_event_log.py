"""The owner's event log: the executable spec of SPEC S5 (and E10, D1).

Listing order and retention are proved as properties over any list of entries; the
BASIC rule of SPEC E10 ("no new entries are written to its event log while on BASIC") is
proved for any sequence of recordings.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from upslife.entitlements import Feature, Plan, can
from upslife.errors import FeatureNotInPlan, InvalidInput, NaiveDatetime
from upslife.notifications import Severity
from upslife.sharing import (
    DEFAULT_RETENTION,
    SYSTEM_ACTOR,
    Action,
    EventLog,
    LogEntry,
    Outcome,
    Role,
    default_severity,
    listing,
    prune,
    record,
)

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
MICRO = timedelta(microseconds=1)
ZONES = [UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=9, minutes=30))]

instants = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2026, 1, 1),
    timezones=st.sampled_from(ZONES),
)


@st.composite
def log_entries(draw: st.DrawFn, at: st.SearchStrategy[datetime] = instants) -> LogEntry:
    outcome = draw(st.sampled_from(Outcome))
    return LogEntry(
        at=draw(at),
        actor=draw(st.sampled_from(["owner@example.com", "msp@example.net", SYSTEM_ACTOR])),
        role=draw(st.one_of(st.none(), st.sampled_from(Role))),
        action=draw(st.sampled_from(Action)),
        device=draw(st.sampled_from(["AS1", "AS2", "AS3"])),
        outcome=outcome,
        severity=draw(st.sampled_from(Severity)),
        message=draw(st.sampled_from(["self-test started", "shared", "refused"])),
        reason="NotPermitted" if outcome is Outcome.REFUSED else None,
    )


def entry(
    at: datetime,
    severity: Severity = Severity.INFO,
    message: str = "self-test started",
) -> LogEntry:
    return LogEntry(
        at,
        "owner@example.com",
        Role.OWNER,
        Action.SELF_TEST,
        "AS1",
        Outcome.SUCCEEDED,
        severity,
        message,
    )


# --------------------------------------------------------------------------- listing


class TestListingOrder:
    # SPEC S5
    @given(
        entries=st.lists(log_entries(), max_size=30),
        now=instants,
        retention=st.timedeltas(min_value=MICRO, max_value=timedelta(days=90)),
    )
    def test_listing_is_by_severity_then_newest_first_with_exactly_the_retained_entries(
        self, entries: list[LogEntry], now: datetime, retention: timedelta
    ) -> None:
        listed = listing(EventLog(entries), now, retention=retention)
        for first, second in pairwise(listed):
            assert (-first.severity, second.at) <= (-second.severity, first.at)
        assert Counter(listed) == Counter(e for e in entries if e.at > now - retention)

    # SPEC S5
    def test_critical_comes_before_warning_before_info_whatever_their_age(self) -> None:
        info = entry(NOW - timedelta(minutes=1), Severity.INFO)
        warning = entry(NOW - timedelta(days=2), Severity.WARNING)
        critical = entry(NOW - timedelta(days=20), Severity.CRITICAL)
        assert listing(EventLog((info, warning, critical)), NOW) == (critical, warning, info)

    # SPEC S5
    def test_newest_first_within_a_severity(self) -> None:
        old, new = entry(NOW - timedelta(days=3)), entry(NOW - timedelta(days=1))
        assert listing(EventLog((old, new)), NOW) == (new, old)

    # SPEC S5
    def test_entries_of_the_same_instant_are_listed_last_recorded_first(self) -> None:
        first = entry(NOW, message="first")
        second = entry(NOW, message="second")
        assert listing(EventLog((first, second)), NOW) == (second, first)

    # SPEC S5
    def test_severity_ranks_critical_warning_info(self) -> None:
        assert Severity.CRITICAL > Severity.WARNING > Severity.INFO


# --------------------------------------------------------------------------- retention


class TestRetention:
    # SPEC S5
    def test_it_keeps_thirty_days_by_default(self) -> None:
        assert timedelta(days=30) == DEFAULT_RETENTION

    # SPEC S5
    def test_an_entry_exactly_thirty_days_old_is_gone_one_microsecond_younger_is_kept(
        self,
    ) -> None:
        gone = entry(NOW - timedelta(days=30))
        kept = entry(NOW - timedelta(days=30) + MICRO)
        log = EventLog((gone, kept))
        assert listing(log, NOW) == (kept,)
        assert prune(log, NOW).entries == (kept,)

    # SPEC S5
    def test_retention_is_configurable(self) -> None:
        week_old = entry(NOW - timedelta(days=7))
        day_old = entry(NOW - timedelta(days=1))
        log = EventLog((week_old, day_old))
        assert listing(log, NOW, retention=timedelta(days=7)) == (day_old,)
        assert listing(log, NOW, retention=timedelta(days=90)) == (day_old, week_old)
        assert prune(log, NOW, retention=timedelta(days=2)).entries == (day_old,)

    # SPEC S5
    @given(
        entries=st.lists(log_entries(), max_size=30),
        now=instants,
        retention=st.timedeltas(min_value=MICRO, max_value=timedelta(days=90)),
    )
    def test_prune_keeps_in_recording_order_exactly_what_listing_shows(
        self, entries: list[LogEntry], now: datetime, retention: timedelta
    ) -> None:
        pruned = prune(EventLog(entries), now, retention=retention)
        assert list(pruned.entries) == [e for e in entries if e.at > now - retention]
        assert Counter(pruned.entries) == Counter(listing(pruned, now, retention=retention))

    # SPEC S5
    def test_prune_returns_the_same_log_when_nothing_is_beyond_retention(self) -> None:
        log = EventLog((entry(NOW),))
        assert prune(log, NOW) is log

    # SPEC S5
    def test_an_entry_stamped_after_now_is_kept_and_listed(self) -> None:
        ahead = entry(NOW + timedelta(seconds=5))
        assert listing(EventLog((ahead,)), NOW) == (ahead,)

    # SPEC S5, SPEC D5
    @pytest.mark.parametrize("bad", [timedelta(0), timedelta(days=-1)])
    def test_a_non_positive_retention_is_refused(self, bad: timedelta) -> None:
        with pytest.raises(InvalidInput):
            listing(EventLog(), NOW, retention=bad)
        with pytest.raises(InvalidInput):
            prune(EventLog(), NOW, retention=bad)

    # SPEC S5
    def test_a_retention_reaching_before_the_first_instant_keeps_everything(self) -> None:
        early = datetime(1, 1, 2, tzinfo=UTC)
        log = EventLog((entry(early),))
        assert listing(log, early, retention=timedelta(days=30)) == log.entries

    # SPEC D1
    def test_a_naive_now_is_refused(self) -> None:
        with pytest.raises(NaiveDatetime):
            listing(EventLog(), datetime(2025, 6, 1, 12))
        with pytest.raises(NaiveDatetime):
            prune(EventLog(), datetime(2025, 6, 1, 12))


# --------------------------------------------------------------------------- recording


class TestNothingIsWrittenOnBasic:
    # SPEC E10, SPEC S5
    def test_recording_on_basic_returns_the_very_same_log(self) -> None:
        log = EventLog((entry(NOW - timedelta(days=1)),))
        assert record(log, entry(NOW), plan=Plan.BASIC) is log
        assert not can(Plan.BASIC, Feature.EVENT_LOG)

    # SPEC E10, SPEC S5
    @pytest.mark.parametrize("plan", [Plan.STANDARD, Plan.ADVANCED])
    def test_recording_on_a_paid_plan_appends(self, plan: Plan) -> None:
        first, second = entry(NOW - timedelta(days=1)), entry(NOW)
        log = record(record(EventLog(), first, plan=plan), second, plan=plan)
        assert log.entries == (first, second)

    # SPEC E10, SPEC S5
    @given(st.lists(st.tuples(log_entries(), st.sampled_from(Plan)), max_size=20))
    def test_the_log_holds_exactly_the_entries_recorded_off_basic_in_order(
        self, steps: list[tuple[LogEntry, Plan]]
    ) -> None:
        log = EventLog()
        for item, plan in steps:
            log = record(log, item, plan=plan)
        assert list(log.entries) == [e for e, p in steps if p is not Plan.BASIC]

    # SPEC E10
    def test_a_device_back_on_a_paid_plan_logs_again_but_nothing_from_the_basic_spell(
        self,
    ) -> None:
        during, after = entry(NOW - timedelta(days=1)), entry(NOW)
        log = record(EventLog(), during, plan=Plan.BASIC)
        log = record(log, after, plan=Plan.STANDARD)
        assert log.entries == (after,)

    # SPEC D5
    def test_recording_something_that_is_not_an_entry_is_refused(self) -> None:
        with pytest.raises(InvalidInput):
            record(EventLog(), "self-test", plan=Plan.STANDARD)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- entries


class TestLogEntries:
    # SPEC S5
    def test_an_entry_says_who_which_role_what_which_device_when_and_the_outcome(self) -> None:
        e = LogEntry.succeeded(
            NOW, "msp@example.net", Role.SHARED_USER, Action.SELF_TEST, "AS1", "self-test ok"
        )
        assert (e.actor, e.role, e.action, e.device, e.at, e.outcome) == (
            "msp@example.net",
            Role.SHARED_USER,
            Action.SELF_TEST,
            "AS1",
            NOW,
            Outcome.SUCCEEDED,
        )

    # SPEC S5, SPEC E10
    def test_a_refused_entry_carries_the_refusal_and_the_plan_needed(self) -> None:
        error = FeatureNotInPlan(Feature.OUTLET_GROUP_REBOOT, Plan.STANDARD, Plan.ADVANCED)
        e = LogEntry.refused(
            NOW, "msp@example.net", Role.SHARED_USER, Action.OUTLET_GROUP_REBOOT, "AS1", error
        )
        assert e.outcome is Outcome.REFUSED
        assert e.reason == "FeatureNotInPlan"
        assert "Advanced plan" in e.message
        assert e.severity is Severity.WARNING

    # SPEC S5
    def test_only_an_upslife_error_makes_a_refused_entry(self) -> None:
        with pytest.raises(InvalidInput):
            LogEntry.refused(
                NOW,
                "a@example.com",
                None,
                Action.VIEW,
                "AS1",
                KeyError("x"),  # type: ignore[arg-type]
            )

    # SPEC S5
    def test_a_refused_entry_needs_a_reason_and_a_succeeded_one_has_none(self) -> None:
        with pytest.raises(InvalidInput):
            LogEntry(
                NOW,
                "a@example.com",
                None,
                Action.VIEW,
                "AS1",
                Outcome.REFUSED,
                Severity.WARNING,
                "refused",
            )
        with pytest.raises(InvalidInput):
            LogEntry(
                NOW,
                "a@example.com",
                None,
                Action.VIEW,
                "AS1",
                Outcome.SUCCEEDED,
                Severity.INFO,
                "ok",
                "NotPermitted",
            )

    # SPEC S5
    @pytest.mark.parametrize(
        ("action", "outcome", "severity"),
        [
            (Action.OUTLET_GROUP_REBOOT, Outcome.SUCCEEDED, Severity.CRITICAL),
            (Action.DELETE_DEVICE, Outcome.SUCCEEDED, Severity.CRITICAL),
            (Action.TRANSFER_OWNERSHIP, Outcome.SUCCEEDED, Severity.CRITICAL),
            (Action.FIRMWARE_INSTALL, Outcome.SUCCEEDED, Severity.WARNING),
            (Action.SELF_TEST, Outcome.SUCCEEDED, Severity.INFO),
            (Action.SHARE, Outcome.SUCCEEDED, Severity.INFO),
            (Action.VIEW, Outcome.REFUSED, Severity.WARNING),
            (Action.DELETE_DEVICE, Outcome.REFUSED, Severity.WARNING),
        ],
    )
    def test_default_severities(self, action: Action, outcome: Outcome, severity: Severity) -> None:
        assert default_severity(action, outcome) is severity

    # SPEC S5
    def test_the_caller_may_choose_the_severity(self) -> None:
        e = LogEntry.succeeded(
            NOW,
            SYSTEM_ACTOR,
            None,
            Action.VIEW,
            "AS1",
            "battery failed",
            severity=Severity.CRITICAL,
        )
        assert e.severity is Severity.CRITICAL

    # SPEC D1
    def test_a_naive_instant_is_refused(self) -> None:
        with pytest.raises(NaiveDatetime):
            entry(datetime(2025, 6, 1, 12))

    # SPEC D1
    def test_instants_are_kept_in_utc(self) -> None:
        e = entry(NOW.astimezone(timezone(timedelta(hours=-7))))
        assert e.at == NOW
        assert e.at.tzinfo is UTC
