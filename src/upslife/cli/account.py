"""``upslife delete``, ``templates show|set|reset``, ``reseller-delivery`` and
``send-renewals``: deleting a device, an owner's own email templates, a reseller's choice
of a daily digest, and mailing MyRenewals to a partner.

Thin: the use cases are :mod:`upslife.app.deletion`, :mod:`upslife.app.emails`,
:mod:`upslife.app.reseller_delivery` and :mod:`upslife.app.renewals`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from upslife.cli._common import Add, out, service
from upslife.cli.config import Config
from upslife.errors import InvalidInput
from upslife.rendering.templates import templates_to_doc

__all__ = ["add_account_commands"]


def cmd_delete(args: argparse.Namespace, config: Config) -> None:
    lifecycle = service(args, config)
    try:
        deleted = lifecycle.delete_device(args.serial, by=args.by)
    finally:
        lifecycle.store.close()
    out(
        args,
        {
            "serial": deleted.serial,
            "owner": deleted.owner_id,
            "revoked": list(deleted.revoked),
            "suppressed": deleted.suppressed,
        },
        f"deleted {deleted.serial}: {len(deleted.revoked)} share(s) revoked, "
        f"{deleted.suppressed} unsent message(s) dropped; its event log is kept",
    )


def cmd_templates(args: argparse.Namespace, config: Config) -> None:
    lifecycle = service(args, config)
    try:
        if args.templates_command == "set":
            try:
                doc = json.loads(Path(args.file).read_text(encoding="utf-8"))
            except ValueError as e:
                raise InvalidInput(f"templates file {args.file} is not JSON: {e}") from None
            lifecycle.set_email_templates(args.owner, doc)
        elif args.templates_command == "reset":
            lifecycle.set_email_templates(args.owner, None)
        templates = lifecycle.email_templates(args.owner)
    finally:
        lifecycle.store.close()
    doc = None if templates is None else templates_to_doc(templates)
    if args.templates_command == "show":
        text = "the service's default templates" if doc is None else json.dumps(doc, indent=2)
    elif doc is None:
        text = f"{args.owner}: back to the default templates"
    else:
        text = f"{args.owner}: templates set (used while a device's plan allows them, SPEC E10)"
    out(args, {"owner": args.owner, "templates": doc}, text)


def cmd_reseller_delivery(args: argparse.Namespace, config: Config) -> None:
    choice = None if args.choice == "default" else args.choice
    lifecycle = service(args, config)
    try:
        chosen = lifecycle.set_reseller_delivery(args.reseller, choice)
    finally:
        lifecycle.store.close()
    value = None if chosen.preference is None else chosen.preference.value
    out(
        args,
        {"reseller": chosen.reseller_email, "preference": value},
        f"{chosen.reseller_email}: "
        + (value or "each customer's own choice")
        + " for every customer",
    )


def cmd_send_renewals(args: argparse.Namespace, config: Config) -> None:
    lifecycle = service(args, config)
    try:
        sent = lifecycle.send_renewals(args.owner, by=args.by, to=args.to, fmt=args.format)
    finally:
        lifecycle.store.close()
    out(
        args,
        {"key": sent.key, "to": sent.to, "rows": sent.rows, "file": sent.filename},
        f"MyRenewals ({sent.rows} row(s), {sent.filename}) queued for {sent.to}; "
        "the next sweep sends it",
    )


def add_account_commands(add: Add, common: argparse.ArgumentParser) -> None:
    p = add("delete", cmd_delete, "the owner deletes a device (shares revoked, log kept)")
    p.add_argument("--serial", required=True, help="the UPS's serial number")
    p.add_argument("--by", required=True, help="who deletes it: the owner")

    p = add("templates", cmd_templates, "an owner's own email templates: show, set, reset")
    actions = p.add_subparsers(dest="templates_command", required=True, metavar="ACTION")
    q = actions.add_parser("show", parents=[common], help="the owner's templates as JSON")
    q.add_argument("--owner", required=True, help="the owner's account email")
    q = actions.add_parser("set", parents=[common], help="set them from a JSON file")
    q.add_argument("--owner", required=True, help="the owner's account email")
    q.add_argument("--file", required=True, help="a JSON file of the templates to customize")
    q = actions.add_parser("reset", parents=[common], help="back to the default templates")
    q.add_argument("--owner", required=True, help="the owner's account email")

    p = add(
        "reseller-delivery",
        cmd_reseller_delivery,
        "a reseller's choice: one daily digest or a mail per notice, for all its customers",
    )
    p.add_argument("--reseller", required=True, help="the reseller's email")
    p.add_argument(
        "--choice",
        required=True,
        choices=["daily-digest", "immediate", "default"],
        help="default: forget the choice (each customer's setting applies)",
    )

    p = add("send-renewals", cmd_send_renewals, "mail the MyRenewals report to a partner")
    p.add_argument("--owner", required=True, help="whose fleet")
    p.add_argument("--by", required=True, help="who sends it: the owner or a shared user")
    p.add_argument("--to", help="the recipient (default: the connected reseller)")
    p.add_argument(
        "--format", choices=["csv", "xlsx"], default="csv", help="the attachment (default csv)"
    )
