"""B3: the MyRenewals CSV of a large owner, beside a bare ``csv.writer`` dump of the same reads.

The fleet file of B2 holds two managed-service providers: one with a tenth of the fleet
(100,000 devices at full scale) and one with a hundredth (10,000). Each export runs in a
child process (:mod:`benchmarks.report_child`) so its peak RSS is its own; the time ratio
is ours over the bare dump at the large owner (CPU seconds), and memory is flat when the
peak above the idle process hardly grows from the small owner to the large one. The
``Lifecycle.report_devices`` path is measured too, for its memory.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs

from benchmarks._measure import Figure, child_env
from benchmarks.fleet import owner_id

__all__ = ["B3Result", "export_in_child", "figures", "run"]


@attrs.frozen
class B3Result:
    """Child reports, keyed ``"<mode>/<owner index>"``; owner 0 is the large one."""

    runs: dict[str, dict[str, Any]]

    def get(self, mode: str, owner: int) -> dict[str, Any]:
        return self.runs[f"{mode}/{owner}"]

    def extra_mb(self, mode: str, owner: int) -> float:
        run = self.get(mode, owner)
        return float(run["peak_rss_mb"] - run["start_rss_mb"])


def export_in_child(db: Path, owner: str, out: Path, mode: str) -> dict[str, Any]:
    """Run :mod:`benchmarks.report_child` and return its JSON report."""
    command = [sys.executable, "-m", "benchmarks.report_child", str(db), owner, str(out)]
    done = subprocess.run(
        [*command, "--mode", mode], env=child_env(), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"the report child failed:\n{done.stderr}")
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def run(db: Path, work: Path, *, repeats: int = 2) -> B3Result:
    """Every export for both owners; the large owner's timings are best of ``repeats``
    (the service path, there for its memory, runs once)."""
    runs: dict[str, dict[str, Any]] = {}
    for owner in (1, 0):
        for n in range(repeats if owner == 0 else 1):
            for mode in ("bare", "ours") if n else ("bare", "ours", "service"):
                out = work / f"renewals-{mode}-{owner}.csv"
                report = export_in_child(db, owner_id(owner), out, mode)
                out.unlink(missing_ok=True)
                best = runs.get(f"{mode}/{owner}")
                if best is None or report["cpu"] < best["cpu"]:
                    runs[f"{mode}/{owner}"] = report
    return B3Result(runs)


def figures(result: B3Result) -> list[Figure]:
    ours, bare = result.get("ours", 0), result.get("bare", 0)
    rows = ours["rows"]
    small_rows = result.get("ours", 1)["rows"]
    ratio = ours["cpu"] / bare["cpu"]
    grow = result.extra_mb("ours", 0) / max(0.5, result.extra_mb("ours", 1))
    return [
        Figure(
            "B3",
            f"MyRenewals CSV, {rows:,} devices",
            ratio,
            "× bare csv",
            "≤ 2×",
            ratio <= 2,
            f"{rows / ours['cpu']:,.0f} rows/s ({ours['cpu']:.1f} s CPU, {ours['wall']:.1f} s)",
            f"{rows / bare['cpu']:,.0f} rows/s ({bare['cpu']:.1f} s CPU, {bare['wall']:.1f} s)",
        ),
        Figure(
            "B3m",
            f"MyRenewals memory, {rows:,} vs {small_rows:,} devices",
            grow,
            "× peak above idle",
            "flat (≤ 1.5×)",
            grow <= 1.5,
            f"+{result.extra_mb('ours', 0):.0f} MiB at {rows:,} "
            f"(+{result.extra_mb('ours', 1):.0f} MiB at {small_rows:,})",
            f"bare: +{result.extra_mb('bare', 0):.0f} MiB at {rows:,} "
            f"(+{result.extra_mb('bare', 1):.0f} MiB at {small_rows:,})",
            note=f"through Lifecycle.report_devices: "
            f"+{result.extra_mb('service', 0):.0f} MiB at {rows:,} "
            f"(+{result.extra_mb('service', 1):.0f} MiB at {small_rows:,})",
        ),
    ]
