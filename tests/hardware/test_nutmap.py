"""What NUT variables mean, value by value: real drivers' vocabularies and junk (issue 16).

Each case is a value seen in NUT's Device Dump Library, written out here by hand; the
library itself is served through a real upsd by ``test_ddl.py``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from upslife.errors import NutDeviceUnavailable
from upslife.hardware.nut import snapshot_from_nut
from upslife.hardware.snapshot import (
    DeviceSnapshot,
    InputSensitivity,
    StatusFlag,
    is_placeholder_serial,
)

BASE = {"ups.serial": "AS2312345678", "ups.model": "Smart-UPS 1500", "ups.status": "OL RB"}
AT = datetime(2026, 12, 1, 12, tzinfo=UTC)


def read(**variables: str) -> tuple[DeviceSnapshot, set[str]]:
    """The snapshot of BASE plus ``variables`` (dots as underscores) and what it dropped."""
    values = {**BASE, **{k.replace("__", "-").replace("_", "."): v for k, v in variables.items()}}
    snapshot = snapshot_from_nut(values, read_at=AT)
    assert snapshot.serial == "AS2312345678"  # identity survives every bad value
    assert snapshot.battery_failed  # and so does the status
    return snapshot, {d.source for d in snapshot.dropped}


class TestSensitivity:
    @pytest.mark.parametrize(
        ("value", "maker", "driver", "expected"),
        [
            ("A", "APC", "apcsmart", InputSensitivity.AUTO),  # Matrix-UPS, Smart-UPS RT
            ("normal", "APC", "apcmicrolink", InputSensitivity.HIGH),  # normal/reduced/low
            ("normal", "EATON", "usbhid-ups", InputSensitivity.MEDIUM),  # mge-hid.c
            ("normal", "MGE UPS SYSTEMS", "usbhid-ups", InputSensitivity.MEDIUM),
            ("normal", "EATON", "netxml-ups", InputSensitivity.MEDIUM),
            ("normal", "Belkin", "usbhid-ups", InputSensitivity.HIGH),  # normal/medium/low
            ("medium", "American Power Conversion", "usbhid-ups", InputSensitivity.MEDIUM),
        ],
    )
    def test_each_makers_words_are_read_as_it_means_them(
        self, value: str, maker: str, driver: str, expected: InputSensitivity
    ) -> None:
        variables = {**BASE, "input.sensitivity": value, "ups.mfr": maker, "driver.name": driver}
        assert snapshot_from_nut(variables).input_sensitivity is expected

    def test_unknown_is_no_value(self) -> None:
        snapshot, dropped = read(input_sensitivity="UNKNOWN")  # APC network cards
        assert snapshot.input_sensitivity is None
        assert not dropped


class TestNumbers:
    def test_cpsups_runtimes_are_minutes_and_seconds(self) -> None:
        snapshot, _ = read(battery_runtime="64:41")
        assert snapshot.runtime == timedelta(minutes=64, seconds=41)

    @pytest.mark.parametrize("value", ["65535", "3932100", "-60", "1e999"])
    def test_sentinel_negative_or_endless_runtimes_are_dropped(self, value: str) -> None:
        snapshot, dropped = read(battery_runtime=value)
        assert snapshot.runtime is None
        assert dropped == {"battery.runtime"}

    def test_old_usbhid_ups_kelvin_temperatures_are_converted(self) -> None:
        values = {**BASE, "driver.name": "usbhid-ups", "battery.temperature": "302.0"}
        assert snapshot_from_nut(values).battery_temperature_c == pytest.approx(28.85)

    def test_kelvin_is_assumed_only_for_the_hid_drivers(self) -> None:
        # pijuice reports 251 for 25.1 degC: not kelvin, and out of range
        snapshot, dropped = read(driver_name="pijuice", battery_temperature="251")
        assert snapshot.battery_temperature_c is None
        assert dropped == {"battery.temperature"}

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("battery.charge", "120"),
            ("ups.load", "4.6e+126"),
            ("battery.temperature", "-272"),
            ("ups.temperature", "XX.X"),
            ("input.voltage", "-6437"),
        ],
    )
    def test_an_impossible_number_voids_its_field_only(self, name: str, value: str) -> None:
        snapshot = snapshot_from_nut({**BASE, name: value}, read_at=AT)
        assert snapshot.serial == "AS2312345678"
        assert snapshot.battery_failed
        ((entry,),) = [snapshot.dropped]
        assert (entry.source, entry.value) == (name, value)
        assert name in str(entry)

    def test_a_charge_slightly_over_100_reads_as_100(self) -> None:
        snapshot, dropped = read(battery_charge="102.3")  # Powercom KIN-1500AP
        assert snapshot.charge_percent == 100.0
        assert not dropped

    def test_voltages_are_read(self) -> None:
        snapshot, _ = read(input_voltage="230.4", output_voltage="229.9")
        assert (snapshot.input_voltage, snapshot.output_voltage) == (230.4, 229.9)


class TestDates:
    @pytest.mark.parametrize("value", ["1980/00/01", "2001/00/00", "00/00/00", "2065/165/165"])
    def test_an_impossible_battery_date_voids_that_date_only(self, value: str) -> None:
        snapshot, dropped = read(battery_date=value)
        assert snapshot.battery_installed_on is None
        assert dropped == {"battery.date"}

    def test_liebert_writes_day_month_name_year(self) -> None:
        snapshot, _ = read(ups_mfr_date="12OCT04")
        assert snapshot.manufactured_on == date(2004, 10, 12)

    def test_the_back_ups_factory_default_is_not_an_install_date(self) -> None:
        # SPEC E9
        snapshot, dropped = read(battery_date="2001/09/25", battery_mfr_date="2022/12/13")
        assert snapshot.battery_installed_on is None
        assert snapshot.battery_manufactured_on == date(2022, 12, 13)
        assert dropped == {"battery.date"}

    def test_a_battery_installed_before_it_was_made_was_not(self) -> None:
        snapshot, dropped = read(battery_date="2015/01/01", battery_mfr_date="2016/03/01")
        assert snapshot.battery_installed_on is None
        assert dropped == {"battery.date"}

    def test_a_battery_installed_before_the_unit_was_made_was_not(self) -> None:
        snapshot, dropped = read(battery_date="2010/01/01", ups_mfr_date="2012/06/01")
        assert snapshot.battery_installed_on is None
        assert snapshot.manufactured_on == date(2012, 6, 1)
        assert dropped == {"battery.date"}

    def test_a_date_in_the_future_of_the_reading_is_not_a_fact(self) -> None:
        snapshot, dropped = read(battery_date="2052/01/03")
        assert snapshot.battery_installed_on is None
        assert dropped == {"battery.date"}


class TestIdentity:
    @pytest.mark.parametrize(
        "serial",
        ["unknown", "Unknown", "", "000000000000", "0001", "CPS", "XXXXXXXXXX", "[hidden]"],
    )
    def test_placeholder_serials_are_not_identities(self, serial: str) -> None:
        snapshot = snapshot_from_nut({"ups.serial": serial, "ups.status": "OL"})
        assert snapshot.serial is None
        assert not snapshot.identifiable

    def test_a_real_device_serial_stands_in_for_a_placeholder_ups_serial(self) -> None:
        variables = {"ups.serial": "unknown", "device.serial": "QS1305270257"}
        assert snapshot_from_nut(variables).serial == "QS1305270257"

    @pytest.mark.parametrize("serial", ["AS2312345678", "QS1305270257", "5B2250T07387", "10"])
    def test_real_serials_are_identities(self, serial: str) -> None:
        assert not is_placeholder_serial(serial)


class TestStatus:
    def test_wait_alone_is_no_reading(self) -> None:
        with pytest.raises(NutDeviceUnavailable):
            snapshot_from_nut({**BASE, "ups.status": "WAIT"})

    def test_an_unprintable_token_is_dropped_and_the_others_kept(self) -> None:
        snapshot = snapshot_from_nut({**BASE, "ups.status": "OL RB " + "X" * 40})
        assert snapshot.status == {StatusFlag.OL, StatusFlag.RB}
        assert [d.source for d in snapshot.dropped] == ["ups.status"]


OPTIONAL = [
    "battery.charge",
    "battery.runtime",
    "battery.temperature",
    "ups.temperature",
    "ups.load",
    "battery.date",
    "battery.mfr.date",
    "battery.date.maintenance",
    "ups.mfr.date",
    "input.sensitivity",
    "input.voltage",
    "output.voltage",
    "ups.firmware",
    "ups.test.result",
    "driver.name",
    "ups.mfr",
]


@given(st.dictionaries(st.sampled_from(OPTIONAL), st.text(max_size=24)))
def test_no_optional_value_voids_the_identity_or_the_status(values: dict[str, str]) -> None:
    # issue 16: degrade per field, never per reading
    snapshot = snapshot_from_nut({**BASE, **values}, read_at=AT)
    assert snapshot.serial == "AS2312345678"
    assert snapshot.model == "Smart-UPS 1500"
    assert snapshot.status == {StatusFlag.OL, StatusFlag.RB}
    assert {d.source for d in snapshot.dropped} <= set(values)
