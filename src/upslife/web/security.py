"""ASGI middleware that makes every response of ``upslife.web`` safe by default.

- :class:`SafeHeaders`: no referrer (the token is in the URL), a strict Content-Security-
  Policy with no external asset and no framing, no caching, no indexing.
- :class:`BoundedBody`: a request body above ``limit`` bytes is refused with 413 before
  the application reads it (forms here are a few bytes).
- :class:`AccessLog`: one line per request, with every token-like path segment redacted
  and no query string: tokens are credentials and never reach a log.
"""

from __future__ import annotations

import logging
import time
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from upslife.app.links import redact_path

__all__ = ["SECURITY_HEADERS", "AccessLog", "BoundedBody", "SafeHeaders"]

SECURITY_HEADERS: Final[tuple[tuple[str, str], ...]] = (
    ("referrer-policy", "no-referrer"),
    (
        "content-security-policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("cache-control", "no-store"),
    ("x-robots-tag", "noindex, nofollow"),
    ("cross-origin-opener-policy", "same-origin"),
)

access_log = logging.getLogger("upslife.web.access")


class SafeHeaders:
    """Adds :data:`SECURITY_HEADERS` to every HTTP response (replacing any of the same name)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._names = {name.encode() for name, _ in SECURITY_HEADERS}
        self._headers = [(n.encode(), v.encode()) for n, v in SECURITY_HEADERS]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_safe(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k not in self._names]
                message = {**message, "headers": kept + self._headers}
            await send(message)

        await self.app(scope, receive, send_safe)


class BoundedBody:
    """Refuses a request body of more than ``limit`` bytes with 413, declared or streamed.

    The body is read here, up to the limit, and handed on whole: the forms of these pages
    are a few bytes, so buffering costs nothing and the application never sees a huge one.
    """

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _plain(send, 400, "malformed Content-Length")
                    return
                if declared > self.limit:
                    await _plain(send, 413, "request body too large")
                    return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away: the app sees an empty body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await _plain(send, 413, "request body too large")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class AccessLog:
    """Logs ``METHOD /path/[token] STATUS duration`` to ``upslife.web.access``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_logged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            access_log.info(
                "%s %s %d %.1fms",
                scope.get("method", "-"),
                redact_path(scope.get("path", "")),
                status,
                (time.perf_counter() - started) * 1000,
            )


async def _plain(send: Send, status: int, text: str) -> None:
    body = text.encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", b"%d" % len(body)),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
