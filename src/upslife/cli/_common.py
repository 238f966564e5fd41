"""What every command module of the CLI shares: the exit-status exceptions, the date type,
output as text or JSON, the configured service, and writing a table to a file whose
format follows its extension.

The command modules (``cli/devices.py``, ``cli/resellers.py``, ``cli/shares.py``,
``cli/chat.py``, ...) each add the commands of one story with :data:`Add`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from upslife._files import open_private
from upslife._validation import EARLIEST_DAY, LATEST_DAY
from upslife.app import FixedClock, Lifecycle, SystemClock
from upslife.cli.config import Config
from upslife.errors import InvalidInput
from upslife.ports import Clock

__all__ = [
    "FORMATS",
    "Add",
    "Command",
    "Fail",
    "TempFail",
    "counted",
    "date_arg",
    "format_of",
    "out",
    "service",
    "show_progress",
    "write_table",
]

R = TypeVar("R")


class Fail(Exception):
    """The job ran and failed: exit 1."""


class TempFail(Exception):
    """The job could not do its work now; nothing is lost: exit 75."""


Command = Callable[[argparse.Namespace, Config], None]


class Add(Protocol):
    """Adds a command ``name`` running ``func``, with ``help`` as its help and description."""

    def __call__(self, name: str, func: Command, help: str) -> argparse.ArgumentParser: ...


def date_arg(text: str) -> date:
    """An argparse type: a ``YYYY-MM-DD`` date within the range every date must fall in."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise argparse.ArgumentTypeError(
            f"{text} is outside {EARLIEST_DAY.isoformat()} to {LATEST_DAY.isoformat()}"
        )
    return day


def out(args: argparse.Namespace, data: object, text: str) -> None:
    """Print ``data`` as JSON with ``--json``, else ``text``."""
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True, default=str))
    else:
        print(text)


def service(args: argparse.Namespace, config: Config) -> Lifecycle:
    """The configured :class:`Lifecycle`; ``--on DAY`` fixes its clock at 12:00 UTC."""
    clock: Clock = SystemClock()
    if getattr(args, "on", None) is not None:
        on: date = args.on
        clock = FixedClock(datetime(on.year, on.month, on.day, 12, tzinfo=UTC))
    return Lifecycle(
        config.open_store(),
        clock=clock,
        keyring=config.keyring(),
        settings=config.delivery(),
        catalog=config.catalog(),
    )


FORMATS = {".csv": "csv", ".json": "json", ".xlsx": "xlsx"}
"""Report formats by file extension."""


def format_of(path: Path, given: str | None) -> str:
    """The format to write ``path`` in: ``given`` (``--format``), else its extension's.

    Refused (exit 2): an extension that names no known format without ``--format``, and a
    ``--format`` that contradicts a known extension (``--format csv --out r.xlsx``).
    """
    inferred = FORMATS.get(path.suffix.lower())
    if given is None:
        if inferred is None:
            known = ", ".join(sorted(FORMATS))
            raise InvalidInput(
                f"--out {path}: cannot tell the format from {path.suffix or 'no extension'!r}; "
                f"use one of {known} or give --format"
            )
        return inferred
    if inferred is not None and inferred != given:
        raise InvalidInput(f"--out {path} has a {path.suffix} extension but --format is {given}")
    return given


def write_table(path: Path, fmt: str, layout: Any, rows: Iterable[Any]) -> int:
    """Write ``rows`` in ``layout`` to ``path`` as ``fmt``; the file is 0600 when created."""
    from upslife import formats

    if fmt == "xlsx":
        return formats.write_xlsx(path, layout, rows)
    with open_private(path, "w") as fh:  # customer data: 0600 when created
        write = formats.write_csv if fmt == "csv" else formats.write_json
        return write(fh, layout, rows)


def show_progress(args: argparse.Namespace) -> bool:
    """Progress goes to a terminal only: never with ``--json`` or when standard error is a
    pipe or a file (cron, CI, logs)."""
    return not getattr(args, "json", False) and sys.stderr.isatty()


def counted(rows: Iterable[R], label: str, every: int = 1000) -> Iterator[R]:
    """``rows``, writing ``label: N`` in place on standard error every ``every`` rows."""
    n = 0
    for n, row in enumerate(rows, 1):
        if n % every == 0:
            sys.stderr.write(f"\r{label}: {n}")
            sys.stderr.flush()
        yield row
    if n >= every:
        sys.stderr.write(f"\r{label}: {n}\n")
        sys.stderr.flush()


class PlanProgress:
    """A sweep's progress on a terminal: ``planned N device(s)`` rewritten in place every
    ``every`` devices, and once more when the sweep ends."""

    def __init__(self, every: int = 100) -> None:
        self.every = every
        self.count = 0

    def __call__(self, serial: str) -> None:
        self.count += 1
        if self.count % self.every == 0:
            sys.stderr.write(f"\rplanned {self.count} device(s)")
            sys.stderr.flush()

    def finish(self) -> None:
        if self.count:
            sys.stderr.write(f"\rplanned {self.count} device(s)\n")
            sys.stderr.flush()
