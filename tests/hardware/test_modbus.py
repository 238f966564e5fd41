"""The APC Modbus register map: pure decoders, and the transport against a real
pymodbus server."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hardware.conftest import (
    ModbusServer,
    block,
    days,
    resetting_server,
    smt1500c_image,
    string_registers,
)
from upslife.errors import (
    InvalidCommand,
    InvalidTransportConfig,
    MalformedResponse,
    ModbusRefused,
    NotFound,
    TransportError,
    TransportTimeout,
    UnknownUps,
    UnsupportedCommand,
)
from upslife.hardware.modbus import (
    BATTERY_INSTALL_DATE,
    DYNAMIC_BLOCK,
    INVENTORY_BLOCK,
    STATUS_BLOCK,
    ModbusTransport,
    decode_date,
    decode_int,
    decode_self_test,
    decode_status,
    decode_string,
    decode_uint,
    outlet_groups,
    outlet_reboot_value,
    scaled,
    snapshot_from_registers,
)
from upslife.hardware.snapshot import DeviceCommand, DeviceSnapshot, InputSensitivity, StatusFlag

StartServer = Callable[..., ModbusServer]


def blocks(image: dict[int, int]) -> tuple[list[int], list[int], list[int]]:
    return (
        list(block(image, *STATUS_BLOCK)),
        list(block(image, *DYNAMIC_BLOCK)),
        list(block(image, *INVENTORY_BLOCK)),
    )


class TestDecoders:
    def test_numbers_are_big_endian_over_registers(self) -> None:
        assert decode_uint([0x0001, 0x0002]) == 0x10002
        assert decode_int([0xFFFF]) == -1
        assert decode_int([0x8000, 0x0000]) == -(2**31)

    def test_scaled_values_have_a_binary_point(self) -> None:
        # apc_modbus.c: charge scale 9, temperature scale 7, load scale 8.
        assert scaled(51200, 9) == 100.0
        assert scaled(decode_int([0xFF80]), 7) == -1.0
        assert scaled(4506, 8) == pytest.approx(17.6, abs=1 / 256)

    def test_strings_drop_padding_and_leading_zeros(self) -> None:
        assert decode_string(string_registers("Smart-UPS 1500", 16)) == "Smart-UPS 1500"
        assert decode_string([0, 0, 0x0041, 0x4243]) == "ABC"
        assert decode_string([0] * 8) is None
        assert decode_string([0x4142, 0x0743]) == "AB C"  # unprintable reads as a blank

    def test_dates_count_days_since_2000_and_zero_is_unset(self) -> None:
        # SPEC E9
        assert decode_date(8534) == date(2023, 5, 14)
        assert decode_date(0) is None

    def test_the_self_test_result_is_the_first_result_bit(self) -> None:
        assert decode_self_test((1 << 2) | (1 << 6)) == "Passed"
        assert decode_self_test(1 << 3) == "Failed"
        assert decode_self_test(0) is None

    def test_status_bits_map_to_nut_flags(self) -> None:
        status = [0] * STATUS_BLOCK[1]
        dynamic = [0] * DYNAMIC_BLOCK[1]
        status[0], status[1] = 1 << (21 - 16), (1 << 2) | (1 << 7)  # Overload, OnBattery, Test
        status[18] = 1 << 1  # ShutdownImminent
        status[22] = 1 << 2  # BatterySystemError_BF NeedsReplacement (apc_modbus.c: RB)
        status[24] = 1 << 1  # calibration in progress
        dynamic[150 - 128] = 1 << 6  # Trim
        flags, other = decode_status(status, dynamic)
        assert flags == {
            StatusFlag.OB,
            StatusFlag.OVER,
            StatusFlag.TEST,
            StatusFlag.LB,
            StatusFlag.RB,
            StatusFlag.CAL,
            StatusFlag.TRIM,
            StatusFlag.ALARM,  # apc_modbus.c: alarm "Battery system - Needs replacement"
        }
        assert other == frozenset()

    # NUT drivers/apc_modbus.c upsdrv_updateinfo reads the status block 0..26 and sets
    # RB from regbuf[22] & BATTERYSYSTEMERROR_BF_NEEDS_REPLACEMENT (1 << 2); register 19
    # is GeneralError_BF, whose bit 2 is an A/D converter fault. The addresses and bits
    # below are NUT's, written out here, not read from this project's constants.
    def test_register_22_bit_2_is_a_failed_battery(self) -> None:
        status = [0] * 27
        status[22] = 1 << 2
        flags, _ = decode_status(status, [0] * 32)
        assert StatusFlag.RB in flags  # SPEC N1

    def test_register_19_bit_2_is_not_a_failed_battery(self) -> None:
        status = [0] * 27
        status[19] = 1 << 2  # GeneralError_BF: an A/D converter fault
        flags, _ = decode_status(status, [0] * 32)
        assert StatusFlag.RB not in flags

    @pytest.mark.parametrize(
        ("register", "value"),
        [
            (20, 0),  # PowerSystemError_BF high word: nothing
            (21, 1 << 0),  # output overload
            (21, 1 << 13),  # inverter fault
            (20, 1 << 0),  # bit 16 of PowerSystemError_BF: NUT sets no alarm for it
            (22, 1 << 0),  # battery disconnected
            (22, 1 << 5),  # battery temperature sensor fault
        ],
    )
    def test_power_and_battery_system_errors_raise_alarm_as_nut_does(
        self, register: int, value: int
    ) -> None:
        status = [0] * 27
        status[register] = value
        flags, _ = decode_status(status, [0] * 32)
        alarmed = value != 0 and not (register == 20 and value == 1)
        assert (StatusFlag.ALARM in flags) is alarmed

    def test_high_efficiency_mode_is_the_he_token(self) -> None:
        status = [0] * 27
        status[1] = (1 << 1) | (1 << 13)  # UPSStatus_BF: Online, HighEfficiency
        flags, other = decode_status(status, [0] * 32)
        assert flags == {StatusFlag.OL}
        assert other == {"HE"}

    def test_the_voltages_are_registers_142_and_151_with_six_fraction_bits(self) -> None:
        image = smt1500c_image()
        image[142], image[151] = 230 * 64 + 32, 0xFFFF  # 230.5 V out; in: not applicable
        snapshot = snapshot_from_registers(*blocks(image))
        assert snapshot.output_voltage == 230.5
        assert snapshot.input_voltage is None

    def test_outlet_groups_come_from_register_590(self) -> None:
        image = smt1500c_image()
        image[590] = (1 << 0) | (1 << 1) | (1 << 3)  # main, SOG0 (group 1), SOG2 (group 3)
        assert outlet_groups(blocks(image)[2]) == {0, 1, 3}

    def test_the_outlet_reboot_command_targets_one_group(self) -> None:
        # apc_modbus.h: CMD_OUTPUT_REBOOT bit 4; main group bit 8, switched group n bit 9+n.
        assert outlet_reboot_value(0) == [0, (1 << 4) | (1 << 8)]
        assert outlet_reboot_value(1) == [0, (1 << 4) | (1 << 9)]

    def test_the_fixture_registers_decode_to_the_fixture_ups(self) -> None:
        at = datetime(2024, 6, 1, tzinfo=UTC)
        snapshot = snapshot_from_registers(*blocks(smt1500c_image()), read_at=at)
        assert snapshot.model == "Smart-UPS 1500"
        assert snapshot.serial == "AS2312345678"
        assert snapshot.firmware == "UPS 15.5 (ID18)"
        assert snapshot.runtime == timedelta(seconds=3420)
        assert snapshot.read_at == at

    def test_a_charge_far_above_100_percent_is_dropped_not_the_reading(self) -> None:
        image = smt1500c_image()
        image[130] = 0xFFFF  # 127.998 %
        image[22] = 1 << 2
        snapshot = snapshot_from_registers(*blocks(image))
        assert snapshot.charge_percent is None
        assert snapshot.battery_failed  # the status survives
        assert snapshot.serial == "AS2312345678"
        (entry,) = snapshot.dropped
        assert entry.source == "register 130"

    def test_a_charge_slightly_above_100_percent_reads_as_100(self) -> None:
        image = smt1500c_image()
        image[130] = round(101.5 * 512)
        assert snapshot_from_registers(*blocks(image)).charge_percent == 100.0

    @pytest.mark.parametrize(
        "bad",
        [[0] * 26, [0] * 28, [-1] + [0] * 26, [0x10000] + [0] * 26, [True] + [0] * 26, "x" * 27],
        ids=["short", "long", "negative", "17-bit", "bool", "text"],
    )
    def test_a_block_of_the_wrong_shape_is_malformed(self, bad: list[int]) -> None:
        _, dynamic, inventory = blocks(smt1500c_image())
        with pytest.raises(MalformedResponse):
            snapshot_from_registers(bad, dynamic, inventory)


registers = st.integers(min_value=0, max_value=0xFFFF)
anything = st.one_of(st.integers(), st.booleans(), st.none(), st.floats(), st.text(max_size=2))


class TestFuzzing:
    @given(
        st.lists(registers, min_size=STATUS_BLOCK[1], max_size=STATUS_BLOCK[1]),
        st.lists(registers, min_size=DYNAMIC_BLOCK[1], max_size=DYNAMIC_BLOCK[1]),
        st.lists(registers, min_size=INVENTORY_BLOCK[1], max_size=INVENTORY_BLOCK[1]),
    )
    def test_any_register_values_give_a_reading_that_keeps_the_status(
        self, status: list[int], dynamic: list[int], inventory: list[int]
    ) -> None:
        # issue 16: a bad value degrades its field, never the reading
        snapshot = snapshot_from_registers(status, dynamic, inventory)
        assert isinstance(snapshot, DeviceSnapshot)
        assert (snapshot.status, snapshot.other_status) == decode_status(status, dynamic)
        if snapshot.charge_percent is None:
            assert "charge_percent" in {d.field for d in snapshot.dropped}
        else:
            assert 0 <= snapshot.charge_percent <= 100

    @given(st.lists(st.lists(anything, max_size=90), min_size=3, max_size=3))
    def test_any_python_values_give_a_reading_or_a_malformed_response(
        self, lists: list[list[object]]
    ) -> None:
        with contextlib.suppress(MalformedResponse):
            snapshot_from_registers(*lists)  # type: ignore[arg-type]

    @given(st.lists(anything, max_size=20))
    def test_every_decoder_gives_a_value_or_a_malformed_response(
        self, values: list[object]
    ) -> None:
        for decoder in (decode_uint, decode_int, decode_string):
            with contextlib.suppress(MalformedResponse):
                decoder(values)  # type: ignore[arg-type]
        for single in (decode_date, decode_self_test):
            for value in values:
                with contextlib.suppress(MalformedResponse):
                    single(value)  # type: ignore[arg-type]

    @given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=16))
    def test_any_printable_string_reads_back(self, text: str) -> None:
        assert decode_string(string_registers(text, 8)) == (text or None)


class TestAgainstAPymodbusServer:
    def transport(self, server: ModbusServer, **kwargs: object) -> ModbusTransport:
        return ModbusTransport(
            "127.0.0.1",
            server.port,
            name="smt1500c",
            timeout=1.0,
            retries=0,
            **kwargs,  # type: ignore[arg-type]
        )

    def test_the_snapshot_matches_the_registers_written(self, modbus_server: StartServer) -> None:
        server = modbus_server()
        with self.transport(server) as ups:
            assert ups.list_devices() == ("smt1500c",)
            snapshot = ups.read("smt1500c")
        assert snapshot.model == "Smart-UPS 1500"
        assert snapshot.serial == "AS2312345678"
        assert snapshot.firmware == "UPS 15.5 (ID18)"
        assert snapshot.manufactured_on == date(2022, 11, 3)
        assert snapshot.battery_installed_on == date(2023, 5, 14)  # SPEC E9
        assert snapshot.battery_replace_by == date(2027, 5, 13)  # SPEC E9: register 133
        assert snapshot.status == {StatusFlag.OL}
        assert snapshot.load_percent == pytest.approx(17.6, abs=1 / 256)
        assert snapshot.charge_percent == 100.0
        assert snapshot.runtime == timedelta(seconds=3420)
        assert snapshot.battery_temperature_c == 24.5
        assert snapshot.self_test_result == "Passed"
        assert snapshot.input_sensitivity is None  # no public register for it
        assert server.writes == []

    def test_a_failed_battery_reads_as_the_RB_flag(self, modbus_server: StartServer) -> None:
        image = smt1500c_image()
        image[22] = 1 << 2  # BatterySystemError_BF NeedsReplacement
        with self.transport(modbus_server(image)) as ups:
            assert ups.read("smt1500c").battery_failed

    def test_writing_the_battery_install_date_writes_register_595_in_days_since_2000(
        self, modbus_server: StartServer
    ) -> None:
        # SPEC E9
        server = modbus_server()
        with self.transport(server) as ups:
            ups.run_command("smt1500c", DeviceCommand.set_battery_install_date(date(2025, 1, 6)))
            assert server.writes == [(BATTERY_INSTALL_DATE, [days(date(2025, 1, 6))])]
            assert days(date(2025, 1, 6)) == 9137
            assert ups.read("smt1500c").battery_installed_on == date(2025, 1, 6)

    def test_the_raw_battery_date_variable_writes_the_same_register(
        self, modbus_server: StartServer
    ) -> None:
        server = modbus_server()
        with self.transport(server) as ups:
            ups.set_variable("smt1500c", "battery.date", "2024-02-29")
        assert server.writes == [(595, [days(date(2024, 2, 29))])]

    def test_a_self_test_writes_the_start_bit_of_register_1541(
        self, modbus_server: StartServer
    ) -> None:
        server = modbus_server()
        with self.transport(server) as ups:
            ups.run_command("smt1500c", DeviceCommand.self_test())
        assert server.writes == [(1541, [1])]

    def test_an_outlet_group_reboot_writes_register_1538(self, modbus_server: StartServer) -> None:
        server = modbus_server()
        with self.transport(server) as ups:
            ups.run_command("smt1500c", DeviceCommand.outlet_group_reboot(1))
        assert server.writes == [(1538, [0, (1 << 4) | (1 << 9)])]

    def test_an_outlet_group_the_ups_lacks_is_refused_unsent(
        self, modbus_server: StartServer
    ) -> None:
        server = modbus_server()  # register 590: main group and group 1 only
        with self.transport(server) as ups, pytest.raises(UnsupportedCommand, match="group 2"):
            ups.run_command("smt1500c", DeviceCommand.outlet_group_reboot(2))
        assert server.writes == []

    def test_a_reset_connection_is_a_typed_transport_error(self) -> None:
        with resetting_server() as port:
            ups = ModbusTransport("127.0.0.1", port, name="smt1500c", timeout=1.0, retries=0)
            with ups, pytest.raises(TransportError):
                ups.read("smt1500c")

    def test_pymodbus_writes_nothing_on_stderr(self) -> None:
        # An application without logging configured must not see pymodbus' own lines.
        code = (
            "from upslife.hardware.modbus import ModbusTransport\n"
            "from upslife.errors import TransportError\n"
            "t = ModbusTransport('127.0.0.1', 1, timeout=0.5, retries=0)\n"
            "try:\n    t.read('127.0.0.1')\nexcept TransportError:\n    pass\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
        )
        assert done.stderr == ""

    @pytest.mark.parametrize(
        "command",
        [
            DeviceCommand.set_input_sensitivity(InputSensitivity.LOW),
            DeviceCommand.firmware_install_start(),
        ],
        ids=lambda c: c.command.name,
    )
    def test_commands_without_a_documented_register_are_refused_unsent(
        self, modbus_server: StartServer, command: DeviceCommand
    ) -> None:
        server = modbus_server()
        with self.transport(server) as ups, pytest.raises(UnsupportedCommand):
            ups.run_command("smt1500c", command)
        assert server.writes == []

    def test_other_raw_variables_are_refused_unsent(self, modbus_server: StartServer) -> None:
        server = modbus_server()
        with self.transport(server) as ups:
            with pytest.raises(UnsupportedCommand):
                ups.set_variable("smt1500c", "ups.id", "rack 1")
            with pytest.raises(InvalidCommand):
                ups.set_variable("smt1500c", "battery.date", "soon")
        assert server.writes == []

    def test_another_device_name_is_not_found(self, modbus_server: StartServer) -> None:
        with self.transport(modbus_server()) as ups, pytest.raises(UnknownUps) as caught:
            ups.read("rack-b")
        assert isinstance(caught.value, NotFound)

    def test_a_register_the_device_lacks_is_a_typed_refusal(
        self, modbus_server: StartServer
    ) -> None:
        server = modbus_server()
        with self.transport(server, unit=1) as ups, pytest.raises(ModbusRefused) as caught:
            ups._write(5000, [1])  # beyond the device's registers
        assert caught.value.exception_code == 2  # illegal data address


class TestTimeouts:
    def test_a_device_that_never_answers_times_out_within_the_bound(
        self, silent_server: int
    ) -> None:
        ups = ModbusTransport("127.0.0.1", silent_server, timeout=0.5, retries=0)
        with ups:
            started = time.monotonic()
            with pytest.raises(TransportTimeout) as caught:
                ups.read(ups.name)
            elapsed = time.monotonic() - started
        assert ups.bound == 0.5
        assert elapsed < ups.bound + 0.5
        assert caught.value.timeout == ups.bound

    def test_retries_multiply_the_bound(self, silent_server: int) -> None:
        ups = ModbusTransport("127.0.0.1", silent_server, timeout=0.3, retries=1)
        with ups:
            started = time.monotonic()
            with pytest.raises(TransportTimeout):
                ups.read(ups.name)
            assert time.monotonic() - started < ups.bound + 0.5

    def test_a_refused_connection_is_a_transport_error(self) -> None:
        probe = socket.create_server(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        with (
            ModbusTransport("127.0.0.1", port, timeout=0.5, retries=0) as ups,
            pytest.raises(TransportError, match="cannot connect"),
        ):
            ups.read(ups.name)


class TestConfiguration:
    def test_a_url_names_host_port_and_unit(self) -> None:
        ups = ModbusTransport.from_url("modbus://10.0.0.7:1502/3", name="rack-a")
        assert (ups.host, ups.port, ups.unit, ups.name) == ("10.0.0.7", 1502, 3, "rack-a")
        assert ModbusTransport.from_url("modbus://10.0.0.7").port == 502

    @pytest.mark.parametrize(
        "kwargs",
        [{"timeout": 0}, {"retries": -1}, {"retries": 9}, {"unit": 300}, {"timeout": True}],
    )
    def test_unusable_settings_are_refused(self, kwargs: dict[str, object]) -> None:
        with pytest.raises(InvalidTransportConfig):
            ModbusTransport("127.0.0.1", **kwargs)  # type: ignore[arg-type]

    @pytest.mark.parametrize("url", ["tcp://host", "modbus:///1", "modbus://host/x"])
    def test_unusable_urls_are_refused(self, url: str) -> None:
        with pytest.raises(InvalidTransportConfig):
            ModbusTransport.from_url(url)
