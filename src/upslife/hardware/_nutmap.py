"""What a NUT variable list means: the pure mapping from ``LIST VAR`` to a snapshot.

Real drivers report junk (the NUT Device Dump Library is full of it: ``input.sensitivity``
``A`` or ``UNKNOWN``, dates ``1980/00/01``, runtimes ``1:57``, temperatures in kelvin,
a charge of ``120``, a load of ``4.6e+126``). One bad value must never void a reading:
each field is parsed on its own, a value that cannot be read or is out of range is left
out and recorded in :attr:`DeviceSnapshot.dropped` with its variable and the reason, and
the identity and the status flags survive any bad optional value. Known vocabularies are
read by driver and maker (see :func:`snapshot_from_nut`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from upslife.errors import InvalidInput, NutDeviceUnavailable
from upslife.hardware._dates import parse_nut_date
from upslife.hardware.snapshot import (
    DeviceSnapshot,
    DroppedValue,
    InputSensitivity,
    StatusFlag,
    charge_from_sensor,
    is_placeholder_serial,
    parse_sensitivity,
    parse_status,
)

__all__ = ["HID_DRIVERS", "snapshot_from_nut"]

#: The HID drivers, whose old versions reported temperatures in kelvin (``302.0``).
HID_DRIVERS = frozenset({"usbhid-ups", "newhidups", "hidups"})
# Makers whose "normal" sensitivity is the middle setting (mge-hid.c, cps-hid.c).
_NORMAL_IS_MIDDLE = re.compile(r"eaton|mge|powerware|cyber|\bcps\b", re.IGNORECASE)
_NORMAL_IS_MIDDLE_DRIVERS = frozenset({"mge-shut", "mge-utalk", "netxml-ups"})
# Values a driver sends for "no value": read as absent, not as a value.
_ABSENT = frozenset({"", "na", "n/a", "unknown", "not set", "none", "unavailable"})
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_MM_SS = re.compile(r"^(\d{1,4}):([0-5]\d)$")
# 0xFFFF (seconds, or minutes x 60) is what a 16-bit counter holds when it has no value.
_RUNTIME_SENTINELS = frozenset({0xFFFF, 0xFFFF * 60})
# Kelvin readings of a battery at -50..100 degC.
_KELVIN = (223.15, 373.15)


class _Unusable(Exception):
    """A value that is not a fact (internal: becomes a DroppedValue)."""


def _number(text: str) -> float:
    value = text.strip()
    if not _NUMBER.match(value):
        raise _Unusable("not a decimal number")
    number = float(value)
    if not math.isfinite(number):
        raise _Unusable("not a finite number")
    return number


def _runtime(text: str) -> timedelta:
    # cpsups reports mm:ss ("1:57", "64:41"); every other driver seconds.
    if m := _MM_SS.match(text.strip()):
        return timedelta(minutes=int(m[1]), seconds=int(m[2]))
    seconds = _number(text)
    if seconds in _RUNTIME_SENTINELS:
        raise _Unusable("0xFFFF, a counter with no value")
    try:
        return timedelta(seconds=seconds)
    except OverflowError as e:
        raise _Unusable("too large") from e


def _maker(variables: Mapping[str, str]) -> str:
    return " ".join(variables.get(name, "") for name in ("ups.mfr", "device.mfr"))


def snapshot_from_nut(
    variables: Mapping[str, str], *, read_at: datetime | None = None
) -> DeviceSnapshot:
    """The snapshot a ``LIST VAR`` answer describes (pure; NUT ``docs/nut-names.txt``).

    Per field, and never failing the whole reading:

    - ``ups.model``/``ups.serial`` fall back to ``device.*``; a placeholder serial
      (:func:`~upslife.hardware.snapshot.is_placeholder_serial`) is dropped;
    - ``battery.temperature`` falls back to ``ups.temperature``; the HID drivers'
      kelvin readings (``302.0``) are converted to degrees Celsius;
    - ``battery.runtime`` is seconds, or ``mm:ss`` (``cpsups``); ``65535`` is no value;
    - ``battery.charge`` slightly over 100 reads as 100;
    - ``input.sensitivity``: ``A``/``auto`` is :attr:`InputSensitivity.AUTO`,
      ``UNKNOWN`` is no value, and ``normal`` means what the maker means by it;
    - ``battery.date`` (SPEC E9) is dropped when it is the Back-UPS factory default
      (2001-09-25), before the battery or the unit was made, or in the future;
      ``battery.mfr.date`` is kept as the battery's manufacture date;
    - the replace-by date is ``battery.date.maintenance`` (SPEC E9; ``apc_modbus`` fills
      it from register 133);
    - ``ups.status`` tokens that are not printable words are dropped, the rest kept.

    A status of ``WAIT`` alone (upsd has no data from the driver yet) is no reading:
    it raises :class:`~upslife.errors.NutDeviceUnavailable`, so it can never clear a
    battery failure the UPS reported earlier.
    """
    driver = variables.get("driver.name", "").strip()
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    raws: dict[str, str] = {}
    dropped: list[DroppedValue] = []

    def take(field: str, parse: Callable[[str], object], *names: str) -> None:
        for name in names:
            raw = variables.get(name)
            if raw is None or raw.strip().lower() in _ABSENT:
                continue
            try:
                value = parse(raw)
            except (_Unusable, InvalidInput, ValueError, OverflowError) as e:
                dropped.append(DroppedValue(field, name, raw, str(e)))
                return
            if value is None:
                continue
            values[field], sources[field], raws[field] = value, name, raw
            return

    def temperature(text: str) -> float:
        value = _number(text)
        if driver in HID_DRIVERS and _KELVIN[0] <= value <= _KELVIN[1]:
            return round(value - 273.15, 2)
        return value

    normal = (
        InputSensitivity.MEDIUM
        if _NORMAL_IS_MIDDLE.search(_maker(variables)) or driver in _NORMAL_IS_MIDDLE_DRIVERS
        else InputSensitivity.HIGH
    )

    take("model", str, "ups.model", "device.model")
    placeholder: DroppedValue | None = None
    for name in ("ups.serial", "device.serial"):
        raw = variables.get(name)
        if raw is None:
            continue
        if not is_placeholder_serial(raw):
            values["serial"], sources["serial"] = raw, name
            break
        if placeholder is None and raw.strip():
            placeholder = DroppedValue("serial", name, raw, "a placeholder, not a serial number")
    if "serial" not in values and placeholder is not None:
        dropped.append(placeholder)
    take("firmware", str, "ups.firmware")
    take("manufactured_on", parse_nut_date, "ups.mfr.date")
    take("battery_installed_on", parse_nut_date, "battery.date")  # SPEC E9
    take("battery_manufactured_on", parse_nut_date, "battery.mfr.date")
    take("battery_replace_by", parse_nut_date, "battery.date.maintenance")  # SPEC E9: the UPS's own
    take("load_percent", _number, "ups.load")
    take("charge_percent", lambda t: charge_from_sensor(_number(t)), "battery.charge")
    take("runtime", _runtime, "battery.runtime")
    if "battery.temperature" in variables:
        take("battery_temperature_c", temperature, "battery.temperature")
    else:
        take("battery_temperature_c", temperature, "ups.temperature")
    take("input_voltage", _number, "input.voltage")
    take("output_voltage", _number, "output.voltage")
    take("input_sensitivity", lambda t: parse_sensitivity(t, normal=normal), "input.sensitivity")
    take("self_test_result", str, "ups.test.result")

    flags: set[StatusFlag] = set()
    other: set[str] = set()
    for token in variables.get("ups.status", "").split():
        try:
            known, unknown = parse_status(token)
        except InvalidInput as e:
            dropped.append(DroppedValue("status", "ups.status", token, str(e)))
            continue
        flags |= known
        other |= unknown
    if other == {"WAIT"} and not flags:
        raise NutDeviceUnavailable(
            "upsd reports WAIT: it has no data from the driver yet (no reading)",
            code="WAIT",
        )
    return DeviceSnapshot.lenient(
        values,
        sources=sources,
        raw=raws,
        dropped=dropped,
        status=flags,
        other_status=other,
        read_at=read_at,
    )
