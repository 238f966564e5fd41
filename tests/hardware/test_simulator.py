"""The simulated fleet, and the three transports agreeing on one UPS."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import pytest

from tests.hardware.conftest import ModbusServer
from upslife.errors import (
    InvalidCommand,
    InvalidSnapshot,
    NotFound,
    TransportError,
    TransportTimeout,
    UnknownUps,
    UnsupportedCommand,
)
from upslife.hardware import (
    Command,
    DeviceCommand,
    DeviceSnapshot,
    InputSensitivity,
    NutTransport,
    SimulatedTransport,
    SimulatedUps,
    StatusFlag,
    UpsTransport,
)
from upslife.hardware.modbus import ModbusTransport


@pytest.fixture
def fleet() -> Iterator[SimulatedTransport]:
    with SimulatedTransport({"rack-a": SimulatedUps.smart_ups_1500()}) as transport:
        yield transport


class TestScripting:
    def test_a_new_unit_is_a_healthy_smart_ups_on_line_power(
        self, fleet: SimulatedTransport
    ) -> None:
        snapshot = fleet.read("rack-a")
        assert snapshot.model == "Smart-UPS 1500"
        assert snapshot.online
        assert not snapshot.battery_failed
        assert fleet.list_devices() == ("rack-a",)

    def test_a_scripted_battery_failure_reads_as_RB(self, fleet: SimulatedTransport) -> None:
        # SPEC N1: battery failure as the UPS reports it.
        fleet["rack-a"].fail_battery()
        assert fleet.read("rack-a").battery_failed

    def test_a_replaced_battery_clears_RB_and_moves_the_dates(
        self, fleet: SimulatedTransport
    ) -> None:
        # SPEC E9: the UPS's own replace-by date moves with the new battery.
        unit = fleet["rack-a"]
        unit.fail_battery()
        unit.replace_battery(date(2025, 3, 1), replace_by=date(2029, 3, 1))
        snapshot = fleet.read("rack-a")
        assert not snapshot.battery_failed
        assert snapshot.battery_installed_on == date(2025, 3, 1)
        assert snapshot.battery_replace_by == date(2029, 3, 1)

    def test_power_events_swap_the_line_and_battery_flags(self, fleet: SimulatedTransport) -> None:
        unit = fleet["rack-a"]
        unit.go_on_battery(charge_percent=35.0)
        unit.set_flags(StatusFlag.LB)
        snapshot = fleet.read("rack-a")
        assert snapshot.on_battery
        assert snapshot.low_battery
        assert not snapshot.online
        assert snapshot.charge_percent == 35.0
        unit.go_on_line()
        assert fleet.read("rack-a").status == {StatusFlag.OL}

    def test_scripted_values_are_validated_like_any_snapshot(
        self, fleet: SimulatedTransport
    ) -> None:
        with pytest.raises(InvalidSnapshot):
            fleet["rack-a"].update(charge_percent=130.0)

    def test_the_reading_time_is_the_callers(self, fleet: SimulatedTransport) -> None:
        at = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)
        assert fleet.read("rack-a", read_at=at).read_at == at
        assert fleet.read("rack-a").read_at is None


class TestCommands:
    def test_commands_change_the_unit_and_are_recorded(self, fleet: SimulatedTransport) -> None:
        unit = fleet["rack-a"]
        unit.self_test_outcome = "Failed"
        commands = [
            DeviceCommand.self_test(),
            DeviceCommand.set_input_sensitivity(InputSensitivity.MEDIUM),
            DeviceCommand.set_battery_install_date(date(2025, 1, 6)),
            DeviceCommand.outlet_group_reboot(1),
            DeviceCommand.firmware_install_start(),
        ]
        for command in commands:
            fleet.run_command("rack-a", command)
        snapshot = fleet.read("rack-a")
        assert snapshot.self_test_result == "Failed"
        assert snapshot.input_sensitivity is InputSensitivity.MEDIUM
        assert snapshot.battery_installed_on == date(2025, 1, 6)
        assert unit.commands == commands
        assert fleet.sent == [("rack-a", command) for command in commands]

    def test_raw_variable_writes_take_nut_names_and_spellings(
        self, fleet: SimulatedTransport
    ) -> None:
        fleet.set_variable("rack-a", "input.sensitivity", "L")
        fleet.set_variable("rack-a", "battery.date", "01/06/25")
        snapshot = fleet.read("rack-a")
        assert snapshot.input_sensitivity is InputSensitivity.LOW
        assert snapshot.battery_installed_on == date(2025, 1, 6)
        with pytest.raises(UnsupportedCommand):
            fleet.set_variable("rack-a", "ups.delay.shutdown", "20")
        with pytest.raises(InvalidCommand):
            fleet.set_variable("rack-a", "input.sensitivity", "UNKNOWN")

    def test_a_unit_can_refuse_a_command_like_a_real_device(self) -> None:
        unit = SimulatedUps.smart_ups_1500()
        unit.unsupported = frozenset({Command.OUTLET_GROUP_REBOOT})
        with SimulatedTransport({"rack-a": unit}) as fleet:
            with pytest.raises(UnsupportedCommand):
                fleet.run_command("rack-a", DeviceCommand.outlet_group_reboot(0))
            assert fleet.sent == []

    def test_an_unknown_unit_is_not_found(self, fleet: SimulatedTransport) -> None:
        with pytest.raises(UnknownUps) as caught:
            fleet.read("rack-z")
        assert isinstance(caught.value, NotFound)

    def test_a_silent_unit_times_out(self, fleet: SimulatedTransport) -> None:
        fleet.go_silent("rack-a")
        with pytest.raises(TransportTimeout):
            fleet.read("rack-a")
        fleet.go_silent("rack-a", False)
        assert fleet.read("rack-a").online

    def test_a_closed_transport_refuses_every_call(self) -> None:
        fleet = SimulatedTransport()
        fleet.add("rack-a")
        fleet.close()
        with pytest.raises(TransportError):
            fleet.list_devices()
        with pytest.raises(TransportError):
            fleet.read("rack-a")


# ============================================================================ contract


@pytest.fixture(params=["simulator", "modbus", "nut"])
def smt1500c(
    request: pytest.FixtureRequest, modbus_server: Callable[..., ModbusServer]
) -> Iterator[tuple[UpsTransport, str]]:
    """The fixture Smart-UPS 1500 behind each transport, and its name there."""
    if request.param == "simulator":
        with SimulatedTransport({"smt1500c": SimulatedUps.smart_ups_1500()}) as sim:
            yield sim, "smt1500c"
    elif request.param == "modbus":
        server = modbus_server()
        with ModbusTransport("127.0.0.1", server.port, name="smt1500c", timeout=2) as mb:
            yield mb, "smt1500c"
    else:
        url = request.getfixturevalue("nut_url")
        with NutTransport.from_url(url, timeout=3) as nut:
            yield nut, "smt1500c"


class TestEveryTransportAgrees:
    def test_each_reads_the_same_identity_dates_and_vitals(
        self, smt1500c: tuple[UpsTransport, str]
    ) -> None:
        transport, name = smt1500c
        assert name in transport.list_devices()
        snapshot = transport.read(name)
        assert isinstance(snapshot, DeviceSnapshot)
        assert (snapshot.model, snapshot.serial, snapshot.firmware) == (
            "Smart-UPS 1500",
            "AS2312345678",
            "UPS 15.5 (ID18)",
        )
        assert snapshot.manufactured_on == date(2022, 11, 3)
        assert snapshot.battery_installed_on == date(2023, 5, 14)  # SPEC E9
        assert snapshot.battery_replace_by == date(2027, 5, 13)  # SPEC E9
        assert snapshot.online
        assert not snapshot.battery_failed
        assert snapshot.load_percent == pytest.approx(17.6, abs=1 / 256)
        assert snapshot.charge_percent == 100.0
        assert snapshot.battery_temperature_c == 24.5

    def test_each_refuses_a_unit_it_does_not_know_as_not_found(
        self, smt1500c: tuple[UpsTransport, str]
    ) -> None:
        transport, _ = smt1500c
        with pytest.raises(NotFound):
            transport.read("no-such-ups")
