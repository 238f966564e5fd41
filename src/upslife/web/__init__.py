"""The web side of the mailed links: ``pip install "upslife[web]"``.

:func:`create_app` builds one ASGI application over a :class:`~upslife.app.Lifecycle`
serving the invitation, unsubscribe and share pages at the routes of
:class:`~upslife.app.links.Links`; :func:`serve` runs it with uvicorn (``upslife serve``).
The core imports nothing of this package. Decisions: docs/web.md.
"""

from upslife.web.app import DEFAULT_MAX_BODY, create_app
from upslife.web.serve import serve

__all__ = ["DEFAULT_MAX_BODY", "create_app", "serve"]
