"""B5: one poll of many UPS units behind a real local ``upsd``, against the sum of single reads.

The units are ``dummy-ups`` drivers serving copies of the test fixture's Smart-UPS 1500
(each with its own serial), all behind one ``upsd`` on 127.0.0.1
(:class:`tests.hardware.nutfarm.NutFarm`); every one is registered in a SQLite store.

- **baseline**: each unit read alone, on a fresh connection (connect, ``LIST VAR``,
  ``LOGOUT``), one after the other; the sum of those reads is what a sequential poll
  costs at best;
- **ours**: one ``Lifecycle.poll`` of every unit (``LIST UPS``, concurrent reads, one
  connection per worker, every reading folded into the store); both this and the
  baseline are the median of three runs;
- **wedged**: the same poll against a server that accepts and never answers, with a
  time budget, against the sequential poll it replaces (one timeout per unit);
- **kept-open connection**: sequential reads on one connection, with ``TCP_QUICKACK``
  set before each read (the client's default) and without it (the delayed-ACK stall).

Needs NUT's ``upsd`` and ``dummy-ups`` (``source .ci/nut.sh && nut_install``); the runner
skips B5 with a note otherwise.
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import attrs
from tests.hardware.nutfarm import NutFarm, nut_missing
from tests.peers import silent_server

from benchmarks._measure import REPO, Figure
from upslife.adapters.sqlite import SqliteStore
from upslife.app import FixedClock, Lifecycle
from upslife.app.polling import _read_all
from upslife.errors import TransportError
from upslife.hardware import nut as nut_module
from upslife.hardware.nut import NutClient, NutTransport
from upslife.notifications import Contact
from upslife.ports import Owner

__all__ = ["UNITS", "PollRun", "figures", "missing", "run"]

#: Units per scale: ``small`` checks the harness, ``full`` is the figure of the docs.
UNITS = {"small": 20, "full": 500}
FIXTURE = REPO / "tests" / "hardware" / "fixtures" / "SMT1500C.dev"
SERIAL = "AS2312345678"
OWNER = "ops@acme.example"
REPEATS = 3  # the poll and the baseline are each the median of this many runs
WEDGED_TIMEOUT = 2.0
WEDGED_BUDGET = 10.0


@attrs.frozen
class PollRun:
    """What B5 measured."""

    units: int
    workers: int
    poll_seconds: float
    reads_seconds: float
    read: int
    updated: int
    failed: int
    single_reads_sum: float
    single_read_median_ms: float
    kept_open_ms_quickack: float
    kept_open_ms_plain: float
    start_seconds: float
    wedged_seconds: float
    wedged_one_read: float
    wedged_budget: float


def missing() -> str | None:
    """Why B5 cannot run here, or ``None``."""
    return nut_missing()


def _kept_open_ms(port: int, names: list[str], *, quickack: bool) -> float:
    saved = nut_module._QUICKACK
    nut_module._QUICKACK = saved if quickack else None
    try:
        with NutClient("127.0.0.1", port, timeout=10.0) as client:
            client.list_var(names[0])  # warm up
            started = time.perf_counter()
            for name in names:
                client.list_var(name)
            return (time.perf_counter() - started) / len(names) * 1000
    finally:
        nut_module._QUICKACK = saved


def _wedged(service: Lifecycle, names: list[str], *, budget: float) -> tuple[float, float]:
    """A poll of every name behind a upsd that accepts and never answers, with a budget;
    and one read's time there (each read waits out the transport's timeout)."""
    with silent_server() as port:
        with NutTransport("127.0.0.1", port, timeout=WEDGED_TIMEOUT) as one:
            t0 = time.perf_counter()
            with contextlib.suppress(TransportError):
                one.read(names[0])
            one_read = time.perf_counter() - t0
        with NutTransport("127.0.0.1", port, timeout=WEDGED_TIMEOUT) as transport:
            t0 = time.perf_counter()
            service.poll(transport, devices=names, budget=budget)
            seconds = time.perf_counter() - t0
    return seconds, one_read


def run(units: int, *, workers: int = 16) -> PollRun:
    """Start ``units`` dummy-ups behind one upsd, register them, and measure."""
    with tempfile.TemporaryDirectory(prefix="upslife-b5.") as tmp:
        base = FIXTURE.read_text()
        dumps: dict[str, Path] = {}
        serials: list[str] = []
        for k in range(units):
            serial = f"AS25{k:08d}"
            path = Path(tmp) / f"u{k:04d}.dev"
            path.write_text(base.replace(SERIAL, serial))
            dumps[f"u{k:04d}"] = path
            serials.append(serial)
        started = time.perf_counter()
        with NutFarm(dumps, ready_within=300.0) as farm:
            start_seconds = time.perf_counter() - started
            if farm.not_ready:
                raise RuntimeError(f"{len(farm.not_ready)} units never published data")
            store = SqliteStore(Path(tmp) / "b5.db")
            clock = FixedClock(datetime(2026, 12, 1, 8, tzinfo=UTC))
            service = Lifecycle(store, clock=clock)
            contact = Contact("Acme", "Ada Lovelace", OWNER, "IT", "+33 1 23 45 67 89")
            service.add_owner(Owner(OWNER, contact, "UTC"))
            for serial in serials:
                service.register_device(OWNER, serial, "SMT1500C", on=date(2026, 1, 5))

            names = sorted(dumps)
            sums: list[float] = []
            singles: list[float] = []
            for _ in range(REPEATS):
                singles = []
                for name in names:
                    t0 = time.perf_counter()
                    with NutTransport("127.0.0.1", farm.port, timeout=10.0) as one:
                        one.read(name)
                    singles.append(time.perf_counter() - t0)
                sums.append(sum(singles))

            quick = _kept_open_ms(farm.port, names[:100], quickack=True)
            plain = _kept_open_ms(farm.port, names[:100], quickack=False)

            with NutTransport("127.0.0.1", farm.port, timeout=10.0) as transport:
                t0 = time.perf_counter()
                _read_all(transport, names, clock.now(), 600.0, workers)
                reads_seconds = time.perf_counter() - t0
            polls: list[float] = []
            for _ in range(REPEATS):
                with NutTransport("127.0.0.1", farm.port, timeout=10.0) as transport:
                    t0 = time.perf_counter()
                    report = service.poll(transport, workers=workers, budget=600.0)
                    polls.append(time.perf_counter() - t0)
            poll_seconds = statistics.median(polls)
            wedged_seconds, wedged_one = _wedged(service, names, budget=WEDGED_BUDGET)
            store.close()
    return PollRun(
        units=units,
        workers=workers,
        poll_seconds=poll_seconds,
        reads_seconds=reads_seconds,
        read=report.read,
        updated=len(report.updated),
        failed=len(report.failed),
        single_reads_sum=statistics.median(sums),
        single_read_median_ms=statistics.median(singles) * 1000,
        kept_open_ms_quickack=quick,
        kept_open_ms_plain=plain,
        start_seconds=start_seconds,
        wedged_seconds=wedged_seconds,
        wedged_one_read=wedged_one,
        wedged_budget=WEDGED_BUDGET,
    )


def figures(r: PollRun) -> list[Figure]:
    """B5's lines of the results table."""
    return [
        Figure(
            id="B5",
            what=f"one poll of {r.units} UPS behind a local upsd ({r.workers} workers)",
            ratio=r.poll_seconds / r.single_reads_sum,
            ratio_label="× sum of single reads",
            target="— (every unit read and stored)",
            met=None if r.updated == r.units else False,
            ours=(f"{r.poll_seconds:.2f} s: {r.read} read, {r.updated} updated, {r.failed} failed"),
            baseline=(
                f"{r.single_reads_sum:.2f} s: {r.units} fresh-connection reads "
                f"(median {r.single_read_median_ms:.1f} ms)"
            ),
            note=(
                f"kept-open connection, sequential: {r.kept_open_ms_quickack:.2f} ms/read with "
                f"TCP_QUICKACK, {r.kept_open_ms_plain:.2f} ms/read without; "
                f"{r.units} dummy-ups + upsd started in {r.start_seconds:.0f} s (setup); "
                f"the poll's concurrent reads alone took {r.reads_seconds:.2f} s"
            ),
        ),
        Figure(
            id="B5w",
            what=f"one poll of {r.units} UPS behind a wedged upsd, budget {r.wedged_budget:g} s",
            ratio=r.wedged_seconds / (r.units * r.wedged_one_read),
            ratio_label="× reading one by one",
            target=f"returns within the budget ({r.wedged_budget:g} s)",
            met=r.wedged_seconds < r.wedged_budget + 1.0,
            ours=f"{r.wedged_seconds:.1f} s, every unit reported as not read",
            baseline=(
                f"{r.units * r.wedged_one_read:.0f} s: {r.units} × one read's "
                f"{r.wedged_one_read:.2f} s timeout (the sequential poll)"
            ),
        ),
    ]
