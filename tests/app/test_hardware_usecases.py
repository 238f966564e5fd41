"""Polling UPS units into storage and running gated commands (SPEC E9, E10, N1, S3, S5).

The transport is the shipped simulator, which records every command it receives, so a
refusal can be shown to have sent nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from upslife.errors import FeatureNotInPlan, NotPermitted
from upslife.hardware.simulator import SimulatedTransport, SimulatedUps
from upslife.hardware.snapshot import DeviceCommand, InputSensitivity, StatusFlag
from upslife.sharing import Action, Outcome

from .conftest import Fleet

SERIAL = "AS2312345678"


@pytest.fixture
def ups(fleet: Fleet) -> tuple[SimulatedTransport, SimulatedUps]:
    fleet.device(SERIAL, on=date(2025, 11, 1))  # trial (STANDARD) until 2026-05-01
    unit = SimulatedUps.smart_ups_1500(serial=SERIAL)
    transport = SimulatedTransport({"ups1": unit})
    return transport, unit


class TestPolling:
    def test_a_reported_replace_by_date_replaces_the_computed_one(
        self, fleet: Fleet, ups: tuple[SimulatedTransport, SimulatedUps]
    ) -> None:
        # SPEC E9
        transport, unit = ups
        unit.update(battery_installed_on=date(2025, 10, 1), battery_replace_by=date(2028, 4, 1))
        fleet.clock.set(datetime(2025, 12, 1, 8, tzinfo=UTC))
        report = fleet.service.poll(transport)
        assert report.updated == (SERIAL,)
        device = fleet.store.get_device(SERIAL)
        assert device.battery_installed_on == date(2025, 10, 1)
        assert device.battery_reported_replace_by == date(2028, 4, 1)
        assert device.vitals is not None
        assert device.vitals.observed_at == datetime(2025, 12, 1, 8, tzinfo=UTC)

    def test_a_ups_the_store_does_not_know_is_reported_not_stored(self, fleet: Fleet) -> None:
        transport = SimulatedTransport({"x": SimulatedUps.smart_ups_1500(serial="AS9999999999")})
        report = fleet.service.poll(transport)
        assert report.unknown == ("AS9999999999",)
        assert fleet.store.count_devices() == 0

    def test_a_silent_ups_is_reported_and_the_poll_goes_on(
        self, fleet: Fleet, ups: tuple[SimulatedTransport, SimulatedUps]
    ) -> None:
        transport, _ = ups
        transport.add("ups2", SimulatedUps.smart_ups_1500(serial="AS0000000002"))
        transport.go_silent("ups2")
        report = fleet.service.poll(transport)
        assert report.updated == (SERIAL,)
        assert [name for name, _ in report.failed] == ["ups2"]

    def test_a_failed_battery_is_notified_on_the_next_sweep(
        self, fleet: Fleet, ups: tuple[SimulatedTransport, SimulatedUps]
    ) -> None:
        # SPEC N1, N5: "Battery Needs Replacement", at once, critical.
        transport, unit = ups
        unit.fail_battery()
        fleet.clock.set(datetime(2025, 12, 3, 7, tzinfo=UTC))
        report = fleet.service.poll(transport)
        assert report.battery_failures == (SERIAL,)
        assert fleet.store.get_device(SERIAL).next_notice_on == date(2025, 12, 3)
        fleet.sweep_on(date(2025, 12, 3))
        subjects = [str(m["Subject"]) for m in fleet.mail.sent]
        assert subjects == [f"Battery Needs Replacement: SMT1500C {SERIAL}"]
        # the flag clears after a new battery: the event is resolved (SPEC N3)
        unit.clear_flags(StatusFlag.RB)
        fleet.service.poll(transport)
        assert fleet.store.get_device(SERIAL).battery_failure_reported_on is None


class TestCommands:
    def test_the_owner_runs_a_self_test_and_it_is_logged(
        self, fleet: Fleet, ups: tuple[SimulatedTransport, SimulatedUps]
    ) -> None:
        # SPEC E10 (STANDARD), S5
        transport, unit = ups
        fleet.clock.set(datetime(2025, 12, 1, 8, tzinfo=UTC))
        fleet.service.run_command(
            SERIAL,
            DeviceCommand.self_test(),
            by=fleet.owner_id,
            transport=transport,
            device_name="ups1",
        )
        assert [c.command.name for c in unit.commands] == ["SELF_TEST"]
        (entry,) = fleet.service.event_log(fleet.owner_id)
        assert (entry.action, entry.outcome) == (Action.SELF_TEST, Outcome.SUCCEEDED)

    def test_outlet_reboot_needs_advanced_and_sends_nothing_otherwise(
        self, fleet: Fleet, ups: tuple[SimulatedTransport, SimulatedUps]
    ) -> None:
        # SPEC E10: refused before any byte is sent; the refusal is logged (S5).
        transport, unit = ups
        fleet.clock.set(datetime(2025, 12, 1, 8, tzinfo=UTC))
        with pytest.raises(FeatureNotInPlan, match="Advanced"):
            fleet.service.run_command(
                SERIAL,
                DeviceCommand.outlet_group_reboot(1),
                by=fleet.owner_id,
                transport=transport,
                device_name="ups1",
            )
        assert unit.commands == []
        (entry,) = fleet.service.event_log(fleet.owner_id)
        assert entry.outcome is Outcome.REFUSED

    def test_remote_firmware_start_is_refused_on_basic(
        self, fleet: Fleet, ups: tuple[SimulatedTransport, SimulatedUps]
    ) -> None:
        # SPEC E10: on BASIC the install is started from the UPS's LCD; no log entry on BASIC.
        transport, unit = ups
        fleet.clock.set(datetime(2026, 6, 1, 8, tzinfo=UTC))  # the trial ended 2026-05-01
        with pytest.raises(FeatureNotInPlan, match="Standard"):
            fleet.service.run_command(
                SERIAL,
                DeviceCommand.firmware_install_start(),
                by=fleet.owner_id,
                transport=transport,
                device_name="ups1",
            )
        assert unit.commands == []
        assert fleet.service.event_log(fleet.owner_id) == ()

    def test_a_stranger_may_not_command_a_device(
        self, fleet: Fleet, ups: tuple[SimulatedTransport, SimulatedUps]
    ) -> None:
        # SPEC S3
        transport, unit = ups
        with pytest.raises(NotPermitted):
            fleet.service.run_command(
                SERIAL,
                DeviceCommand.set_input_sensitivity(InputSensitivity.LOW),
                by="stranger@example.com",
                transport=transport,
                device_name="ups1",
            )
        assert unit.commands == []

    def test_setting_the_battery_install_date_moves_the_replace_by_date(
        self, fleet: Fleet, ups: tuple[SimulatedTransport, SimulatedUps]
    ) -> None:
        # SPEC E9, E10 (BASIC): allowed on every plan; the stored date follows.
        transport, unit = ups
        fleet.clock.set(datetime(2026, 6, 1, 8, tzinfo=UTC))
        fleet.service.run_command(
            SERIAL,
            DeviceCommand.set_battery_install_date(date(2026, 5, 30)),
            by=fleet.owner_id,
            transport=transport,
            device_name="ups1",
        )
        assert unit.snapshot.battery_installed_on == date(2026, 5, 30)
        device = fleet.store.get_device(SERIAL)
        assert device.battery_installed_on == date(2026, 5, 30)
        assert device.next_notice_on is not None
        assert device.next_notice_on > date(2026, 6, 1) + timedelta(days=365)
