"""``upslife serve``: the web application under uvicorn, one process.

Binds ``127.0.0.1`` unless told otherwise: in production a reverse proxy terminates TLS
for ``public_url`` and forwards to it, or uvicorn serves TLS itself (``tls_cert`` and
``tls_key``). uvicorn's own access log is off: :class:`~upslife.web.security.AccessLog`
writes one with the tokens redacted.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import uvicorn

from upslife.app import Lifecycle
from upslife.app.links import Links
from upslife.errors import InvalidInput
from upslife.web.app import create_app

__all__ = ["serve"]

_log = logging.getLogger("upslife.web")


def serve(
    lifecycle: Lifecycle,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    links: Links | None = None,
    sign_up_url: str | None = None,
) -> None:
    """Serve the links of ``lifecycle`` until interrupted (SIGINT or SIGTERM).

    Raises:
        InvalidInput: the address cannot be listened on (in use, not allowed, unknown
            host), found before anything starts.
    """
    _check_bindable(host, port)
    app = create_app(lifecycle, links=links, sign_up_url=sign_up_url)
    for name in ("upslife.web.access", "upslife.web", "uvicorn.error"):
        logging.getLogger(name).setLevel(logging.INFO)
    scheme = "https" if tls_cert else "http"
    public = (links or lifecycle.settings.links).public_url
    _log.info("serving the links of %s on %s://%s:%d", public, scheme, host, port)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        access_log=False,
        log_config=None,
        lifespan="off",
        server_header=False,
        proxy_headers=False,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=5,
    )
    try:
        uvicorn.Server(config).run()
    except SystemExit as e:  # uvicorn exits when it cannot start (a race for the port)
        if e.code:
            raise InvalidInput(f"cannot serve on {host}:{port}: uvicorn could not start") from None


def _check_bindable(host: str, port: int) -> None:
    """Bind the address once, as uvicorn will, so a port in use is one clear line."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as e:
        raise InvalidInput(f"--host {host!r} is not an address to listen on ({e})") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as e:
            raise InvalidInput(f"cannot listen on {host}:{port}: {e.strerror}") from None
