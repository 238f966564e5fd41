"""Real peers for the transport tests.

- ``nut_url``: the ``upsd`` + ``dummy-ups`` pair that ``.ci/nut.sh`` starts
  (``UPSLIFE_TEST_NUT_URL``). Without it the NUT tests skip, except in CI, where they fail.
- ``fake_upsd``: a small threaded socket server of our own that speaks just enough of the
  NUT protocol to script what ``dummy-ups`` cannot do (an instant command that succeeds,
  a half-sent list, garbage).
- ``modbus_server``: a real pymodbus TCP server in a background event loop on
  127.0.0.1, holding an APC register image, recording every write.
- ``silent_server``: a TCP server that accepts connections and never answers.

Everything is closed on teardown: pytest runs with ``filterwarnings = error``, so a leaked
socket or event loop fails the test that leaked it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import Any

import pytest

from tests import peers

APC_EPOCH = date(2000, 1, 1)

# ----------------------------------------------------------------------------- NUT (real)


@pytest.fixture(scope="session")
def nut_url() -> str:
    """The URL of the real upsd started by ``.ci/nut.sh`` (``nut_start``)."""
    url = os.environ.get("UPSLIFE_TEST_NUT_URL")
    if not url:
        reason = (
            "UPSLIFE_TEST_NUT_URL is not set: start a NUT server first with "
            "`source .ci/nut.sh && nut_install && nut_start`"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI must run the NUT tests)")
        pytest.skip(reason)
    return url


# ----------------------------------------------------------------------------- NUT (fake)

Handler = Callable[[str], bytes | list[bytes] | None]


class FakeUpsd:
    """A threaded NUT-protocol server: each request line goes to ``handler``, whose bytes
    are sent back (``None``: send nothing; a list: one chunk every ``drip`` seconds, a
    server that answers slowly). ``received`` records every request line."""

    def __init__(self, handler: Handler, drip: float = 0.2) -> None:
        self.handler = handler
        self.drip = drip
        self.received: list[str] = []
        self.stop = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.05)
        self.port: int = self._server.getsockname()[1]
        self._connections: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(0.05)
            with self._lock:
                self._connections.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        while not self.stop.is_set():
            try:
                chunk = conn.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while b"\n" in buffer:
                raw, buffer = buffer.split(b"\n", 1)
                line = raw.decode("utf-8", "replace")
                self.received.append(line)
                reply = self.handler(line)
                chunks = [reply] if isinstance(reply, bytes) else reply or []
                for k, chunk in enumerate(chunks):
                    if k and self.stop.wait(self.drip):
                        return
                    try:
                        conn.sendall(chunk)
                    except OSError:
                        return

    def close(self) -> None:
        self.stop.set()
        self._acceptor.join(5)
        self._server.close()
        for thread in self._threads:
            thread.join(5)
        with self._lock:
            for conn in self._connections:
                conn.close()


@pytest.fixture
def fake_upsd() -> Iterator[Callable[..., FakeUpsd]]:
    """Start fake upsd servers with a request handler; all are closed after the test."""
    servers: list[FakeUpsd] = []

    def start(handler: Handler, drip: float = 0.2) -> FakeUpsd:
        server = FakeUpsd(handler, drip)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that accepts connections and never says a word."""
    with peers.silent_server() as port:
        yield port


# ----------------------------------------------------------------------------- Modbus


def string_registers(text: str, count: int) -> list[int]:
    """``text`` as APC writes strings: ASCII, two per register, MSB first, space-padded
    (MPAO-98KJ7F). Written independently of the decoder under test."""
    data = text.encode("ascii").ljust(2 * count, b" ")
    assert len(data) == 2 * count
    return [data[k] * 256 + data[k + 1] for k in range(0, len(data), 2)]


def days(day: date) -> int:
    """A date register value: days since 2000-01-01."""
    return (day - APC_EPOCH).days


def smt1500c_image() -> dict[int, int]:
    """The registers of the fixture's Smart-UPS 1500 (the same values as SMT1500C.dev),
    encoded by hand from NUT apc_modbus's map."""
    image: dict[int, int] = {}
    # UPSStatus_BF (registers 0-1, uint32): bit 1 Online.
    image[0], image[1] = 0, 1 << 1
    image[23] = (1 << 2) | (1 << 6)  # last self-test: Passed, source Protocol
    runtime = 3420
    image[128], image[129] = runtime >> 16, runtime & 0xFFFF
    image[130] = 100 * 512  # charge 100 %, scale 9
    image[133] = days(date(2027, 5, 13))  # replace-by
    image[135] = round(24.5 * 128)  # battery temperature, int16, scale 7
    image[136] = round(17.6 * 256)  # load %, scale 8
    for start, value in (
        (516, string_registers("UPS 15.5 (ID18)", 8)),
        (532, string_registers("Smart-UPS 1500", 16)),
        (564, string_registers("AS2312345678", 8)),
    ):
        for k, register in enumerate(value):
            image[start + k] = register
    image[142] = image[151] = round(120.7 * 64)  # output / input voltage, scale 6
    image[590] = (1 << 0) | (1 << 1)  # SOGRelayConfigSetting: main group and SOG0 (group 1)
    image[591] = days(date(2022, 11, 3))  # manufactured
    image[595] = days(date(2023, 5, 14))  # battery installed
    return image


class ModbusServer:
    """A pymodbus TCP server on 127.0.0.1 in its own thread and event loop."""

    SIZE = 1600  # registers 0..1599: every block the transport reads and writes

    def __init__(self, image: dict[int, int]) -> None:
        from pymodbus.server import ModbusTcpServer
        from pymodbus.simulator import DataType, SimData, SimDevice

        self.writes: list[tuple[int, list[int]]] = []
        values = [0] * self.SIZE
        for address, value in image.items():
            values[address] = value
        self._registers = values
        self.port = 0  # the server binds a free port; read back once it listens

        async def record(
            function_code: int,
            start_address: int,
            address: int,
            count: int,
            current: list[int],
            set_values: list[int] | list[bool] | None,
        ) -> None:
            if set_values is not None:
                self.writes.append((address, [int(v) for v in set_values]))

        device = SimDevice(
            id=1,
            simdata=[SimData(address=0, values=values, datatype=DataType.REGISTERS)],
            action=record,
        )
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._server: Any = None

        async def serve() -> None:
            self._server = ModbusTcpServer(device, address=("127.0.0.1", 0))
            await self._server.serve_forever(background=True)
            self.port = self._server.transport.sockets[0].getsockname()[1]
            self._ready.set()
            await self._server.serving

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(serve())
            except BaseException as e:  # surfaced by __init__ below
                self._error = e
                self._ready.set()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or self._error is not None:
            self.close()
            raise RuntimeError(f"the Modbus test server did not start: {self._error!r}")

    def close(self) -> None:
        if self._server is not None and self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._server.shutdown(), self._loop).result(10)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture
def modbus_server() -> Iterator[Callable[[dict[int, int] | None], ModbusServer]]:
    """Start Modbus servers holding a register image (the SMT1500C one by default)."""
    pytest.importorskip("pymodbus")
    servers: list[ModbusServer] = []

    def start(image: dict[int, int] | None = None) -> ModbusServer:
        server = ModbusServer(smt1500c_image() if image is None else image)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def block(image: dict[int, int], address: int, count: int) -> Sequence[int]:
    """Registers ``address .. address + count - 1`` of an image (0 where unset)."""
    return [image.get(a, 0) for a in range(address, address + count)]


@contextlib.contextmanager
def resetting_server() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that accepts, reads a request and resets the connection
    (``SO_LINGER`` 0: the client's next read fails with ``ConnectionResetError``)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.05)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    conn.recv(1024)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        server.close()
