"""``upslife unsubscribe``, ``view-share`` and ``command``: a digest's one-click
unsubscribe link, what a share link shows, and a remote command sent to a UPS.

Thin: the use cases are :mod:`upslife.app.resellers`, :mod:`upslife.app.shares` and
:mod:`upslife.app.commands`.
"""

from __future__ import annotations

import argparse

from upslife.cli._common import Add, Fail, date_arg, out, service
from upslife.cli.config import Config
from upslife.cli.shares import token_of
from upslife.errors import InvalidInput, TransportError
from upslife.hardware.snapshot import DeviceCommand, InputSensitivity

__all__ = ["add_link_commands"]


def cmd_unsubscribe(args: argparse.Namespace, config: Config) -> None:
    lifecycle = service(args, config)
    try:
        done = lifecycle.unsubscribe(token_of(args.link))
    finally:
        lifecycle.store.close()
    owners = sorted({inv.owner_id for inv in done.invitations})
    out(
        args,
        {"owners": owners, "owners_told": len(done.notices)},
        f"unsubscribed from {len(owners)} customer(s); {len(done.notices)} owner(s) told",
    )


def cmd_view_share(args: argparse.Namespace, config: Config) -> None:
    lifecycle = service(args, config)
    try:
        view = lifecycle.view_share(token_of(args.link))
    finally:
        lifecycle.store.close()
    out(
        args,
        {
            "device": view.share.device,
            "model": view.model,
            "company": view.company,
            "user": view.share.user,
            "state": view.state.value,
        },
        f"{view.company} shares {view.share.device} ({view.model}) with {view.share.user}: "
        f"{view.state.value}",
    )


def _command(args: argparse.Namespace) -> DeviceCommand:
    name = args.command_name
    if name == "self-test":
        return DeviceCommand.self_test()
    if name == "firmware-install":
        return DeviceCommand.firmware_install_start()
    if name == "outlet-group-reboot":
        return DeviceCommand.outlet_group_reboot(args.group)
    if name == "input-sensitivity":
        if args.sensitivity is None:
            raise InvalidInput("input-sensitivity needs --sensitivity")
        return DeviceCommand.set_input_sensitivity(InputSensitivity(args.sensitivity))
    if args.installed_on is None:
        raise InvalidInput("battery-install-date needs --installed-on")
    return DeviceCommand.set_battery_install_date(args.installed_on)


def cmd_command(args: argparse.Namespace, config: Config) -> None:
    from upslife.cli import _transport

    command = _command(args)
    lifecycle = service(args, config)
    try:
        with _transport(args.url) as transport:
            name = args.device or getattr(transport, "default_device", None)
            if name is None:
                raise InvalidInput("name the UPS: nut://HOST/UPS, or --device NAME")
            try:
                lifecycle.run_command(
                    args.serial, command, by=args.by, transport=transport, device_name=name
                )
            except (TransportError, ConnectionError) as e:  # the job ran; the UPS did not
                raise Fail(f"{args.serial}: {args.command_name} failed: {e}") from e
    finally:
        lifecycle.store.close()
    out(
        args,
        {"serial": args.serial.upper(), "command": command.command.value},
        f"{args.serial}: {args.command_name} sent",
    )


def add_link_commands(add: Add) -> None:
    p = add("unsubscribe", cmd_unsubscribe, "follow a mail's one-click unsubscribe link")
    p.add_argument("link", help="the unsubscribe link (https://.../unsubscribe/TOKEN) or token")

    p = add("view-share", cmd_view_share, "what a share link shows; changes nothing")
    p.add_argument("link", help="the share link (https://.../share/TOKEN) or its token")

    p = add("command", cmd_command, "send a remote command to a UPS (gated by plan, SPEC E10)")
    p.add_argument(
        "command_name",
        choices=[
            "self-test",
            "firmware-install",
            "outlet-group-reboot",
            "input-sensitivity",
            "battery-install-date",
        ],
        help="the command",
    )
    p.add_argument("--serial", required=True, help="the UPS's serial number")
    p.add_argument("--by", required=True, help="who sends it: the owner or a shared user")
    p.add_argument(
        "--url", required=True, help="nut://[user:pass@]HOST[:PORT]/UPS or modbus://HOST"
    )
    p.add_argument("--device", help="the UPS's name on the transport (default: from --url)")
    p.add_argument("--group", type=int, default=0, help="outlet group to reboot (default 0)")
    p.add_argument(
        "--sensitivity", choices=[s.value for s in InputSensitivity], help="input sensitivity"
    )
    p.add_argument("--installed-on", type=date_arg, help="battery install date to write")
