"""The ``upslife`` command: the daily sweep for cron, the use cases, and a demo.

Exit codes (the table per command is in docs/operations.md):

- 0: done;
- 1: the job ran but something failed for good (a notice given up, a damaged device set
  aside, a UPS that could not be read);
- 2: bad input or configuration (a malformed date, an unknown device, a missing file, a
  missing secret, mail settings the server refuses), with one line on standard error, never
  a traceback; nothing was changed;
- 75 (``EX_TEMPFAIL``): try again later: the mail server is unreachable (nothing could be
  sent; the notices wait in the outbox), the database stayed locked by another writer, or the
  PostgreSQL server is down (refused or timed out; a wrong DSN or login is 2).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from upslife import __version__
from upslife._files import open_private
from upslife.cli._common import (
    Fail,
    PlanProgress,
    TempFail,
    counted,
    date_arg,
    format_of,
    out,
    service,
    show_progress,
    write_table,
)
from upslife.cli._parser import OneLineParser, one_line
from upslife.cli.account import add_account_commands
from upslife.cli.chat import add_chat_commands, chat_sender
from upslife.cli.completion import add_completion_command
from upslife.cli.config import Config, load_config
from upslife.cli.devices import add_device_commands
from upslife.cli.links import add_link_commands
from upslife.cli.outbox import add_outbox_commands
from upslife.cli.quotes import add_quote_commands
from upslife.cli.resellers import add_reseller_commands
from upslife.cli.schedule import add_schedule_commands
from upslife.cli.secret import add_secret_commands
from upslife.cli.shares import add_share_commands
from upslife.entitlements import Plan, Term
from upslife.errors import ExtraNotInstalled, InvalidInput, TemporaryFailure, UpslifeError
from upslife.hardware.snapshot import UpsTransport
from upslife.invitations import TokenAction
from upslife.notifications import Contact
from upslife.ports import Owner
from upslife.sharing import ShareVia

__all__ = ["main"]


_Fail = Fail
_TempFail = TempFail
_date = date_arg
_out = out
_service = service

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_TEMPFAIL = 0, 1, 2, 75


# ---------------------------------------------------------------------- commands


def cmd_demo(args: argparse.Namespace, config: Config) -> None:
    from upslife.cli.demo import MSP_USER, run_demo, text_progress

    progress = text_progress if show_progress(args) else None
    database = None
    if args.db is not None:  # --db names the demo's database (a SQLite file)
        if "://" in args.db:
            raise InvalidInput(f"demo --db must be a SQLite file path, got {args.db!r}")
        database = Path(args.db)
    result = run_demo(
        Path(args.dir),
        devices=args.devices,
        days=args.days,
        progress=progress,
        database=database,
        public_url=config.public_url,
    )
    rows = sorted(result.notices_by_kind.items())
    table = "\n".join(f"  {kind:<34} {count:>5}" for kind, count in rows)
    text = (
        f"upslife demo: {result.devices} devices, {result.days} daily sweeps from 2025-01-01\n\n"
        f"notices planned, by kind/stage:\n{table}\n"
        f"  {'total':<34} {sum(result.notices_by_kind.values()):>5}\n\n"
        f"coverage changes: {result.licenses_assigned} licenses assigned, "
        f"{result.upgrades} upgrades, {result.renewals_in_year} renewals during the year\n"
        f"messages: {result.messages} mails in the outbox ({result.digests} reseller digests), "
        f"{result.chat_messages} Slack posts to {', '.join(result.chat_routes)}\n"
        f"shared with {MSP_USER} and accepted: {', '.join(result.shared) or 'none'}\n"
        f"polled {result.polled} UPS units (simulator): see upslife --db {result.database} "
        f"report operational --owner {result.owners[0] if result.owners else '-'} --out ops.csv\n\n"
        f"database: {result.database}\noutbox (Maildir): {result.outbox}\n"
        f"chat posts: {result.directory / 'chat'}\n"
        f"try: upslife --db {result.database} explain {result.example_serial}\n"
        f"serve its links: upslife --config {result.directory / 'upslife.toml'} "
        f"--on {result.last_day.isoformat()} serve"
    )
    data = {
        "devices": result.devices,
        "days": result.days,
        "notices_by_kind": result.notices_by_kind,
        "messages": result.messages,
        "chat_messages": result.chat_messages,
        "licenses_assigned": result.licenses_assigned,
        "upgrades": result.upgrades,
        "renewals_in_year": result.renewals_in_year,
        "shared": list(result.shared),
        "polled": result.polled,
        "digests": result.digests,
        "chat_routes": list(result.chat_routes),
        "database": str(result.database),
        "outbox": str(result.outbox),
    }
    _out(args, data, text)


def cmd_sweep(args: argparse.Namespace, config: Config) -> None:
    chat = chat_sender(config)  # a malformed webhooks setting is refused before anything
    service = _service(args, config)
    progress = PlanProgress() if show_progress(args) else None
    try:
        report = service.sweep(config.mail_sender(), chat=chat, on_device=progress)
    finally:
        service.store.close()
        if progress is not None:
            progress.finish()
    d = report.delivery
    data: dict[str, Any] = {
        "devices_read": report.plan.devices_read,
        "devices_due": report.plan.devices_due,
        "notices_planned": report.plan.notices_planned,
        "digests": report.digests,
        "sent": d.sent,
        "retrying": d.retrying,
        "failed": d.failed,
        "suppressed": d.suppressed,
        "deferred": report.deferred,
        "damaged": [{"device": serial, "error": why} for serial, why in report.plan.damaged],
    }
    text = (
        f"planned {report.plan.notices_planned} notice(s) for {report.plan.devices_due} "
        f"device(s); sent {d.sent}, retrying {d.retrying}, failed {d.failed}, "
        f"suppressed {d.suppressed}"
    )
    if report.deferred is not None:
        text += "; delivery deferred: the mail server is unavailable"
    _out(args, data, text)
    # 1 (something failed for good) wins over 75 (try again later): it needs a person.
    problems = [f"{d.failed} notice(s) failed for good"] if d.failed else []
    problems += [f"device {serial} set aside: {why}" for serial, why in report.plan.damaged]
    if problems:
        raise _Fail("; ".join(problems) + " (see: upslife outbox list --state failed)")
    if report.deferred is not None:
        raise _TempFail(f"nothing sent, try again later: {report.deferred}")
    if d.retrying:
        raise _TempFail(f"{d.retrying} notice(s) not sent yet; a later run retries them")


def cmd_outbox(args: argparse.Namespace, config: Config) -> None:
    from upslife.cli.outbox import cmd_outbox as run

    service = _service(args, config)
    try:
        run(args, service)
    finally:
        service.store.close()


def cmd_schedule(args: argparse.Namespace, config: Config) -> None:
    from upslife.cli.schedule import cmd_schedule as run

    service = _service(args, config)
    try:
        if not run(args, service):
            raise _Fail("some devices could not be scheduled (see above)")
    finally:
        service.store.close()


def cmd_owner_add(args: argparse.Namespace, config: Config) -> None:
    service = _service(args, config)
    contact = Contact(args.company, args.name, args.email, args.role, args.phone)
    service.add_owner(Owner(args.email, contact, args.timezone))
    _out(args, {"owner": args.email}, f"owner {args.email} added")


def cmd_register(args: argparse.Namespace, config: Config) -> None:
    service = _service(args, config)
    registered = service.register_device(args.owner, args.serial, args.model, on=args.on)
    device = registered.device
    prompt = registered.prompt_reseller
    first, trial_end = device.registered_on.isoformat(), registered.trial_ends_on
    if not registered.registered_again:
        text = f"registered {device.serial} ({device.model}) on {first}: 6-month Standard trial"
    else:  # a deleted serial registered again: its trial goes on, never starts over (E2)
        day = args.on or service.today_for(device.owner_id)
        trial = (
            f"its Standard trial goes on until {trial_end.isoformat()}"
            if trial_end > day
            else f"its trial ended on {trial_end.isoformat()}: Basic"
        )
        text = (
            f"registered {device.serial} ({device.model}) again: first registered on {first}, "
            f"{trial} (a serial's trial is granted once)"
        )
    _out(
        args,
        {
            "serial": device.serial,
            "registered_on": first,
            "registered_again": registered.registered_again,
            "trial_ends_on": trial_end.isoformat(),
            "prompt_reseller": prompt,
        },
        text + ("\ninvite your reseller to get renewal support: upslife invite" if prompt else ""),
    )


def cmd_code(args: argparse.Namespace, config: Config) -> None:
    service = _service(args, config)
    code = service.issue_code(args.code, args.plan, args.term, args.quantity, args.installer)
    _out(
        args,
        {"code": code.code, "quantity": code.quantity},
        f"code {code.code}: {code.quantity} × {code.plan.title} {code.term.label}",
    )


def cmd_assign(args: argparse.Namespace, config: Config) -> None:
    service = _service(args, config)
    licenses = service.assign_code(args.code, args.serial, by=args.by, count=args.count)
    _out(
        args,
        {"licenses": [lic.id for lic in licenses]},
        f"assigned {len(licenses)} license(s) to {args.serial}",
    )


def cmd_explain(args: argparse.Namespace, config: Config) -> None:
    service = _service(args, config)
    cov = service.coverage(args.serial)
    data = {
        "serial": args.serial,
        "segments": [
            {
                "plan": s.plan.name,
                "start": s.start.isoformat(),
                "end": s.end.isoformat() if s.end else None,
                "reasons": [r.text for r in s.reasons],
            }
            for s in cov.segments
        ],
    }
    _out(args, data, cov.explain())


def cmd_invite(args: argparse.Namespace, config: Config) -> None:
    service = _service(args, config)
    links = service.invite_reseller(args.owner, args.reseller)
    inv = links.invitation
    data = {
        "invitation": inv.id,
        "expires_at": inv.expires_at.isoformat(),
        "accept_token": links.accept_token,
        "decline_token": links.decline_token,
    }
    _out(
        args,
        data,
        f"invited {inv.reseller_email} (expires {inv.expires_at.isoformat()})\n"
        f"accept token: {links.accept_token}\ndecline token: {links.decline_token}",
    )


def cmd_respond(args: argparse.Namespace, config: Config) -> None:
    service = _service(args, config)
    inv, notice = service.respond(args.token, TokenAction[args.action.upper()])
    data = {"invitation": inv.id, "state": inv.state.value, "owner_told": bool(notice)}
    _out(args, data, f"invitation {inv.id}: {inv.state.value}")


def cmd_disconnect(args: argparse.Namespace, config: Config) -> None:
    inv = _service(args, config).disconnect_reseller(args.owner)
    _out(
        args,
        {"invitation": inv.id, "state": inv.state.value},
        f"{inv.reseller_email}: disconnected",
    )


def cmd_share(args: argparse.Namespace, config: Config) -> None:
    service = _service(args, config)
    invitation = service.share(
        args.serial,
        args.user,
        by=args.by,
        via=ShareVia[args.via.upper()],
        user_has_account=not args.no_account,
    )
    needs_sign_up = invitation.needs_sign_up
    text = f"shared {args.serial} with {args.user}" + (
        " (asked to sign up first)" if needs_sign_up else ""
    )
    data: dict[str, Any] = {"needs_sign_up": needs_sign_up}
    if args.via == "link":  # the owner hands the link over; by email it is mailed
        data |= {"url": invitation.url, "token": invitation.token}
        text += f"\nshare link: {invitation.url}"
    _out(args, data, text)


def cmd_revoke(args: argparse.Namespace, config: Config) -> None:
    _service(args, config).revoke_share(args.serial, args.user, by=args.by)
    _out(args, {"revoked": args.user}, f"revoked {args.user} from {args.serial}")


def cmd_report(args: argparse.Namespace, config: Config) -> None:
    from upslife import formats, reports

    fmt = format_of(Path(args.out), args.format)  # refused before the store is opened
    service = _service(args, config)
    user = args.user or args.owner
    as_of = args.on or service.today_for(args.owner)
    devices = list(service.report_devices(args.owner, user=user))
    sku_of = reports.plan_license_sku_of(service.catalog)  # part numbers from the catalog (C1)
    rows: Any
    if args.kind == "inventory":
        layout: Any = formats.MY_INVENTORY
        rows = reports.sorted_for_renewal(
            reports.inventory_rows(devices, as_of, plan_license_sku=sku_of)
        )
    elif args.kind == "renewals":
        layout = formats.MY_RENEWALS
        rows = reports.sorted_for_renewal(
            reports.renewal_rows(devices, as_of, plan_license_sku=sku_of)
        )
    else:
        layout = formats.OPERATIONAL
        rows = reports.operational_rows(devices)
    target = Path(args.out)
    if show_progress(args):
        rows = counted(rows, f"writing {target}")
    count = write_table(target, fmt, layout, rows)
    _out(args, {"rows": count, "file": str(target)}, f"wrote {count} row(s) to {target}")


def cmd_calendar(args: argparse.Namespace, config: Config) -> None:
    from upslife import formats, reports

    service = _service(args, config)
    service.store.get_owner(args.owner)  # an unknown owner is an error, not an empty feed
    entries = [
        entry
        for device in service.report_devices(args.owner, user=args.owner)
        for entry in reports.calendar_entries(
            device, plan_license_sku=reports.plan_license_sku_of(service.catalog)
        )
    ]
    out = Path(args.out)
    with open_private(out, "wb") as fh:
        count = formats.write_ical(fh, entries, dtstamp=service.clock.now())
    _out(args, {"events": count, "file": str(out)}, f"wrote {count} event(s) to {out}")


def _transport(url: str) -> UpsTransport:
    if url.startswith(("nut://", "nuts://")):
        from upslife.hardware.nut import NutTransport

        return NutTransport.from_url(url)
    if url.startswith("modbus://"):
        from upslife.hardware.modbus import ModbusTransport

        return ModbusTransport.from_url(url)
    raise InvalidInput(f"poll needs nut://HOST[:PORT]/UPS or modbus://HOST[:PORT], got {url!r}")


def cmd_poll(args: argparse.Namespace, config: Config) -> None:
    service = _service(args, config)
    with _transport(args.url) as transport:
        named = getattr(transport, "default_device", None)  # nut://host/UPS reads that UPS only
        if show_progress(args):
            from upslife.cli.progress import CountingTransport

            transport = CountingTransport(transport)
        report = service.poll(
            transport,
            devices=None if named is None else [named],
            budget=args.budget,
            workers=args.workers,
        )
        if hasattr(transport, "finish"):
            transport.finish()
    data = {
        "read": report.read,
        "updated": list(report.updated),
        "unknown": list(report.unknown),
        "failed": [{"device": name, "error": error} for name, error in report.failed],
        "battery_failures": list(report.battery_failures),
        "unidentifiable": [{"device": n, "reason": r} for n, r in report.unidentifiable],
        "dropped": [{"device": n, "values": list(v)} for n, v in report.dropped],
    }
    lines = [f"read {report.read} UPS(s); updated {len(report.updated)}"]
    lines += [f"  not registered: {serial}" for serial in report.unknown]
    lines += [f"  unidentifiable {name}: {reason}" for name, reason in report.unidentifiable]
    lines += [f"  {name} left out {value}" for name, values in report.dropped for value in values]
    lines += [f"  could not read {name}: {error}" for name, error in report.failed]
    lines += [f"  battery needs replacement: {serial}" for serial in report.battery_failures]
    _out(args, data, "\n".join(lines))
    if report.failed:
        raise _Fail(f"{len(report.failed)} UPS(s) could not be read")


def cmd_serve(args: argparse.Namespace, config: Config) -> None:
    try:
        from upslife.web import serve
    except ImportError as e:
        raise ExtraNotInstalled("web", e.name or "starlette") from None
    if (args.tls_cert is None) != (args.tls_key is None):
        raise InvalidInput("--tls-cert and --tls-key go together")
    if not 0 < args.port < 65536:
        raise InvalidInput(f"--port must be in 1..65535, got {args.port}")
    if config.keyring() is None:
        raise InvalidInput("serve needs the signing secret of the links (secret, UPSLIFE_SECRET)")
    service = _service(args, config)
    try:
        serve(service, host=args.host, port=args.port, tls_cert=args.tls_cert, tls_key=args.tls_key)
    finally:
        service.store.close()


# ---------------------------------------------------------------------- parser


def _parser() -> argparse.ArgumentParser:
    # The options are accepted before and after the command; SUPPRESS keeps a command's
    # parser from resetting a value given before it.
    common = OneLineParser(add_help=False)
    common.add_argument(
        "--config", type=Path, default=argparse.SUPPRESS, help="a TOML file with an [upslife] table"
    )
    common.add_argument(
        "--db", default=argparse.SUPPRESS, help="SQLite path or postgresql:// URL (env UPSLIFE_DB)"
    )
    common.add_argument(
        "--mail", default=argparse.SUPPRESS, help="maildir:///path or smtp(s)://... (UPSLIFE_MAIL)"
    )
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    common.add_argument(
        "--on",
        type=_date,
        default=argparse.SUPPRESS,
        help="act as of this date, 12:00 UTC (default: now); for register, the registration day",
    )

    parser = OneLineParser(
        prog="upslife",
        description="Lifecycle rules for fleets of small UPS units.",
        parents=[common],
    )
    parser.add_argument(
        "--version", action="version", version=f"upslife {__version__}", help="print the version"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, func: Callable[[argparse.Namespace, Config], None], help: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, parents=[common])
        p.set_defaults(func=func)
        return p

    p = add("demo", cmd_demo, "build a sample fleet and sweep a year of days into a Maildir")
    p.add_argument(
        "--dir", default="upslife-demo", help="where the demo writes (default upslife-demo)"
    )
    p.add_argument("--devices", type=int, default=48, help="devices in the fleet (default 48)")
    p.add_argument("--days", type=int, default=365, help="daily sweeps to run (default 365)")

    p = add("sweep", cmd_sweep, "the daily job: plan, digest and deliver the notices due")

    p = add("outbox", cmd_outbox, "see and repair the outbox: list, show, retry, requeue")
    add_outbox_commands(p, common, _date)

    p = add("schedule", cmd_schedule, "rebuild the stored lifecycle schedule (rules changed)")
    add_schedule_commands(p)

    p = add("owner-add", cmd_owner_add, "add a customer account")
    p.add_argument("--email", required=True, help="the account email: the owner's id")
    p.add_argument("--company", required=True, help="the customer's company name")
    p.add_argument("--name", required=True, help="the contact person's name")
    p.add_argument("--role", help="the contact's role, e.g. IT manager")
    p.add_argument("--phone", help="the contact's phone number")
    p.add_argument(
        "--timezone", default="UTC", help="IANA time zone of the owner's dates (default UTC)"
    )

    p = add("register", cmd_register, "register a device (starts its trial)")
    p.add_argument("--owner", required=True, help="the owner's account email")
    p.add_argument("--serial", required=True, help="the UPS's serial number")
    p.add_argument("--model", required=True, help="the APC model code, e.g. SMT1500C")

    p = add("code", cmd_code, "record an activation code")
    p.add_argument("code", help="the activation code of the order")
    p.add_argument(
        "--plan", required=True, choices=[p.name for p in Plan if p.is_paid], help="the plan"
    )
    p.add_argument("--term", required=True, choices=[t.label for t in Term], help="the term")
    p.add_argument("--quantity", type=int, required=True, help="licenses in the code")
    p.add_argument("--installer", required=True, help="the order's installer email")

    p = add("assign", cmd_assign, "assign licenses of a code to a device")
    p.add_argument("--code", required=True, help="the activation code")
    p.add_argument("--serial", required=True, help="the UPS's serial number")
    p.add_argument("--by", required=True, help="the owner or a shared user")
    p.add_argument("--count", type=int, default=1, help="licenses to assign (default 1)")

    p = add("explain", cmd_explain, "a device's coverage, segment by segment, with reasons")
    p.add_argument("serial", help="the UPS's serial number")

    p = add("invite", cmd_invite, "invite the owner's reseller")
    p.add_argument("--owner", required=True, help="the owner's account email")
    p.add_argument("--reseller", required=True, help="the reseller's email")

    p = add("respond", cmd_respond, "a reseller follows a link")
    p.add_argument("--token", required=True, help="the token of the mailed link")
    p.add_argument(
        "--action",
        required=True,
        choices=["accept", "decline", "unsubscribe"],
        help="what the link does",
    )

    p = add("disconnect", cmd_disconnect, "the owner disconnects the reseller")
    p.add_argument("--owner", required=True, help="the owner's account email")

    p = add("share", cmd_share, "share a device with a managed-service user")
    p.add_argument("--serial", required=True, help="the UPS's serial number")
    p.add_argument("--user", required=True, help="the managed-service user's email")
    p.add_argument("--by", required=True, help="who shares: the owner or a shared user")
    p.add_argument(
        "--via",
        default="email",
        choices=["email", "link"],
        help="mail the link (default), or print it to hand over",
    )
    p.add_argument("--no-account", action="store_true", help="the user must sign up first")

    p = add("report", cmd_report, "MyInventory, MyRenewals or Operational report of a fleet")
    p.add_argument("kind", choices=["inventory", "renewals", "operational"], help="which report")
    p.add_argument("--owner", required=True, help="the owner's account email")
    p.add_argument("--user", help="who asks (default: the owner); sees only shared devices")
    p.add_argument(
        "--format", choices=["csv", "xlsx", "json"], help="the format (default: from --out)"
    )
    p.add_argument(
        "--out", required=True, help="the file to write; .csv, .json or .xlsx sets the format"
    )

    add_quote_commands(add)

    p = add("calendar", cmd_calendar, "an iCalendar feed of a fleet's lifecycle due dates")
    p.add_argument("--owner", required=True, help="the owner's account email")
    p.add_argument("--out", required=True, help="the .ics file to write")

    p = add("poll", cmd_poll, "read real UPS units into storage (battery dates, failures)")
    p.add_argument("url", help="nut://[user:pass@]HOST[:PORT][/UPS] or modbus://HOST[:PORT][/UNIT]")
    p.add_argument("--budget", type=float, default=60.0, help="seconds the whole poll may take")
    p.add_argument("--workers", type=int, default=16, help="UPS units read at the same time")

    p = add("serve", cmd_serve, "serve the pages of the mailed links (needs upslife[web])")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    p.add_argument("--tls-cert", type=Path, help="PEM certificate: serve https itself")
    p.add_argument("--tls-key", type=Path, help="PEM private key of --tls-cert")

    add_device_commands(add)
    add_reseller_commands(add)
    add_share_commands(add)
    add_chat_commands(add, common)
    add_secret_commands(add, common)
    add_account_commands(add, common)
    add_link_commands(add)
    add_completion_command(add)

    p = add("revoke", cmd_revoke, "revoke a user's share")
    p.add_argument("--serial", required=True, help="the UPS's serial number")
    p.add_argument("--user", required=True, help="the user whose share ends")
    p.add_argument("--by", required=True, help="who revokes: the owner")
    return parser


def _one_line(error: BaseException) -> str:
    return one_line(" ".join(str(error).split()))


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="upslife: %(levelname)s: %(message)s")
    parser = _parser()
    args = parser.parse_args(argv)
    defaults = (("config", None), ("db", None), ("mail", None), ("json", False), ("on", None))
    for name, default in defaults:
        if not hasattr(args, name):
            setattr(args, name, default)
    try:
        config = load_config(args.config, overrides={"db": args.db, "mail": args.mail})
        args.func(args, config)
    except TemporaryFailure as e:
        print(f"upslife: try again later: {_one_line(e)}", file=sys.stderr)
        return EXIT_TEMPFAIL
    except UpslifeError as e:
        print(f"upslife: error: {_one_line(e)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except _Fail as e:
        print(f"upslife: {_one_line(e)}", file=sys.stderr)
        return EXIT_FAILED
    except _TempFail as e:
        print(f"upslife: {_one_line(e)}", file=sys.stderr)
        return EXIT_TEMPFAIL
    except OSError as e:
        print(
            f"upslife: error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), file=sys.stderr
        )
        return 2
    return 0
