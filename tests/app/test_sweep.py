"""The daily sweep end to end, on every store: the right notices, on the right day, once.

Dates are worked out by hand: a device registered on 2025-11-01 has its STANDARD trial
until 2026-05-01 (SPEC E2), so its plan-expiry notices fall 90, 30 and 7 days before and
on that day (SPEC N2): 2026-01-31 (May 1 − 30 − 31 − 28 − 1), 2026-04-01, 2026-04-24 and
2026-05-01.
"""

from __future__ import annotations

import zlib
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.app.conftest import RESELLER, Fleet
from upslife.app import plan_notices, sweep
from upslife.app.schedule import plan_scheduled
from upslife.app.sweep import earliest_local_date
from upslife.errors import (
    InvalidInput,
    OverAssignment,
    TokenTampered,
    UnknownDevice,
)
from upslife.invitations import TokenAction
from upslife.notifications import DeliveryPreference
from upslife.ports import DeliveryStatus

TRIAL_END_STAGES = [date(2026, 1, 31), date(2026, 4, 1), date(2026, 4, 24), date(2026, 5, 1)]


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(n) for n in range((end - start).days + 1)]


class TestDailySweep:
    def test_a_daily_sweep_sends_the_four_plan_notices_on_their_days(self, fleet: Fleet) -> None:
        # SPEC N2, N5, E2
        fleet.device("AS0000000001", on=date(2025, 11, 1))
        sent_on: dict[date, list[str]] = {}
        for day in days(date(2026, 1, 1), date(2026, 5, 10)):
            before = len(fleet.mail.sent)
            fleet.sweep_on(day)
            new = fleet.mail.sent[before:]
            if new:
                sent_on[day] = [str(m["Subject"]) for m in new]
        assert list(sent_on) == TRIAL_END_STAGES
        # N5 titles; the default subject adds the model and serial.
        assert sent_on[date(2026, 1, 31)] == [
            "Standard Plan Expires on 1 May 2026: SMT1500C AS0000000001"
        ]
        assert sent_on[date(2026, 5, 1)] == [
            "Standard Plan Expired on 1 May 2026: SMT1500C AS0000000001"
        ]

    def test_running_the_sweep_twice_sends_nothing_twice(self, fleet: Fleet) -> None:
        # SPEC N9
        fleet.device("AS0000000001", on=date(2025, 11, 1))
        fleet.sweep_on(date(2026, 1, 31))
        fleet.sweep_on(date(2026, 1, 31))
        fleet.sweep_on(date(2026, 1, 31), hour=23)
        assert len(fleet.mail.sent) == 1
        assert len(set(fleet.mail.message_ids)) == 1

    def test_a_connected_reseller_gets_every_notice_with_the_customer_details(
        self, fleet: Fleet
    ) -> None:
        # SPEC N6, I5: reseller mails carry a signed one-click unsubscribe link.
        fleet.device("AS0000000001", on=date(2025, 11, 1))
        fleet.connect_reseller(at=datetime(2026, 1, 2, tzinfo=UTC))
        fleet.sweep_on(date(2026, 1, 31))
        reseller = [m for m in fleet.mail.sent if m["To"] == "sales@reseller.example"]
        assert len(reseller) == 1
        body = reseller[0].as_string()
        assert "Acme Hosting" in body
        assert "AS0000000001" in body
        assert reseller[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    def test_a_notice_planned_before_a_disconnect_is_not_sent_after_it(self, fleet: Fleet) -> None:
        # SPEC N7: consent is checked again at the moment of sending.
        fleet.device("AS0000000001", on=date(2025, 11, 1))
        fleet.connect_reseller(at=datetime(2026, 1, 2, tzinfo=UTC))
        fleet.clock.set(datetime(2026, 1, 31, 8, tzinfo=UTC))
        plan_notices(fleet.store, fleet.service.catalog, fleet.clock.now())
        fleet.service.disconnect_reseller(fleet.owner_id)
        fleet.sweep_on(date(2026, 1, 31), hour=9)
        assert [m["To"] for m in fleet.mail.sent] == [fleet.owner_id]
        statuses = Counter(i.status for i in fleet.store.items() if i.key.startswith("notice:"))
        assert statuses == {DeliveryStatus.SENT: 1, DeliveryStatus.SUPPRESSED: 1}

    def test_a_mail_server_that_is_down_loses_nothing(self, fleet: Fleet) -> None:
        # SPEC N9: pending with retry and backoff, then delivered once.
        fleet.device("AS0000000001", on=date(2025, 11, 1))
        fleet.mail.down = True
        report = fleet.sweep_on(date(2026, 1, 31))
        assert report.delivery.retrying == 1
        assert fleet.mail.sent == []
        fleet.mail.down = False
        fleet.clock.set(datetime(2026, 1, 31, 8, 0, 30, tzinfo=UTC))  # retry due at 08:01
        fleet.service.sweep(fleet.mail)
        assert fleet.mail.sent == []
        fleet.sweep_on(date(2026, 1, 31), hour=8, minute=1)
        assert len(fleet.mail.sent) == 1
        fleet.sweep_on(date(2026, 2, 1))
        assert len(fleet.mail.sent) == 1

    def test_a_refusal_gives_up_and_is_recorded(self, fleet: Fleet) -> None:
        # SPEC N9: a 5xx is not retried forever.
        fleet.device("AS0000000001", on=date(2025, 11, 1))
        fleet.mail.refuse = True
        report = fleet.sweep_on(date(2026, 1, 31))
        assert report.delivery.failed == 1
        (item,) = fleet.store.items()
        assert item.status is DeliveryStatus.FAILED
        assert "550" in (item.last_error or "")


class TestCostFollowsTheNoticesDue:
    def test_a_sweep_reads_only_the_devices_due(self, fleet: Fleet) -> None:
        # SPEC N2 (scale): 2 of 200 devices are due; the sweep reads 2 rows.
        for n in range(198):
            fleet.device(f"AS1{n:011d}", on=date(2026, 1, 1))  # first notice 2026-04-02
        fleet.device("AS200000000001", on=date(2025, 10, 1))  # trial ends 2026-04-01
        fleet.device("AS200000000002", on=date(2025, 10, 1))
        report = fleet.sweep_on(date(2026, 1, 1))
        assert report.plan.devices_read == 2
        assert report.plan.notices_planned == 2


class TestTimeZones:
    def test_each_owner_is_swept_by_their_own_today(self, fleet: Fleet) -> None:
        # SPEC D1: at 2026-01-30 12:00 UTC it is already 2026-01-31 in Kiribati (UTC+14),
        # still 2026-01-30 in Honolulu (UTC-10).
        east = fleet.owner("east@example.com", timezone="Pacific/Kiritimati")
        west = fleet.owner("west@example.com", timezone="Pacific/Honolulu")
        fleet.device("AS0000000001", on=date(2025, 11, 1), owner=east)
        fleet.device("AS0000000002", on=date(2025, 11, 1), owner=west)
        fleet.clock.set(datetime(2026, 1, 30, 12, tzinfo=UTC))
        fleet.service.sweep(fleet.mail)
        assert [m["To"] for m in fleet.mail.sent] == [east]
        fleet.clock.set(datetime(2026, 1, 31, 12, tzinfo=UTC))
        fleet.service.sweep(fleet.mail)
        assert [m["To"] for m in fleet.mail.sent] == [east, west]


class TestDigests:
    def test_a_reseller_who_chose_a_digest_gets_one_message_a_day(self, fleet: Fleet) -> None:
        # SPEC N10
        fleet.set_delivery(reseller=DeliveryPreference.DAILY_DIGEST)
        for n in range(3):
            fleet.device(f"AS000000000{n}", on=date(2025, 11, 1))
        fleet.connect_reseller(at=datetime(2026, 1, 2, tzinfo=UTC))
        report = fleet.sweep_on(date(2026, 1, 31))
        reseller = [m for m in fleet.mail.sent if m["To"] == "sales@reseller.example"]
        owner = [m for m in fleet.mail.sent if m["To"] == fleet.owner_id]
        assert report.digests == 1
        assert len(reseller) == 1
        assert len(owner) == 3
        text = reseller[0].as_string()
        assert all(f"AS000000000{n}" in text for n in range(3))
        fleet.sweep_on(date(2026, 1, 31), hour=10)
        assert len(fleet.mail.sent) == 4


class TestBadInputChangesNothing:
    def test_an_unknown_device(self, fleet: Fleet) -> None:
        # SPEC D5
        fleet.service.issue_code("CODE-1", "STANDARD", "1Y", 1, "installer@example.com")
        with pytest.raises(UnknownDevice):
            fleet.service.assign_code("CODE-1", "NOPE", by=fleet.owner_id)
        assert fleet.store.get_code("CODE-1").remaining == 1

    def test_an_over_assignment(self, fleet: Fleet) -> None:
        # SPEC E6, D5
        fleet.device("AS0000000001", on=date(2025, 11, 1))
        fleet.service.issue_code("CODE-2", "STANDARD", "1Y", 2, "installer@example.com")
        with pytest.raises(OverAssignment):
            fleet.service.assign_code("CODE-2", "AS0000000001", by=fleet.owner_id, count=3)
        assert fleet.store.get_code("CODE-2").remaining == 2
        assert fleet.store.licenses_of("AS0000000001") == ()

    def test_a_tampered_token(self, fleet: Fleet) -> None:
        # SPEC I5, D5
        links = fleet.service.invite_reseller(fleet.owner_id, "sales@reseller.example")
        token = links.accept_token
        bad = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
        with pytest.raises(TokenTampered):
            fleet.service.respond(bad, TokenAction.ACCEPT)
        assert fleet.store.current_invitation(fleet.owner_id) == links.invitation

    def test_an_unknown_time_zone(self, fleet: Fleet) -> None:
        # SPEC D1, D5
        with pytest.raises(InvalidInput):
            fleet.owner("lost@example.com", timezone="Mars/Olympus_Mons")


class TestEventLogRetention:
    def test_the_sweep_drops_entries_past_thirty_days(self, fleet: Fleet) -> None:
        # SPEC S5: the event log keeps 30 days.
        fleet.device("AS0000000001", on=date(2025, 11, 1))
        fleet.clock.set(datetime(2025, 11, 2, 8, tzinfo=UTC))
        fleet.service.set_battery_install_date("AS0000000001", date(2025, 11, 2), by=fleet.owner_id)
        assert len(fleet.service.event_log(fleet.owner_id)) == 1
        report = fleet.sweep_on(date(2025, 12, 1))  # 29 days later: kept
        assert report.log_entries_pruned == 0
        report = fleet.sweep_on(date(2025, 12, 3))  # 31 days later: gone
        assert report.log_entries_pruned == 1
        assert fleet.service.event_log(fleet.owner_id) == ()


class TestShards:
    def test_shards_split_the_planning_and_together_plan_everything(self, fleet: Fleet) -> None:
        # SPEC N9: n workers with shard (i, n) plan disjoint devices, none left out.
        for n in range(12):
            fleet.device(f"AS00000000{n:02d}", on=date(2025, 11, 1))
        now = datetime(2026, 1, 31, 8, tzinfo=UTC)
        catalog = fleet.service.catalog
        first = plan_notices(fleet.store, catalog, now, shard=(0, 2))
        second = plan_notices(fleet.store, catalog, now, shard=(1, 2))
        assert first.devices_due > 0
        assert second.devices_due > 0
        assert first.devices_due + second.devices_due == 12
        assert plan_notices(fleet.store, catalog, now).notices_planned == 0

    def test_scheduled_shards_written_a_page_at_a_time_plan_each_device_once(
        self, fleet: Fleet
    ) -> None:
        # SPEC N9: the stored-schedule plan writes a page at once; shards still split each
        # page by serial, disjoint and complete, across pages (batch=5: three pages).
        serials = [f"AS00000000{n:02d}" for n in range(12)]
        for serial in serials:
            fleet.device(serial, on=date(2025, 11, 1))
        now = datetime(2026, 1, 31, 8, tzinfo=UTC)
        catalog = fleet.service.catalog
        mine: list[set[str]] = []
        for part in (0, 1):
            seen: list[str] = []
            plan_scheduled(
                fleet.store, catalog, now, batch=5, shard=(part, 2), on_device=seen.append
            )
            assert seen == sorted(seen)
            assert set(seen) == {s for s in serials if zlib.crc32(s.encode()) % 2 == part}
            mine.append(set(seen))
        assert mine[0].isdisjoint(mine[1])
        assert mine[0] | mine[1] == set(serials)
        keys = [i.key for i in fleet.store.items() if i.key.startswith("notice:")]
        assert len(keys) == len(set(keys)) >= 12
        assert plan_scheduled(fleet.store, catalog, now, batch=5).notices_planned == 0

    def test_a_bad_shard_is_refused(self, fleet: Fleet) -> None:
        # SPEC D5
        with pytest.raises(InvalidInput):
            plan_notices(fleet.store, fleet.service.catalog, fleet.clock.now(), shard=(2, 2))

    def test_parallel_workers_fold_a_digest_only_once_its_day_is_over(self, fleet: Fleet) -> None:
        # SPEC N10: a sharded sweep leaves today's held notices for a later fold, so a
        # worker still planning today cannot split the digest in two.
        fleet.set_delivery(reseller=DeliveryPreference.DAILY_DIGEST)
        fleet.device("AS0000000001", on=date(2025, 11, 1))
        fleet.connect_reseller(at=datetime(2026, 1, 2, tzinfo=UTC))
        now = datetime(2026, 1, 31, 8, tzinfo=UTC)
        today = sweep(
            fleet.store,
            fleet.service.catalog,
            fleet.mail,
            now,
            settings=fleet.service.settings,
            shard=(0, 1),
        )
        assert today.digests == 1  # one worker: nothing else is planning
        serial = fleet.device("AS0000000002", on=date(2025, 11, 2))  # first notice 2026-02-01
        part = zlib.crc32(serial.encode()) % 2
        later = datetime(2026, 2, 1, 8, tzinfo=UTC)
        parallel = sweep(
            fleet.store,
            fleet.service.catalog,
            fleet.mail,
            later,
            settings=fleet.service.settings,
            shard=(part, 2),
        )
        assert parallel.plan.devices_due == 1
        assert parallel.digests == 0  # 2026-02-01 is not over everywhere yet
        assert all(m["To"] != RESELLER for m in fleet.mail.sent[-1:])  # held, not sent
        next_day = datetime(2026, 2, 2, 13, tzinfo=UTC)
        assert earliest_local_date(next_day) == date(2026, 2, 2)
        folded = sweep(
            fleet.store,
            fleet.service.catalog,
            fleet.mail,
            next_day,
            settings=fleet.service.settings,
            shard=(1 - part, 2),
        )
        assert folded.digests == 1
