"""SmtpSender against a real SMTP server (aiosmtpd) on 127.0.0.1: no other network."""

from __future__ import annotations

import doctest
import email
import email.policy
import logging
import smtplib
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

import upslife.adapters.smtp
from tests.peers import free_port, make_certificate, silent_server
from upslife.adapters.smtp import SmtpSender
from upslife.errors import DeliveryFailed, InvalidInput

HOST = "127.0.0.1"
CLIENT = "client.upslife.test"  # named in EHLO: no lookup of this machine's name
SERVER = "mx.upslife.test"
USER = "alerts@example.com"
PASSWORD = "s3cret:with@odd/chars%"
BODY = "Replace the battery of SMT1500C AS1234567890 by 1 March 2026. Ça presse."


# --------------------------------------------------------------------------- peers


class Recorder:
    """An aiosmtpd handler that keeps every message it accepts, and whether TLS carried it."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.encrypted: list[bool] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        transport = server.transport
        self.encrypted.append(
            transport is not None and transport.get_extra_info("ssl_object") is not None
        )
        return "250 OK: queued"

    def received(self) -> list[EmailMessage]:
        messages = []
        for envelope in self.envelopes:
            assert isinstance(envelope.content, bytes)
            parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            messages.append(parsed)
        return messages


class Refuser(Recorder):
    """Answers ``reply`` at one step (MAIL, RCPT or DATA), for the recipients in ``only``."""

    def __init__(self, step: str, reply: str, only: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.step = step
        self.reply = reply
        self.only = only

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.step == "MAIL":
            return self.reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.step == "RCPT" and (not self.only or address in self.only):
            return self.reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.step == "DATA":
            return self.reply
        return await super().handle_DATA(server, session, envelope)


def authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # not handled: the server answers 535


@contextmanager
def smtp_server(handler: Recorder, **options: Any) -> Iterator[int]:
    """A running aiosmtpd server on 127.0.0.1; yields its port."""
    controller = Controller(
        handler, hostname=HOST, port=free_port(), server_hostname=SERVER, **options
    )
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


@contextmanager
def login_server(handler: Recorder) -> Iterator[int]:
    """A server that offers AUTH over plain SMTP (``security="none"``); yields its port."""
    with smtp_server(handler, authenticator=authenticate, auth_require_tls=False) as port:
        yield port


@contextmanager
def relay_server(handler: Recorder, certificate: tuple[Path, Path]) -> Iterator[int]:
    """A server set up as a mail relay should be: STARTTLS required, and AUTH only once the
    session is encrypted; yields its port."""
    with smtp_server(
        handler,
        tls_context=server_context(certificate),
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
    ) as port:
        yield port


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    return free_port()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key."""
    return make_certificate(tmp_path_factory.mktemp("tls"), ("127.0.0.1", "localhost"))


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def client_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def client(port: int, **settings: Any) -> SmtpSender:
    """A sender for the test server at ``port``, naming itself without a DNS lookup."""
    return SmtpSender(HOST, port, local_hostname=CLIENT, **settings)


def notice(*, to: str = "owner@example.com", **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "UPS lifecycle <notices@upslife.example>"
    message["To"] = to
    message["Subject"] = "Battery Replacement Due"
    message["Message-ID"] = make_msgid(domain="upslife.example")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(BODY)
    return message


# --------------------------------------------------------------------------- delivery


class TestDelivery:
    def test_a_sent_message_arrives_with_its_headers_and_body_intact(self) -> None:
        recorder = Recorder()
        message = notice()
        with smtp_server(recorder) as port:
            client(port, security="none").send(message)
        [received] = recorder.received()
        for header in ("From", "To", "Subject", "Message-ID"):
            assert received[header] == message[header]
        assert received.get_content().strip() == BODY
        assert recorder.envelopes[0].mail_from == "notices@upslife.example"

    def test_the_envelope_holds_to_cc_and_bcc_and_bcc_is_not_transmitted(self) -> None:
        recorder = Recorder()
        message = notice(Cc="reseller@example.net", Bcc="audit@upslife.example")
        with smtp_server(recorder) as port:
            client(port, security="none").send(message)
        assert sorted(recorder.envelopes[0].rcpt_tos) == [
            "audit@upslife.example",
            "owner@example.com",
            "reseller@example.net",
        ]
        assert "Bcc" not in recorder.received()[0]

    def test_each_send_opens_its_own_connection_so_a_shared_sender_serves_threads(self) -> None:
        recorder = Recorder()
        messages = [notice() for _ in range(6)]
        with smtp_server(recorder) as port:
            sender = client(port, security="none")
            threads = [threading.Thread(target=sender.send, args=(m,)) for m in messages]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert sorted(m["Message-ID"] for m in recorder.received()) == sorted(
            m["Message-ID"] for m in messages
        )

    def test_a_message_without_recipients_is_invalid_input_and_nothing_is_sent(self) -> None:
        message = notice()
        del message["To"]
        with pytest.raises(InvalidInput, match="no To, Cc or Bcc"):
            client(closed_port(), security="none").send(message)

    def test_a_message_without_a_sender_is_invalid_input(self) -> None:
        message = notice()
        del message["From"]
        with pytest.raises(InvalidInput, match="no From"):
            client(closed_port(), security="none").send(message)


class TestSecurityAndLogin:
    def test_login_with_the_right_password_sends(self) -> None:
        recorder = Recorder()
        with login_server(recorder) as port:
            client(port, security="none", username=USER, password=PASSWORD).send(notice())
        assert len(recorder.envelopes) == 1

    def test_a_wrong_password_is_a_permanent_failure(self) -> None:
        recorder = Recorder()
        with login_server(recorder) as port:
            sender = client(port, security="none", username=USER, password="wrong")
            with pytest.raises(DeliveryFailed, match="refused the login") as failure:
                sender.send(notice())
        assert failure.value.permanent
        assert isinstance(failure.value.__cause__, smtplib.SMTPAuthenticationError)
        assert "wrong" not in str(failure.value)
        assert recorder.envelopes == []

    def test_a_server_that_offers_no_login_is_a_permanent_failure_when_one_is_configured(
        self,
    ) -> None:
        recorder = Recorder()
        with smtp_server(recorder) as port:  # no authenticator: AUTH is not offered
            sender = client(port, security="none", username=USER, password=PASSWORD)
            with pytest.raises(DeliveryFailed, match="AUTH") as failure:
                sender.send(notice())
        assert failure.value.permanent
        assert recorder.envelopes == []

    def test_starttls_encrypts_the_session_before_logging_in(
        self, certificate: tuple[Path, Path]
    ) -> None:
        recorder = Recorder()
        with relay_server(recorder, certificate) as port:
            client(
                port,
                username=USER,
                password=PASSWORD,
                ssl_context=client_context(certificate),
            ).send(notice())
        assert recorder.encrypted == [True]

    def test_starttls_is_the_default_and_a_server_without_it_is_refused_not_sent_in_clear(
        self,
    ) -> None:
        recorder = Recorder()
        with smtp_server(recorder) as port:
            sender = client(port)
            assert sender.security == "starttls"
            with pytest.raises(DeliveryFailed, match="STARTTLS") as failure:
                sender.send(notice())
        assert failure.value.permanent
        assert recorder.envelopes == []

    def test_implicit_tls_delivers_on_an_smtps_port(self, certificate: tuple[Path, Path]) -> None:
        recorder = Recorder()
        with smtp_server(recorder, ssl_context=server_context(certificate)) as port:
            client(port, security="ssl", ssl_context=client_context(certificate)).send(notice())
        assert recorder.encrypted == [True]

    def test_a_certificate_that_is_not_trusted_fails_transiently_and_sends_nothing(
        self, certificate: tuple[Path, Path]
    ) -> None:
        recorder = Recorder()
        with smtp_server(recorder, tls_context=server_context(certificate)) as port:
            untrusted = ssl.create_default_context()  # the system CAs do not know our cert
            with pytest.raises(DeliveryFailed, match="TLS") as failure:
                client(port, ssl_context=untrusted).send(notice())
        assert not failure.value.permanent
        assert isinstance(failure.value.__cause__, ssl.SSLCertVerificationError)
        assert recorder.envelopes == []


# --------------------------------------------------------------------------- failures


class TestRefusalsAndOutages:
    @pytest.mark.parametrize("step", ["MAIL", "RCPT", "DATA"])
    @pytest.mark.parametrize(
        ("reply", "permanent"),
        [
            ("550 5.1.1 mailbox unavailable", True),
            ("554 5.7.1 rejected by policy", True),
            ("451 4.7.1 greylisted, try again later", False),
            ("452 4.2.2 mailbox full", False),
        ],
    )
    def test_a_5xx_refusal_is_permanent_and_a_4xx_one_transient(
        self, step: str, reply: str, permanent: bool
    ) -> None:
        recorder = Refuser(step, reply)
        with (
            smtp_server(recorder) as port,
            pytest.raises(DeliveryFailed, match=reply.split()[0]) as failure,
        ):
            client(port, security="none").send(notice())
        assert failure.value.permanent is permanent
        assert isinstance(failure.value.__cause__, smtplib.SMTPException)
        assert recorder.envelopes == []

    def test_a_message_refused_for_some_recipients_reports_it_and_reaches_the_others(
        self,
    ) -> None:
        recorder = Refuser("RCPT", "550 5.1.1 no such user", frozenset({"gone@example.net"}))
        message = notice(Cc="gone@example.net")
        with (
            smtp_server(recorder) as port,
            pytest.raises(DeliveryFailed, match="1 of 2") as failure,
        ):
            client(port, security="none").send(message)
        assert failure.value.permanent
        assert recorder.envelopes[0].rcpt_tos == ["owner@example.com"]
        assert "gone@example.net" not in str(failure.value)

    def test_a_server_that_is_down_is_a_transient_failure(self) -> None:
        sender = client(closed_port(), security="none", timeout=2.0)
        with pytest.raises(DeliveryFailed) as failure:
            sender.send(notice())
        assert not failure.value.permanent
        assert isinstance(failure.value.__cause__, ConnectionRefusedError)

    def test_a_server_that_never_answers_fails_transiently_within_the_timeout(self) -> None:
        timeout = 0.5
        with silent_server() as port:
            sender = client(port, security="none", timeout=timeout)
            started = time.monotonic()
            with pytest.raises(DeliveryFailed) as failure:
                sender.send(notice())
            elapsed = time.monotonic() - started
        assert not failure.value.permanent
        assert timeout * 0.8 <= elapsed < timeout + 2.0


# --------------------------------------------------------------------------- settings, secrets


class TestSettings:
    def test_the_port_defaults_to_the_standard_port_of_the_security(self) -> None:
        assert SmtpSender("mail.example.com").port == 587
        assert SmtpSender("mail.example.com", security="ssl").port == 465
        assert SmtpSender("mail.example.com", security="none").port == 25
        assert SmtpSender("mail.example.com", 2525).port == 2525

    @pytest.mark.parametrize(
        "settings",
        [
            {"host": ""},
            {"port": 0},
            {"port": 70000},
            {"security": "tls"},
            {"timeout": 0},
            {"username": USER},
            {"password": PASSWORD},
            {"username": "bjørn", "password": PASSWORD},
            {"security": "none", "ssl_context": ssl.create_default_context()},
        ],
        ids=lambda s: ",".join(s),
    )
    def test_a_malformed_setting_is_invalid_input(self, settings: dict[str, Any]) -> None:
        arguments: dict[str, Any] = {"host": "mail.example.com", **settings}
        with pytest.raises(InvalidInput):
            SmtpSender(**arguments)

    def test_a_url_configures_host_port_security_and_percent_decoded_credentials(self) -> None:
        sender = SmtpSender.from_url(
            "smtp://alerts%40example.com:s3cret%3Awith%40odd%2Fchars%25@mail.example.com:2525"
            "?security=starttls&timeout=3"
        )
        assert (sender.host, sender.port, sender.security) == ("mail.example.com", 2525, "starttls")
        assert sender.username == USER
        assert sender.timeout == 3.0

    @pytest.mark.parametrize(
        ("url", "security", "port"),
        [
            ("smtp://mail.example.com", "starttls", 587),
            ("smtps://mail.example.com", "ssl", 465),
            ("smtp://relay.internal?security=none", "none", 25),
            ("SMTPS://[::1]:4650", "ssl", 4650),
        ],
    )
    def test_a_url_without_a_security_parameter_takes_its_schemes(
        self, url: str, security: str, port: int
    ) -> None:
        sender = SmtpSender.from_url(url)
        assert (sender.security, sender.port, sender.username) == (security, port, None)

    @pytest.mark.parametrize(
        "url",
        [
            "http://mail.example.com",
            "smtp://",
            "smtp://mail.example.com:notaport",
            "smtp://mail.example.com?security=tls",
            "smtp://mail.example.com?secure=1",
            "smtps://mail.example.com?security=starttls",
            "smtp://user@mail.example.com",
            "smtp://mail.example.com/inbox",
            "smtp://mail.example.com?timeout=soon",
        ],
    )
    def test_a_malformed_url_is_invalid_input(self, url: str) -> None:
        with pytest.raises(InvalidInput):
            SmtpSender.from_url(url)

    def test_a_url_configured_sender_logs_in_with_the_decoded_password(self) -> None:
        recorder = Recorder()
        with login_server(recorder) as port:
            SmtpSender.from_url(
                f"smtp://alerts%40example.com:s3cret%3Awith%40odd%2Fchars%25@{HOST}:{port}"
                "?security=none",
                local_hostname=CLIENT,
            ).send(notice())
        assert len(recorder.envelopes) == 1

    def test_the_password_never_shows_in_the_repr(self) -> None:
        sender = SmtpSender("mail.example.com", username=USER, password=PASSWORD)
        assert PASSWORD not in repr(sender)
        assert "password=***" in repr(sender)

    def test_only_the_message_id_and_recipient_count_are_logged_at_debug(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        message = notice()
        with login_server(Recorder()) as port:
            client(port, security="none", username=USER, password=PASSWORD).send(message)
        ours = [r for r in caplog.records if r.name == "upslife.adapters.smtp"]
        assert ours
        assert all(r.levelno == logging.DEBUG for r in ours)
        assert str(message["Message-ID"]) in ours[0].getMessage()
        assert "1 recipient(s)" in ours[0].getMessage()
        for record in ours:
            text = record.getMessage()
            assert PASSWORD not in text
            assert "owner@example.com" not in text
            assert BODY not in text


class TestPreflightCheck:
    """``check()``: what the sweep asks before claiming anything (docs/operations.md)."""

    def test_a_server_that_takes_our_settings_passes_and_receives_nothing(
        self, certificate: tuple[Path, Path]
    ) -> None:
        recorder = Recorder()
        with relay_server(recorder, certificate) as port:
            sender = client(
                port, username=USER, password=PASSWORD, ssl_context=client_context(certificate)
            )
            sender.check()
        assert recorder.envelopes == []

    def test_settings_the_server_refuses_fail_for_good(self) -> None:
        recorder = Recorder()
        with login_server(recorder) as port:
            with pytest.raises(DeliveryFailed, match="STARTTLS") as no_tls:
                client(port).check()
            with pytest.raises(DeliveryFailed, match="refused the login") as bad_login:
                client(port, security="none", username=USER, password="wrong").check()
        assert no_tls.value.permanent
        assert bad_login.value.permanent
        assert "wrong" not in str(bad_login.value)

    def test_implicit_tls_against_a_plain_server_is_a_settings_mismatch(self) -> None:
        with smtp_server(Recorder()) as port, pytest.raises(DeliveryFailed) as failure:
            client(port, security="ssl", timeout=5).check()
        assert failure.value.permanent
        assert isinstance(failure.value.__cause__, ssl.SSLError)

    def test_a_server_down_or_an_untrusted_certificate_is_transient(
        self, certificate: tuple[Path, Path]
    ) -> None:
        with pytest.raises(DeliveryFailed, match="preflight") as down:
            client(closed_port(), security="none").check()
        assert not down.value.permanent
        tls = server_context(certificate)
        with smtp_server(Recorder(), tls_context=tls) as port, pytest.raises(
            DeliveryFailed
        ) as untrusted:
            client(port, ssl_context=ssl.create_default_context()).check()
        assert not untrusted.value.permanent


def test_the_module_examples_hold() -> None:
    failures, tried = doctest.testmod(upslife.adapters.smtp)
    assert tried > 0
    assert failures == 0
