"""``upslife accept-share``, ``shared-with-me``, ``remove-from-view``, ``remove-customer``
and ``event-log``: the managed-service user's side of sharing, and the owner's log.

Thin: the use cases are :mod:`upslife.app.shares`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import urlsplit

from upslife.cli._common import Add, format_of, out, service, write_table
from upslife.cli.config import Config
from upslife.sharing import EventLog

__all__ = ["add_share_commands", "token_of"]


def token_of(link: str) -> str:
    """The token of a share link: the link itself, or the last segment of its URL path."""
    text = link.strip()
    if "://" in text:
        parts = urlsplit(text)
        return parts.path.rstrip("/").rpartition("/")[2]
    return text


def cmd_accept_share(args: argparse.Namespace, config: Config) -> None:
    lifecycle = service(args, config)
    try:
        has_account = False if args.no_account else (True if args.has_account else None)
        result = lifecycle.accept_share_link(token_of(args.link), user_has_account=has_account)
    finally:
        lifecycle.store.close()
    share = result.share
    text = (
        f"{share.user} now sees {share.device}"
        if result.outcome.value == "accepted"
        else f"{share.user} must sign up first; the same link works afterwards"
    )
    out(
        args,
        {"outcome": result.outcome.value, "device": share.device, "user": share.user},
        text,
    )


def cmd_shared_with_me(args: argparse.Namespace, config: Config) -> None:
    lifecycle = service(args, config)
    try:
        rows = lifecycle.shared_with_me(args.user)
    finally:
        lifecycle.store.close()
    data = [
        {
            "serial": r.serial,
            "model": r.model,
            "owner": r.owner_id,
            "company": r.company,
            "shared_since": r.shared_since.isoformat(),
            "renewal_due_on": None if r.renewal_due_on is None else r.renewal_due_on.isoformat(),
        }
        for r in rows
    ]
    lines = [
        f"{r.serial:<14} {r.model:<12} {r.company:<24} renewal due "
        f"{r.renewal_due_on.isoformat() if r.renewal_due_on else '-'}"
        for r in rows
    ]
    out(args, {"devices": data}, "\n".join(lines) or f"nothing is shared with {args.user}")


def cmd_remove_from_view(args: argparse.Namespace, config: Config) -> None:
    lifecycle = service(args, config)
    try:
        lifecycle.remove_from_view(args.serial, args.user)
    finally:
        lifecycle.store.close()
    out(args, {"removed": args.serial.upper()}, f"{args.serial} removed from {args.user}'s view")


def cmd_remove_customer(args: argparse.Namespace, config: Config) -> None:
    lifecycle = service(args, config)
    try:
        removed = lifecycle.remove_customer_from_view(args.user, args.owner)
    finally:
        lifecycle.store.close()
    out(
        args,
        {"removed": list(removed)},
        f"removed {len(removed)} device(s) of {args.owner} from {args.user}'s view",
    )


def cmd_event_log(args: argparse.Namespace, config: Config) -> None:
    from upslife import formats, reports

    path = Path(args.out)
    fmt = format_of(path, args.format)
    lifecycle = service(args, config)
    try:
        lifecycle.store.get_owner(args.owner)  # an unknown owner is an error, not an empty log
        entries = lifecycle.event_log(args.owner)
        rows = reports.event_log_rows(
            EventLog(entries), lifecycle.clock.now(), retention=lifecycle.ctx.log_retention
        )
    finally:
        lifecycle.store.close()
    count = write_table(path, fmt, formats.EVENT_LOG, rows)
    out(args, {"rows": count, "file": str(path)}, f"wrote {count} log entr(ies) to {path}")


def add_share_commands(add: Add) -> None:
    p = add(
        "accept-share",
        cmd_accept_share,
        "a user accepts a shared device with the link of the share mail",
    )
    p.add_argument("link", help="the share link (https://.../share/TOKEN) or its token")
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--has-account", action="store_true", help="the user has signed up since the share"
    )
    group.add_argument("--no-account", action="store_true", help="the user has no account yet")

    p = add("shared-with-me", cmd_shared_with_me, "the devices shared with a user, across owners")
    p.add_argument("--user", required=True, help="the managed-service user's email")

    p = add("remove-from-view", cmd_remove_from_view, "a shared user drops one device from view")
    p.add_argument("--serial", required=True, help="the UPS's serial number")
    p.add_argument("--user", required=True, help="the managed-service user's email")

    p = add(
        "remove-customer",
        cmd_remove_customer,
        "a shared user drops every device of one customer from view",
    )
    p.add_argument("--user", required=True, help="the managed-service user's email")
    p.add_argument("--owner", required=True, help="the customer (owner) account email")

    p = add("event-log", cmd_event_log, "export an owner's event log (last 30 days)")
    p.add_argument("--owner", required=True, help="the owner's account email")
    p.add_argument(
        "--out", required=True, help="the file to write; .csv, .json or .xlsx sets the format"
    )
    p.add_argument(
        "--format", choices=["csv", "json", "xlsx"], help="the format (default: from --out)"
    )
