"""B2: the daily sweep on SQLite, at two fleet sizes, beside three baselines of the same run.

For each fleet (built once and cached, see :func:`benchmarks.fleet.build_sqlite`), a fresh
working copy of the file is swept day after day by a child process
(:mod:`benchmarks.sweep_child`), which reports plan, digest and delivery timings and its
peak RSS. Beside it, on the same working copy:

- **raw SQL** (:func:`raw_sql_plan`): select the dated events whose due date is exactly
  the day + 90/30/7/0 from ``bench_events`` and insert one outbox row each, in one
  transaction: no catch-up, consent, recipients, dedupe or next-date bookkeeping. The
  ratio prices our rules and the crash-safe outbox;
- **full scan** (:func:`full_scan_sample`): what the sweep would cost without the
  ``next_notice_on`` index: every device's notices computed in Python with
  :func:`~upslife.notifications.due_notices`. Timed on a sample and extrapolated linearly
  to the fleet (the per-device cost does not depend on the fleet size);
- **bare MIMEText**: building one single-part ``email.mime.text.MIMEText`` per message
  delivered, in the sweep's own process.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import attrs

from benchmarks._measure import Figure, Timing, child_env, timed
from benchmarks.fleet import SWEEP_AT, BuildInfo, FleetSpec, build_sqlite
from upslife.adapters.sqlite import SqliteStore
from upslife.app.clock import local_date
from upslife.app.facts import facts_of
from upslife.catalog import Catalog
from upslife.invitations import InvitationState
from upslife.notifications import due_notices
from upslife.ports import Owner, Store

__all__ = ["ScaleResult", "figures", "full_scan_sample", "raw_sql_plan", "run_scale"]

_STAGES = ((90, "d90"), (30, "d30"), (7, "d7"), (0, "due"))


@attrs.frozen
class ScaleResult:
    """One fleet size: its build, the child's sweep report and the baselines."""

    devices: int
    build: BuildInfo
    sweep: dict[str, Any]  # the JSON of benchmarks.sweep_child
    raw_sql: tuple[tuple[int, Timing], ...]  # per day: rows inserted, time
    scan_devices: int
    scan_notices: int
    scan: Timing
    reference: dict[str, Any] = attrs.field(factory=dict)  # the reference planner's sweep

    @property
    def days(self) -> list[dict[str, Any]]:
        days: list[dict[str, Any]] = self.sweep["days"]
        return days

    def total(self, key: str) -> float:
        return sum(float(day[key]) for day in self.days)

    def plan_total(self, field: str) -> int:
        return sum(int(day["plan"][field]) for day in self.days)

    @property
    def plan_per_due_device(self) -> float:
        """Seconds of planning per due device (median over the days)."""
        return statistics.median(
            float(day["plan_wall"]) / max(1, int(day["plan"]["devices_due"])) for day in self.days
        )

    @property
    def scan_full_fleet(self) -> float:
        """The full scan's time extrapolated linearly to every device of the fleet."""
        return self.scan.wall / max(1, self.scan_devices) * self.devices

    @property
    def delivered(self) -> int:
        return sum(
            sum(int(day["delivery"][k]) for k in ("sent", "failed", "retrying", "suppressed"))
            for day in self.days
        )


def raw_sql_plan(path: Path, day: date) -> tuple[int, Timing]:
    """The baseline planner: raw SQL on the fleet file, events due exactly on a stage day."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_outbox (key TEXT NOT NULL, serial TEXT NOT NULL,"
            " owner_id TEXT NOT NULL, day TEXT NOT NULL, payload TEXT NOT NULL,"
            " status TEXT NOT NULL)"
        )
        stage_of = {(day + timedelta(days=d)).isoformat(): s for d, s in _STAGES}
        today = day.isoformat()

        def plan() -> int:
            conn.execute("BEGIN IMMEDIATE")
            rows = conn.execute(
                "SELECT serial, owner_id, kind, due FROM bench_events WHERE due IN (?, ?, ?, ?)",
                tuple(stage_of),
            ).fetchall()
            items = []
            for serial, owner, kind, due in rows:
                stage = stage_of[due]
                payload = json.dumps(
                    {"serial": serial, "kind": kind, "due": due, "stage": stage, "to": owner}
                )
                items.append((f"{serial}:{kind}:{due}:{stage}", serial, owner, today, payload))
            conn.executemany("INSERT INTO bench_outbox VALUES (?, ?, ?, ?, ?, 'PENDING')", items)
            conn.execute("COMMIT")
            return len(items)

        return timed(plan)
    finally:
        conn.close()


def full_scan_sample(path: Path, sample: int) -> tuple[int, int, Timing]:
    """``due_notices`` for the first ``sample`` devices by serial, read page by page.

    What a sweep without the ``next_notice_on`` index would do for every device: read it,
    its licenses, warranties and sent stages, and compute its notices (nothing is written,
    which only flatters the scan).
    """
    store = SqliteStore(path)
    catalog = Catalog.default()
    owners: dict[str, tuple[Owner, str | None, InvitationState | None]] = {}
    days: dict[str, date] = {}  # owner-local dates per time zone, as the planner keeps them

    def owner_of(store: Store, owner_id: str) -> tuple[Owner, str | None, InvitationState | None]:
        found = owners.get(owner_id)
        if found is None:
            owner = store.get_owner(owner_id)
            inv = store.current_invitation(owner_id)
            found = owners[owner_id] = (
                owner,
                None if inv is None else inv.reseller_email,
                None if inv is None else inv.state_at(SWEEP_AT),
            )
        return found

    def scan() -> tuple[int, int]:
        read = notices = 0
        after: str | None = None
        while read < sample:
            page = store.devices_due(date.max, after=after, limit=min(500, sample - read))
            if not page:
                break
            after = page[-1].serial
            for device in page:
                owner, reseller, state = owner_of(store, device.owner_id)
                today = days.get(owner.timezone)
                if today is None:
                    today = days[owner.timezone] = local_date(SWEEP_AT, owner.timezone)
                notices += len(
                    due_notices(
                        facts_of(store, catalog, device),
                        today,
                        owner=owner.contact,
                        reseller_email=reseller,
                        reseller_state=state,
                        chat_routes=owner.chat_routes,
                        sent=store.sent_stages(device.serial),
                    )
                )
                read += 1
        return read, notices

    try:
        (read, notices), took = timed(scan)
    finally:
        store.close()
    return read, notices, took


def _fresh_copy(pristine: Path, work: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(work) + suffix).unlink(missing_ok=True)
    shutil.copyfile(pristine, work)


def sweep_in_child(
    db: Path, days: int, profile: Path | None, *, planner: str = "scheduled"
) -> dict[str, Any]:
    """Run :mod:`benchmarks.sweep_child` on ``db`` and return its JSON report."""
    command = [sys.executable, "-m", "benchmarks.sweep_child", str(db), "--days", str(days)]
    command += ["--planner", planner]
    if profile is not None:
        command += ["--profile", str(profile)]
    done = subprocess.run(command, env=child_env(), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the sweep child failed:\n{done.stderr}")
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def run_scale(
    spec: FleetSpec,
    data: Path,
    *,
    days: int,
    sample: int,
    workers: int,
    profile: Path | None = None,
    progress: Callable[[str], None] = print,
) -> ScaleResult:
    """Build (or reuse) the fleet, then sweep a fresh copy and time the baselines."""
    pristine = data / f"fleet-{spec.devices}.db"
    progress(f"B2 fleet of {spec.devices:,}: building or reusing {pristine}")
    build = build_sqlite(pristine, spec, workers=workers, progress=progress)
    progress(f"  {'reused' if build.cached else 'built'} ({build.seconds:.0f} s to build)")
    work = data / f"work-{spec.devices}.db"
    _fresh_copy(pristine, work)
    scan_read, scan_notices, scan = full_scan_sample(work, min(sample, spec.devices))
    progress(f"  full scan: {scan_read:,} devices in {scan.wall:.1f} s")
    raw = tuple(raw_sql_plan(work, (SWEEP_AT + timedelta(days=k)).date()) for k in range(days))
    progress("  sweeping in a child process")
    sweep = sweep_in_child(work, days, profile)
    progress("  the reference planner (recompute everything due) on a fresh copy")
    _fresh_copy(pristine, work)
    reference = sweep_in_child(work, days, profile, planner="reference")
    for suffix in ("", "-wal", "-shm"):
        Path(str(work) + suffix).unlink(missing_ok=True)
    return ScaleResult(
        spec.devices, build, sweep, raw, scan_read, scan_notices, scan, reference
    )


def figures(small: ScaleResult, large: ScaleResult) -> list[Figure]:
    """The B2 figures: (a) vs raw SQL, (b) growth, (c) vs full scan, (d) delivery, (e) RSS."""
    figs: list[Figure] = []
    for r in (small, large):
        plan, raw = r.total("plan_wall"), sum(t.wall for _, t in r.raw_sql)
        rows = sum(n for n, _ in r.raw_sql)
        figs.append(
            Figure(
                "B2a",
                f"plan vs raw SQL, {r.devices:,} devices, {len(r.days)} day(s)",
                plan / raw,
                "× raw SQL",
                "≤ 5×",
                plan / raw <= 5,
                f"{plan:.2f} s: {r.plan_total('devices_due'):,} due devices, "
                f"{r.plan_total('notices_planned'):,} notices",
                f"{raw:.3f} s: {rows:,} rows",
            )
        )
        sql, commits = r.total("plan_sql_wall"), r.total("plan_commit_wall")
        figs.append(
            Figure(
                "B2a-sql",
                f"the plan's SQLite time alone vs raw SQL, {r.devices:,} devices",
                sql / raw,
                "× raw SQL",
                "—",
                None,
                f"{sql:.2f} s of the plan's {plan:.2f} s ({sql / plan:.0%}): commits and "
                f"their WAL checkpoints {commits:.2f} s, statements {sql - commits:.2f} s; "
                f"Python {plan - sql:.2f} s",
                f"{raw:.3f} s: {rows:,} rows",
            )
        )
        ref = sum(float(d["plan_wall"]) for d in r.reference["days"])
        figs.append(
            Figure(
                "B2a-ref",
                f"reference planner (recompute) vs raw SQL, {r.devices:,} devices",
                ref / raw,
                "× raw SQL",
                "same messages",
                r.reference["messages"] == r.sweep["messages"],
                f"{ref:.2f} s; the stored schedule is {ref / plan:.2f}× as fast; messages "
                f"{r.reference['messages']:,} (schedule {r.sweep['messages']:,})",
                f"{raw:.3f} s: {rows:,} rows",
            )
        )
    growth = large.plan_per_due_device / small.plan_per_due_device
    figs.append(
        Figure(
            "B2b",
            f"plan cost per due device, {large.devices:,} vs {small.devices:,}",
            growth,
            "×",
            "≤ 1.3×",
            growth <= 1.3,
            f"{large.plan_per_due_device * 1e3:.2f} ms/device; read "
            f"{large.plan_total('devices_read'):,} for {large.plan_total('devices_due'):,} due",
            f"{small.plan_per_due_device * 1e3:.2f} ms/device; read "
            f"{small.plan_total('devices_read'):,} for {small.plan_total('devices_due'):,} due",
        )
    )
    plan_day = large.total("plan_wall") / len(large.days)
    speedup = large.scan_full_fleet / plan_day
    figs.append(
        Figure(
            "B2c",
            f"full scan vs plan, {large.devices:,} devices",
            speedup,
            "× faster",
            "≥ 50×",
            speedup >= 50,
            f"plan {plan_day:.2f} s/day",
            f"scan {large.scan_full_fleet:.0f} s (extrapolated from {large.scan_devices:,} "
            f"devices in {large.scan.wall:.1f} s)",
        )
    )
    for r in (small, large):
        per_second = r.delivered / r.total("deliver_wall")
        mime = r.sweep["mime_count"] / max(1e-9, r.sweep["mime_wall"])
        figs.append(
            Figure(
                "B2d",
                f"deliver to a null sender, {r.devices:,} devices",
                mime / per_second,
                "× MIMEText time",
                "≥ 2,000 notices/s",
                per_second >= 2000,
                f"{per_second:,.0f} notices/s ({r.delivered:,} in {r.total('deliver_wall'):.2f} "
                f"s, CPU {r.total('deliver_cpu'):.2f} s); "
                f"{r.sweep['duplicates']} duplicate Message-IDs",
                f"{mime:,.0f} MIMEText/s",
            )
        )
    peak, start = large.sweep["peak_rss_mb"], large.sweep["start_rss_mb"]
    figs.append(
        Figure(
            "B2e",
            f"sweep peak RSS, {large.devices:,} devices, {len(large.days)} day(s)",
            peak / start,
            "× idle",
            "≤ 150 MB",
            peak <= 150,
            f"{peak:.0f} MiB peak (VmHWM)",
            f"{start:.0f} MiB after imports and opening the store",
        )
    )
    return figs
