"""What every benchmark shares: timers, memory readings, null senders and result figures."""

from __future__ import annotations

import gc
import importlib
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import Message
from pathlib import Path
from typing import Any, Final, TypeVar

import attrs

from upslife.app.sweep import DeliverySettings
from upslife.invitations import Keyring, SigningKey

__all__ = [
    "KEYRING",
    "REPO",
    "Figure",
    "NullChat",
    "NullMail",
    "SqlClock",
    "Timing",
    "child_env",
    "hwm_mb",
    "profiled",
    "rss_mb",
    "settings",
    "timed",
]

T = TypeVar("T")

REPO: Final = Path(__file__).resolve().parent.parent
KEYRING: Final = Keyring(SigningKey("bench", b"b" * 32))


def settings() -> DeliverySettings:
    """Delivery settings with a keyring, so reseller notices get their unsubscribe link."""
    return DeliverySettings(keyring=KEYRING)


@attrs.frozen
class Timing:
    """Wall-clock and CPU seconds of one timed call."""

    wall: float
    cpu: float


def timed(fn: Callable[[], T]) -> tuple[T, Timing]:
    """``fn()`` and what it took; garbage is collected first so runs start alike."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, Timing(time.perf_counter() - wall, time.process_time() - cpu)


class SqlClock:
    """Wall seconds a :class:`~upslife.adapters.sqlite.SqliteStore` spends in SQLite.

    It wraps the store's two statement runners (``_execute`` and ``_execute_many``, every
    statement goes through one of them), so a figure can say how much of a step is the
    database's (statements, commits with their WAL checkpoints) and how much is Python's.
    ``commit`` is the part spent in ``COMMIT``. A measuring tool only: it reaches into
    the store's private methods, which no library code may do.
    """

    def __init__(self, store: Any) -> None:
        self.total = 0.0
        self.commit = 0.0
        run_one, run_many = store._execute, store._execute_many

        def timed_one(sql: str, *args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return run_one(sql, *args, **kwargs)
            finally:
                took = time.perf_counter() - start
                self.total += took
                if sql == "COMMIT":
                    self.commit += took

        def timed_many(sql: str, *args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return run_many(sql, *args, **kwargs)
            finally:
                self.total += time.perf_counter() - start

        store._execute, store._execute_many = timed_one, timed_many

    def reset(self) -> tuple[float, float]:
        """The (total, commit) seconds since the last reset, and start again."""
        took = self.total, self.commit
        self.total = self.commit = 0.0
        return took


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def rss_mb() -> float:
    """The process's resident set now (VmRSS), in MiB; peak RSS where /proc is missing."""
    now = _status_mb("VmRSS")
    return now if now is not None else hwm_mb()


def hwm_mb() -> float:
    """The process's peak resident set (VmHWM, else ``ru_maxrss``), in MiB."""
    peak = _status_mb("VmHWM")
    if peak is not None:
        return peak
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024


def child_env() -> dict[str, str]:
    """The environment for a child ``python -m benchmarks...``: this repository importable."""
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": str(REPO) + (os.pathsep + path if path else "")}


@contextmanager
def profiled(out: Path | None, name: str) -> Iterator[None]:
    """Profile the block with pyinstrument into ``out/name.txt`` when ``out`` is given.

    pyinstrument is not a dependency: install it into the venv to profile.
    """
    if out is None:
        yield
        return
    module: Any = importlib.import_module("pyinstrument")
    profiler = module.Profiler(interval=0.0005)
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        out.mkdir(parents=True, exist_ok=True)
        text = profiler.output_text(unicode=False, color=False, show_all=False)
        (out / f"{name}.txt").write_text(text)


class NullMail:
    """A mail sender that sends nothing; it keeps each Message-ID to count duplicates."""

    def __init__(self) -> None:
        self.message_ids: list[str] = []

    def send(self, message: Message) -> None:
        self.message_ids.append(str(message["Message-ID"]))


class NullChat:
    """A chat sender that posts nothing."""

    def __init__(self) -> None:
        self.posted = 0

    def post(self, url: str, payload: dict[str, object]) -> None:
        self.posted += 1


@attrs.frozen
class Figure:
    """One line of the results table: a ratio to a same-run baseline first, then absolutes.

    ``ratio`` reads as ``ratio_label`` says (e.g. "× raw SQL": how many times the
    baseline's time ours takes); ``met`` is ``None`` where no target applies.
    """

    id: str
    what: str
    ratio: float | None
    ratio_label: str
    target: str
    met: bool | None
    ours: str
    baseline: str
    note: str = ""

    def row(self) -> tuple[str, ...]:
        ratio = "—" if self.ratio is None else f"{self.ratio:,.2f}{self.ratio_label}"
        met = {True: "yes", False: "MISSED", None: "—"}[self.met]
        return (self.id, self.what, ratio, self.target, met, self.ours, self.baseline)
