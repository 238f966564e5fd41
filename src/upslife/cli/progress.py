"""Progress of long work on a terminal: a poll of many UPS units.

The caller decides whether to show it (:func:`upslife.cli._common.show_progress`: a
terminal, and no ``--json``); this module only counts and draws.
"""

from __future__ import annotations

import sys
import threading
from datetime import datetime

from upslife.hardware.snapshot import (
    ClosingTransport,
    DeviceCommand,
    DeviceSnapshot,
    UpsTransport,
)

__all__ = ["CountingTransport"]


class CountingTransport(ClosingTransport):
    """A transport that draws ``polled N/M UPS`` in place on standard error as each read
    ends (reads may run in several threads); everything else goes to ``inner``."""

    def __init__(self, inner: UpsTransport) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self._done = 0
        self._total = 0

    def list_devices(self) -> tuple[str, ...]:
        names = self._inner.list_devices()
        self._total = len(names)
        return names

    def read(self, device: str, *, read_at: datetime | None = None) -> DeviceSnapshot:
        try:
            return self._inner.read(device, read_at=read_at)
        finally:
            with self._lock:
                self._done += 1
                total = max(self._total, self._done)
                sys.stderr.write(f"\rpolled {self._done}/{total} UPS")
                sys.stderr.flush()

    def set_variable(self, device: str, name: str, value: str) -> None:
        self._inner.set_variable(device, name, value)

    def run_command(self, device: str, command: DeviceCommand) -> None:
        self._inner.run_command(device, command)

    def finish(self) -> None:
        """End the progress line (once the poll is over)."""
        if self._done:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self._done = 0

    def close(self) -> None:
        self.finish()
        self._inner.close()
