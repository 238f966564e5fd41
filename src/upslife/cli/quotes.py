"""``upslife quote`` and ``forecast``: what to order, in words a buyer can act on (SPEC R6).

Text output names each SKU, its quantity, unit price and total, and lists the SKUs the
price list (``--prices FILE``, JSON ``{SKU: price}``) lacks: a missing price is said,
never guessed. A plan license is named by the catalog's part number when the catalog has
one (SPEC C1), else by its description ("Standard plan license 3Y"), and then listed as
needing a part number with the catalog key to fill (``plan_licenses.STANDARD.3Y``). The
price list may key a plan license by either name. Money is printed with two decimals
(``289.00``). ``--json`` gives the same facts as data.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from upslife.catalog import Catalog, plan_license_key
from upslife.cli._common import Add, out, service
from upslife.cli.config import Config
from upslife.entitlements import Plan, Term
from upslife.errors import InvalidInput

__all__ = ["add_quote_commands", "money"]


def money(value: Decimal | None) -> str:
    """``289.00``; ``-`` for no price."""
    return "-" if value is None else f"{value.quantize(Decimal('0.01')):,.2f}".replace(",", "")


def needs_part_numbers(
    catalog: Catalog, licenses: Iterable[tuple[Plan, Term]]
) -> list[dict[str, str]]:
    """The plan licenses named by description for want of a part number, each with the
    catalog key an operator fills to name it (SPEC R6, C1)."""
    from upslife import reports

    return [
        {
            "sku": reports.plan_license_description(plan, term),
            "catalog_key": plan_license_key(plan.name, term.label),
        }
        for plan, term in reports.missing_part_numbers(catalog, licenses)
    ]


def needs_part_numbers_line(needs: list[dict[str, str]]) -> list[str]:
    """The text line listing :func:`needs_part_numbers`; none when nothing needs one."""
    if not needs:
        return []
    return [
        "needs a part number: "
        + ", ".join(f"{n['sku']} (catalog key {n['catalog_key']})" for n in needs)
        + " (set them in a catalog file: docs/operations.md)"
    ]


def read_prices(path: str | None) -> dict[str, Decimal] | None:
    if path is None:
        return None
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        prices = {str(k): Decimal(str(v)) for k, v in raw.items()}
    except (ValueError, ArithmeticError) as e:
        raise InvalidInput(f"--prices {path}: expected {{SKU: price}} JSON ({e})") from e
    bad = sorted(k for k, v in prices.items() if not v.is_finite() or v < 0)
    if bad:
        raise InvalidInput(f"--prices {path}: prices must be numbers >= 0, not for {bad}")
    return prices


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...], text_columns: int) -> list[str]:
    """Rows under a header: the first ``text_columns`` left-aligned, numbers right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [
            cell.ljust(width) if i < text_columns else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append(("  " + "  ".join(cells)).rstrip())
    return lines


def cmd_quote(args: argparse.Namespace, config: Config) -> None:
    from upslife import reports

    prices = read_prices(args.prices)
    lifecycle = service(args, config)
    catalog = lifecycle.catalog
    try:
        device = lifecycle.device(args.serial)
        user = args.user or device.owner_id
        on = args.on or lifecycle.today_for(device.owner_id)
        quote = reports.quote(
            lifecycle.report_device(device.serial, user=user),
            on,
            plan_license_sku=reports.plan_license_sku_of(catalog),
        )
    finally:
        lifecycle.store.close()
    price_of = reports.plan_license_prices(catalog, prices or {}).get
    options: list[dict[str, Any]] = []
    for o in quote.options:
        sku = reports.plan_option_sku(catalog, o.plan, o.term)
        options.append(
            {
                "plan": o.plan.name,
                "term": o.term.name,
                "sku": sku,
                "months": o.months,
                "expires_on": o.expires_on.isoformat(),
                "paid_until": o.paid_until.isoformat(),
                "unit_price": price_of(sku),
            }
        )
    needs: list[dict[str, Any]] = []
    if quote.battery.due:
        needs.append({"what": "battery", "sku": quote.battery.sku, "quantity": 1})
    if quote.warranty.due:
        needs.append({"what": "warranty extension", "sku": quote.warranty.sku, "quantity": 1})
    for need in needs:
        unit = price_of(need["sku"])
        need |= {"unit_price": unit, "total": None if unit is None else unit * need["quantity"]}
    priced = [n["total"] for n in needs if n["total"] is not None]
    missing = (
        sorted(
            {o["sku"] for o in options if o["unit_price"] is None}
            | {n["sku"] for n in needs if n["unit_price"] is None}
        )
        if prices is not None
        else sorted({o["sku"] for o in options} | {n["sku"] for n in needs})
    )
    total = sum(priced, Decimal(0)) if priced else (Decimal(0) if not needs else None)
    no_part = needs_part_numbers(catalog, ((o.plan, o.term) for o in quote.options))
    data = {
        "serial": quote.serial,
        "model": quote.model,
        "on": quote.on.isoformat(),
        "plan": quote.plan.name,
        "plan_expires_on": None if quote.plan_expires_on is None else quote.plan_expires_on,
        "paid_until": quote.paid_until,
        "options": options,
        "battery": {
            "sku": quote.battery.sku,
            "replace_by": quote.battery.replace_by,
            "due": quote.battery.due,
        },
        "warranty": {
            "sku": quote.warranty.sku,
            "expires_on": quote.warranty.expires_on,
            "extendable": quote.warranty.extendable,
            "due": quote.warranty.due,
        },
        "needed": needs,
        "needed_total": total,
        "missing_prices": missing,
        "needs_part_number": no_part,
    }
    now = (
        f"{quote.plan.title} until {quote.plan_expires_on.isoformat()}"
        if quote.plan_expires_on
        else f"{quote.plan.title}, no paid time left"
    )
    lines = [
        f"quote for {quote.serial} ({quote.model}) on {quote.on.isoformat()}: {now}",
        "plan licenses, assigned on the quote day:",
        *_table(
            [(o["sku"], o["expires_on"], o["paid_until"], money(o["unit_price"])) for o in options],
            ("SKU", "expires on", "paid until", "unit price"),
            3,
        ),
    ]
    if needs:
        lines.append("needed within 12 months:")
        lines += _table(
            [
                (n["sku"], n["what"], str(n["quantity"]), money(n["unit_price"]), money(n["total"]))
                for n in needs
            ],
            ("SKU", "for", "qty", "unit price", "total"),
            2,
        )
        lines.append(f"total of what is needed: {money(total)}")
    else:
        lines.append(
            f"no battery or warranty extension needed within 12 months (battery "
            f"{quote.battery.sku}, warranty until {quote.warranty.expires_on.isoformat()})"
        )
    if missing:
        lines.append(
            "missing prices: "
            + ", ".join(missing)
            + ("" if prices is not None else " (give --prices FILE)")
        )
    lines += needs_part_numbers_line(no_part)
    out(args, data, "\n".join(lines))


def cmd_forecast(args: argparse.Namespace, config: Config) -> None:
    from upslife import reports

    prices = read_prices(args.prices)
    lifecycle = service(args, config)
    catalog = lifecycle.catalog
    renewal_sku = reports.plan_license_sku_of(catalog)
    try:
        lifecycle.store.get_owner(args.owner)  # an unknown owner is an error, not a zero budget
        devices = lifecycle.report_devices(args.owner, user=args.owner)
        start = args.on or lifecycle.today_for(args.owner)
        forecast = reports.budget_forecast(
            devices,
            start,
            args.months,
            prices=None if prices is None else reports.plan_license_prices(catalog, prices),
            plan_license_sku=renewal_sku,
        )
    finally:
        lifecycle.store.close()
    # a plan renewal's term is the buyer's choice: all three terms of its plan need a name
    plan_of = {renewal_sku(plan): plan for plan in Plan if plan.is_paid}
    renewed = {
        plan_of[line.sku]
        for m in forecast.months
        for line in m.lines
        if line.sku in plan_of
    }
    no_part = needs_part_numbers(catalog, ((plan, term) for plan in renewed for term in Term))
    months = []
    rows: list[tuple[str, ...]] = []
    for m in forecast.months:
        lines = []
        for line in m.lines:
            lines.append(
                {
                    "kind": line.kind.value,
                    "sku": line.sku,
                    "quantity": line.count,
                    "overdue": line.overdue,
                    "unit_price": line.unit_price,
                    "total": line.cost,
                }
            )
            rows.append(
                (
                    m.month.strftime("%Y-%m"),
                    line.sku or "(no SKU)",
                    line.kind.value,
                    str(line.count) + (f" ({line.overdue} overdue)" if line.overdue else ""),
                    money(line.unit_price),
                    money(line.cost),
                )
            )
        months.append({"month": m.month.isoformat(), "lines": lines, "total": m.cost})
    data = {
        "start": forecast.start.isoformat(),
        "months": months,
        "total": forecast.total,
        "complete": forecast.complete,
        "missing_prices": list(forecast.missing_prices),
        "without_sku": forecast.without_sku,
        "needs_part_number": no_part,
    }
    text = [f"forecast of {args.owner} from {forecast.start.isoformat()}, {args.months} month(s):"]
    if rows:
        text += _table(rows, ("month", "SKU", "for", "qty", "unit price", "total"), 3)
    else:
        text.append("  nothing to order")
    if prices is None:
        text.append("no price list: give --prices FILE ({SKU: price}) for totals")
    else:
        text.append(
            f"total: {money(forecast.total)}" + ("" if forecast.complete else " (incomplete)")
        )
    if forecast.missing_prices:
        text.append("missing prices: " + ", ".join(forecast.missing_prices))
    if forecast.without_sku:
        text.append(f"{forecast.without_sku} event(s) have no SKU to price")
    text += needs_part_numbers_line(no_part)
    out(args, data, "\n".join(text))


def add_quote_commands(add: Add) -> None:
    p = add(
        "quote", cmd_quote, "what to order for a device: 1Y/3Y/5Y plan options, battery, warranty"
    )
    p.add_argument("serial", help="the UPS's serial number")
    p.add_argument("--user", help="who asks (default: the owner); refused unless shared with them")
    p.add_argument("--prices", help="a JSON price list {SKU: price} for unit prices and totals")

    p = add("forecast", cmd_forecast, "a month-by-month budget forecast of a fleet")
    p.add_argument("--owner", required=True, help="the owner's account email")
    p.add_argument("--months", type=int, default=12, help="how many calendar months (default 12)")
    p.add_argument("--prices", help="a JSON price list {SKU: price} for unit prices and totals")
