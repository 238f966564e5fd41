"""Every link the library mails, and the routes that serve them, from one public base URL.

A reseller needs no account (SPEC I5): accepting or declining an invitation, unsubscribing
and accepting a shared device are all done by following a link in a mail. The mails and
the web application (``upslife.web``) both take those links from :class:`Links`, so the URL
in a message and the route that answers it can never disagree: change a route here and
both move.

Pure: no clock, no I/O, standard library only.

>>> links = Links("https://links.example.com/upslife")
>>> links.url(Link.ACCEPT, "v1.abc")
'https://links.example.com/upslife/reseller/accept/v1.abc'
>>> links.path(Link.UNSUBSCRIBE)
'/upslife/reseller/unsubscribe/{token}'
>>> links.message_id_domain
'links.example.com'
"""

from __future__ import annotations

import enum
import re
import urllib.parse
from typing import Final, final

import attrs

from upslife.errors import InvalidInput

__all__ = ["DEFAULT_PUBLIC_URL", "Link", "Links", "redact_path"]

DEFAULT_PUBLIC_URL: Final = "https://upslife.invalid"
"""A reserved name that never resolves: mails built with it carry links that go nowhere,
which is right for tests and demos and wrong for production (configure ``public_url``)."""

_FALLBACK_MESSAGE_ID_DOMAIN: Final = "upslife.invalid"
_LABEL: Final = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN: Final = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_PRINTABLE: Final = re.compile(r"[!-~]+")
_MAX_PUBLIC_URL: Final = 200
# A path segment that may be a token: long enough and of URL-safe characters. Tokens are
# "v1." + base64url (docs/invitations.md); anything that looks like one is kept out of logs.
_TOKENISH: Final = re.compile(r"[A-Za-z0-9._~%=-]{20,}")


def _base_url(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"public_url must be an https URL, got {value!r}")
    url = value.strip()
    if len(url) > _MAX_PUBLIC_URL or not _PRINTABLE.fullmatch(url):
        raise InvalidInput(
            f"public_url must be at most {_MAX_PUBLIC_URL} printable ASCII characters "
            f"without blanks, got {value!r}"
        )
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise InvalidInput(f"public_url is not a valid URL: {value!r} ({e})") from e
    if parts.scheme.lower() != "https":
        raise InvalidInput(
            f"public_url must be an https URL (RFC 8058 one-click unsubscribe is an HTTPS "
            f"POST), got {value!r}"
        )
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise InvalidInput(f"public_url must name a host and no credentials, got {value!r}")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise InvalidInput(f"public_url must have no query or fragment, got {value!r}")
    if "{" in url or "}" in url or "%" in parts.path:
        raise InvalidInput(f"public_url must be a plain base URL, got {value!r}")
    path = parts.path.rstrip("/")
    netloc = parts.hostname.lower()
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if port is not None and port != 443:
        netloc = f"{netloc}:{port}"
    return f"https://{netloc}{path}"


class Link(enum.Enum):
    """A kind of mailed link, with its route below the public base URL.

    The route is a template with one ``{token}`` parameter (the signed token, SPEC I5);
    the same string is a Starlette route path.
    """

    ACCEPT = "/reseller/accept/{token}"
    DECLINE = "/reseller/decline/{token}"
    UNSUBSCRIBE = "/reseller/unsubscribe/{token}"
    SHARE = "/share/{token}"

    @property
    def route(self) -> str:
        return self.value


@final
@attrs.frozen
class Links:
    """The links of one deployment, from its public base URL.

    ``public_url`` is the absolute ``https`` URL at which the web application is reached
    by the people who get the mails (``https://links.example.com`` or with a path prefix,
    ``https://example.com/upslife``); no query, fragment or credentials. It must be https:
    the one-click unsubscribe of RFC 8058 is an HTTPS POST, and tokens must not travel in
    clear. A trailing ``/`` is dropped.

    Raises:
        InvalidInput: a URL that is not such a base URL.
    """

    public_url: str = attrs.field(converter=_base_url)

    @property
    def prefix(self) -> str:
        """The path part of ``public_url`` (``""`` at the root), where the routes start."""
        return urllib.parse.urlsplit(self.public_url).path

    @property
    def host(self) -> str:
        """The host name of ``public_url``, lower case, without the port."""
        return urllib.parse.urlsplit(self.public_url).hostname or ""

    @property
    def message_id_domain(self) -> str:
        """The right-hand side of every ``Message-ID`` (SPEC N9): the public host, or
        ``upslife.invalid`` when the host is an IPv6 literal, which is not a domain."""
        host = self.host
        return host if _DOMAIN.fullmatch(host) else _FALLBACK_MESSAGE_ID_DOMAIN

    def path(self, link: Link) -> str:
        """The route of ``link`` as the web application serves it (prefix included)."""
        return self.prefix + link.route

    def url(self, link: Link, token: str) -> str:
        """The absolute URL of ``link`` carrying ``token``, as it is mailed."""
        return self.public_url.removesuffix(self.prefix) + self.path_of(link, token)

    def path_of(self, link: Link, token: str) -> str:
        """The path of ``link`` carrying ``token`` (prefix included): a form's action."""
        if not isinstance(token, str) or not token:
            raise InvalidInput(f"a link token must be non-empty text, got {token!r}")
        return self.path(link).replace("{token}", urllib.parse.quote(token, safe=""))

    def asset(self, name: str) -> str:
        """The path of a static asset of the web pages (style sheet), prefix included."""
        return f"{self.prefix}/static/{name}"

    @property
    def health_path(self) -> str:
        """The health endpoint for load balancers and deployments."""
        return f"{self.prefix}/healthz"


def redact_path(path: str) -> str:
    """``path`` with every segment that may be a token replaced by ``[token]``, for logs.

    Tokens are credentials (a reseller's accept link): they never go to a log (docs/web.md).

    >>> redact_path("/reseller/accept/v1.AQFrMQEAAAAAAAAAAGludi0xWm9vb29vb29vb29vb28")
    '/reseller/accept/[token]'
    """
    return "/".join("[token]" if _TOKENISH.fullmatch(s) else s for s in path.split("/"))
