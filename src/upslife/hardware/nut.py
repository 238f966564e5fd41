"""Network UPS Tools: a small client for the NUT network protocol, and a transport over it.

The protocol (NUT ``docs/net-protocol.txt``, "Network protocol information") is a line
protocol over TCP, port 3493: one request per line, answered by one line (``OK``,
``VAR ...``, ``ERR <code>``) or by a list framed by ``BEGIN LIST <query>`` and
``END LIST <query>``. Multi-word values are double-quoted, with ``\\"`` and ``\\\\``
escapes. This module speaks the part a lifecycle service needs: ``LIST UPS``,
``LIST VAR``, ``GET VAR``, ``GET TYPE``, ``SET VAR``, ``INSTCMD``, ``USERNAME`` /
``PASSWORD``, ``STARTTLS`` and ``LOGOUT``. (``LOGIN`` is for ``upsmon`` and is not used.)

Why not a library: see ``docs/hardware.md`` ("Choosing the NUT client").

Every read from the socket is bounded: a whole response must arrive within ``timeout``
seconds of the request, or :class:`~upslife.errors.TransportTimeout` is raised; lines and
lists are capped in size. Every ``ERR`` code becomes a typed
:class:`~upslife.errors.NutError` (see :data:`ERROR_CLASSES`).
"""

from __future__ import annotations

import enum
import re
import socket
import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Self, final
from urllib.parse import unquote, urlsplit

from upslife._validation import hide_passwords
from upslife.errors import (
    InvalidCommand,
    InvalidTransportConfig,
    MalformedResponse,
    NutAccessDenied,
    NutDeviceUnavailable,
    NutError,
    NutNotSupported,
    NutRefused,
    NutUnknownUps,
    TransportError,
    TransportTimeout,
    UnsupportedCommand,
)
from upslife.hardware._dates import NutDateStyle, format_nut_date
from upslife.hardware._nutmap import snapshot_from_nut
from upslife.hardware.snapshot import (
    ClosingTransport,
    Command,
    DeviceCommand,
    DeviceSnapshot,
    InputSensitivity,
)

__all__ = [
    "DEFAULT_PORT",
    "ERROR_CLASSES",
    "NUT_COMMANDS",
    "NutClient",
    "NutErrorCode",
    "NutTransport",
    "error_for",
    "quote",
    "snapshot_from_nut",
    "split_words",
]

#: IANA port of the NUT network protocol.
DEFAULT_PORT = 3493
#: Longest line accepted from a server; NUT's own buffers are far smaller.
MAX_LINE = 64 * 1024
#: Most entries accepted in one list; a UPS has a few hundred variables at most.
MAX_LIST = 10_000


class NutErrorCode(enum.StrEnum):
    """The ``ERR`` codes of NUT's network protocol ("Error responses")."""

    ACCESS_DENIED = "ACCESS-DENIED"
    UNKNOWN_UPS = "UNKNOWN-UPS"
    VAR_NOT_SUPPORTED = "VAR-NOT-SUPPORTED"
    CMD_NOT_SUPPORTED = "CMD-NOT-SUPPORTED"
    INVALID_ARGUMENT = "INVALID-ARGUMENT"
    INSTCMD_FAILED = "INSTCMD-FAILED"
    SET_FAILED = "SET-FAILED"
    READONLY = "READONLY"
    TOO_LONG = "TOO-LONG"
    FEATURE_NOT_SUPPORTED = "FEATURE-NOT-SUPPORTED"
    FEATURE_NOT_CONFIGURED = "FEATURE-NOT-CONFIGURED"
    ALREADY_SSL_MODE = "ALREADY-SSL-MODE"
    DRIVER_NOT_CONNECTED = "DRIVER-NOT-CONNECTED"
    DATA_STALE = "DATA-STALE"
    ALREADY_LOGGED_IN = "ALREADY-LOGGED-IN"
    INVALID_PASSWORD = "INVALID-PASSWORD"
    ALREADY_SET_PASSWORD = "ALREADY-SET-PASSWORD"
    INVALID_USERNAME = "INVALID-USERNAME"
    ALREADY_SET_USERNAME = "ALREADY-SET-USERNAME"
    USERNAME_REQUIRED = "USERNAME-REQUIRED"
    PASSWORD_REQUIRED = "PASSWORD-REQUIRED"
    UNKNOWN_COMMAND = "UNKNOWN-COMMAND"
    INVALID_VALUE = "INVALID-VALUE"


_C = NutErrorCode
#: Which error class each code raises; codes not listed (and future ones) raise NutRefused.
ERROR_CLASSES: Mapping[str, type[NutError]] = {
    _C.UNKNOWN_UPS: NutUnknownUps,
    _C.VAR_NOT_SUPPORTED: NutNotSupported,
    _C.CMD_NOT_SUPPORTED: NutNotSupported,
    _C.READONLY: NutNotSupported,
    _C.FEATURE_NOT_SUPPORTED: NutNotSupported,
    _C.FEATURE_NOT_CONFIGURED: NutNotSupported,
    _C.ACCESS_DENIED: NutAccessDenied,
    _C.INVALID_PASSWORD: NutAccessDenied,
    _C.INVALID_USERNAME: NutAccessDenied,
    _C.USERNAME_REQUIRED: NutAccessDenied,
    _C.PASSWORD_REQUIRED: NutAccessDenied,
    _C.DRIVER_NOT_CONNECTED: NutDeviceUnavailable,
    _C.DATA_STALE: NutDeviceUnavailable,
}

# What a support engineer should check, per code (NUT net-protocol "Error responses").
_HINTS: Mapping[str, str] = {
    _C.ACCESS_DENIED: "the user lacks the right in upsd.users (actions = SET, instcmds = ...) "
    "or the password is wrong",
    _C.UNKNOWN_UPS: "no such UPS in the server's ups.conf; list them with LIST UPS",
    _C.VAR_NOT_SUPPORTED: "this UPS (driver) does not have that variable",
    _C.CMD_NOT_SUPPORTED: "this UPS (driver) does not offer that instant command",
    _C.INVALID_ARGUMENT: "the request was malformed for this server version",
    _C.INSTCMD_FAILED: "upsd could not pass the command to the driver: is the driver running?",
    _C.SET_FAILED: "upsd could not pass the write to the driver: is the driver running?",
    _C.READONLY: "the variable is not writable on this UPS",
    _C.TOO_LONG: "the value is longer than the driver accepts for this variable",
    _C.FEATURE_NOT_SUPPORTED: "this upsd was built without TLS",
    _C.FEATURE_NOT_CONFIGURED: "this upsd has no TLS certificate configured (CERTFILE)",
    _C.ALREADY_SSL_MODE: "TLS is already on for this connection",
    _C.DRIVER_NOT_CONNECTED: "the driver for this UPS is not running or not connected to upsd",
    _C.DATA_STALE: "the driver has lost contact with the UPS: check its cable or network",
    _C.ALREADY_LOGGED_IN: "LOGIN was sent twice on one connection",
    _C.INVALID_PASSWORD: "the password is empty or malformed",
    _C.ALREADY_SET_PASSWORD: "PASSWORD was sent twice on one connection",
    _C.INVALID_USERNAME: "the user name is empty or malformed",
    _C.ALREADY_SET_USERNAME: "USERNAME was sent twice on one connection",
    _C.USERNAME_REQUIRED: "this request needs a user: configure a user name and password",
    _C.PASSWORD_REQUIRED: "this request needs a password: configure one",
    _C.UNKNOWN_COMMAND: "this upsd does not know the request (too old?)",
    _C.INVALID_VALUE: "the value is not one the variable accepts (see LIST ENUM / LIST RANGE)",
}

#: How each command maps onto NUT (SPEC E10 command data; names from NUT's
#: ``docs/nut-names.txt`` "Instant commands" and ``drivers/apc_modbus.c``): an instant
#: command, a variable, or ``None`` where NUT has no equivalent.
NUT_COMMANDS: Mapping[Command, tuple[str, str] | None] = {
    Command.SELF_TEST: ("INSTCMD", "test.battery.start"),
    Command.SET_INPUT_SENSITIVITY: ("SET", "input.sensitivity"),
    Command.SET_BATTERY_INSTALL_DATE: ("SET", "battery.date"),
    Command.OUTLET_GROUP_REBOOT: ("INSTCMD", "outlet.{group}.load.cycle"),
    # NUT has no instant command to start a firmware install (nut-names.txt).
    Command.FIRMWARE_INSTALL_START: None,
}

_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)
# A variable no UPS has: writing it checks the credentials without changing anything.
_PROBE = "upslife.credential-check"
# How long a tracked write may stay PENDING before the transport stops waiting.
_TRACKING_POLL = 0.05

# Instant commands per command, in order of preference ({group}: the outlet group).
_INSTANT_CANDIDATES: Mapping[Command, tuple[str, ...]] = {
    Command.SELF_TEST: ("test.battery.start", "test.battery.start.quick"),
    Command.OUTLET_GROUP_REBOOT: ("outlet.group.{group}.load.cycle", "outlet.{group}.load.cycle"),
}
# battery.date as each driver parses it (usbhid-ups: "%04d/%02d/%02d").
_DATE_STYLES: Mapping[str, str] = {
    "usbhid-ups": NutDateStyle.YMD_SLASH,
    "apcsmart": NutDateStyle.MDY,
    "apcsmart-old": NutDateStyle.MDY,
    "snmp-ups": NutDateStyle.MDY,
    "apc_modbus": NutDateStyle.ISO,
}

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:@+-]{0,127}$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def error_for(words: Sequence[str], *, request: str = "", device: str | None = None) -> NutError:
    """The typed error for an ``ERR <code> [<detail>...]`` response (already split)."""
    code = words[1] if len(words) > 1 else ""
    detail = " ".join(words[2:])
    cls = ERROR_CLASSES.get(code, NutRefused)
    hint = _HINTS.get(code, "see NUT's network protocol documentation")
    where = f" for {device}" if device else ""
    message = f"upsd refused {request or 'the request'}{where}: ERR {code}"
    if detail:
        message += f" {detail}"
    return cls(f"{message} ({hint})", code=code, detail=detail, request=request, device=device)


# --------------------------------------------------------------------------- line syntax


def _decode(raw: bytes) -> str:
    """A server line as text: UTF-8, else Latin-1 (NUT defines no encoding)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    if any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in text):
        raise MalformedResponse(f"server line {raw[:80]!r} holds control characters")
    return text


def split_words(line: str) -> tuple[str, ...]:
    """Split one protocol line into words, unquoting ``"..."`` and ``\\`` escapes.

    >>> split_words('VAR su700 ups.id "My \\\\"big\\\\" UPS"')
    ('VAR', 'su700', 'ups.id', 'My "big" UPS')
    """
    words: list[str] = []
    i, n = 0, len(line)
    while i < n:
        if line[i] in " \t":
            i += 1
            continue
        word: list[str] = []
        quoted = line[i] == '"'
        if quoted:
            i += 1
        while True:
            if i >= n:
                if quoted:
                    raise MalformedResponse(f"unterminated quote in server line {line[:80]!r}")
                break
            c = line[i]
            if c == "\\":
                if i + 1 >= n:
                    raise MalformedResponse(f"dangling backslash in server line {line[:80]!r}")
                word.append(line[i + 1])
                i += 2
                continue
            if quoted and c == '"':
                i += 1
                break
            if not quoted and c in ' \t"':
                break
            word.append(c)
            i += 1
        words.append("".join(word))
    return tuple(words)


def quote(value: str) -> str:
    """``value`` as one protocol word: double-quoted, with ``"`` and ``\\`` escaped.

    Line breaks and NUL cannot be sent (they would end or corrupt the request) and raise
    :class:`~upslife.errors.InvalidCommand`.

    >>> quote('say "hi"')
    '"say \\\\"hi\\\\""'
    """
    if not isinstance(value, str):
        raise InvalidCommand(f"a value must be a string, got {type(value).__name__}")
    if any(c in value for c in "\r\n\0"):
        raise InvalidCommand(f"a value cannot hold line breaks or NUL: {value!r}")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _name(value: str, what: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise InvalidCommand(
            f"{what} {value!r} is not a NUT name (letters, digits and ._:@+- , no blanks)"
        )
    return value


# --------------------------------------------------------------------------- client


@final
class NutClient:
    """One connection to ``upsd``; not thread-safe (use one per thread).

    ``timeout`` bounds the connect and each whole response. Credentials are sent
    (``USERNAME``/``PASSWORD``) the first time a request needs them. With ``tls`` the
    connection is upgraded with ``STARTTLS`` before anything else is sent; the server's
    certificate is checked as ``tls`` says (``ssl.create_default_context()`` checks the
    host name). After a timeout or a malformed answer the connection is closed, since
    its state is unknown; a :class:`~upslife.errors.NutError` leaves it usable.
    ``sock`` hands over an already connected socket (tests use a socket pair).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        timeout: float = 5.0,
        username: str | None = None,
        password: str | None = None,
        tls: ssl.SSLContext | None = None,
        sock: socket.socket | None = None,
    ) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise InvalidTransportConfig(f"timeout must be a positive number of seconds: {timeout}")
        if (username is None) != (password is None):
            raise InvalidTransportConfig("give both a user name and a password, or neither")
        self.host = host
        self.port = port
        self.timeout = float(timeout)
        self._username = username
        self._password = password
        self._authenticated = False
        self._tracking_on: bool | None = None
        self._buffer = bytearray()
        self._sock: socket.socket | None
        if sock is not None:
            self._sock = sock
        else:
            self._sock = self._connect()
            if tls is not None:
                try:
                    self._starttls(tls)
                except BaseException:
                    self.close()
                    raise

    # -- connection

    def _connect(self) -> socket.socket:
        try:
            return socket.create_connection((self.host, self.port), timeout=self.timeout)
        except TimeoutError as e:
            raise TransportTimeout(
                f"no answer from upsd at {self.host}:{self.port} within {self.timeout:g} s",
                timeout=self.timeout,
            ) from e
        except OSError as e:
            raise TransportError(f"cannot connect to upsd at {self.host}:{self.port}: {e}") from e

    def _starttls(self, context: ssl.SSLContext) -> None:
        words = self._request(["STARTTLS"])
        if words[:2] != ("OK", "STARTTLS"):
            self.close()
            raise MalformedResponse(f"unexpected answer to STARTTLS: {' '.join(words)!r}")
        assert self._sock is not None
        try:
            self._sock = context.wrap_socket(self._sock, server_hostname=self.host)
        except (ssl.SSLError, OSError) as e:
            self.close()
            raise TransportError(f"TLS handshake with {self.host}:{self.port} failed: {e}") from e

    def close(self) -> None:
        """Close the socket (without ``LOGOUT``); idempotent."""
        sock, self._sock = self._sock, None
        self._buffer.clear()
        if sock is not None:
            sock.close()

    def logout(self) -> None:
        """Say ``LOGOUT`` and close; errors on the way out are ignored."""
        if self._sock is None:
            return
        try:
            self._send(["LOGOUT"])
            self._read_line(time.monotonic() + min(self.timeout, 1.0))
        except TransportError:
            pass
        finally:
            self.close()

    @property
    def closed(self) -> bool:
        """Whether the connection has been closed (by :meth:`close` or after a failure)."""
        return self._sock is None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.logout()

    # -- wire

    def _send(self, words: Sequence[str]) -> None:
        if self._sock is None:
            raise TransportError(f"the connection to upsd at {self.host}:{self.port} is closed")
        line = " ".join(words) + "\n"
        try:
            self._sock.settimeout(self.timeout)
            self._sock.sendall(line.encode("utf-8"))
        except TimeoutError as e:
            self.close()
            raise TransportTimeout(
                f"upsd at {self.host}:{self.port} did not take a request within {self.timeout:g} s",
                timeout=self.timeout,
            ) from e
        except OSError as e:
            self.close()
            raise TransportError(f"sending to upsd at {self.host}:{self.port} failed: {e}") from e

    def _read_line(self, deadline: float) -> str:
        while True:
            end = self._buffer.find(b"\n", 0, MAX_LINE + 1)
            if end >= 0:
                raw = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                try:
                    return _decode(raw.removesuffix(b"\r"))
                except MalformedResponse:
                    self.close()
                    raise
            if len(self._buffer) > MAX_LINE:  # no line break within the cap
                self.close()
                raise MalformedResponse(f"upsd sent a line longer than {MAX_LINE} bytes")
            if self._sock is None:
                raise TransportError(f"the connection to upsd at {self.host}:{self.port} is closed")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.close()
                raise TransportTimeout(
                    f"upsd at {self.host}:{self.port} did not finish its answer within "
                    f"{self.timeout:g} s",
                    timeout=self.timeout,
                )
            try:
                self._sock.settimeout(remaining)
                if _QUICKACK is not None:
                    # Linux clears TCP_QUICKACK after a while: ask again before each read,
                    # or a kept-open connection waits ~40 ms per answer on delayed ACKs.
                    self._sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
                chunk = self._sock.recv(65536)
            except TimeoutError as e:
                self.close()
                raise TransportTimeout(
                    f"upsd at {self.host}:{self.port} did not finish its answer within "
                    f"{self.timeout:g} s",
                    timeout=self.timeout,
                ) from e
            except OSError as e:
                self.close()
                raise TransportError(f"reading from upsd at {self.host}:{self.port}: {e}") from e
            if not chunk:
                self.close()
                raise TransportError(
                    f"upsd at {self.host}:{self.port} closed the connection mid-answer"
                )
            self._buffer += chunk

    def _shown(self, words: Sequence[str]) -> str:
        return "PASSWORD ***" if words and words[0] == "PASSWORD" else " ".join(words)

    def _request(self, words: Sequence[str], *, device: str | None = None) -> tuple[str, ...]:
        """Send one request and return the words of its one-line answer; ``ERR`` raises."""
        self._send(words)
        reply = self._words(self._read_line(time.monotonic() + self.timeout))
        if reply and reply[0] == "ERR":
            raise error_for(reply, request=self._shown(words), device=device)
        return reply

    def _words(self, line: str) -> tuple[str, ...]:
        try:
            return split_words(line)
        except MalformedResponse:
            self.close()
            raise

    def _request_list(
        self, query: Sequence[str], *, device: str | None = None
    ) -> list[tuple[str, ...]]:
        """Send ``LIST <query>`` and return the words of each entry between the frames."""
        request = ["LIST", *query]
        self._send(request)
        deadline = time.monotonic() + self.timeout
        first = self._words(self._read_line(deadline))
        if first and first[0] == "ERR":
            raise error_for(first, request=" ".join(request), device=device)
        if first != ("BEGIN", *request):
            self.close()
            raise MalformedResponse(f"expected BEGIN {' '.join(request)}, got {' '.join(first)!r}")
        entries: list[tuple[str, ...]] = []
        while True:
            words = self._words(self._read_line(deadline))
            if words == ("END", *request):
                return entries
            if len(entries) >= MAX_LIST:
                self.close()
                raise MalformedResponse(f"upsd sent more than {MAX_LIST} entries for {request}")
            entries.append(words)

    def _authenticate(self, device: str | None) -> None:
        if self._authenticated or self._username is None or self._password is None:
            return
        self._request(["USERNAME", quote(self._username)], device=device)
        self._request(["PASSWORD", quote(self._password)], device=device)
        self._authenticated = True

    # -- protocol

    def list_ups(self) -> dict[str, str]:
        """``LIST UPS``: each UPS name and its description."""
        result: dict[str, str] = {}
        for words in self._request_list(["UPS"]):
            if len(words) != 3 or words[0] != "UPS":
                self.close()
                raise MalformedResponse(f"malformed LIST UPS entry {' '.join(words)!r}")
            result[words[1]] = words[2]
        return result

    def list_var(self, ups: str) -> dict[str, str]:
        """``LIST VAR <ups>``: every variable of the UPS and its value."""
        ups = _name(ups, "UPS name")
        result: dict[str, str] = {}
        for words in self._request_list(["VAR", ups], device=ups):
            if len(words) != 4 or words[0] != "VAR" or words[1] != ups:
                self.close()
                raise MalformedResponse(f"malformed LIST VAR entry {' '.join(words)!r}")
            result[words[2]] = words[3]
        return result

    def get_var(self, ups: str, name: str) -> str:
        """``GET VAR <ups> <name>``: one variable's value."""
        ups, name = _name(ups, "UPS name"), _name(name, "variable")
        words = self._request(["GET", "VAR", ups, name], device=ups)
        if len(words) != 4 or words[:3] != ("VAR", ups, name):
            self.close()
            raise MalformedResponse(f"unexpected answer to GET VAR: {' '.join(words)!r}")
        return words[3]

    def get_type(self, ups: str, name: str) -> tuple[str, ...]:
        """``GET TYPE <ups> <name>``: e.g. ``("RW", "STRING:16")``."""
        ups, name = _name(ups, "UPS name"), _name(name, "variable")
        words = self._request(["GET", "TYPE", ups, name], device=ups)
        if len(words) < 3 or words[:3] != ("TYPE", ups, name):
            self.close()
            raise MalformedResponse(f"unexpected answer to GET TYPE: {' '.join(words)!r}")
        return words[3:]

    def list_cmd(self, ups: str) -> frozenset[str]:
        """``LIST CMD <ups>``: the instant commands the UPS offers."""
        ups = _name(ups, "UPS name")
        commands: set[str] = set()
        for words in self._request_list(["CMD", ups], device=ups):
            if len(words) != 3 or words[0] != "CMD" or words[1] != ups:
                self.close()
                raise MalformedResponse(f"malformed LIST CMD entry {' '.join(words)!r}")
            commands.add(words[2])
        return frozenset(commands)

    def _tracking(self, device: str) -> bool:
        """Turn on ``SET TRACKING ON`` (NUT >= 2.8.0) once; ``False`` where unsupported."""
        if self._tracking_on is None:
            try:
                self._tracking_on = self._request(["SET", "TRACKING", "ON"])[:1] == ("OK",)
            except NutError:
                self._tracking_on = False
        return self._tracking_on

    def _confirm(self, words: tuple[str, ...], request: Sequence[str], device: str) -> None:
        """Wait for a tracked request's outcome (``GET TRACKING <id>``) within the timeout."""
        self._expect_ok(words, request)
        if len(words) < 3 or words[1] != "TRACKING":
            return
        tracking_id = words[2]
        shown = " ".join(request[:3])
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._request(["GET", "TRACKING", tracking_id], device=device)
            if answer[:1] == ("SUCCESS",):
                return
            if answer[:1] != ("PENDING",):
                self.close()
                raise MalformedResponse(
                    f"unexpected answer to GET TRACKING for {shown}: {' '.join(answer)!r}"
                )
            if time.monotonic() >= deadline:
                raise TransportTimeout(
                    f"upsd at {self.host}:{self.port} did not confirm {shown} for {device} "
                    f"within {self.timeout:g} s (still PENDING)",
                    timeout=self.timeout,
                    device=device,
                )
            time.sleep(_TRACKING_POLL)

    def set_var(self, ups: str, name: str, value: str) -> None:
        """``SET VAR <ups> <name> "<value>"``, authenticating first if credentials are set,
        and waiting for the driver's confirmation where the server tracks requests."""
        ups, name = _name(ups, "UPS name"), _name(name, "variable")
        request = ["SET", "VAR", ups, name, quote(value)]
        self._authenticate(ups)
        self._tracking(ups)
        self._confirm(self._request(request, device=ups), request, ups)

    def instcmd(self, ups: str, command: str, parameter: str | None = None) -> None:
        """``INSTCMD <ups> <command> [<parameter>]``, authenticating first, confirmed like
        :meth:`set_var`."""
        ups, command = _name(ups, "UPS name"), _name(command, "instant command")
        request = ["INSTCMD", ups, command]
        if parameter is not None:
            request.append(quote(parameter))
        self._authenticate(ups)
        self._tracking(ups)
        self._confirm(self._request(request, device=ups), request, ups)

    def check_credentials(self, ups: str) -> bool:
        """Check the user name and password now, changing nothing; ``False`` when the
        server cannot tell (the UPS's driver is down).

        upsd accepts any ``PASSWORD`` and checks it only with a write (``INSTCMD`` checks
        the command before the user, so it cannot serve), so the check is a ``SET VAR`` of
        a variable no UPS has, which upsd checks against the user first:
        ``VAR-NOT-SUPPORTED`` means the credentials passed, ``ACCESS-DENIED`` raises
        :class:`~upslife.errors.NutAccessDenied` (a wrong password, or a user without
        ``actions = SET``; reads need no credentials at all).
        """
        ups = _name(ups, "UPS name")
        self._authenticate(ups)
        try:
            self._request(["SET", "VAR", ups, _PROBE, '""'], device=ups)
        except NutNotSupported:
            return True
        except NutAccessDenied as e:
            raise NutAccessDenied(
                f"upsd at {self.host}:{self.port} refused the user {self._username!r}: the "
                "password is wrong, or the user lacks 'actions = SET' in upsd.users",
                code=e.code,
                detail=e.detail,
                request=e.request,
                device=ups,
            ) from None
        except NutError:
            return False
        self.close()
        raise MalformedResponse(f"upsd accepted a write to {_PROBE}, which no UPS has")

    def _expect_ok(self, words: tuple[str, ...], request: Sequence[str]) -> None:
        if not words or words[0] != "OK":
            self.close()
            raise MalformedResponse(f"expected OK to {' '.join(request)}, got {' '.join(words)!r}")


# --------------------------------------------------------------------------- transport


def _parse_url(url: str) -> tuple[str, int, str | None, str | None, str | None, bool]:
    if not isinstance(url, str):
        raise InvalidTransportConfig(f"a NUT URL must be a string, got {type(url).__name__}")
    try:
        parts = urlsplit(url)
    except ValueError as e:  # an unclosed IPv6 bracket: modbus://[::1
        raise InvalidTransportConfig(f"malformed NUT URL {hide_passwords(url)!r}: {e}") from None
    if parts.scheme not in ("nut", "nuts"):
        raise InvalidTransportConfig(f"a NUT URL starts with nut:// or nuts://, got {url!r}")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError as e:
        raise InvalidTransportConfig(f"bad port in NUT URL: {e}") from e
    if not parts.hostname:
        raise InvalidTransportConfig(f"no host in NUT URL {url!r}")
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    path = parts.path.strip("/")
    device = unquote(path) if path else None
    if device is not None:
        _name(device, "UPS name")
    return parts.hostname, port, user, password, device, parts.scheme == "nuts"


@final
class NutTransport(ClosingTransport):
    """An :class:`~upslife.hardware.snapshot.UpsTransport` over one ``upsd``.

    Opens one connection per thread lazily and keeps it; after a transport failure it is
    dropped and the next call opens a new one. Reads may run on many threads at once (a
    poll does); :meth:`close` closes every connection. With credentials, the first
    connection checks them (:meth:`NutClient.check_credentials`), so a wrong password
    fails at connect. Commands map onto NUT per :data:`NUT_COMMANDS`, and an instant
    command is picked from the ones the UPS offers (``LIST CMD``).
    Writes of ``input.sensitivity`` and ``battery.date`` are spelled the way the device
    spells its current value (``H`` or ``high``; ``2023-05-14`` or ``05/14/23``), since
    drivers parse only their own spelling (``battery.date`` by ``driver.name`` first).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 5.0,
        tls: ssl.SSLContext | None = None,
        default_device: str | None = None,
    ) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise InvalidTransportConfig(f"timeout must be a positive number of seconds: {timeout}")
        if (username is None) != (password is None):
            raise InvalidTransportConfig("give both a user name and a password, or neither")
        self.host = host
        self.port = port
        self.timeout = float(timeout)
        self.default_device = default_device
        self._username = username
        self._password = password
        self._tls = tls
        self._local = threading.local()
        self._lock = threading.Lock()
        self._clients: list[NutClient] = []
        self._verified = False

    @classmethod
    def from_url(
        cls, url: str, *, timeout: float = 5.0, tls: ssl.SSLContext | None = None
    ) -> NutTransport:
        """``nut://[user:password@]host[:port][/ups]``; ``nuts://`` requires STARTTLS
        (with ``ssl.create_default_context()`` unless ``tls`` is given). The path, if any,
        becomes :attr:`default_device`. Percent-escapes in user and password are decoded.
        """
        host, port, user, password, device, secure = _parse_url(url)
        if secure and tls is None:
            tls = ssl.create_default_context()
        return cls(
            host,
            port,
            username=user,
            password=password,
            timeout=timeout,
            tls=tls,
            default_device=device,
        )

    def _connection(self, device: str | None = None) -> NutClient:
        client: NutClient | None = getattr(self._local, "client", None)
        if client is None or client.closed:
            client = NutClient(
                self.host,
                self.port,
                timeout=self.timeout,
                username=self._username,
                password=self._password,
                tls=self._tls,
            )
            with self._lock:
                self._clients = [c for c in self._clients if not c.closed]
                self._clients.append(client)
            self._local.client = client
            if self._username is not None and not self._verified:
                self._verify(client, device)
        return client

    def _verify(self, client: NutClient, device: str | None) -> None:
        """Check the credentials at connect: a wrong password fails now, not at a write."""
        ups = device if device is not None and _NAME.match(device) else self.default_device
        if ups is None:
            try:
                ups = next(iter(sorted(client.list_ups())), None)
            except NutError:
                return
        if ups is None:
            return
        try:
            self._verified = client.check_credentials(ups)
        except NutAccessDenied:
            client.close()
            raise

    def list_devices(self) -> tuple[str, ...]:
        return tuple(sorted(self._connection().list_ups()))

    def read(self, device: str, *, read_at: datetime | None = None) -> DeviceSnapshot:
        variables = self._connection(device).list_var(device)
        try:
            return snapshot_from_nut(variables, read_at=read_at)
        except TransportError as e:
            e.device = device
            raise

    def variables(self, device: str) -> dict[str, str]:
        """Every variable the UPS reports, raw (for diagnostics)."""
        return self._connection(device).list_var(device)

    def set_variable(self, device: str, name: str, value: str) -> None:
        _name(device, "UPS name")  # refused before anything is sent, even the credentials
        _name(name, "variable")
        quote(value)
        self._connection(device).set_var(device, name, value)

    def run_command(self, device: str, command: DeviceCommand) -> None:
        if not isinstance(command, DeviceCommand):
            raise InvalidCommand(f"expected a DeviceCommand, got {command!r}")
        mapping = NUT_COMMANDS[command.command]
        if mapping is None:
            raise UnsupportedCommand(
                f"{command.command.name} has no NUT equivalent: NUT offers no instant command "
                "to start a firmware install; start it from the UPS or APC's tools",
                device=device,
            )
        kind, name = mapping
        _name(device, "UPS name")
        client = self._connection(device)
        if kind == "INSTCMD":
            client.instcmd(device, self._instant_command(client, device, command))
        elif command.sensitivity is not None:
            word = self._sensitivity_word(client, device, command.sensitivity)
            client.set_var(device, name, word)
        elif command.battery_installed_on is not None:
            client.set_var(device, name, self._date_word(client, device, command))

    def _instant_command(self, client: NutClient, device: str, command: DeviceCommand) -> str:
        """The instant command to send, chosen from what the UPS offers (``LIST CMD``).

        Since NUT 2.8.5, ``apc_modbus`` and ``apcmicrolink`` offer
        ``outlet.group.N.load.cycle`` and refuse the older ``outlet.N.load.cycle``.
        """
        offered = client.list_cmd(device)
        candidates = _INSTANT_CANDIDATES[command.command]
        if command.outlet_group is not None:
            candidates = tuple(c.format(group=command.outlet_group) for c in candidates)
            if command.outlet_group == 0:
                candidates += ("load.cycle",)  # apc_modbus: the main group cycles every group
        for candidate in candidates:
            if candidate in offered:
                return candidate
        shown = ", ".join(sorted(offered)[:20]) or "none"
        raise UnsupportedCommand(
            f"{device} offers no instant command for {command.command.name} "
            f"(looked for {', '.join(candidates)}; it offers: {shown})",
            device=device,
        )

    def _date_word(self, client: NutClient, device: str, command: DeviceCommand) -> str:
        """``battery.date`` spelled as the driver parses it (SPEC E9).

        By ``driver.name`` first: usbhid-ups reads ``%04d/%02d/%02d``, apcsmart and
        snmp-ups ``MM/DD/YY``, apc_modbus ISO; other drivers get the spelling of their
        current value (a unit reporting ``not set`` gets ISO).
        """
        day = command.battery_installed_on
        assert day is not None
        driver = self._optional_var(client, device, "driver.name")
        style = _DATE_STYLES.get((driver or "").strip())
        if style is not None:
            return format_nut_date(day, style=style)
        return format_nut_date(day, self._optional_var(client, device, "battery.date"))

    def _optional_var(self, client: NutClient, device: str, name: str) -> str | None:
        try:
            return client.get_var(device, name)
        except NutNotSupported:
            return None

    def _sensitivity_word(self, client: NutClient, device: str, wanted: InputSensitivity) -> str:
        current = client.get_var(device, "input.sensitivity").strip()
        return wanted.letter if len(current) == 1 else wanted.value

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        self._local = threading.local()
        for client in clients:
            client.logout()
