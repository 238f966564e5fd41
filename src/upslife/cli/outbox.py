"""``upslife outbox list|show|retry|requeue``: see and repair the outbox.

Thin: the use cases are :mod:`upslife.app.outbox`; this module parses and prints.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import date
from typing import Any

from upslife.app import Lifecycle
from upslife.app.outbox import OutboxEntry, OutboxState

__all__ = ["add_outbox_commands", "cmd_outbox"]

_DEFAULT_LIST = ("pending", "retrying", "failed")


def _when(value: object) -> str | None:
    return None if value is None else str(value)


def _data(entry: OutboxEntry) -> dict[str, Any]:
    item = entry.item
    return {
        "key": item.key,
        "state": entry.state.value,
        "day": item.day.isoformat(),
        "serial": item.serial,
        "owner": item.owner_id,
        "recipient": f"{item.recipient.kind.value}:{item.recipient.address}",
        "attempts": item.attempts,
        "next_attempt_at": _when(item.next_attempt_at),
        "delivered_at": _when(item.delivered_at),
        "last_error": item.last_error,
        "summary": entry.summary,
    }


def _line(entry: OutboxEntry) -> str:
    item = entry.item
    why = f"  ({item.last_error})" if item.last_error and entry.state.value != "sent" else ""
    return f"{entry.state.value:<10} {item.day.isoformat()}  {item.key}{why}"


def _print(json_output: bool, data: object, text: str) -> None:
    if json_output:
        print(json.dumps(data, indent=2, sort_keys=True, default=str))
    else:
        print(text)


def cmd_outbox(args: argparse.Namespace, service: Lifecycle) -> None:
    """Run ``upslife outbox <action>`` against ``service`` (its store closed by the caller)."""
    action: str = args.outbox_command
    if action == "list":
        names = args.state or list(_DEFAULT_LIST)
        states = {OutboxState(name) for name in names}
        day: date | None = args.day
        entries = service.outbox(states=states, day=day, owner_id=args.owner)
        counts = {name: sum(1 for e in entries if e.state.value == name) for name in names}
        summary = ", ".join(f"{counts[name]} {name}" for name in names)
        text = "\n".join([*(_line(e) for e in entries), summary])
        _print(args.json, {"items": [_data(e) for e in entries], "counts": counts}, text)
    elif action == "show":
        entry = service.outbox_item(args.key)
        data = _data(entry)
        _print(args.json, data, "\n".join(f"{k}: {v}" for k, v in data.items()))
    elif action == "retry":
        entry = service.retry_outbox_item(args.key)
        _print(
            args.json,
            _data(entry),
            f"{entry.item.key}: pending again; the next sweep delivers it",
        )
    else:
        keys = service.requeue_outbox_day(args.day, owner_id=args.owner)
        _print(
            args.json,
            {"requeued": list(keys)},
            f"requeued {len(keys)} failed item(s) of {args.day.isoformat()}",
        )


def add_outbox_commands(
    outbox: argparse.ArgumentParser,
    common: argparse.ArgumentParser,
    day_type: Callable[[str], date],
) -> None:
    """The ``list``, ``show``, ``retry`` and ``requeue`` actions under ``outbox``."""
    actions = outbox.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    states = [s.value for s in OutboxState]
    p = actions.add_parser(
        "list",
        parents=[common],
        help="items waiting or failed (default: pending, retrying, failed)",
    )
    p.add_argument("--state", action="append", choices=states, help="repeat for several")
    p.add_argument("--day", type=day_type, help="only the items of this owner-local day")
    p.add_argument("--owner", help="only this owner's items")
    p = actions.add_parser("show", parents=[common], help="one item, and why it failed")
    p.add_argument("key", help="the item's key (from outbox list)")
    p = actions.add_parser("retry", parents=[common], help="try a failed item again")
    p.add_argument("key", help="the item's key (from outbox list)")
    p = actions.add_parser("requeue", parents=[common], help="try every failed item of a day again")
    p.add_argument("--day", type=day_type, required=True, help="the owner-local day (YYYY-MM-DD)")
    p.add_argument("--owner", help="only this owner's items")
