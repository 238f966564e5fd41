"""The mail sender for a real SMTP server (:class:`~upslife.ports.MailSender`), stdlib only.

:class:`SmtpSender` hands each message to an SMTP server (a relay, a submission port, a
provider) with :mod:`smtplib`. It holds no business rule: who gets which notice, and when, is
decided before a message reaches it. It translates every failure to
:class:`~upslife.errors.DeliveryFailed` (the :mod:`smtplib` or socket error chained as
``__cause__``), ``permanent`` for a refusal that retrying will not fix:

==========================================================  =============
failure                                                     ``permanent``
==========================================================  =============
a reply code 5xx (sender, recipients or data refused)       yes
a reply code 4xx (greylisting, mailbox busy, rate limit)    no
authentication refused (535; a 4xx code stays transient)    yes
STARTTLS or AUTH not offered, SMTPUTF8 needed but absent    yes
no common AUTH mechanism, a message smtplib cannot send     yes
connection refused, reset, dropped, timed out; TLS failure  no
==========================================================  =============

A message refused for some recipients and accepted for others raises too (``permanent`` if
every refusal was 5xx): the message is on its way to the others, and the caller must know.

One connection per message: ``send`` connects, secures, logs in, sends and quits. Nothing is
kept open between messages, so there is no idle connection to lose or leak and the sender is
safe to share between threads; the cost, one handshake per message, is small next to a daily
sweep's volume (and digests, SPEC N10, keep that volume down).

Logging (``logging.getLogger("upslife.adapters.smtp")``, DEBUG only): the Message-ID, the
recipient count and the server; never the password, the addresses or the body.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Iterable
from email.message import Message
from email.utils import getaddresses
from typing import Final, Literal, final, get_args
from urllib.parse import parse_qsl, unquote, urlsplit

from upslife.errors import DeliveryFailed, InvalidInput

__all__ = ["DEFAULT_PORTS", "Security", "SmtpSender"]

_log = logging.getLogger(__name__)

Security = Literal["none", "starttls", "ssl"]
"""How the connection is secured: not at all, STARTTLS after connecting, or TLS from the start."""

_SECURITIES: Final = frozenset(get_args(Security))

DEFAULT_PORTS: Final[dict[str, int]] = {"none": 25, "starttls": 587, "ssl": 465}
"""The port used when none is given: SMTP relay, submission (RFC 6409), submissions (RFC 8314)."""

_URL_SCHEMES: Final[dict[str, Security]] = {"smtp": "starttls", "smtps": "ssl"}


@final
class SmtpSender:
    """Sends messages through one SMTP server.

    Args:
        host: the server's name or IP address.
        port: its port; ``None`` (the default) picks the standard port of ``security``:
            587 for ``"starttls"``, 465 for ``"ssl"``, 25 for ``"none"``.
        security: ``"starttls"`` (the default: encrypted, and refused rather than sent in
            clear if the server does not offer STARTTLS), ``"ssl"`` (implicit TLS, port 465)
            or ``"none"`` (plain SMTP, for a relay on the same host or network only: with
            ``username`` the password then crosses the network in clear).
        username, password: log in with these (AUTH) after securing; both or neither.
        timeout: seconds allowed for connecting and for each reply of the server; a silent
            server fails the send after at most this long per step, never hangs it.
        ssl_context: the TLS settings; default :func:`ssl.create_default_context` (verifies
            the certificate and the host name). Only with ``"starttls"`` or ``"ssl"``.
        local_hostname: the name announced in EHLO; default the machine's FQDN.

    Raises:
        InvalidInput: a malformed setting.
    """

    __slots__ = (
        "_password",
        "_ssl_context",
        "host",
        "local_hostname",
        "port",
        "security",
        "timeout",
        "username",
    )

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        if not isinstance(host, str) or not host.strip():
            raise InvalidInput(f"SMTP host must be a non-empty string, got {host!r}")
        if security not in _SECURITIES:
            raise InvalidInput(
                f"SMTP security must be one of {sorted(_SECURITIES)}, got {security!r}"
            )
        if port is None:
            port = DEFAULT_PORTS[security]
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise InvalidInput(f"SMTP port must be an int in 1..65535, got {port!r}")
        if (username is None) != (password is None) or username == "":
            raise InvalidInput("SMTP username and password go together: give both or neither")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise InvalidInput(f"SMTP timeout must be a positive number, got {timeout!r}")
        if not all(map(_ascii_text, (username, password))):
            raise InvalidInput("SMTP username and password must be ASCII text, as smtplib sends")
        if ssl_context is not None and security == "none":
            raise InvalidInput('an ssl_context needs security="starttls" or "ssl", not "none"')
        self.host: Final = host.strip()
        self.port: Final = port
        self.security: Final[Security] = security
        self.username: Final = username
        self._password: Final = password
        self.timeout: Final = float(timeout)
        self._ssl_context: Final = ssl_context
        self.local_hostname: Final = local_hostname

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> SmtpSender:
        """A sender configured by one URL, as a deployment's settings hold it.

        ``smtp://[user:password@]host[:port][?security=starttls|none][&timeout=seconds]``;
        ``smtps://...`` is ``security="ssl"``. The user and password are percent-decoded
        (write ``@`` as ``%40``, ``:`` as ``%3A``); a missing port is the security's standard
        one. ``smtp://`` defaults to STARTTLS, like the constructor.

        >>> sender = SmtpSender.from_url("smtp://alerts%40example.com:s%3Acret@mail.example.com")
        >>> sender.host, sender.port, sender.security, sender.username
        ('mail.example.com', 587, 'starttls', 'alerts@example.com')
        >>> SmtpSender.from_url("smtps://mail.example.com").port
        465

        Raises:
            InvalidInput: another scheme, a missing host, an unknown or contradictory query
                parameter, a malformed port or timeout.
        """
        if not isinstance(url, str):
            raise InvalidInput(f"an SMTP URL must be a string, got {type(url).__name__}")
        try:
            parts = urlsplit(url.strip())
        except ValueError as e:  # an unclosed IPv6 bracket: smtp://[::1
            raise InvalidInput(f"malformed SMTP URL: {e}") from None
        scheme = parts.scheme.lower()
        if scheme not in _URL_SCHEMES:
            raise InvalidInput(f"an SMTP URL starts with smtp:// or smtps://, got {scheme!r}")
        if not parts.hostname:
            raise InvalidInput("the SMTP URL names no host")
        if parts.path not in ("", "/") or parts.fragment:
            raise InvalidInput("an SMTP URL has no path or fragment: smtp://user:pass@host:port")
        try:
            port = parts.port
        except ValueError as e:
            raise InvalidInput(f"the SMTP URL has a malformed port: {e}") from e
        security: Security = _URL_SCHEMES[scheme]
        timeout = 10.0
        for name, value in parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False):
            if name == "security":
                if value not in _SECURITIES:
                    raise InvalidInput(
                        f"security must be one of {sorted(_SECURITIES)}, got {value!r}"
                    )
                if scheme == "smtps" and value != "ssl":
                    raise InvalidInput(f"smtps:// is implicit TLS; security={value} contradicts it")
                security = value  # type: ignore[assignment]  # checked against Security above
            elif name == "timeout":
                try:
                    timeout = float(value)
                except ValueError as e:
                    raise InvalidInput(f"timeout must be a number of seconds, got {value!r}") from e
            else:
                raise InvalidInput(f"unknown SMTP URL parameter {name!r}; known: security, timeout")
        username = None if parts.username is None else unquote(parts.username)
        password = None if parts.password is None else unquote(parts.password)
        if (username is None) != (password is None) or username == "":
            raise InvalidInput(
                "the SMTP URL needs both a user and a password: smtp://user:pass@host"
            )
        return cls(
            parts.hostname,
            port,
            security=security,
            username=username,
            password=password,
            timeout=timeout,
            ssl_context=ssl_context,
            local_hostname=local_hostname,
        )

    def __repr__(self) -> str:
        login = "" if self.username is None else f", username={self.username!r}, password=***"
        return (
            f"SmtpSender({self.host!r}, {self.port}, security={self.security!r}{login}, "
            f"timeout={self.timeout})"
        )

    def send(self, message: Message) -> None:
        """Hand ``message`` to the server for delivery to its To, Cc and Bcc addresses.

        The envelope sender and recipients come from the headers (:meth:`smtplib.SMTP.
        send_message`); a Bcc header is not transmitted. Returns once the server accepted
        the message for every recipient.

        Raises:
            InvalidInput: ``message`` is not a :class:`email.message.Message`, or has no
                sender or no recipient.
            DeliveryFailed: the server refused or could not be reached (see the module).
        """
        if not isinstance(message, Message):
            raise InvalidInput(f"expected an email.message.Message, got {type(message).__name__}")
        recipients = _count_recipients(message)
        if recipients == 0:
            raise InvalidInput("the message has no To, Cc or Bcc address: nobody to send it to")
        if not (message["Sender"] or message["From"]):
            raise InvalidInput("the message has no From header: no envelope sender")
        message_id = message["Message-ID"]
        where = f"{self.host}:{self.port}"
        _log.debug("sending Message-ID %s to %d recipient(s) via %s", message_id, recipients, where)
        try:
            smtp = self._connect()
        except (smtplib.SMTPException, OSError) as e:
            raise _translate(e, where, message_id) from e
        try:
            self._secure_and_login(smtp)
            refused = smtp.send_message(message)
        except (smtplib.SMTPException, OSError, ValueError) as e:
            raise _translate(e, where, message_id) from e
        finally:
            _close(smtp)
        if refused:
            # Some recipients were refused, the others accepted: the message is on its way
            # to them, so the caller must learn of the rest (the outbox decides what to do).
            raise DeliveryFailed(
                f"{where} accepted message {message_id} for {recipients - len(refused)} of "
                f"{recipients} recipient(s); it refused {len(refused)} "
                f"({_codes(refused.values())})",
                permanent=_all_permanent(code for code, _ in refused.values()),
            )
        _log.debug("sent Message-ID %s via %s", message_id, where)

    def check(self) -> None:
        """Preflight (:class:`~upslife.ports.SelfChecking`): connect, secure and log in as
        :meth:`send` would, then quit, sending nothing.

        Raises:
            DeliveryFailed: as :meth:`send` classifies it, except that a TLS handshake
                failing for another reason than an untrusted certificate (``smtps://``
                against a server speaking plain SMTP, no shared protocol) is ``permanent``:
                that is a settings mismatch, not an outage.
        """
        where = f"{self.host}:{self.port}"
        try:
            smtp = self._connect()
        except (smtplib.SMTPException, OSError) as e:
            raise _preflight_error(e, where) from e
        try:
            self._secure_and_login(smtp)
            smtp.noop()
        except (smtplib.SMTPException, OSError, ValueError) as e:
            raise _preflight_error(e, where) from e
        finally:
            _close(smtp)

    # ------------------------------------------------------------------ internals

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            return smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
                context=self._context(),
            )
        return smtplib.SMTP(
            self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout
        )

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context if self._ssl_context is not None else ssl.create_default_context()

    def _secure_and_login(self, smtp: smtplib.SMTP) -> None:
        smtp.ehlo()
        if self.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise smtplib.SMTPNotSupportedError(
                    "the server does not offer STARTTLS; refusing to send in clear "
                    '(configure security="none" only for a trusted local relay)'
                )
            smtp.starttls(context=self._context())
            smtp.ehlo()
        if self.username is not None and self._password is not None:
            smtp.login(self.username, self._password)


def _ascii_text(value: str | None) -> bool:
    return value is None or (isinstance(value, str) and value.isascii())


def _count_recipients(message: Message) -> int:
    fields: list[str] = []
    for header in ("To", "Cc", "Bcc"):
        fields.extend(str(value) for value in message.get_all(header, []))
    return sum(1 for _, address in getaddresses(fields) if address)


def _close(smtp: smtplib.SMTP) -> None:
    """QUIT politely, then close: a failure here must not turn a sent message into an error."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        smtp.close()


def _is_permanent(code: int) -> bool:
    return not 400 <= code < 500


def _all_permanent(codes: Iterable[int]) -> bool:
    return all(_is_permanent(code) for code in codes)


def _codes(replies: Iterable[tuple[int, bytes]]) -> str:
    return ", ".join(sorted({str(code) for code, _ in replies}))


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}"[:300]


def _translate(
    error: Exception, where: str, message_id: object, *, what: str | None = None
) -> DeliveryFailed:
    """The :class:`DeliveryFailed` for an :mod:`smtplib` or socket error (chain it)."""
    what = what or f"message {message_id or '(no Message-ID)'} via {where}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = list(error.recipients.values())
        return DeliveryFailed(
            f"{where} refused every recipient of {what} ({_codes(replies)}): "
            + "; ".join(sorted({_reply(code, text) for code, text in replies})),
            permanent=_all_permanent(code for code, _ in replies),
        )
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return DeliveryFailed(
            f"{where} refused the login for {what}: {_reply(error.smtp_code, error.smtp_error)}; "
            "check the SMTP username and password",
            permanent=_is_permanent(error.smtp_code),
        )
    if isinstance(error, smtplib.SMTPSenderRefused):
        return DeliveryFailed(
            f"{where} refused the sender of {what}: {_reply(error.smtp_code, error.smtp_error)}",
            permanent=_is_permanent(error.smtp_code),
        )
    if isinstance(error, smtplib.SMTPResponseException):
        # SMTPDataError, SMTPConnectError, SMTPHeloError and any other reply with a code.
        return DeliveryFailed(
            f"{where} refused {what}: {_reply(error.smtp_code, error.smtp_error)}",
            permanent=_is_permanent(error.smtp_code),
        )
    if isinstance(error, smtplib.SMTPNotSupportedError):
        # No STARTTLS, no AUTH, or SMTPUTF8 needed: the server's configuration or ours.
        return DeliveryFailed(f"cannot send {what}: {error}", permanent=True)
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return DeliveryFailed(f"{where} dropped the connection sending {what}: {error}")
    if isinstance(error, smtplib.SMTPException):
        # "No suitable authentication method found" and other protocol dead ends.
        return DeliveryFailed(f"cannot send {what}: {error}", permanent=True)
    if isinstance(error, TimeoutError):
        return DeliveryFailed(f"{where} did not answer in time for {what}: {error}")
    if isinstance(error, ssl.SSLError):
        return DeliveryFailed(f"TLS with {where} failed for {what}: {error}")
    if isinstance(error, OSError):
        # Connection refused or reset, name resolution, network unreachable.
        return DeliveryFailed(f"could not deliver {what}: {type(error).__name__}: {error}")
    # ValueError: a message smtplib cannot send (several Resent- blocks); retrying won't help.
    return DeliveryFailed(f"cannot send {what}: {type(error).__name__}: {error}", permanent=True)


def _preflight_error(error: Exception, where: str) -> DeliveryFailed:
    """The :class:`DeliveryFailed` of a preflight: as :func:`_translate`, but a TLS failure
    that is no certificate problem is a settings mismatch (permanent)."""
    failed = _translate(error, where, None, what=f"mail via {where} (preflight check)")
    mismatch = isinstance(error, ssl.SSLError) and not isinstance(
        error, ssl.SSLCertVerificationError
    )
    return DeliveryFailed(str(failed), permanent=failed.permanent or mismatch)
