"""What a UPS reports, and what can be asked of it: the values every transport shares.

- :class:`DeviceSnapshot` is one reading of a UPS (identity, battery dates, status flags,
  vitals), with units normalised and ranges checked, whatever transport read it.
- :class:`DeviceCommand` is one action on a UPS. Its :class:`Command` names the SPEC E10
  feature that gates it (:attr:`Command.action`, :attr:`Command.feature`), so the
  application layer can refuse it *before* a transport sends any byte.
- :class:`UpsTransport` is the port the application layer talks to; the NUT, Modbus TCP
  and simulated transports implement it.

No clock is read here (SPEC D4): a caller that wants the reading time passes ``read_at``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Protocol, Self, final

import attrs

from upslife._validation import require_instant
from upslife.entitlements import Feature
from upslife.errors import InvalidCommand, InvalidDate, InvalidInput, InvalidSnapshot
from upslife.sharing import Action

__all__ = [
    "BACK_UPS_DEFAULT_BATTERY_DATE",
    "CHARGE_SLACK_PERCENT",
    "MAX_LOAD_PERCENT",
    "MAX_OUTLET_GROUP",
    "MAX_RUNTIME",
    "TEMPERATURE_RANGE_C",
    "VOLTAGE_RANGE_V",
    "ClosingTransport",
    "Command",
    "DeviceCommand",
    "DeviceSnapshot",
    "DroppedValue",
    "InputSensitivity",
    "StatusFlag",
    "UpsTransport",
    "charge_from_sensor",
    "command_for_variable",
    "is_placeholder_serial",
    "parse_sensitivity",
    "parse_status",
]

#: Load is a percentage of the rated output and exceeds 100 in overload (flag ``OVER``);
#: anything above this is a sensor or decoding fault, not a load.
MAX_LOAD_PERCENT = 1000.0
#: Battery temperatures outside this range (°C) are sensor or decoding faults.
TEMPERATURE_RANGE_C = (-60.0, 150.0)
#: Outlet groups: 0 is the main outlet group, 1-3 the switched groups (NUT ``apc_modbus``
#: names them ``outlet.0`` .. ``outlet.3``; a Smart-UPS 1500 has groups 0 and 1).
MAX_OUTLET_GROUP = 3
#: Input and output voltages (V) outside this range are sensor or decoding faults.
VOLTAGE_RANGE_V = (0.0, 1000.0)
#: No UPS battery of the product's range runs a load for longer than this.
MAX_RUNTIME = timedelta(days=7)
#: A state of charge up to this much over 100 % is a gauge's rounding and reads as 100 %.
CHARGE_SLACK_PERCENT = 5.0
#: The ``battery.date`` APC Back-UPS units report until someone sets it (their factory
#: default): never a battery install date.
BACK_UPS_DEFAULT_BATTERY_DATE = date(2001, 9, 25)
_MAX_TEXT = 256


class StatusFlag(enum.Enum):
    """The ``ups.status`` tokens of NUT's developer guide ("Status data")."""

    OL = "OL"  # on line power
    OB = "OB"  # on battery
    LB = "LB"  # low battery
    HB = "HB"  # high battery
    RB = "RB"  # the battery needs to be replaced
    CHRG = "CHRG"  # the battery is charging
    DISCHRG = "DISCHRG"  # the battery is discharging (inverter is providing load power)
    BYPASS = "BYPASS"  # UPS bypass circuit is active: no battery protection is available
    CAL = "CAL"  # UPS is currently performing runtime calibration (on battery)
    OFF = "OFF"  # UPS is offline and is not supplying power to the load
    OVER = "OVER"  # UPS is overloaded
    TRIM = "TRIM"  # UPS is trimming incoming voltage
    BOOST = "BOOST"  # UPS is boosting incoming voltage
    FSD = "FSD"  # forced shutdown: treat like OB LB
    ALARM = "ALARM"  # an alarm is active (details in ups.alarm)
    TEST = "TEST"  # a self-test is running


_FLAGS = {flag.value: flag for flag in StatusFlag}
_TOKEN_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F))


def parse_status(text: str) -> tuple[frozenset[StatusFlag], frozenset[str]]:
    """Split a ``ups.status`` value into known flags and the other tokens, kept verbatim.

    Unknown tokens are kept, not refused: drivers add their own (``HE`` for APC's
    high-efficiency mode in older ``apc_modbus``, ``WAIT`` from ``upsc``), and one new word
    must not make a whole reading unusable.

    >>> flags, other = parse_status("OL CHRG HE")
    >>> sorted(flag.value for flag in flags), sorted(other)
    (['CHRG', 'OL'], ['HE'])
    """
    if not isinstance(text, str):
        raise InvalidSnapshot(f"a status must be a string, got {type(text).__name__}")
    flags: set[StatusFlag] = set()
    other: set[str] = set()
    for token in text.split():
        if token in _FLAGS:
            flags.add(_FLAGS[token])
        elif len(token) <= 32 and set(token) <= _TOKEN_CHARS:
            other.add(token)
        else:
            raise InvalidSnapshot(f"status token {token!r} is not printable ASCII of <= 32 chars")
    return frozenset(flags), frozenset(other)


class InputSensitivity(enum.Enum):
    """How readily the UPS goes to battery on poor input power.

    Values are NUT's words from ``usbhid-ups``'s APC table (``apc_sensitivity_info``:
    low, medium, high). APC's Smart-UPS display calls the same settings Normal, Reduced
    and Low; ``apcsmart`` reports them as ``H``, ``M``, ``L``, and ``A`` for the
    automatic setting of Matrix and RT units (:attr:`AUTO`).
    """

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    AUTO = "auto"

    @property
    def letter(self) -> str:
        """The one-letter form (``H``, ``M``, ``L``) of the APC smart protocol."""
        return self.value[0].upper()


_SENSITIVITY_WORDS = {
    "high": InputSensitivity.HIGH,
    "h": InputSensitivity.HIGH,
    "normal": InputSensitivity.HIGH,
    "medium": InputSensitivity.MEDIUM,
    "m": InputSensitivity.MEDIUM,
    "reduced": InputSensitivity.MEDIUM,
    "low": InputSensitivity.LOW,
    "l": InputSensitivity.LOW,
    "auto": InputSensitivity.AUTO,
    "a": InputSensitivity.AUTO,
}


def parse_sensitivity(
    text: str, *, normal: InputSensitivity = InputSensitivity.HIGH
) -> InputSensitivity:
    """Read an ``input.sensitivity`` value in any of the spellings above (case-insensitive).

    ``normal`` is what the word "normal" means for the device's maker: the most sensitive
    setting for APC (normal/reduced/low; also Delta and Belkin), the middle one for Eaton
    and MGE (NUT ``mge-hid.c``: normal/high/low) and CyberPower (``cps-hid.c``).

    >>> parse_sensitivity("H"), parse_sensitivity("Reduced")
    (<InputSensitivity.HIGH: 'high'>, <InputSensitivity.MEDIUM: 'medium'>)
    """
    if isinstance(text, InputSensitivity):
        return text
    if not isinstance(text, str) or text.strip().lower() not in _SENSITIVITY_WORDS:
        raise InvalidSnapshot(
            f"input sensitivity {text!r} is not one of high/medium/low/auto "
            "(H/M/L/A, normal/reduced)"
        )
    word = text.strip().lower()
    return normal if word == "normal" else _SENSITIVITY_WORDS[word]


# --------------------------------------------------------------------------- identity

_PLACEHOLDER_WORDS = frozenset(
    {"unknown", "n/a", "na", "none", "null", "not set", "not available", "default", "cps"}
)


def is_placeholder_serial(text: str | None) -> bool:
    """Whether a reported serial number is a placeholder rather than an identity.

    Drivers and firmware report ``unknown``, ``000000000000``, ``0001``, ``XXXXXXXXXX``,
    ``CPS`` (CyberPower's default) or nothing at all; a redaction such as ``[hidden]`` or
    ``<serial>`` is no identity either. Such a UPS is unidentifiable: it must never be
    matched to a registered device.

    >>> [is_placeholder_serial(s) for s in ("unknown", "0001", "XXXXXX", "AS2312345678")]
    [True, True, True, False]
    """
    if text is None:
        return True
    value = text.strip()
    if not value or value.lower() in _PLACEHOLDER_WORDS:
        return True
    if len(set(value.lower())) == 1:  # 000000000, XXXXXXXXXX, ********
        return True
    if value.isdigit() and int(value) < 10:  # 0001, 00000001, 01
        return True
    return value[0] + value[-1] in ("[]", "<>", "()")


@final
@attrs.frozen
class DroppedValue:
    """A value a UPS reported that a reading leaves out, and why (so an operator sees it).

    ``field`` is the :class:`DeviceSnapshot` field, ``source`` where the value came from
    (a NUT variable such as ``battery.date``, or ``register 130``), ``value`` the raw
    value as reported and ``reason`` a sentence.
    """

    field: str
    source: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source} = {self.value!r}: {self.reason}"


# --------------------------------------------------------------------------- validation


def _text(value: object) -> str | None:
    """Converter: an optional identity string, stripped; blank is ``None``."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidSnapshot(f"expected text, got {type(value).__name__}: {value!r}")
    text = value.strip()
    if len(text) > _MAX_TEXT or any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise InvalidSnapshot(f"{value!r} is not a printable string of <= {_MAX_TEXT} characters")
    return text or None


def _flags(value: object) -> frozenset[StatusFlag]:
    if isinstance(value, str):
        flags, other = parse_status(value)
        if other:
            raise InvalidSnapshot(f"unknown status tokens {sorted(other)}: pass other_status")
        return flags
    if not isinstance(value, Iterable):
        raise InvalidSnapshot(f"status must be StatusFlag values, got {value!r}")
    items = frozenset(value)
    if not all(isinstance(flag, StatusFlag) for flag in items):
        raise InvalidSnapshot(f"status must hold StatusFlag values, got {sorted(map(str, items))}")
    return items


def _tokens(value: object) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidSnapshot(f"other_status must be a set of tokens, got {value!r}")
    items = frozenset(value)
    for token in items:
        if not isinstance(token, str) or token in _FLAGS or not token:
            raise InvalidSnapshot(f"other_status token {token!r} is empty or a known flag")
        parse_status(token)  # printable, no blanks
        if len(token.split()) != 1:
            raise InvalidSnapshot(f"other_status token {token!r} holds a blank")
    return items


def _number(name: str, value: object, low: float, high: float) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidSnapshot(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidSnapshot(f"{name} {value!r} is outside {low:g}..{high:g}")


def _optional_date(name: str, value: object) -> None:
    if value is not None and (isinstance(value, datetime) or not isinstance(value, date)):
        raise InvalidSnapshot(f"{name} must be a datetime.date, got {type(value).__name__}")


def _dropped(value: Iterable[DroppedValue]) -> tuple[DroppedValue, ...]:
    items = tuple(value)
    if not all(isinstance(d, DroppedValue) for d in items):
        raise InvalidSnapshot("dropped must hold DroppedValue records")
    return items


def _runtime(name: str, value: object) -> None:
    if value is None:
        return
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise InvalidSnapshot(f"{name} must be a non-negative timedelta, got {value!r}")
    if value > MAX_RUNTIME:
        raise InvalidSnapshot(f"{name} {value} is longer than any battery runs ({MAX_RUNTIME})")


def _sensitivity(name: str, value: object) -> None:
    if value is not None and not isinstance(value, InputSensitivity):
        raise InvalidSnapshot(f"{name} must be an InputSensitivity, got {value!r}")


# Each checked field and its check: the one list both the strict constructor and
# DeviceSnapshot.lenient use, so a transport cannot accept what the snapshot refuses.
_CHECKS: dict[str, Callable[[str, object], None]] = {
    "manufactured_on": _optional_date,
    "battery_installed_on": _optional_date,
    "battery_replace_by": _optional_date,
    "battery_manufactured_on": _optional_date,
    "load_percent": lambda n, v: _number(n, v, 0.0, MAX_LOAD_PERCENT),
    "charge_percent": lambda n, v: _number(n, v, 0.0, 100.0),
    "battery_temperature_c": lambda n, v: _number(n, v, *TEMPERATURE_RANGE_C),
    "input_voltage": lambda n, v: _number(n, v, *VOLTAGE_RANGE_V),
    "output_voltage": lambda n, v: _number(n, v, *VOLTAGE_RANGE_V),
    "runtime": _runtime,
    "input_sensitivity": _sensitivity,
}
_TEXT_FIELDS = ("model", "serial", "firmware", "self_test_result")


def charge_from_sensor(percent: float) -> float:
    """A state of charge as a gauge reports it: up to :data:`CHARGE_SLACK_PERCENT` over
    100 is rounding and reads as 100; anything else is returned unchanged (and checked
    by the snapshot)."""
    if 100.0 < percent <= 100.0 + CHARGE_SLACK_PERCENT:
        return 100.0
    return percent


@final
@attrs.frozen(kw_only=True)
class DeviceSnapshot:
    """One reading of a UPS, in normalised units; every field may be unreported (``None``).

    - ``battery_replace_by`` is the replace-by date *the UPS itself* reports (NUT
      ``battery.date.maintenance``, APC Modbus register 133); SPEC E9 prefers it to the
      catalog estimate when present.
    - ``status`` holds the known :class:`StatusFlag` values; other status tokens are kept
      verbatim in ``other_status``.
    - ``load_percent`` may exceed 100 in overload (up to :data:`MAX_LOAD_PERCENT`);
      ``charge_percent`` is 0-100; ``runtime`` is a non-negative ``timedelta``;
      ``battery_temperature_c`` is in degrees Celsius.
    - ``battery_manufactured_on`` is the battery's own manufacture date (NUT
      ``battery.mfr.date``): the fallback battery-age fact when no install date is known.
    - ``input_voltage`` / ``output_voltage`` are in volts (0-1000).
    - ``read_at``, when given, is an aware instant passed by the caller (SPEC D1, D4).
    - ``dropped`` lists the values the UPS reported that this reading leaves out, and
      why (:meth:`lenient` fills it): a bad value voids its field, never the reading.

    Bad values raise :class:`~upslife.errors.InvalidSnapshot`.
    """

    model: str | None = attrs.field(default=None, converter=_text)
    serial: str | None = attrs.field(default=None, converter=_text)
    firmware: str | None = attrs.field(default=None, converter=_text)
    manufactured_on: date | None = None
    battery_installed_on: date | None = None
    battery_replace_by: date | None = None
    status: frozenset[StatusFlag] = attrs.field(default=frozenset(), converter=_flags)
    other_status: frozenset[str] = attrs.field(default=frozenset(), converter=_tokens)
    load_percent: float | None = None
    charge_percent: float | None = None
    runtime: timedelta | None = None
    battery_temperature_c: float | None = None
    input_sensitivity: InputSensitivity | None = None
    self_test_result: str | None = attrs.field(default=None, converter=_text)
    battery_manufactured_on: date | None = None
    input_voltage: float | None = None
    output_voltage: float | None = None
    read_at: datetime | None = None
    dropped: tuple[DroppedValue, ...] = attrs.field(default=(), converter=_dropped)

    def __attrs_post_init__(self) -> None:
        for name, check in _CHECKS.items():
            check(name, getattr(self, name))
        if self.read_at is not None:
            try:
                require_instant(self.read_at, "read_at")
            except InvalidInput as e:
                raise InvalidSnapshot(str(e)) from e

    @classmethod
    def lenient(
        cls,
        values: Mapping[str, object],
        *,
        sources: Mapping[str, str] | None = None,
        raw: Mapping[str, str] | None = None,
        dropped: Iterable[DroppedValue] = (),
        status: Iterable[StatusFlag] = (),
        other_status: Iterable[str] = (),
        read_at: datetime | None = None,
    ) -> DeviceSnapshot:
        """The snapshot of ``values`` (field name -> value), degrading per field.

        A value that fails its field's check is left out and recorded in
        :attr:`dropped` with ``sources[field]`` (its NUT variable or register) and the
        reason (``raw[field]``, the value as reported, is recorded when given); the
        identity, the status flags and every other field survive it. Then the dates are
        checked against each other and the reading time (:func:`_implausible_dates`).
        ``read_at`` must be an aware instant (the caller's mistake raises).
        """
        if read_at is not None:
            require_instant(read_at, "read_at")
        names = sources or {}
        texts = raw or {}
        kept: dict[str, object] = {}
        lost = list(dropped)
        for field, value in values.items():
            if field not in _TEXT_FIELDS and field not in _CHECKS:
                raise InvalidSnapshot(f"a snapshot has no optional field {field!r}")
            if value is None:
                continue
            try:
                if field in _TEXT_FIELDS:
                    value = _text(value)
                else:
                    _CHECKS[field](field, value)
            except InvalidInput as e:
                shown = texts.get(field, _shown(value))
                lost.append(DroppedValue(field, names.get(field, field), shown, str(e)))
                continue
            kept[field] = value
        for field, reason in _implausible_dates(kept, read_at):
            shown = texts.get(field, _shown(kept[field]))
            lost.append(DroppedValue(field, names.get(field, field), shown, reason))
            del kept[field]
        return cls(
            **kept,  # type: ignore[arg-type]  # each value passed its field's check above
            status=frozenset(status),
            other_status=frozenset(other_status),
            read_at=read_at,
            dropped=tuple(lost),
        )

    @property
    def identifiable(self) -> bool:
        """Whether the serial is an identity (not absent, not a placeholder)."""
        return not is_placeholder_serial(self.serial)

    @property
    def battery_failed(self) -> bool:
        """The UPS reports that its battery needs replacing (flag ``RB``; SPEC N1)."""
        return StatusFlag.RB in self.status

    @property
    def on_battery(self) -> bool:
        """The load runs from the battery (flag ``OB``)."""
        return StatusFlag.OB in self.status

    @property
    def online(self) -> bool:
        """The load runs from mains power (flag ``OL``)."""
        return StatusFlag.OL in self.status

    @property
    def low_battery(self) -> bool:
        """The UPS says shutdown is imminent (``LB``, or ``FSD`` which means the same)."""
        return bool({StatusFlag.LB, StatusFlag.FSD} & self.status)

    def status_text(self) -> str:
        """The status as NUT writes it: known flags in declaration order, then the others."""
        known = [flag.value for flag in StatusFlag if flag in self.status]
        return " ".join(known + sorted(self.other_status))


def _shown(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:80]


def _implausible_dates(
    values: Mapping[str, object], read_at: datetime | None
) -> list[tuple[str, str]]:
    """The date fields that cannot be facts, with the reason (SPEC E9 needs true dates).

    - ``battery_installed_on`` 2001-09-25 is the Back-UPS factory default;
    - a battery installed before the battery or the unit was made was not installed then;
    - no date of the past is later than the day after the reading (a day of slack for
      time zones: ``read_at`` is an instant, the dates are the device's local dates).
    """
    found: list[tuple[str, str]] = []
    installed = values.get("battery_installed_on")
    if installed == BACK_UPS_DEFAULT_BATTERY_DATE:
        found.append(("battery_installed_on", "the Back-UPS factory default, not a date set"))
    elif isinstance(installed, date):
        for field, what in (("battery_manufactured_on", "battery"), ("manufactured_on", "unit")):
            made = values.get(field)
            if isinstance(made, date) and installed < made:
                found.append(
                    ("battery_installed_on", f"before the {what} was made ({made.isoformat()})")
                )
                break
    if read_at is not None:
        latest = read_at.date() + timedelta(days=1)
        for field in ("manufactured_on", "battery_installed_on", "battery_manufactured_on"):
            day = values.get(field)
            if isinstance(day, date) and day > latest and field not in dict(found):
                found.append((field, f"in the future of the reading ({read_at.date()})"))
    return found


# --------------------------------------------------------------------------- commands


class Command(enum.Enum):
    """The remote actions a transport can carry out, each gated by a SPEC E10 feature.

    ``action`` is the :class:`~upslife.sharing.Action` a user takes (SPEC S3, S5) and
    ``feature`` the plan feature that gates it (SPEC E10); the application layer checks
    both before it calls :meth:`UpsTransport.run_command`.
    """

    SELF_TEST = "self_test"
    SET_INPUT_SENSITIVITY = "set_input_sensitivity"
    SET_BATTERY_INSTALL_DATE = "set_battery_install_date"
    OUTLET_GROUP_REBOOT = "outlet_group_reboot"
    FIRMWARE_INSTALL_START = "firmware_install_start"

    @property
    def action(self) -> Action:
        """The user action this command carries out (SPEC S3)."""
        return _ACTIONS[self]

    @property
    def feature(self) -> Feature:
        """The plan feature that gates it (SPEC E10)."""
        feature = self.action.feature
        assert feature is not None  # every remote command is plan-gated (SPEC E10)
        return feature


# SPEC E10: the plan-gating data of each command (the feature hangs off the action).
_ACTIONS: dict[Command, Action] = {
    Command.SELF_TEST: Action.SELF_TEST,  # STANDARD
    Command.SET_INPUT_SENSITIVITY: Action.INPUT_SENSITIVITY,  # STANDARD
    Command.SET_BATTERY_INSTALL_DATE: Action.SET_BATTERY_INSTALL_DATE,  # BASIC
    Command.OUTLET_GROUP_REBOOT: Action.OUTLET_GROUP_REBOOT,  # ADVANCED
    Command.FIRMWARE_INSTALL_START: Action.FIRMWARE_INSTALL,  # STANDARD (BASIC: from the LCD)
}

# NUT variable names whose raw writes (UpsTransport.set_variable) are these commands.
_VARIABLE_COMMANDS = {
    "input.sensitivity": Command.SET_INPUT_SENSITIVITY,
    "battery.date": Command.SET_BATTERY_INSTALL_DATE,
}


def command_for_variable(name: str) -> Command | None:
    """The command a raw variable write amounts to, so it can be gated too (SPEC E10).

    ``None`` means the variable maps to no command: the application layer should refuse
    such writes from users, since no plan rule covers them.
    """
    return _VARIABLE_COMMANDS.get(name)


@final
@attrs.frozen(kw_only=True)
class DeviceCommand:
    """One remote action and its argument; build it with the class methods.

    >>> DeviceCommand.outlet_group_reboot(1).command
    <Command.OUTLET_GROUP_REBOOT: 'outlet_group_reboot'>
    """

    command: Command
    sensitivity: InputSensitivity | None = None
    battery_installed_on: date | None = None
    outlet_group: int | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.command, Command):
            raise InvalidCommand(f"command must be a Command, got {self.command!r}")
        wanted = {
            Command.SET_INPUT_SENSITIVITY: "sensitivity",
            Command.SET_BATTERY_INSTALL_DATE: "battery_installed_on",
            Command.OUTLET_GROUP_REBOOT: "outlet_group",
        }.get(self.command)
        for name in ("sensitivity", "battery_installed_on", "outlet_group"):
            given = getattr(self, name) is not None
            if given != (name == wanted):
                verb = "needs" if name == wanted else "takes no"
                raise InvalidCommand(f"{self.command.name} {verb} {name}")
        if self.sensitivity is not None and not isinstance(self.sensitivity, InputSensitivity):
            raise InvalidCommand(f"sensitivity must be an InputSensitivity: {self.sensitivity!r}")
        if self.battery_installed_on is not None and (
            isinstance(self.battery_installed_on, datetime)
            or not isinstance(self.battery_installed_on, date)
        ):
            raise InvalidDate(
                f"battery_installed_on must be a datetime.date, got {self.battery_installed_on!r}"
            )
        if self.outlet_group is not None and (
            isinstance(self.outlet_group, bool)
            or not isinstance(self.outlet_group, int)
            or not 0 <= self.outlet_group <= MAX_OUTLET_GROUP
        ):
            raise InvalidCommand(
                f"outlet_group must be 0 (main) to {MAX_OUTLET_GROUP}, got {self.outlet_group!r}"
            )

    @classmethod
    def self_test(cls) -> DeviceCommand:
        """Start a battery self-test."""
        return cls(command=Command.SELF_TEST)

    @classmethod
    def set_input_sensitivity(cls, sensitivity: InputSensitivity) -> DeviceCommand:
        """Change the input sensitivity."""
        return cls(command=Command.SET_INPUT_SENSITIVITY, sensitivity=sensitivity)

    @classmethod
    def set_battery_install_date(cls, day: date) -> DeviceCommand:
        """Record a new battery install date in the UPS (SPEC E9)."""
        return cls(command=Command.SET_BATTERY_INSTALL_DATE, battery_installed_on=day)

    @classmethod
    def outlet_group_reboot(cls, group: int = 0) -> DeviceCommand:
        """Power-cycle an outlet group (0: the main group)."""
        return cls(command=Command.OUTLET_GROUP_REBOOT, outlet_group=group)

    @classmethod
    def firmware_install_start(cls) -> DeviceCommand:
        """Start installing firmware already delivered to the UPS."""
        return cls(command=Command.FIRMWARE_INSTALL_START)


# --------------------------------------------------------------------------- the port


class UpsTransport(Protocol):
    """A connection to one or more UPS units (NUT server, Modbus TCP card, simulator).

    Every method may raise a :class:`~upslife.errors.TransportError`:
    :class:`~upslife.errors.UnknownUps` (a ``NotFound``) for a name the transport does
    not know, :class:`~upslife.errors.TransportTimeout` when the peer does not answer
    within the transport's bound, :class:`~upslife.errors.MalformedResponse` when it
    answers nonsense, :class:`~upslife.errors.UnsupportedCommand` for what the device or
    transport cannot do. Reads have no side effects and may be retried; commands are not
    idempotent (a self-test started twice runs twice), so retry them only on purpose.
    ``read`` may be called from several threads at once (a poll reads concurrently): the
    NUT transport keeps a connection per thread, the Modbus one serialises its requests.
    """

    def list_devices(self) -> tuple[str, ...]:
        """The names of the UPS units this transport reaches, sorted."""
        ...

    def read(self, device: str, *, read_at: datetime | None = None) -> DeviceSnapshot:
        """A fresh reading of ``device``; ``read_at`` (aware) is stamped on it as given."""
        ...

    def set_variable(self, device: str, name: str, value: str) -> None:
        """Write one variable, named as NUT names it (``input.sensitivity``, ``battery.date``).

        A raw, ungated write for tooling: users' actions go through :meth:`run_command`,
        or are gated with :func:`command_for_variable` first (SPEC E10).
        """
        ...

    def run_command(self, device: str, command: DeviceCommand) -> None:
        """Carry out ``command`` on ``device``. Gate it (SPEC E10, S3) before calling."""
        ...

    def close(self) -> None:
        """Release the connection; idempotent."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class ClosingTransport:
    """Context-manager plumbing shared by the transports: ``with`` closes the transport."""

    def close(self) -> None:  # pragma: no cover - every transport overrides it
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
