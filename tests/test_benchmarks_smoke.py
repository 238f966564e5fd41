"""The benchmark harness runs end to end at the small scale, and what its figures rest on holds.

Timing on shared CI machines is noise, so nothing here asserts a speed or a ratio. These
tests catch a broken harness and check the structural properties behind the figures of
docs/performance.md: the fleet is deterministic and has no backlog on the sweep day, the
sweep reads about as many devices as are due and sends no Message-ID twice, every report
row is written, and two PostgreSQL workers send exactly what one does.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from benchmarks.fleet import SWEEP_AT, FleetSpec, device_records, owner_id, owners, write_fleet
from benchmarks.run import POSTGRES_ENV, main

from upslife.adapters.sqlite import SqliteStore
from upslife.app import FixedClock, Lifecycle
from upslife.app.clock import local_date
from upslife.app.facts import report_devices_of


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``python -m benchmarks.run --scale small``, once for the module (B4 with PostgreSQL)."""
    data = tmp_path_factory.mktemp("bench")
    out = data / "small.json"
    only = "b1,b2,b3,b4" if os.environ.get(POSTGRES_ENV) else "b1,b2,b3"
    assert main(["--scale", "small", "--data", str(data), "--json", str(out), "--only", only]) == 0
    document: dict[str, Any] = json.loads(out.read_text())
    return document


class TestFleet:
    def test_the_same_spec_gives_the_same_fleet(self) -> None:
        spec = FleetSpec(300, chunk=100)
        assert device_records(spec, 1) == device_records(spec, 1)

    def test_serials_are_unique_and_the_providers_have_their_share(self) -> None:
        spec = FleetSpec(1_000, chunk=250)
        records = [r for chunk in range(spec.chunks) for r in device_records(spec, chunk)]
        assert len({r.device.serial for r in records}) == 1_000
        by_owner = [r.device.owner_id for r in records]
        assert by_owner.count("noc@msp-large.example") == spec.msp_large == 100
        assert by_owner.count("noc@msp-small.example") == spec.msp_small == 10

    def test_no_device_is_overdue_on_the_sweep_day(self) -> None:
        # The fleet is stored as yesterday's sweep left it: what is due is due today.
        spec = FleetSpec(500)
        today = {o.id: local_date(SWEEP_AT, o.timezone) for o in owners(spec)}
        for record in device_records(spec, 0):
            device = record.device
            assert device.next_notice_on is not None
            assert device.next_notice_on >= today[device.owner_id]
            assert all(lic.assigned_on >= device.registered_on for lic in record.licenses)
            assert all(s.on == today[device.owner_id] - timedelta(days=1) for s in record.sent)


class TestStreamedReports:
    def test_the_streamed_path_b3_measures_yields_what_the_service_does(
        self, tmp_path: Path
    ) -> None:
        # B3 times report_devices_of (pages of devices_of); it must be the same input as
        # Lifecycle.report_devices gives, device for device (SPEC R1-R5).
        store = SqliteStore(tmp_path / "fleet.db")
        spec = FleetSpec(300)
        write_fleet(store, spec)
        service = Lifecycle(store, clock=FixedClock(SWEEP_AT))
        for owner in (owner_id(0), owner_id(2)):
            streamed = list(report_devices_of(store, service.catalog, owner, page=7))
            assert streamed == list(service.report_devices(owner, user=owner))
        assert len(list(report_devices_of(store, service.catalog, owner_id(0)))) == 30
        store.close()


class TestRun:
    def test_every_figure_is_in_the_table(self, results: dict[str, Any]) -> None:
        ids = {f["id"] for f in results["figures"]}
        assert {"B1", "B2a", "B2b", "B2c", "B2d", "B2e", "B3", "B3m"} <= ids
        assert all(f["ratio"] is None or f["ratio"] > 0 for f in results["figures"])

    def test_the_stored_schedule_sends_what_the_reference_planner_sends(
        self, results: dict[str, Any]
    ) -> None:
        # docs/performance.md, B2a-ref: both planners on copies of one fleet, same days.
        refs = [f for f in results["figures"] if f["id"] == "B2a-ref"]
        assert len(refs) == 2
        assert all(f["met"] for f in refs)

    def test_the_rules_schedule_every_device(self, results: dict[str, Any]) -> None:
        b1 = results["raw"]["b1"]
        assert b1["with_next_date"] == b1["devices"]

    @pytest.mark.parametrize("size", ["small", "large"])
    def test_the_sweep_sends_no_message_twice(self, results: dict[str, Any], size: str) -> None:
        sweep = results["raw"]["b2"][size]["sweep"]
        assert sweep["messages"] > 0
        assert sweep["duplicates"] == 0

    @pytest.mark.parametrize("size", ["small", "large"])
    def test_the_sweep_reads_about_the_devices_due(
        self, results: dict[str, Any], size: str
    ) -> None:
        # The index serves the plan: it reads the devices due, plus those of owners whose
        # local day has not reached the due date yet (west of UTC), never the fleet.
        scale = results["raw"]["b2"][size]
        for day in scale["sweep"]["days"]:
            plan = day["plan"]
            assert 0 < plan["devices_due"] <= plan["devices_read"]
            assert plan["devices_read"] <= 1.3 * plan["devices_due"] + 5
            assert plan["devices_read"] < scale["devices"] / 20

    @pytest.mark.parametrize("size", ["small", "large"])
    def test_delivery_fails_nothing(self, results: dict[str, Any], size: str) -> None:
        for day in results["raw"]["b2"][size]["sweep"]["days"]:
            delivery = day["delivery"]
            assert delivery["sent"] > 0
            assert delivery["failed"] == delivery["retrying"] == 0

    def test_the_baselines_measured_the_same_work(self, results: dict[str, Any]) -> None:
        large = results["raw"]["b2"]["large"]
        rows = sum(n for n, _ in large["raw_sql"])
        due = sum(day["plan"]["devices_due"] for day in large["sweep"]["days"])
        assert rows > 0
        assert due > 0
        assert large["scan_devices"] == results["raw"]["sizes"]["b2_scan_sample"]
        assert large["sweep"]["mime_count"] == large["sweep"]["days"][0]["mails"]

    def test_reports_write_every_device_of_the_owner(self, results: dict[str, Any]) -> None:
        spec = FleetSpec(results["raw"]["sizes"]["b2_large"])
        runs = results["raw"]["b3"]["runs"]
        for owner, size in (("0", spec.msp_large), ("1", spec.msp_small)):
            assert runs[f"ours/{owner}"]["rows"] == runs[f"bare/{owner}"]["rows"] == size

    def test_two_and_four_postgres_workers_send_what_one_does(
        self, results: dict[str, Any]
    ) -> None:
        if "b4" not in results["raw"]:
            if os.environ.get("CI") == "true":
                pytest.fail(f"B4 needs PostgreSQL in CI: {POSTGRES_ENV} is not set")
            pytest.skip(f"B4 needs PostgreSQL: set {POSTGRES_ENV} (see .ci/services.sh)")
        b4 = results["raw"]["b4"]
        assert b4["duplicates"] == {"1": 0, "2": 0, "4": 0}
        assert b4["messages"]["1"] == b4["messages"]["2"] == b4["messages"]["4"] > 0
