"""``upslife schedule rebuild``: recompute the stored lifecycle schedule of every device.

Run it after a rules or catalog change (the sweep also rebuilds by itself when the stored
stamp does not match, see :mod:`upslife.app.schedule`). Thin: the library function is
:func:`upslife.app.schedule.rebuild_schedule`; this module parses and prints.
"""

from __future__ import annotations

import argparse
import json

from upslife.app import Lifecycle
from upslife.app.schedule import rebuild_schedule, schedule_stamp

__all__ = ["add_schedule_commands", "cmd_schedule"]


def add_schedule_commands(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["rebuild"], help="rebuild: recompute every entry")


def cmd_schedule(args: argparse.Namespace, service: Lifecycle) -> bool:
    """Run ``upslife schedule rebuild``; returns False if a device was set aside."""
    report = rebuild_schedule(service.store, service.catalog)
    data = {
        "devices": report.devices,
        "damaged": [{"device": serial, "error": why} for serial, why in report.damaged],
        "stamp": schedule_stamp(service.catalog),
    }
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        print(f"schedule rebuilt for {report.devices} device(s)")
        for serial, why in report.damaged:
            print(f"  set aside {serial}: {why}")
    return not report.damaged
