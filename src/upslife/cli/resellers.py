"""``upslife cancel`` and ``remind``: the owner withdraws a pending reseller invitation,
or asks the connected reseller to act on a device's event.

Thin: the use cases are :mod:`upslife.app.resellers`.
"""

from __future__ import annotations

import argparse

from upslife.cli._common import Add, out, service
from upslife.cli.config import Config
from upslife.notifications import EventKind

__all__ = ["add_reseller_commands"]


def cmd_cancel(args: argparse.Namespace, config: Config) -> None:
    lifecycle = service(args, config)
    try:
        inv = lifecycle.cancel_invitation(args.owner)
    finally:
        lifecycle.store.close()
    out(
        args,
        {"invitation": inv.id, "state": inv.state.value, "reseller": inv.reseller_email},
        f"invitation of {inv.reseller_email} cancelled; invite again with: upslife invite",
    )


def cmd_remind(args: argparse.Namespace, config: Config) -> None:
    lifecycle = service(args, config)
    try:
        notice = lifecycle.send_reminder(args.serial, EventKind(args.kind), by=args.by)
    finally:
        lifecycle.store.close()
    out(
        args,
        {"key": notice.key, "serial": args.serial.upper(), "kind": args.kind},
        f"reminder queued for the reseller ({notice.key}); the next sweep sends it",
    )


def add_reseller_commands(add: Add) -> None:
    p = add("cancel", cmd_cancel, "the owner withdraws a pending reseller invitation")
    p.add_argument("--owner", required=True, help="the owner's account email")

    kinds = [k.value for k in EventKind if k.reaches_reseller]
    p = add("remind", cmd_remind, "ask the connected reseller to act on a device's event")
    p.add_argument("--serial", required=True, help="the UPS's serial number")
    p.add_argument("--kind", required=True, choices=kinds, help="the event to act on")
    p.add_argument("--by", required=True, help="who asks: the owner")
