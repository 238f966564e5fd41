"""Run every benchmark and print one table: ``python -m benchmarks.run``.

Options: ``--scale small|full`` (small: a quick check that the harness works, seconds;
full: the figures of docs/performance.md, minutes), ``--json out.json`` (every raw
measurement, the figures and the machine), ``--data DIR`` (where fleet files are built
once and reused; ``benchmarks/.data`` by default), ``--only b1,b2,b3,b4,b5``, and
``--profile DIR`` (pyinstrument text profiles of the sweep's plan and delivery steps; the
profiled timings are slower than unprofiled ones).

B4 needs PostgreSQL: it runs when ``UPSLIFE_TEST_POSTGRES_DSN`` is set (``source
.ci/services.sh && postgres_start`` sets it) and is skipped otherwise. B5 needs NUT's
``upsd`` and ``dummy-ups`` and is skipped, with a note, where they are missing.

Progress goes to stderr; the table (Markdown) to stdout. Each figure leads with a ratio to
a baseline timed in the same run; absolute times follow. Building fleets is setup, timed
and reported apart.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from benchmarks import b1_rules, b2_sweep, b3_reports, b4_postgres, b5_poll
from benchmarks._measure import REPO, Figure
from benchmarks.fleet import FleetSpec, build_sqlite

__all__ = ["SCALES", "Scale", "machine", "main", "table"]

POSTGRES_ENV = "UPSLIFE_TEST_POSTGRES_DSN"


@attrs.frozen
class Scale:
    """The sizes of one run."""

    b1_devices: int
    b1_repeats: int
    b2_small: int
    b2_large: int
    b2_days: int
    b2_scan_sample: int
    b3_repeats: int
    b4_devices: int
    b4_days: int


SCALES = {
    "small": Scale(
        b1_devices=5_000,
        b1_repeats=1,
        b2_small=2_000,
        b2_large=10_000,
        b2_days=2,
        b2_scan_sample=1_000,
        b3_repeats=1,
        b4_devices=2_000,
        b4_days=2,
    ),
    "full": Scale(
        b1_devices=100_000,
        b1_repeats=3,
        b2_small=100_000,
        b2_large=1_000_000,
        b2_days=3,
        b2_scan_sample=50_000,
        b3_repeats=2,
        b4_devices=100_000,
        b4_days=5,
    ),
}


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    """What the figures ran on."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 0
    return {
        "nproc": cores,
        "cpu": model,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


def table(figures: Sequence[Figure]) -> str:
    """The figures as a Markdown table."""
    head = ("id", "figure", "ratio (same-run baseline)", "target", "met", "ours", "baseline")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(f.row()) + " |" for f in figures]
    return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    if attrs.has(type(value)):
        return _jsonable(attrs.asdict(value, recurse=False))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--json", type=Path, default=None, help="write every measurement here")
    parser.add_argument("--data", type=Path, default=REPO / "benchmarks" / ".data")
    parser.add_argument("--only", default="b1,b2,b3,b4,b5", help="comma-separated subset")
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument(
        "--workers", type=int, default=min(2, os.cpu_count() or 1), help="fleet build processes"
    )
    args = parser.parse_args(argv)
    scale = SCALES[args.scale]
    only = {part.strip().lower() for part in args.only.split(",") if part.strip()}
    data: Path = args.data
    data.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    figures: list[Figure] = []
    raw: dict[str, Any] = {"scale": args.scale, "sizes": attrs.asdict(scale)}
    notes: list[str] = []

    if "b1" in only:
        _progress(f"B1 rules in memory: {scale.b1_devices:,} devices")
        b1 = b1_rules.run(scale.b1_devices, repeats=scale.b1_repeats)
        raw["b1"] = b1
        figures += b1_rules.figures(b1)

    large_fleet = data / f"fleet-{scale.b2_large}.db"
    if "b2" in only:
        small, large = (
            b2_sweep.run_scale(
                FleetSpec(devices),
                data,
                days=scale.b2_days,
                sample=scale.b2_scan_sample,
                workers=args.workers,
                profile=args.profile if devices == scale.b2_large else None,
                progress=_progress,
            )
            for devices in (scale.b2_small, scale.b2_large)
        )
        raw["b2"] = {"small": small, "large": large}
        figures += b2_sweep.figures(small, large)
        notes += [
            f"fleet of {r.devices:,}: {'reused' if r.build.cached else 'built'}, "
            f"{r.build.seconds:.0f} s to build ({r.build.devices / r.build.seconds:,.0f} "
            "devices/s, setup, not a target)"
            for r in (small, large)
        ]

    if "b3" in only:
        build = build_sqlite(
            large_fleet, FleetSpec(scale.b2_large), workers=args.workers, progress=_progress
        )
        _progress(f"B3 MyRenewals from the fleet of {build.devices:,}")
        b3 = b3_reports.run(large_fleet, data, repeats=scale.b3_repeats)
        raw["b3"] = b3
        figures += b3_reports.figures(b3)

    if "b4" in only:
        dsn = os.environ.get(POSTGRES_ENV)
        if dsn:
            b4 = b4_postgres.run(dsn, scale.b4_devices, days=scale.b4_days, progress=_progress)
            raw["b4"] = b4
            figures += b4_postgres.figures(b4)
            notes.append(
                f"PostgreSQL fleet of {b4.devices:,}: {b4.build.seconds:.0f} s to write through "
                "PostgresStore and copy (setup, not a target)"
            )
        else:
            notes.append(f"B4 skipped: set {POSTGRES_ENV} (source .ci/services.sh)")

    if "b5" in only:
        reason = b5_poll.missing()
        if reason is None:
            _progress(f"B5 one poll of {b5_poll.UNITS[args.scale]} UPS behind a local upsd")
            b5 = b5_poll.run(b5_poll.UNITS[args.scale])
            raw["b5"] = b5
            figures += b5_poll.figures(b5)
        else:
            notes.append(f"B5 skipped: {reason}")

    info = machine()
    elapsed = time.perf_counter() - started
    print(table(figures))
    print()
    print(
        f"{info['nproc']} core(s), {info['cpu']}, {info['implementation']} {info['python']}, "
        f"SQLite {info['sqlite']}; scale {args.scale}; {elapsed:.0f} s in all"
    )
    for figure in figures:
        if figure.note:
            print(f"- {figure.id}: {figure.note}")
    for note in notes:
        print(f"- {note}")
    if args.json is not None:
        document = {
            "machine": info,
            "seconds": elapsed,
            "figures": [attrs.asdict(f) for f in figures],
            "notes": notes,
            "raw": _jsonable(raw),
        }
        args.json.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
