"""An in-process UPS fleet: a real :class:`~upslife.hardware.snapshot.UpsTransport` for demos
and tests, whose units you script (flags, a failing battery, dates, refusals).

It raises the errors the network transports raise (:class:`~upslife.errors.UnknownUps`,
:class:`~upslife.errors.UnsupportedCommand`, :class:`~upslife.errors.TransportError`
once closed, :class:`~upslife.errors.TransportTimeout` when told to go silent), and
records every command it carries out, so a test can assert on what was sent.

>>> from datetime import date
>>> ups = SimulatedUps.smart_ups_1500(serial="AS2312345678")
>>> fleet = SimulatedTransport({"rack-a": ups})
>>> ups.fail_battery()
>>> fleet.read("rack-a").battery_failed
True
>>> fleet.run_command("rack-a", DeviceCommand.set_battery_install_date(date(2025, 1, 6)))
>>> fleet.read("rack-a").battery_installed_on
datetime.date(2025, 1, 6)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, final

import attrs

from upslife.errors import (
    InvalidCommand,
    InvalidInput,
    InvalidSnapshot,
    TransportError,
    TransportTimeout,
    UnknownUps,
    UnsupportedCommand,
)
from upslife.hardware._dates import parse_nut_date
from upslife.hardware.snapshot import (
    ClosingTransport,
    Command,
    DeviceCommand,
    DeviceSnapshot,
    StatusFlag,
    parse_sensitivity,
)

__all__ = ["SimulatedTransport", "SimulatedUps"]


@final
class SimulatedUps:
    """One scripted UPS. Change it with the methods below; :attr:`snapshot` is what a read
    returns (with the caller's ``read_at`` stamped on). :attr:`commands` lists every
    command it carried out, in order.

    ``self_test_outcome`` is the ``self_test_result`` a self-test leaves behind.
    ``unsupported`` lists commands this unit refuses, as a real device may.
    """

    def __init__(
        self,
        snapshot: DeviceSnapshot | None = None,
        *,
        self_test_outcome: str = "Passed",
        unsupported: Iterable[Command] = (),
    ) -> None:
        self.snapshot = snapshot if snapshot is not None else DeviceSnapshot()
        if not isinstance(self.snapshot, DeviceSnapshot):
            raise InvalidSnapshot(f"expected a DeviceSnapshot, got {snapshot!r}")
        self.self_test_outcome = self_test_outcome
        self.unsupported = frozenset(unsupported)
        self.commands: list[DeviceCommand] = []
        self.silent = False

    @classmethod
    def smart_ups_1500(cls, *, serial: str = "AS2312345678", **changes: Any) -> SimulatedUps:
        """A healthy APC Smart-UPS 1500 on line power (the values of the test fixture)."""
        snapshot = DeviceSnapshot(
            model="Smart-UPS 1500",
            serial=serial,
            firmware="UPS 15.5 (ID18)",
            manufactured_on=date(2022, 11, 3),
            battery_installed_on=date(2023, 5, 14),
            battery_replace_by=date(2027, 5, 13),
            status=frozenset({StatusFlag.OL}),
            load_percent=17.6,
            charge_percent=100.0,
            runtime=timedelta(minutes=57),
            battery_temperature_c=24.5,
            self_test_result="Passed",
            battery_manufactured_on=date(2023, 3, 1),
            input_voltage=120.7,
            output_voltage=120.7,
        )
        return cls(attrs.evolve(snapshot, **changes))

    # -- scripting

    def update(self, **changes: Any) -> None:
        """Change snapshot fields (``load_percent=80.0``, ...); validated as any snapshot."""
        self.snapshot = attrs.evolve(self.snapshot, **changes)

    def set_flags(self, *flags: StatusFlag) -> None:
        """Raise status flags (``StatusFlag.OB``, ...)."""
        self.update(status=self.snapshot.status | frozenset(flags))

    def clear_flags(self, *flags: StatusFlag) -> None:
        """Lower status flags."""
        self.update(status=self.snapshot.status - frozenset(flags))

    def fail_battery(self) -> None:
        """The UPS reports that its battery needs replacing (``RB``; SPEC N1)."""
        self.set_flags(StatusFlag.RB)

    def replace_battery(self, installed_on: date, *, replace_by: date | None = None) -> None:
        """A new battery: ``RB`` clears, the install date (and the UPS's replace-by date,
        if given) change, the charge is full."""
        self.update(
            status=self.snapshot.status - {StatusFlag.RB},
            battery_installed_on=installed_on,
            battery_replace_by=replace_by
            if replace_by is not None
            else self.snapshot.battery_replace_by,
            charge_percent=100.0,
        )

    def go_on_battery(self, *, charge_percent: float | None = None) -> None:
        """Mains fails: ``OB`` replaces ``OL``."""
        self.update(
            status=(self.snapshot.status - {StatusFlag.OL, StatusFlag.CHRG}) | {StatusFlag.OB},
            charge_percent=(
                self.snapshot.charge_percent if charge_percent is None else charge_percent
            ),
        )

    def go_on_line(self) -> None:
        """Mains returns: ``OL`` replaces ``OB`` and ``LB``."""
        self.update(
            status=(self.snapshot.status - {StatusFlag.OB, StatusFlag.LB}) | {StatusFlag.OL}
        )

    # -- what the transport calls

    def _carry_out(self, command: DeviceCommand, device: str | None = None) -> None:
        if command.command in self.unsupported:
            raise UnsupportedCommand(
                f"this simulated UPS refuses {command.command.name}", device=device
            )
        if command.command is Command.SELF_TEST:
            self.update(self_test_result=self.self_test_outcome)
        elif command.command is Command.SET_INPUT_SENSITIVITY:
            self.update(input_sensitivity=command.sensitivity)
        elif command.command is Command.SET_BATTERY_INSTALL_DATE:
            self.update(battery_installed_on=command.battery_installed_on)
        self.commands.append(command)


@final
class SimulatedTransport(ClosingTransport):
    """A fleet of :class:`SimulatedUps` behind the UpsTransport port.

    ``sent`` lists ``(device, command)`` for every command carried out, fleet-wide.
    :meth:`go_silent` makes a unit time out like a peer that stopped answering.
    """

    def __init__(self, devices: Mapping[str, SimulatedUps] | None = None) -> None:
        self._devices: dict[str, SimulatedUps] = dict(devices or {})
        self.sent: list[tuple[str, DeviceCommand]] = []
        self.closed = False
        self.timeout = 5.0

    def add(self, name: str, ups: SimulatedUps | None = None) -> SimulatedUps:
        """Add a unit (a healthy Smart-UPS 1500 by default) and return it."""
        if not isinstance(name, str) or not name.strip():
            raise InvalidCommand(f"a device name must be a non-empty string, got {name!r}")
        unit = ups if ups is not None else SimulatedUps.smart_ups_1500()
        self._devices[name] = unit
        return unit

    def __getitem__(self, name: str) -> SimulatedUps:
        return self._unit(name)

    def go_silent(self, name: str, silent: bool = True) -> None:
        """Make ``name`` stop (or resume) answering: calls raise TransportTimeout."""
        if name not in self._devices:
            raise UnknownUps(f"no simulated UPS named {name!r}", device=name)
        self._devices[name].silent = silent

    def _unit(self, device: str) -> SimulatedUps:
        if self.closed:
            raise TransportError("the simulated transport is closed", device=device)
        try:
            unit = self._devices[device]
        except (KeyError, TypeError):
            raise UnknownUps(
                f"no simulated UPS named {device!r}; known: {sorted(self._devices)}",
                device=device,
            ) from None
        if unit.silent:
            raise TransportTimeout(
                f"the simulated UPS {device!r} does not answer", timeout=self.timeout, device=device
            )
        return unit

    # -- the port

    def list_devices(self) -> tuple[str, ...]:
        if self.closed:
            raise TransportError("the simulated transport is closed")
        return tuple(sorted(self._devices))

    def read(self, device: str, *, read_at: datetime | None = None) -> DeviceSnapshot:
        snapshot = self._unit(device).snapshot
        return attrs.evolve(snapshot, read_at=read_at)

    def set_variable(self, device: str, name: str, value: str) -> None:
        unit = self._unit(device)
        if name == "input.sensitivity":
            try:
                command = DeviceCommand.set_input_sensitivity(parse_sensitivity(value))
            except InvalidInput as e:
                raise InvalidCommand(f"input.sensitivity {value!r}: {e}") from e
        elif name == "battery.date":
            try:
                day = parse_nut_date(value)
            except InvalidInput as e:
                raise InvalidCommand(f"battery.date {value!r}: {e}") from e
            if day is None:
                raise InvalidCommand(f"battery.date needs a date, got {value!r}")
            command = DeviceCommand.set_battery_install_date(day)
        else:
            raise UnsupportedCommand(
                f"the simulator writes input.sensitivity and battery.date, not {name!r}",
                device=device,
            )
        unit._carry_out(command, device)
        self.sent.append((device, command))

    def run_command(self, device: str, command: DeviceCommand) -> None:
        if not isinstance(command, DeviceCommand):
            raise InvalidCommand(f"expected a DeviceCommand, got {command!r}")
        self._unit(device)._carry_out(command, device)
        self.sent.append((device, command))

    def close(self) -> None:
        self.closed = True
