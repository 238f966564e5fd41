"""APC Smart-UPS over Modbus TCP: the register map, pure decoders, and a transport.

Smart-UPS units with a network management card or SmartConnect port speak Modbus TCP on
port 502 (APC SMT user's manual, "Modbus settings": TCP Protocols Disable / Read-Only /
Read-Write). The register map below follows two public sources, cited beside each value:

- APC application note MPAO-98KJ7F ("Modbus Register Map - Smart-UPS", part 990-9840),
  which fixes the encodings: big-endian registers, two's complement signed numbers,
  ASCII strings of two characters per register padded with spaces (unsupported strings
  read as zeros), scaled numbers with a binary point (value / 2**scale);
- NUT's ``drivers/apc_modbus.c`` and ``drivers/apc_modbus.h`` (Axel Gembe, 2023), which
  give the address, width, type and scale of each value NUT reads, and the command
  registers and bits.

Decoders are pure functions from register lists to values; anything a device could
send that does not decode raises :class:`~upslife.errors.MalformedResponse`, never
another exception. ``pymodbus`` (the ``upslife[modbus]`` extra) is imported only when a
:class:`ModbusTransport` connects, so the decoders work without it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Final, TypeVar, final
from urllib.parse import urlsplit

from upslife._validation import hide_passwords, require_instant
from upslife.errors import (
    InvalidCommand,
    InvalidInput,
    InvalidTransportConfig,
    MalformedResponse,
    ModbusRefused,
    TransportError,
    TransportTimeout,
    UnknownUps,
    UnsupportedCommand,
)
from upslife.hardware._dates import apc_days, date_from_apc_days, parse_nut_date
from upslife.hardware.snapshot import (
    ClosingTransport,
    Command,
    DeviceCommand,
    DeviceSnapshot,
    DroppedValue,
    StatusFlag,
    charge_from_sensor,
    is_placeholder_serial,
)

if TYPE_CHECKING:
    from pymodbus.client import ModbusTcpClient

__all__ = [
    "BATTERY_INSTALL_DATE",
    "DEFAULT_PORT",
    "DYNAMIC_BLOCK",
    "INVENTORY_BLOCK",
    "MODBUS_COMMANDS",
    "STATUS_BLOCK",
    "ModbusTransport",
    "decode_date",
    "decode_int",
    "decode_self_test",
    "decode_status",
    "decode_string",
    "decode_uint",
    "outlet_groups",
    "outlet_reboot_value",
    "scaled",
    "snapshot_from_registers",
]

#: Modbus TCP's port, fixed on APC's SmartConnect port (SMT user's manual).
DEFAULT_PORT: Final = 502

# --------------------------------------------------------------------------- register map
# (address, count) blocks read per snapshot; NUT apc_modbus reads the same blocks.
STATUS_BLOCK: Final = (0, 27)  # apc_modbus.c upsdrv_updateinfo: "Status Data", 0..26
DYNAMIC_BLOCK: Final = (128, 32)  # apc_modbus.c: "Dynamic Data", 128..159
INVENTORY_BLOCK: Final = (516, 80)  # apc_modbus.c inventory map, 516..595

# Status block (apc_modbus.c upsdrv_updateinfo; MPAO-98KJ7F appendix B bit fields).
UPS_STATUS: Final = 0  # UPSStatus_BF, 2 registers (uint32)
_UPS_STATUS_BITS: Final = {
    1: StatusFlag.OL,  # Online
    2: StatusFlag.OB,  # OnBattery
    3: StatusFlag.BYPASS,  # Bypass
    4: StatusFlag.OFF,  # OutputOff
    5: StatusFlag.ALARM,  # Fault (apc_modbus: alarm "General fault")
    6: StatusFlag.ALARM,  # InputBad (apc_modbus: alarm "Input not acceptable")
    7: StatusFlag.TEST,  # Test
    21: StatusFlag.OVER,  # Overload
}
UPS_STATUS_HE: Final = 13  # HighEfficiency (ECO): apc_modbus reports it, as the "HE" token
SIMPLE_SIGNALING_STATUS: Final = 18  # SimpleSignalingStatus_BF: bit 1 ShutdownImminent -> LB
GENERAL_ERROR: Final = 19  # GeneralError_BF (bit 2 is an A/D converter fault, not a battery)
POWER_SYSTEM_ERROR: Final = 20  # PowerSystemError_BF, 2 registers (uint32): any -> ALARM
BATTERY_SYSTEM_ERROR: Final = 22  # BatterySystemError_BF: any -> ALARM, bit 2 -> RB
BATTERY_NEEDS_REPLACEMENT: Final = 1 << 2  # apc_modbus.h BATTERYSYSTEMERROR_BF_NEEDS_REPLACEMENT
# The bits apc_modbus.c upsdrv_updateinfo turns into alarms (apc_modbus.h).
POWER_SYSTEM_ALARM_BITS: Final = sum(1 << b for b in (0, 1, 2, 4, 5, 6, 7, 8, 9, 11, 12, 13))
BATTERY_SYSTEM_ALARM_BITS: Final = sum(1 << b for b in range(7))
SELF_TEST_RESULT: Final = 23  # ReplaceBatteryTestStatus_BF (apc_modbus "ups.test.result")
CALIBRATION_STATUS: Final = 24  # RunTimeCalibrationStatus_BF: bit 1 InProgress -> CAL

# Dynamic block (apc_modbus.c apc_modbus_register_map_dynamic: address, width, type, scale).
RUNTIME: Final = 128  # battery.runtime: 2 registers, uint32, scale 0 -> seconds
CHARGE: Final = 130  # battery.charge: uint16, scale 9 -> percent = raw / 512
REPLACE_BY: Final = 133  # battery.date.maintenance: uint16 days since 2000-01-01 (SPEC E9)
BATTERY_TEMPERATURE: Final = 135  # battery.temperature: int16, scale 7 -> degC = raw / 128
LOAD: Final = 136  # ups.load: uint16, scale 8 -> percent = raw / 256
OUTPUT_VOLTAGE: Final = 142  # output.voltage: uint16, scale 6 -> volts = raw / 64
INPUT_VOLTAGE: Final = 151  # input.voltage: uint16, scale 6; 0xFFFF is "not applicable"
VOLTAGE_SCALE: Final = 6
INPUT_STATUS: Final = 150  # InputStatus_BF: bit 5 Boost -> BOOST, bit 6 Trim -> TRIM
CHARGE_SCALE: Final = 9
TEMPERATURE_SCALE: Final = 7
LOAD_SCALE: Final = 8

# Inventory block (apc_modbus.c apc_modbus_register_map_inventory).
FIRMWARE: Final = (516, 8)  # ups.firmware: string, 8 registers
MODEL: Final = (532, 16)  # ups.model: string, 16 registers
SERIAL: Final = (564, 8)  # ups.serial: string, 8 registers
SOG_RELAY_CONFIG: Final = 590  # SOGRelayConfigSetting_BF: bit 0 main group, bit 1+n group n
MANUFACTURE_DATE: Final = 591  # ups.mfr.date: uint16 days since 2000-01-01
BATTERY_INSTALL_DATE: Final = 595  # battery.date: uint16 days since 2000-01-01, writable

# Command registers (apc_modbus.h), written with function 16 like apc_modbus does.
OUTLET_COMMAND: Final = 1538  # OutletCommand_BF, 2 registers (uint32)
OUTLET_CMD_REBOOT: Final = 1 << 4  # CMD_OUTPUT_REBOOT
OUTLET_TARGET_MAIN: Final = 1 << 8  # TARGET_MAIN_OUTLET_GROUP; switched group n: 1 << (9 + n)
BATTERY_TEST_COMMAND: Final = 1541  # ReplaceBatteryTestCommand_BF
BATTERY_TEST_START: Final = 1 << 0

#: How each command maps onto registers (SPEC E10 command data): the register written, or
#: ``None`` where no public source documents one (input sensitivity, firmware install).
MODBUS_COMMANDS: Final[dict[Command, int | None]] = {
    Command.SELF_TEST: BATTERY_TEST_COMMAND,
    Command.SET_INPUT_SENSITIVITY: None,
    Command.SET_BATTERY_INSTALL_DATE: BATTERY_INSTALL_DATE,
    Command.OUTLET_GROUP_REBOOT: OUTLET_COMMAND,
    Command.FIRMWARE_INSTALL_START: None,
}

_SELF_TEST_RESULTS: Final = (  # ReplaceBatteryTestStatus_BF bits 0-5, as apc_modbus names them
    (1 << 0, "Pending"),
    (1 << 1, "InProgress"),
    (1 << 2, "Passed"),
    (1 << 3, "Failed"),
    (1 << 4, "Refused"),
    (1 << 5, "Aborted"),
)


# --------------------------------------------------------------------------- decoders


def _registers(values: Sequence[int], count: int | None = None, what: str = "block") -> list[int]:
    """The registers as a list of 0..65535 ints, of ``count`` length if given."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise MalformedResponse(f"{what}: expected a sequence of registers, got {values!r}")
    registers = list(values)
    if count is not None and len(registers) != count:
        raise MalformedResponse(f"{what}: expected {count} registers, got {len(registers)}")
    for value in registers:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFF:
            raise MalformedResponse(f"{what}: {value!r} is not a 16-bit register value")
    return registers


def decode_uint(registers: Sequence[int]) -> int:
    """Big-endian unsigned number over one or more registers (MPAO-98KJ7F 1.3.1)."""
    value = 0
    for register in _registers(registers, what="number"):
        value = (value << 16) | register
    return value


def decode_int(registers: Sequence[int]) -> int:
    """Big-endian two's-complement number over one or more registers."""
    width = 16 * len(_registers(registers, what="number"))
    value = decode_uint(registers)
    if width and value >= 1 << (width - 1):
        value -= 1 << width
    return value


def scaled(raw: int, scale: int) -> float:
    """A fixed-point value: ``raw / 2**scale`` (apc_modbus ``_apc_modbus_to_double``).

    >>> scaled(51200, 9)  # battery charge register 130: 100 %
    100.0
    """
    return raw / (1 << scale)


def decode_string(registers: Sequence[int]) -> str | None:
    """An APC string: two characters per register, most significant byte first.

    Leading NULs (an unsupported string reads as zeros) and trailing NULs and spaces
    (padding) are dropped; bytes outside printable ASCII 0x20-0x7E read as spaces, as
    apc_modbus does (MPAO-98KJ7F 1.3.3 "Strings"). An empty string is ``None``.

    >>> decode_string([0x534D, 0x5431, 0x3530, 0x3043, 0x2020])
    'SMT1500C'
    """
    data = b"".join(r.to_bytes(2, "big") for r in _registers(registers, what="string"))
    data = data.lstrip(b"\0").rstrip(b"\0 ")
    text = "".join(chr(b) if 0x20 <= b <= 0x7E else " " for b in data).strip()
    return text or None


def decode_date(register: int) -> date | None:
    """A date register: days since 2000-01-01; 0 (unset) is ``None`` (apc_modbus.c
    ``apc_date_start_offset``)."""
    (value,) = _registers([register], 1, "date")
    return date_from_apc_days(value)


def decode_self_test(register: int) -> str | None:
    """The last self-test's result word (ReplaceBatteryTestStatus_BF), ``None`` if none."""
    (value,) = _registers([register], 1, "self-test status")
    for bit, word in _SELF_TEST_RESULTS:
        if value & bit:
            return word
    return None


def decode_status(
    status: Sequence[int], dynamic: Sequence[int]
) -> tuple[frozenset[StatusFlag], frozenset[str]]:
    """The status flags from the status block (0..26) and the dynamic block (128..159),
    as NUT's ``apc_modbus.c`` (``upsdrv_updateinfo``) reads them: ``RB`` is
    BatterySystemError_BF (register 22) bit 2; any PowerSystemError_BF (20-21) or
    BatterySystemError_BF bit NUT alarms on raises ``ALARM``; UPSStatus_BF bit 13
    (high efficiency) is the ``HE`` token."""
    status_regs = _registers(status, STATUS_BLOCK[1], "status block")
    dynamic_regs = _registers(dynamic, DYNAMIC_BLOCK[1], "dynamic block")
    flags: set[StatusFlag] = set()
    ups_status = decode_uint(status_regs[UPS_STATUS : UPS_STATUS + 2])
    for bit, flag in _UPS_STATUS_BITS.items():
        if ups_status & (1 << bit):
            flags.add(flag)
    other: set[str] = set()
    if ups_status & (1 << UPS_STATUS_HE):
        other.add("HE")  # as the NUT path reads it (older apc_modbus put it in ups.status)
    if status_regs[SIMPLE_SIGNALING_STATUS] & (1 << 1):
        flags.add(StatusFlag.LB)
    power_errors = decode_uint(status_regs[POWER_SYSTEM_ERROR : POWER_SYSTEM_ERROR + 2])
    battery_errors = status_regs[BATTERY_SYSTEM_ERROR]
    if power_errors & POWER_SYSTEM_ALARM_BITS or battery_errors & BATTERY_SYSTEM_ALARM_BITS:
        flags.add(StatusFlag.ALARM)
    if battery_errors & BATTERY_NEEDS_REPLACEMENT:
        flags.add(StatusFlag.RB)  # SPEC N1
    if status_regs[CALIBRATION_STATUS] & (1 << 1):
        flags.add(StatusFlag.CAL)
    input_status = dynamic_regs[INPUT_STATUS - DYNAMIC_BLOCK[0]]
    if input_status & (1 << 5):
        flags.add(StatusFlag.BOOST)
    if input_status & (1 << 6):
        flags.add(StatusFlag.TRIM)
    return frozenset(flags), frozenset(other)


def snapshot_from_registers(
    status: Sequence[int],
    dynamic: Sequence[int],
    inventory: Sequence[int],
    *,
    read_at: datetime | None = None,
) -> DeviceSnapshot:
    """The snapshot the three register blocks describe (pure).

    ``status`` holds registers 0..26, ``dynamic`` 128..159 and ``inventory`` 516..595.
    A block of the wrong length or a value that is not a 16-bit register raises
    :class:`~upslife.errors.MalformedResponse`. A value out of range (a charge of 128 %,
    a date in the future of ``read_at``) degrades its field only, recorded in
    :attr:`DeviceSnapshot.dropped`; a charge up to 105 % reads as 100 %.
    """
    if read_at is not None:
        require_instant(read_at, "read_at")  # the caller's mistake, not the UPS's
    status_regs = _registers(status, STATUS_BLOCK[1], "status block")
    dyn = _registers(dynamic, DYNAMIC_BLOCK[1], "dynamic block")
    inv = _registers(inventory, INVENTORY_BLOCK[1], "inventory block")

    def d(address: int) -> int:
        return dyn[address - DYNAMIC_BLOCK[0]]

    def i(field: tuple[int, int]) -> list[int]:
        start = field[0] - INVENTORY_BLOCK[0]
        return inv[start : start + field[1]]

    def n(address: int) -> int:
        return inv[address - INVENTORY_BLOCK[0]]

    flags, other = decode_status(status_regs, dyn)
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    dropped: list[DroppedValue] = []

    def take(field: str, address: int, decode: Callable[[], object]) -> None:
        sources[field] = f"register {address}"
        try:
            values[field] = decode()
        except InvalidInput as e:
            dropped.append(DroppedValue(field, f"register {address}", "?", str(e)))

    def voltage(address: int) -> float | None:
        raw = d(address)
        return None if raw == 0xFFFF else scaled(raw, VOLTAGE_SCALE)  # apc_modbus: "NA"

    take("model", MODEL[0], lambda: decode_string(i(MODEL)))
    take("serial", SERIAL[0], lambda: decode_string(i(SERIAL)))
    take("firmware", FIRMWARE[0], lambda: decode_string(i(FIRMWARE)))
    take("manufactured_on", MANUFACTURE_DATE, lambda: decode_date(n(MANUFACTURE_DATE)))
    take("battery_installed_on", BATTERY_INSTALL_DATE, lambda: decode_date(n(BATTERY_INSTALL_DATE)))
    take("battery_replace_by", REPLACE_BY, lambda: decode_date(d(REPLACE_BY)))  # SPEC E9
    take("load_percent", LOAD, lambda: scaled(d(LOAD), LOAD_SCALE))
    take("charge_percent", CHARGE, lambda: charge_from_sensor(scaled(d(CHARGE), CHARGE_SCALE)))
    take("runtime", RUNTIME, lambda: timedelta(seconds=decode_uint([d(RUNTIME), d(RUNTIME + 1)])))
    take(
        "battery_temperature_c",
        BATTERY_TEMPERATURE,
        lambda: scaled(decode_int([d(BATTERY_TEMPERATURE)]), TEMPERATURE_SCALE),
    )
    take("input_voltage", INPUT_VOLTAGE, lambda: voltage(INPUT_VOLTAGE))
    take("output_voltage", OUTPUT_VOLTAGE, lambda: voltage(OUTPUT_VOLTAGE))
    take(
        "self_test_result",
        SELF_TEST_RESULT,
        lambda: decode_self_test(status_regs[SELF_TEST_RESULT]),
    )
    serial = values.get("serial")
    if isinstance(serial, str) and is_placeholder_serial(serial):
        del values["serial"]
        reason = "a placeholder, not a serial number"
        dropped.append(DroppedValue("serial", f"register {SERIAL[0]}", serial, reason))
    raws = {field: _raw_text(values[field]) for field in values if values[field] is not None}
    return DeviceSnapshot.lenient(
        values,
        sources=sources,
        raw=raws,
        dropped=dropped,
        status=flags,
        other_status=other,
        read_at=read_at,
    )


def _raw_text(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return f"{value.total_seconds():g} s"
    return str(value)


def outlet_groups(inventory: Sequence[int]) -> frozenset[int]:
    """The outlet groups the UPS has, from SOGRelayConfigSetting_BF (register 590):
    bit 0 the main group (0), bit 1 + n switched group n + 1 (apc_modbus.c reads it so
    commands target only groups that exist)."""
    inv = _registers(inventory, INVENTORY_BLOCK[1], "inventory block")
    config = inv[SOG_RELAY_CONFIG - INVENTORY_BLOCK[0]]
    return frozenset(group for group in range(4) if config & (1 << group))


def outlet_reboot_value(group: int) -> list[int]:
    """The two OutletCommand_BF registers that reboot outlet group ``group`` (0: main).

    >>> outlet_reboot_value(0)
    [0, 272]
    """
    target = OUTLET_TARGET_MAIN if group == 0 else 1 << (8 + group)
    value = OUTLET_CMD_REBOOT | target
    return [value >> 16, value & 0xFFFF]


# --------------------------------------------------------------------------- transport

_T = TypeVar("_T")
_NULL_HANDLER = logging.NullHandler()


def _parse_url(url: str) -> tuple[str, int, int]:
    if not isinstance(url, str):
        raise InvalidTransportConfig(f"a Modbus URL must be a string, got {type(url).__name__}")
    try:
        parts = urlsplit(url)
    except ValueError as e:  # an unclosed IPv6 bracket: modbus://[::1
        raise InvalidTransportConfig(f"malformed Modbus URL {hide_passwords(url)!r}: {e}") from None
    if parts.scheme != "modbus":
        raise InvalidTransportConfig(f"a Modbus URL starts with modbus://, got {url!r}")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError as e:
        raise InvalidTransportConfig(f"bad port in Modbus URL: {e}") from e
    if not parts.hostname:
        raise InvalidTransportConfig(f"no host in Modbus URL {url!r}")
    unit_text = parts.path.strip("/") or "1"
    if not unit_text.isdigit():
        raise InvalidTransportConfig(f"the Modbus unit id must be a number, got {unit_text!r}")
    return parts.hostname, port, int(unit_text)


@final
class ModbusTransport(ClosingTransport):
    """An :class:`~upslife.hardware.snapshot.UpsTransport` for one APC UPS over Modbus TCP.

    The transport reaches one device, named ``name`` (the host by default). Each request
    waits at most ``timeout`` seconds and is tried ``1 + retries`` times, so a request
    gives up after ``timeout * (1 + retries)`` seconds: :attr:`bound`. ``unit`` is the
    Modbus unit (slave) id, 1 by default on APC cards. Commands map onto registers per
    :data:`MODBUS_COMMANDS`; the raw :meth:`set_variable` knows ``battery.date`` only.
    """

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        unit: int = 1,
        name: str | None = None,
        timeout: float = 3.0,
        retries: int = 1,
    ) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise InvalidTransportConfig(f"timeout must be a positive number of seconds: {timeout}")
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 5:
            raise InvalidTransportConfig(f"retries must be 0..5, got {retries!r}")
        if isinstance(unit, bool) or not isinstance(unit, int) or not 0 <= unit <= 247:
            raise InvalidTransportConfig(f"the Modbus unit id must be 0..247, got {unit!r}")
        self.host = host
        self.port = port
        self.unit = unit
        self.name = name or host
        self.timeout = float(timeout)
        self.retries = retries
        self._client: ModbusTcpClient | None = None
        self._lock = threading.RLock()  # one connection, one request at a time
        self._groups: frozenset[int] | None = None

    @classmethod
    def from_url(
        cls, url: str, *, name: str | None = None, timeout: float = 3.0, retries: int = 1
    ) -> ModbusTransport:
        """``modbus://host[:port][/unit]`` (port 502 and unit 1 by default)."""
        host, port, unit = _parse_url(url)
        return cls(host, port, unit=unit, name=name, timeout=timeout, retries=retries)

    @property
    def bound(self) -> float:
        """The longest a request may take before it fails, in seconds."""
        return self.timeout * (1 + self.retries)

    # -- connection

    def _connection(self) -> ModbusTcpClient:
        if self._client is not None:
            return self._client
        # pymodbus logs its own failures (which we raise as typed errors) on stderr when
        # the application configured no logging: a NullHandler keeps them off stderr and
        # still lets an application's own logging configuration see them.
        logging.getLogger("pymodbus").addHandler(_NULL_HANDLER)
        try:
            from pymodbus.client import ModbusTcpClient
        except ImportError as e:  # pragma: no cover - the extra is installed in the test env
            raise InvalidTransportConfig(
                'ModbusTransport needs pymodbus: pip install "upslife[modbus]"'
            ) from e
        client = ModbusTcpClient(
            self.host,
            port=self.port,
            timeout=self.timeout,
            retries=self.retries,
            reconnect_delay=0,
        )
        # pymodbus leaves connect() and close() unannotated.
        if not client.connect():  # type: ignore[no-untyped-call]
            client.close()  # type: ignore[no-untyped-call]
            raise TransportError(
                f"cannot connect to the Modbus device at {self.host}:{self.port}", device=self.name
            )
        self._client = client
        return client

    def _call(self, what: str, call: Callable[[ModbusTcpClient], _T]) -> _T:
        from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

        client = self._connection()
        try:
            response = call(client)
        except ModbusIOException as e:
            self.close()
            raise TransportTimeout(
                f"the Modbus device at {self.host}:{self.port} did not answer {what} within "
                f"{self.bound:g} s ({e})",
                timeout=self.bound,
                device=self.name,
            ) from e
        except ConnectionException as e:
            self.close()
            raise TransportError(
                f"lost the Modbus device at {self.host}:{self.port} during {what}: {e}",
                device=self.name,
            ) from e
        except ModbusException as e:
            self.close()
            raise TransportError(
                f"Modbus failure at {self.host}:{self.port} during {what}: {e}", device=self.name
            ) from e
        except OSError as e:  # ConnectionResetError, BrokenPipeError: pymodbus lets them out
            self.close()
            raise TransportError(
                f"the connection to the Modbus device at {self.host}:{self.port} failed during "
                f"{what}: {e!r}",
                device=self.name,
            ) from e
        if response.isError():  # type: ignore[attr-defined]
            code = int(getattr(response, "exception_code", 0) or 0)
            raise ModbusRefused(
                f"the Modbus device at {self.host}:{self.port} refused {what} "
                f"(exception code {code})",
                exception_code=code,
                device=self.name,
            )
        return response

    def _read_block(self, block: tuple[int, int]) -> list[int]:
        address, count = block
        response = self._call(
            f"a read of registers {address}..{address + count - 1}",
            lambda c: c.read_holding_registers(address, count=count, device_id=self.unit),
        )
        registers = list(getattr(response, "registers", []))
        return _registers(registers, count, f"registers {address}..{address + count - 1}")

    def _write(self, address: int, values: list[int]) -> None:
        self._call(
            f"a write of register {address}",
            lambda c: c.write_registers(address, values, device_id=self.unit),
        )

    def _check_device(self, device: str) -> None:
        if device != self.name:
            raise UnknownUps(
                f"this Modbus transport reaches {self.name!r} only, not {device!r}", device=device
            )

    # -- the port

    def list_devices(self) -> tuple[str, ...]:
        return (self.name,)

    def read(self, device: str, *, read_at: datetime | None = None) -> DeviceSnapshot:
        self._check_device(device)
        if read_at is not None:
            require_instant(read_at, "read_at")
        with self._lock:
            status = self._read_block(STATUS_BLOCK)
            dynamic = self._read_block(DYNAMIC_BLOCK)
            inventory = self._read_block(INVENTORY_BLOCK)
            self._groups = outlet_groups(inventory)
        try:
            return snapshot_from_registers(status, dynamic, inventory, read_at=read_at)
        except MalformedResponse as e:
            e.device = device
            raise

    def set_variable(self, device: str, name: str, value: str) -> None:
        self._check_device(device)
        if name != "battery.date":
            raise UnsupportedCommand(
                f"the Modbus transport can write battery.date only, not {name!r}", device=device
            )
        try:
            day = parse_nut_date(value)
        except InvalidInput as e:
            raise InvalidCommand(f"battery.date {value!r}: {e}") from e
        if day is None:
            raise InvalidCommand(f"battery.date needs a date, got {value!r}")
        self.run_command(device, DeviceCommand.set_battery_install_date(day))

    def run_command(self, device: str, command: DeviceCommand) -> None:
        if not isinstance(command, DeviceCommand):
            raise InvalidCommand(f"expected a DeviceCommand, got {command!r}")
        self._check_device(device)
        register = MODBUS_COMMANDS[command.command]
        if register is None:
            raise UnsupportedCommand(
                f"{command.command.name} has no documented Modbus register on APC Smart-UPS; "
                "use NUT or the UPS's own interface",
                device=device,
            )
        with self._lock:
            self._carry_out(device, register, command)

    def _carry_out(self, device: str, register: int, command: DeviceCommand) -> None:
        if command.command is Command.SELF_TEST:
            self._write(register, [BATTERY_TEST_START])
        elif command.outlet_group is not None:
            groups = self._outlet_groups()
            if command.outlet_group not in groups:
                have = ", ".join(map(str, sorted(groups))) or "none"
                raise UnsupportedCommand(
                    f"{device} has no outlet group {command.outlet_group} (SOGRelayConfigSetting, "
                    f"register {SOG_RELAY_CONFIG}, lists: {have})",
                    device=device,
                )
            self._write(register, outlet_reboot_value(command.outlet_group))
        elif command.battery_installed_on is not None:
            try:
                days = apc_days(command.battery_installed_on)  # SPEC E9
            except InvalidInput as e:
                raise InvalidCommand(str(e)) from e
            self._write(register, [days])

    def _outlet_groups(self) -> frozenset[int]:
        if self._groups is None:
            self._groups = outlet_groups(self._read_block(INVENTORY_BLOCK))
        return self._groups

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()  # type: ignore[no-untyped-call]  # unannotated in pymodbus
