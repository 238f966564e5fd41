"""One MyRenewals export in a process of its own: its time and its peak RSS.

``python -m benchmarks.report_child DB OWNER OUT --mode ours|service|bare`` writes the CSV
of the owner's devices to ``OUT`` and prints one JSON object: rows, wall and CPU seconds,
the resident set before the export (imports done, store open) and the peak after it.

- ``ours``: the store streamed a page at a time
  (:func:`upslife.app.facts.report_devices_of`; the owner sees every device, so no sharing
  state is loaded, as in ``Lifecycle.report_devices``, SPEC R5) →
  :func:`upslife.reports.renewal_rows` →
  :func:`upslife.formats.write_csv` with the ``MY_RENEWALS`` layout, in the store's order
  (serial; R4's order would need the store to sort by ``renewal_due_on``: sorting in memory,
  as the CLI's ``sorted_for_renewal`` does, holds every row);
- ``service``: the same through :meth:`Lifecycle.report_devices
  <upslife.app.Lifecycle.report_devices>`;
- ``bare``: the same reads from the same store (the devices a page at a time, each one's
  licenses and warranties) dumped with a bare ``csv.writer``: ten columns of stored
  values, no rules.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import TextIO

from benchmarks._measure import hwm_mb, rss_mb, timed
from benchmarks.fleet import SWEEP_AT
from upslife.adapters.sqlite import SqliteStore
from upslife.app import FixedClock, Lifecycle
from upslife.app.facts import report_devices_of
from upslife.catalog import Catalog
from upslife.formats import MY_RENEWALS, write_csv
from upslife.ports import Device, Store
from upslife.reports import renewal_rows

__all__ = ["bare_dump", "main", "our_export", "service_export"]


def our_export(store: Store, owner: str, as_of: date, out: TextIO) -> int:
    """The library's MyRenewals path, streamed from the store to ``out``."""
    devices = report_devices_of(store, Catalog.default(), owner)
    return write_csv(out, MY_RENEWALS, renewal_rows(devices, as_of))


def service_export(store: Store, owner: str, as_of: date, out: TextIO) -> int:
    """The same through ``Lifecycle.report_devices``."""
    service = Lifecycle(store, catalog=Catalog.default(), clock=FixedClock(SWEEP_AT))
    devices = service.report_devices(owner, user=owner)
    return write_csv(out, MY_RENEWALS, renewal_rows(devices, as_of))


def _pages(store: Store, owner: str, page: int = 1000) -> Iterator[Device]:
    after: str | None = None
    while devices := store.devices_of(owner, after=after, limit=page):
        yield from devices
        after = devices[-1].serial


def _day(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def bare_dump(store: Store, owner: str, out: TextIO) -> int:
    """The baseline: the same reads, stored values written with a bare ``csv.writer``."""
    writer = csv.writer(out)
    writer.writerow(MY_RENEWALS.headers)
    rows = 0
    for d in _pages(store, owner):
        licenses = store.licenses_of(d.serial)
        warranties = store.warranties_of(d.serial)
        cells: Iterable[str] = (
            d.model,
            d.serial,
            _day(d.registered_on),
            _day(d.manufactured_on),
            d.policy.name,
            _day(d.battery_installed_on),
            _day(d.battery_reported_replace_by),
            _day(d.next_notice_on),
            "; ".join(f"{lic.plan.name} {lic.months}m {_day(lic.assigned_on)}" for lic in licenses),
            "; ".join(w.sku for w in warranties),
        )
        writer.writerow(cells)
        rows += 1
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report_child")
    parser.add_argument("db", type=Path)
    parser.add_argument("owner")
    parser.add_argument("out", type=Path)
    parser.add_argument("--mode", choices=["ours", "service", "bare"], required=True)
    args = parser.parse_args(argv)
    store = SqliteStore(args.db)
    as_of = SWEEP_AT.date()
    start = rss_mb()
    with args.out.open("w", encoding="utf-8", newline="") as out:
        if args.mode == "ours":
            rows, took = timed(lambda: our_export(store, args.owner, as_of, out))
        elif args.mode == "service":
            rows, took = timed(lambda: service_export(store, args.owner, as_of, out))
        else:
            rows, took = timed(lambda: bare_dump(store, args.owner, out))
    peak = hwm_mb()
    store.close()
    json.dump(
        {
            "rows": rows,
            "wall": took.wall,
            "cpu": took.cpu,
            "start_rss_mb": start,
            "peak_rss_mb": peak,
            "bytes": args.out.stat().st_size,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
