"""The chat sender for Slack and Teams incoming webhooks (:class:`~upslife.ports.ChatSender`).

:class:`WebhookSender` POSTs a JSON payload with :mod:`urllib.request` (standard library). What
the payload says is the renderer's business; the owner's plan decides elsewhere whether a
route exists at all (SPEC N6, E10): the sender itself gates nothing.

Any 2xx answer is success (Slack answers ``200 ok``, Teams ``200`` or ``202``). Everything
else is :class:`~upslife.errors.DeliveryFailed`, the :mod:`urllib` error chained:

=====================================================  =============
answer                                                 ``permanent``
=====================================================  =============
4xx (400 bad payload, 403/404/410 revoked hook, ...)   yes
408 Request Timeout, 429 Too Many Requests             no
5xx                                                    no
3xx: redirects are not followed (see below)            yes
refused, reset, timed out, TLS failure, bad answer     no
=====================================================  =============

A ``Retry-After`` header of a 429 or 503 answer is quoted in the error message ("retry after
30 s"); :class:`~upslife.errors.DeliveryFailed` has no field for it.

Safety: only ``https://`` URLs are accepted, plus ``http://`` to a loopback host
(``127.0.0.1``, ``localhost``, ``[::1]``) that the operator allow-lists; anything else
(plain ``http`` to another host, ``file:``, ``ftp:``) is refused before any connection.
A webhook URL comes from a customer's settings, so it must not reach the operator's own
network (issue 13): a host that is, or resolves to, a loopback, link-local (the cloud
metadata service at 169.254.169.254), private, shared, reserved, multicast or unspecified
address is refused before anything is sent, unless ``allow_hosts`` names it (a host name,
an address or a network such as ``10.1.0.0/16``). The check resolves the name itself, so a
public name that points into the private network is refused too, and the connection then goes
to the addresses that were checked, not to a second answer of the resolver: a name whose
answer changes between the check and the connection (DNS rebinding) cannot steer a message
inside. TLS still verifies the certificate against the URL's host name. Behind a proxy from the
environment the proxy resolves the name, so the pinning is the proxy's business there. Redirects
are not followed, so a webhook cannot bounce a message to another scheme or host. A webhook
URL's path is its secret, so errors and logs name only the scheme and host. Proxies from
the environment (``HTTPS_PROXY``) are honoured, except for loopback URLs.
"""

from __future__ import annotations

import functools
import http.client
import ipaddress
import json
import logging
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from http.client import HTTPMessage
from typing import IO, Any, Final, final
from urllib.parse import SplitResult, urlsplit

from upslife.errors import DeliveryFailed, InvalidInput

__all__ = ["DEFAULT_USER_AGENT", "LOOPBACK_HOSTS", "WebhookSender"]

_log = logging.getLogger(__name__)

DEFAULT_USER_AGENT: Final = "upslife-webhooks/1"
"""The ``User-Agent`` sent unless another is given."""

LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
"""The hosts that may be reached over plain ``http://``."""

_TRANSIENT_4XX: Final = frozenset({408, 429})
_MAX_ANSWER: Final = 64 * 1024  # bytes of an answer read; the rest is not wanted


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Turn every 3xx answer into an :class:`urllib.error.HTTPError` instead of following it."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


@final
class WebhookSender:
    """Posts JSON to incoming-webhook URLs.

    Args:
        timeout: seconds allowed for connecting and for each read of the answer.
        user_agent: the ``User-Agent`` header.
        ssl_context: the TLS settings for ``https``; default :func:`ssl.create_default_context`
            (verifies the certificate and the host name). Give one to trust a private CA.
        allow_hosts: host names, addresses and networks (``"10.1.0.0/16"``) that may be
            reached although they are loopback, link-local or private; none by default.

    Raises:
        InvalidInput: a malformed setting.
    """

    __slots__ = (
        "_allowed_names",
        "_allowed_networks",
        "_context",
        "_direct",
        "_proxied",
        "timeout",
        "user_agent",
    )

    def __init__(
        self,
        timeout: float = 10.0,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        ssl_context: ssl.SSLContext | None = None,
        allow_hosts: Iterable[str] = (),
    ) -> None:
        self._allowed_names, self._allowed_networks = _allow_list(allow_hosts)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise InvalidInput(f"webhook timeout must be a positive number, got {timeout!r}")
        if not isinstance(user_agent, str) or not user_agent.strip() or "\n" in user_agent:
            raise InvalidInput(f"user_agent must be a one-line string, got {user_agent!r}")
        self.timeout: Final = float(timeout)
        self.user_agent: Final = user_agent.strip()
        context = ssl_context if ssl_context is not None else ssl.create_default_context()
        self._context: Final = context
        https = urllib.request.HTTPSHandler(context=context)
        self._proxied: Final = urllib.request.build_opener(_NoRedirects(), https)
        self._direct: Final = urllib.request.build_opener(
            _NoRedirects(), https, urllib.request.ProxyHandler({})
        )

    def __repr__(self) -> str:
        return f"WebhookSender(timeout={self.timeout}, user_agent={self.user_agent!r})"

    def post(self, url: str, payload: dict[str, object]) -> None:
        """POST ``payload`` as JSON (``Content-Type: application/json``) to ``url``.

        Raises:
            InvalidInput: a URL that is not ``https://`` (or ``http://`` to loopback), or a
                payload that is not a JSON object; nothing was sent.
            DeliveryFailed: the webhook refused the message or could not be reached (see the
                module for which failures are ``permanent``).
        """
        parts = _check_url(url, self._allow_listed)
        if not isinstance(payload, dict):
            raise InvalidInput(f"a webhook payload is a dict, got {type(payload).__name__}")
        try:
            body = json.dumps(payload, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as e:
            raise InvalidInput(f"the webhook payload is not JSON-serializable: {e}") from e
        vetted = self._check_destination(parts)
        where = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": self.user_agent},
        )
        opener = self._opener(parts, vetted)
        _log.debug("posting %d bytes to the webhook at %s", len(body), where)
        try:
            with opener.open(request, timeout=self.timeout) as response:
                status: int = response.status
                response.read(_MAX_ANSWER)
        except urllib.error.HTTPError as e:
            raise _refusal(e, where) from e
        except urllib.error.URLError as e:
            raise DeliveryFailed(f"could not reach the webhook at {where}: {e.reason}") from e
        except TimeoutError as e:
            raise DeliveryFailed(f"the webhook at {where} did not answer in time") from e
        except (http.client.HTTPException, OSError) as e:
            raise DeliveryFailed(f"the webhook at {where} failed: {type(e).__name__}: {e}") from e
        _log.debug("the webhook at %s answered %d", where, status)

    def _allow_listed(self, host: str) -> bool:
        address = _ip(host)
        return host.lower() in self._allowed_names or (
            address is not None and self._allowed(address)
        )

    def _allowed(self, address: _Address) -> bool:
        return any(address in network for network in self._allowed_networks)

    def _check_destination(self, parts: SplitResult) -> tuple[str, ...]:
        """Refuse a host that is, or resolves to, an internal address (see the module).

        Returns the addresses a host name resolved to, all checked, in the resolver's order;
        none for an address literal or an allow-listed name, which were not resolved.
        """
        host = (parts.hostname or "").lower()
        if host in self._allowed_names:
            return ()
        literal = _ip(host)
        if literal is not None:
            if _internal(literal) and not self._allowed(literal):
                raise InvalidInput(_internal_message(host, literal))
            return ()
        if host == "localhost" or host.endswith(".localhost"):
            raise InvalidInput(_internal_message(host, None))
        try:
            found = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError) as e:
            raise DeliveryFailed(f"could not resolve the webhook host {host}: {e}") from e
        vetted: list[str] = []
        for *_, sockaddr in found:
            address = _ip(str(sockaddr[0]))
            if address is not None and _internal(address) and not self._allowed(address):
                raise DeliveryFailed(_internal_message(host, address), permanent=True)
            if str(sockaddr[0]) not in vetted:
                vetted.append(str(sockaddr[0]))
        return tuple(vetted)

    def _opener(self, parts: SplitResult, vetted: tuple[str, ...]) -> urllib.request.OpenerDirector:
        """The opener for one post: pinned to ``vetted`` unless a proxy will resolve the host."""
        host = parts.hostname or ""
        if host in LOOPBACK_HOSTS:
            return self._direct
        if not vetted or (urllib.request.getproxies().get("https") and not _bypassed(host)):
            return self._proxied
        return urllib.request.build_opener(
            _NoRedirects(),
            _PinnedHTTPSHandler(self._context, vetted),
            urllib.request.ProxyHandler({}),
        )


def _bypassed(host: str) -> bool:
    """Whether ``NO_PROXY`` exempts ``host`` from the environment's proxy."""
    return bool(urllib.request.proxy_bypass(host))


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to addresses resolved and checked before it was made.

    Only the address is fixed: the TLS handshake still names, and verifies, the URL's host.
    """

    def __init__(self, host: str, *, addresses: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self._addresses = addresses
        self._create_connection = self._connect_pinned

    def _connect_pinned(
        self,
        address: tuple[str, int],
        timeout: float | None = None,
        source_address: tuple[str, int] | None = None,
    ) -> socket.socket:
        port = address[1]
        last: OSError | None = None
        for ip in self._addresses:
            try:
                return socket.create_connection((ip, port), timeout, source_address)
            except OSError as e:
                last = e
        assert last is not None  # a pinned connection has at least one address
        raise last


class _PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, context: ssl.SSLContext, addresses: tuple[str, ...]) -> None:
        super().__init__(context=context)
        self._pinned_context = context
        self._addresses = addresses

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = functools.partial(_PinnedHTTPSConnection, addresses=self._addresses)
        return self.do_open(connection, req, context=self._pinned_context)


_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _allow_list(entries: Iterable[str]) -> tuple[frozenset[str], tuple[_Network, ...]]:
    if isinstance(entries, str) or not isinstance(entries, Iterable):
        raise InvalidInput(f"allow_hosts is a list of hosts or networks, got {entries!r}")
    names: set[str] = set()
    networks: list[_Network] = []
    for entry in entries:
        if not isinstance(entry, str) or not entry.strip():
            raise InvalidInput(f"allow_hosts entries are host names or networks, got {entry!r}")
        text = entry.strip().lower().strip("[]")
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            names.add(text)
    return frozenset(names), tuple(networks)


def _ip(host: str) -> _Address | None:
    try:
        address = ipaddress.ip_address(host.strip("[]").partition("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _internal(address: _Address) -> bool:
    return (
        address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or not address.is_global
    )


def _internal_message(host: str, address: _Address | None) -> str:
    where = host if address is None or str(address) == host.strip("[]") else f"{host} ({address})"
    return (
        f"refusing the webhook host {where}: it is a loopback, link-local or private "
        "address; an operator may allow it with allow_hosts"
    )


def _check_url(
    url: object, allow_listed: Callable[[str], bool] = lambda host: False
) -> SplitResult:
    if not isinstance(url, str):
        raise InvalidInput(f"a webhook URL is a string, got {type(url).__name__}")
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        parts.port  # noqa: B018  # a malformed port raises here, not in the middle of a send
    except ValueError as e:
        raise InvalidInput(f"malformed webhook URL: {e}") from e
    scheme = parts.scheme.lower()
    if not host:
        raise InvalidInput("the webhook URL names no host")
    if scheme == "https" or (scheme == "http" and host in LOOPBACK_HOSTS and allow_listed(host)):
        return parts
    if scheme == "http":
        raise InvalidInput(
            f"refusing plain http:// to {host}: webhook URLs must be https:// "
            "(http:// is allowed to an allow-listed 127.0.0.1 or localhost only)"
        )
    raise InvalidInput(f"a webhook URL must be https://, got a {scheme or 'scheme-less'} URL")


def _refusal(error: urllib.error.HTTPError, where: str) -> DeliveryFailed:
    """The :class:`DeliveryFailed` for a non-2xx answer; closes the answer."""
    code = error.code
    try:
        text = _excerpt(error.read(_MAX_ANSWER)) if error.fp is not None else ""
        retry_after = error.headers.get("Retry-After") if error.headers is not None else None
    except (http.client.HTTPException, OSError):
        text, retry_after = "", None
    finally:
        error.close()
    permanent = 300 <= code < 500 and code not in _TRANSIENT_4XX
    message = f"the webhook at {where} answered {code} {error.reason}"
    if text:
        message += f": {text}"
    if retry_after:
        wait = _excerpt(retry_after.encode())
        message += f" (retry after {wait} s)" if wait.isdigit() else f" (retry after {wait})"
    if 300 <= code < 400:
        message += "; redirects are not followed: configure the final https:// URL"
    return DeliveryFailed(message, permanent=permanent)


def _excerpt(data: bytes) -> str:
    return " ".join(data.decode("utf-8", "replace").split())[:200]
