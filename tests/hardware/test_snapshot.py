"""The device snapshot, the commands and their plan gating, and the date encodings."""

from __future__ import annotations

import doctest
import importlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from upslife.entitlements import Plan
from upslife.errors import InvalidCommand, InvalidDate, InvalidInput, InvalidSnapshot
from upslife.hardware._dates import (
    APC_EPOCH,
    apc_days,
    date_from_apc_days,
    format_nut_date,
    parse_nut_date,
)
from upslife.hardware.snapshot import (
    MAX_LOAD_PERCENT,
    Command,
    DeviceCommand,
    DeviceSnapshot,
    InputSensitivity,
    StatusFlag,
    command_for_variable,
    parse_sensitivity,
    parse_status,
)
from upslife.sharing import Action


@pytest.mark.parametrize(
    "module",
    [
        "upslife.hardware._dates",
        "upslife.hardware.snapshot",
        "upslife.hardware.nut",
        "upslife.hardware.modbus",
        "upslife.hardware.simulator",
    ],
)
def test_the_examples_in_the_docstrings_hold(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0


class TestDeviceSnapshot:
    def test_every_field_may_be_unreported(self) -> None:
        snapshot = DeviceSnapshot()
        assert snapshot.model is None
        assert snapshot.status == frozenset()
        assert not snapshot.battery_failed

    def test_a_failed_battery_is_the_RB_flag(self) -> None:
        # SPEC N1: "battery failure (reported by the UPS)"
        assert DeviceSnapshot(status=frozenset({StatusFlag.OL, StatusFlag.RB})).battery_failed
        assert not DeviceSnapshot(status=frozenset({StatusFlag.OL})).battery_failed

    def test_status_flags_read_like_nut(self) -> None:
        snapshot = DeviceSnapshot(status="OB LB", other_status={"HE"})
        assert snapshot.on_battery
        assert snapshot.low_battery
        assert not snapshot.online
        assert snapshot.status_text() == "OB LB HE"

    def test_forced_shutdown_counts_as_low_battery(self) -> None:
        assert DeviceSnapshot(status=frozenset({StatusFlag.FSD})).low_battery

    def test_identity_text_is_stripped_and_blank_is_unreported(self) -> None:
        snapshot = DeviceSnapshot(model="  Smart-UPS 1500 ", serial="   ")
        assert snapshot.model == "Smart-UPS 1500"
        assert snapshot.serial is None

    @pytest.mark.parametrize(
        "changes",
        [
            {"charge_percent": 100.5},
            {"charge_percent": -1},
            {"charge_percent": float("nan")},
            {"load_percent": MAX_LOAD_PERCENT + 1},
            {"load_percent": float("inf")},
            {"battery_temperature_c": 400.0},
            {"runtime": timedelta(seconds=-1)},
            {"runtime": 60},
            {"charge_percent": True},
            {"model": "bad\nmodel"},
            {"model": 42},
            {"battery_installed_on": datetime(2024, 1, 1, tzinfo=UTC)},
            {"status": {"OL"}},
            {"other_status": {"OL"}},
            {"other_status": {"two words"}},
            {"input_sensitivity": "high"},
            {"read_at": datetime(2024, 1, 1, 12, 0)},
        ],
        ids=lambda changes: next(iter(changes)),
    )
    def test_out_of_range_or_mistyped_values_are_refused(self, changes: dict[str, Any]) -> None:
        with pytest.raises(InvalidInput):
            DeviceSnapshot(**changes)

    def test_load_may_exceed_100_percent_in_overload(self) -> None:
        snapshot = DeviceSnapshot(load_percent=112.5, status=frozenset({StatusFlag.OVER}))
        assert snapshot.load_percent == 112.5

    def test_read_at_is_an_aware_instant_passed_by_the_caller(self) -> None:
        # SPEC D1, D4: no clock inside; the caller stamps the reading.
        at = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
        assert DeviceSnapshot(read_at=at).read_at == at


class TestStatusAndSensitivity:
    def test_unknown_status_tokens_are_kept_verbatim(self) -> None:
        assert parse_status("OL CHRG HE WAIT") == (
            frozenset({StatusFlag.OL, StatusFlag.CHRG}),
            frozenset({"HE", "WAIT"}),
        )

    def test_a_control_character_in_the_status_is_refused(self) -> None:
        with pytest.raises(InvalidSnapshot):
            parse_status("OL\x01")

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("high", InputSensitivity.HIGH),
            ("H", InputSensitivity.HIGH),
            ("Normal", InputSensitivity.HIGH),
            ("medium", InputSensitivity.MEDIUM),
            ("m", InputSensitivity.MEDIUM),
            ("reduced", InputSensitivity.MEDIUM),
            ("LOW", InputSensitivity.LOW),
            (" l ", InputSensitivity.LOW),
            ("A", InputSensitivity.AUTO),  # apcsmart on Matrix / RT units
            ("auto", InputSensitivity.AUTO),
        ],
    )
    def test_sensitivity_is_read_in_every_drivers_spelling(
        self, text: str, expected: InputSensitivity
    ) -> None:
        assert parse_sensitivity(text) is expected

    @pytest.mark.parametrize("text", ["UNKNOWN", "?", "", "5"])
    def test_an_unknown_sensitivity_is_refused(self, text: str) -> None:
        with pytest.raises(InvalidSnapshot):
            parse_sensitivity(text)

    def test_normal_is_the_middle_setting_where_the_vocabulary_has_high(self) -> None:
        # Eaton/MGE (mge-hid.c: normal, high, low) and CyberPower (cps-hid.c: low,
        # normal, high) put "normal" between "high" and "low"; APC, Delta and Belkin use
        # normal/reduced/low, where "normal" is the most sensitive setting.
        assert parse_sensitivity("normal", normal=InputSensitivity.MEDIUM) is (
            InputSensitivity.MEDIUM
        )
        assert parse_sensitivity("normal") is InputSensitivity.HIGH


class TestCommands:
    @pytest.mark.parametrize(
        ("command", "action", "plan"),
        [
            (Command.SELF_TEST, Action.SELF_TEST, Plan.STANDARD),
            (Command.SET_INPUT_SENSITIVITY, Action.INPUT_SENSITIVITY, Plan.STANDARD),
            (Command.SET_BATTERY_INSTALL_DATE, Action.SET_BATTERY_INSTALL_DATE, Plan.BASIC),
            (Command.OUTLET_GROUP_REBOOT, Action.OUTLET_GROUP_REBOOT, Plan.ADVANCED),
            (Command.FIRMWARE_INSTALL_START, Action.FIRMWARE_INSTALL, Plan.STANDARD),
        ],
    )
    def test_each_command_names_the_action_and_plan_feature_that_gate_it(
        self, command: Command, action: Action, plan: Plan
    ) -> None:
        # SPEC E10 (table) and S3: gating can happen before the transport sends anything.
        assert command.action is action
        assert command.feature.minimum_plan is plan

    def test_raw_variable_writes_map_to_the_commands_they_amount_to(self) -> None:
        # SPEC E10: a raw write is gated like the command it is.
        assert command_for_variable("input.sensitivity") is Command.SET_INPUT_SENSITIVITY
        assert command_for_variable("battery.date") is Command.SET_BATTERY_INSTALL_DATE
        assert command_for_variable("ups.delay.shutdown") is None

    def test_the_builders_fill_the_one_argument_each_command_takes(self) -> None:
        assert DeviceCommand.self_test() == DeviceCommand(command=Command.SELF_TEST)
        assert DeviceCommand.outlet_group_reboot().outlet_group == 0
        assert DeviceCommand.set_input_sensitivity(InputSensitivity.LOW).sensitivity is (
            InputSensitivity.LOW
        )
        assert DeviceCommand.set_battery_install_date(date(2025, 1, 6)).battery_installed_on == (
            date(2025, 1, 6)
        )
        assert DeviceCommand.firmware_install_start().command is Command.FIRMWARE_INSTALL_START

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"command": Command.SET_INPUT_SENSITIVITY},
            {"command": Command.SELF_TEST, "outlet_group": 1},
            {"command": Command.OUTLET_GROUP_REBOOT, "outlet_group": 4},
            {"command": Command.OUTLET_GROUP_REBOOT, "outlet_group": True},
            {"command": Command.SET_INPUT_SENSITIVITY, "sensitivity": "low"},
            {"command": "SELF_TEST"},
        ],
    )
    def test_a_command_with_a_missing_or_foreign_argument_is_refused(
        self, kwargs: dict[str, Any]
    ) -> None:
        with pytest.raises(InvalidCommand):
            DeviceCommand(**kwargs)

    def test_a_battery_install_date_must_be_a_calendar_date(self) -> None:
        with pytest.raises(InvalidDate):
            DeviceCommand(
                command=Command.SET_BATTERY_INSTALL_DATE,
                battery_installed_on=datetime(2025, 1, 6, tzinfo=UTC),
            )


class TestNutDates:
    # SPEC E9: battery dates as UPS drivers write them.
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2023-05-14", date(2023, 5, 14)),
            ("2005/04/02", date(2005, 4, 2)),
            ("11/14/00", date(2000, 11, 14)),
            ("10/17/96", date(1996, 10, 17)),
            ("05/14/2023", date(2023, 5, 14)),
            (" 2024-02-29 ", date(2024, 2, 29)),
        ],
    )
    def test_the_forms_drivers_write_are_read(self, text: str, expected: date) -> None:
        assert parse_nut_date(text) == expected

    @pytest.mark.parametrize("text", ["", "NA", "n/a", "unknown"])
    def test_an_unset_date_reads_as_unreported(self, text: str) -> None:
        assert parse_nut_date(text) is None

    @pytest.mark.parametrize("text", ["31/10/25", "2023-02-30", "14.05.2023", "yesterday", "2023"])
    def test_day_first_impossible_or_foreign_dates_are_refused(self, text: str) -> None:
        with pytest.raises(InvalidDate):
            parse_nut_date(text)

    @given(
        day=st.dates(min_value=date(1969, 1, 1), max_value=date(2068, 12, 31)),
        like=st.sampled_from(["2023-05-14", "2023/05/14", "05/14/23", "05/14/2023", "", "junk"]),
    )
    def test_a_date_written_like_the_devices_value_reads_back(self, day: date, like: str) -> None:
        written = format_nut_date(day, like)
        assert parse_nut_date(written) == day
        if like.count("/") == 2 and len(like) == 8:
            assert len(written) == 8  # the device's own MM/DD/YY spelling

    def test_a_two_digit_year_outside_its_century_is_not_written(self) -> None:
        with pytest.raises(InvalidDate):
            format_nut_date(date(2070, 1, 1), like="11/14/00")

    @given(st.integers(min_value=1, max_value=0xFFFF))
    def test_apc_date_registers_count_days_since_2000(self, days: int) -> None:
        day = date_from_apc_days(days)
        assert day == APC_EPOCH + timedelta(days=days)
        assert apc_days(day) == days

    def test_an_unset_apc_date_register_reads_as_unreported(self) -> None:
        assert date_from_apc_days(0) is None

    @pytest.mark.parametrize("day", [date(2000, 1, 1), date(1999, 12, 31), date(2179, 6, 7)])
    def test_dates_an_apc_register_cannot_hold_are_refused(self, day: date) -> None:
        with pytest.raises(InvalidDate):
            apc_days(day)
