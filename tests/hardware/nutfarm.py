"""Many UPS units behind one real ``upsd``: one ``dummy-ups`` driver per ``.dev`` dump.

NUT's ``dummy-ups`` serves a device dump (``upsc`` output) as if it were the device, and
one ``upsd`` serves every driver listed in its ``ups.conf``. :class:`NutFarm` writes that
configuration into a temporary directory (nothing under ``/etc/nut`` is read or written),
starts the drivers and the server on 127.0.0.1, and waits until every UPS has published
its data. Used by the Device Dump Library test and the 500-UPS poll benchmark.

Needs ``upsd`` and ``dummy-ups`` (Debian ``nut-server``; ``.ci/nut.sh`` installs it) in
``NUT_DRIVER_DIR`` (``/lib/nut`` by default).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

from upslife.errors import NutDeviceUnavailable, TransportError
from upslife.hardware.nut import NutClient

REPO = Path(__file__).resolve().parents[2]
#: Where the NUT project's Device Dump Library copy lives, beside the repository.
DDL = REPO.parent / "shared" / "nut-ddl"
DRIVER_DIR = Path(os.environ.get("NUT_DRIVER_DIR", "/lib/nut"))
USER = "upslife"
PASSWORD = "upslife-farm-password"


def nut_missing() -> str | None:
    """Why a farm cannot start here, or ``None`` when it can."""
    for program in ("upsd", "dummy-ups"):
        if not os.access(DRIVER_DIR / program, os.X_OK):
            return (
                f"{DRIVER_DIR / program} is missing: install NUT first "
                "(`source .ci/nut.sh && nut_install`)"
            )
    return None


def dumps() -> list[Path]:
    """Every ``.dev`` dump of the library, sorted; empty when the library is absent."""
    return sorted(DDL.rglob("*.dev")) if DDL.is_dir() else []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class NutFarm:
    """``devices`` maps each UPS name to the dump its ``dummy-ups`` serves.

    ``with NutFarm(devices) as farm:`` starts everything and waits (at most
    ``ready_within`` seconds) until each UPS answers ``LIST VAR`` with data; ``farm.port``
    is upsd's port, :attr:`not_ready` names the units that never did. The user
    :data:`USER` / :data:`PASSWORD` may ``SET`` and run every instant command.
    """

    def __init__(self, devices: Mapping[str, Path], *, ready_within: float = 60.0) -> None:
        self.devices = dict(devices)
        self.ready_within = ready_within
        self.port = _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="upslife-farm."))
        self.not_ready: dict[str, str] = {}
        self._procs: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        """``nut://user:password@127.0.0.1:port`` (no UPS named: the whole farm)."""
        return f"nut://{USER}:{PASSWORD}@127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        state = str(self.dir / "state")
        return {
            **os.environ,
            "NUT_CONFPATH": str(self.dir),
            "NUT_STATEPATH": state,
            "NUT_ALTPIDPATH": state,
        }

    def _configure(self) -> None:
        (self.dir / "state").mkdir(mode=0o700)
        (self.dir / "dumps").mkdir()
        (self.dir / "nut.conf").write_text("MODE=standalone\n")
        sections = []
        for name, dump in self.devices.items():
            # dummy-ups reads the file by its path; a copy spares quoting odd names.
            local = self.dir / "dumps" / f"{name}.dev"
            shutil.copyfile(dump, local)
            sections.append(f"[{name}]\n  driver = dummy-ups\n  port = {local}\n")
        (self.dir / "ups.conf").write_text("".join(sections))
        (self.dir / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {self.port}\nMAXCONN 4096\n")
        (self.dir / "upsd.users").write_text(
            f"[{USER}]\n  password = {PASSWORD}\n  actions = SET\n  instcmds = ALL\n"
        )
        for conf in ("nut.conf", "ups.conf", "upsd.conf", "upsd.users"):
            (self.dir / conf).chmod(0o600)

    def _spawn(self, args: list[str], log: str) -> None:
        with (self.dir / log).open("ab") as out:
            self._procs.append(
                subprocess.Popen(args, env=self._env(), stdout=out, stderr=subprocess.STDOUT)
            )

    def start(self) -> None:
        """Write the configuration, start the drivers and upsd, wait for their data."""
        self._configure()
        for name in self.devices:
            driver = [str(DRIVER_DIR / "dummy-ups"), "-a", name, "-F", "-u", "root"]
            self._spawn(driver, "drivers.log")
        # upsd connects to each driver's socket at start-up (and retries later).
        sockets = self.dir / "state"
        deadline = time.monotonic() + self.ready_within
        while time.monotonic() < deadline:
            ready = [p for p in sockets.iterdir() if p.is_socket()]
            if len(ready) >= len(self.devices) or any(p.poll() for p in self._procs):
                break
            time.sleep(0.1)
        self._spawn([str(DRIVER_DIR / "upsd"), "-F", "-u", "root"], "upsd.log")
        self._wait_ready(deadline)

    def _wait_ready(self, deadline: float) -> None:
        waiting = set(self.devices)
        while waiting and time.monotonic() < deadline:
            try:
                with NutClient("127.0.0.1", self.port, timeout=5.0) as client:
                    for name in sorted(waiting):
                        try:
                            status = client.list_var(name).get("ups.status", "")
                        except NutDeviceUnavailable as e:
                            self.not_ready[name] = str(e)
                            continue
                        if status.strip() != "WAIT":
                            waiting.discard(name)
                            self.not_ready.pop(name, None)
            except TransportError as e:  # upsd not listening yet
                for name in waiting:
                    self.not_ready[name] = str(e)
            if waiting:
                time.sleep(0.2)
        for name in waiting:
            self.not_ready.setdefault(name, "no data within the start-up bound")

    def log(self) -> str:
        """What the daemons wrote (for a failure message)."""
        parts = []
        for name in ("upsd.log", "drivers.log"):
            path = self.dir / name
            if path.exists():
                parts.append(f"--- {name}\n{path.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        """Stop every process this farm started and remove its directory."""
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self._procs.clear()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
