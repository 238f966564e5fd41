"""``upslife battery``, ``warranty``, ``transfer`` and ``not-interested``: a device's
battery and warranty, its owner, and the owner's "Not interested?" choice.

Thin: the use cases are :mod:`upslife.app.devices` and :mod:`upslife.app.shares`.
"""

from __future__ import annotations

import argparse

from upslife.cli._common import Add, date_arg, out, service
from upslife.cli.config import Config
from upslife.entitlements import ExtendedWarranty

__all__ = ["add_device_commands"]


def cmd_battery(args: argparse.Namespace, config: Config) -> None:
    lifecycle = service(args, config)
    try:
        device = lifecycle.set_battery_install_date(args.serial, args.installed_on, by=args.by)
        replace_by = lifecycle.ctx.view(device).battery_replace_by
    finally:
        lifecycle.store.close()
    out(
        args,
        {
            "serial": device.serial,
            "battery_installed_on": args.installed_on.isoformat(),
            "battery_replace_by": None if replace_by is None else replace_by.isoformat(),
            "next_notice_on": None if device.next_notice_on is None else device.next_notice_on,
        },
        f"{device.serial}: battery installed on {args.installed_on.isoformat()}"
        + ("" if replace_by is None else f", replace by {replace_by.isoformat()}"),
    )


def cmd_warranty(args: argparse.Namespace, config: Config) -> None:
    lifecycle = service(args, config)
    try:
        activated = args.activated_on or lifecycle.today_for(lifecycle.device(args.serial).owner_id)
        warranty = ExtendedWarranty(args.id, args.sku, args.months, activated)
        device = lifecycle.add_extended_warranty(args.serial, warranty)
        expires = lifecycle.ctx.view(device).warranty.expires_on
    finally:
        lifecycle.store.close()
    out(
        args,
        {"serial": device.serial, "warranty": args.id, "warranty_expires_on": expires.isoformat()},
        f"{device.serial}: extended warranty {args.id} ({args.sku}, {args.months} months); "
        f"warranty now expires on {expires.isoformat()}",
    )


def cmd_transfer(args: argparse.Namespace, config: Config) -> None:
    lifecycle = service(args, config)
    try:
        device = lifecycle.transfer(args.serial, args.to, by=args.by)
    finally:
        lifecycle.store.close()
    out(
        args,
        {"serial": device.serial, "owner": device.owner_id},
        f"{device.serial} now belongs to {device.owner_id}; its shares were revoked",
    )


def cmd_not_interested(args: argparse.Namespace, config: Config) -> None:
    lifecycle = service(args, config)
    try:
        owner = lifecycle.set_not_interested(args.owner, not_interested=not args.undo)
    finally:
        lifecycle.store.close()
    chosen = not args.undo
    out(
        args,
        {"owner": owner.id, "not_interested": chosen},
        f"{owner.id}: "
        + ("no more reseller prompts" if chosen else "the reseller prompt is shown again"),
    )


def add_device_commands(add: Add) -> None:
    p = add("battery", cmd_battery, "record a new battery: its replace-by date and notices restart")
    p.add_argument("--serial", required=True, help="the UPS's serial number")
    p.add_argument(
        "--installed-on", type=date_arg, required=True, help="the day the battery was installed"
    )
    p.add_argument("--by", required=True, help="who records it: the owner or a shared user")

    p = add("warranty", cmd_warranty, "record an extended warranty bought for a device")
    p.add_argument("--serial", required=True, help="the UPS's serial number")
    p.add_argument("--id", required=True, help="the warranty's id (an order or contract number)")
    p.add_argument("--sku", required=True, help="the extension's SKU, e.g. WBEXTWAR1YR-SP-03")
    p.add_argument("--months", type=int, required=True, help="how long it extends the warranty")
    p.add_argument(
        "--activated-on", type=date_arg, help="its activation day (default: the owner's today)"
    )

    p = add("transfer", cmd_transfer, "give a device to another owner (revokes its shares)")
    p.add_argument("--serial", required=True, help="the UPS's serial number")
    p.add_argument("--to", required=True, help="the new owner's account email")
    p.add_argument("--by", required=True, help="who transfers it: the current owner")

    p = add("not-interested", cmd_not_interested, 'the owner\'s "Not interested?" choice')
    p.add_argument("--owner", required=True, help="the owner's account email")
    p.add_argument("--undo", action="store_true", help="show the reseller prompt again")
