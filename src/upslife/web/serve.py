"""``upslife serve``: the web application under uvicorn, one process.

Binds ``127.0.0.1`` unless told otherwise: in production a reverse proxy terminates TLS
for ``public_url`` and forwards to it, or uvicorn serves TLS itself (``tls_cert`` and
``tls_key``). uvicorn's own access log is off: :class:`~upslife.web.security.AccessLog`
writes one with the tokens redacted.
"""

from __future__ import annotations

import logging
from pathlib import Path

import uvicorn

from upslife.app import Lifecycle
from upslife.app.links import Links
from upslife.web.app import create_app

__all__ = ["serve"]


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
    """Serve the links of ``lifecycle`` until interrupted (SIGINT or SIGTERM)."""
    app = create_app(lifecycle, links=links, sign_up_url=sign_up_url)
    for name in ("upslife.web.access", "upslife.web", "uvicorn.error"):
        logging.getLogger(name).setLevel(logging.INFO)
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
    uvicorn.Server(config).run()
