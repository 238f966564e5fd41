"""UPS transports: how upslife reads and commands real UPS units.

- :mod:`upslife.hardware.snapshot`: :class:`DeviceSnapshot` (one reading), :class:`DeviceCommand`
  and :class:`Command` (remote actions, each gated by a SPEC E10 feature), and the
  :class:`UpsTransport` port;
- :mod:`upslife.hardware.nut`: Network UPS Tools (``upsd``, TCP port 3493);
- :mod:`upslife.hardware.modbus`: APC Smart-UPS over Modbus TCP (needs the
  ``upslife[modbus]`` extra; not imported here, import it from its module);
- :mod:`upslife.hardware.simulator`: an in-process, scriptable fleet for demos and tests.

See ``docs/hardware.md`` for the register map, the NUT variable mapping and the decisions.
"""

from upslife.hardware.nut import NutClient, NutErrorCode, NutTransport
from upslife.hardware.simulator import SimulatedTransport, SimulatedUps
from upslife.hardware.snapshot import (
    Command,
    DeviceCommand,
    DeviceSnapshot,
    DroppedValue,
    InputSensitivity,
    StatusFlag,
    UpsTransport,
    command_for_variable,
    is_placeholder_serial,
)

__all__ = [
    "Command",
    "DeviceCommand",
    "DeviceSnapshot",
    "DroppedValue",
    "InputSensitivity",
    "NutClient",
    "NutErrorCode",
    "NutTransport",
    "SimulatedTransport",
    "SimulatedUps",
    "StatusFlag",
    "UpsTransport",
    "command_for_variable",
    "is_placeholder_serial",
]
