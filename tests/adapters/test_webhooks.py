"""WebhookSender against a real HTTP server on 127.0.0.1: no other network (SPEC N6, E10).

Chat routes are a STANDARD feature (SPEC E10); the plan is checked before a route exists, so
the sender itself gates nothing and these tests post without any plan.
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
import threading
import time
import urllib.error
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn

import attrs
import pytest

from tests.peers import make_certificate, silent_server
from upslife.adapters.webhooks import WebhookSender
from upslife.errors import DeliveryFailed, InvalidInput

HOST = "127.0.0.1"
# The test server is on loopback, which a sender refuses unless allow-listed (issue 13).
LOCAL = ("127.0.0.1", "localhost")
SECRET_PATH = "/services/T0000/B0000/XXXXSECRETXXXX"
PAYLOAD: dict[str, object] = {
    "text": "Battery Replacement Due: SMT1500C AS1234567890 by 1 March 2026 — ça presse",
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*Replace Battery*"}}],
}


@attrs.define
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = attrs.field(factory=dict)


@attrs.define
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@attrs.define
class Hook:
    """What the test server answers, and every request it received."""

    url: str
    port: int
    answer: Answer
    received: list[Received]


@contextmanager
def webhook(answer: Answer | None = None, *, tls: ssl.SSLContext | None = None) -> Iterator[Hook]:
    """A server on 127.0.0.1 answering each POST with ``answer``; HTTPS with ``tls``."""
    received: list[Received] = []
    script = answer or Answer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            received.append(
                Received("POST", self.path, dict(self.headers.items()), self.rfile.read(length))
            )
            self.send_response(script.status)
            for name, value in script.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(script.body)))
            self.end_headers()
            self.wfile.write(script.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output quiet

    server = ThreadingHTTPServer((HOST, 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        scheme = "http" if tls is None else "https"
        yield Hook(f"{scheme}://{HOST}:{port}{SECRET_PATH}", port, script, received)
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


class TestDelivery:
    def test_the_json_arrives_with_the_json_content_type(self) -> None:
        with webhook() as hook:
            WebhookSender(user_agent="upslife-test/1", allow_hosts=LOCAL).post(hook.url, PAYLOAD)
        [request] = hook.received
        assert request.method == "POST"
        assert request.path == SECRET_PATH
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["User-Agent"] == "upslife-test/1"
        assert json.loads(request.body.decode("utf-8")) == PAYLOAD

    @pytest.mark.parametrize(
        "answer",
        [Answer(200, b"ok"), Answer(202, b""), Answer(200, b"1"), Answer(204, b"")],
        ids=["slack-200-ok", "teams-202", "teams-200", "204"],
    )
    def test_any_2xx_answer_is_success(self, answer: Answer) -> None:
        # SPEC N6: Slack answers "200 ok", Teams 200 or 202.
        with webhook(answer) as hook:
            WebhookSender(allow_hosts=LOCAL).post(hook.url, PAYLOAD)
        assert len(hook.received) == 1

    def test_localhost_may_be_reached_over_plain_http(self) -> None:
        with webhook() as hook:
            WebhookSender(allow_hosts=LOCAL).post(
                f"http://localhost:{hook.port}/hook", {"text": "hi"}
            )
        assert len(hook.received) == 1

    def test_a_loopback_url_bypasses_a_proxy_from_the_environment(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("http_proxy", f"http://{HOST}:{closed_port()}")
        monkeypatch.setenv("no_proxy", "")
        with webhook() as hook:
            WebhookSender(allow_hosts=LOCAL).post(hook.url, PAYLOAD)
        assert len(hook.received) == 1


class TestRefusals:
    @pytest.mark.parametrize(
        ("status", "permanent"),
        [
            (400, True),
            (403, True),
            (404, True),
            (410, True),
            (408, False),
            (429, False),
            (500, False),
            (502, False),
            (503, False),
        ],
    )
    def test_a_4xx_answer_is_permanent_but_408_429_and_5xx_are_transient(
        self, status: int, permanent: bool
    ) -> None:
        with (
            webhook(Answer(status, b"invalid_payload")) as hook,
            pytest.raises(DeliveryFailed, match=str(status)) as failure,
        ):
            WebhookSender(allow_hosts=LOCAL).post(hook.url, PAYLOAD)
        assert failure.value.permanent is permanent
        assert isinstance(failure.value.__cause__, urllib.error.HTTPError)
        assert "invalid_payload" in str(failure.value)  # Slack's reason, for the support log
        assert len(hook.received) == 1

    def test_retry_after_of_a_429_is_quoted_in_the_error(self) -> None:
        with (
            webhook(Answer(429, b"rate_limited", {"Retry-After": "30"})) as hook,
            pytest.raises(DeliveryFailed, match=r"retry after 30 s") as failure,
        ):
            WebhookSender(allow_hosts=LOCAL).post(hook.url, PAYLOAD)
        assert not failure.value.permanent

    def test_a_redirect_is_not_followed_and_is_a_permanent_failure(self) -> None:
        with webhook() as target:
            moved = Answer(302, b"", {"Location": target.url})
            with (
                webhook(moved) as hook,
                pytest.raises(DeliveryFailed, match="redirects are not followed") as failure,
            ):
                WebhookSender(allow_hosts=LOCAL).post(hook.url, PAYLOAD)
        assert failure.value.permanent
        assert target.received == []

    def test_the_secret_path_of_a_webhook_is_never_in_an_error_or_a_log(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        with (
            webhook(Answer(404, b"no_service")) as hook,
            pytest.raises(DeliveryFailed) as failure,
        ):
            WebhookSender(allow_hosts=LOCAL).post(hook.url, PAYLOAD)
        assert "XXXXSECRETXXXX" not in str(failure.value)
        assert f"{HOST}:{hook.port}" in str(failure.value)
        assert caplog.records
        assert all("XXXXSECRETXXXX" not in r.getMessage() for r in caplog.records)


class TestOutages:
    def test_a_refused_port_is_a_transient_failure(self) -> None:
        with pytest.raises(DeliveryFailed, match="could not reach") as failure:
            WebhookSender(timeout=2.0, allow_hosts=LOCAL).post(
                f"http://{HOST}:{closed_port()}/hook", PAYLOAD
            )
        assert not failure.value.permanent
        assert isinstance(failure.value.__cause__, urllib.error.URLError)

    def test_a_server_that_never_answers_fails_transiently_within_the_timeout(self) -> None:
        timeout = 0.5
        with silent_server() as port:
            started = time.monotonic()
            with pytest.raises(DeliveryFailed) as failure:
                WebhookSender(timeout=timeout, allow_hosts=LOCAL).post(
                    f"http://{HOST}:{port}/hook", PAYLOAD
                )
            elapsed = time.monotonic() - started
        assert not failure.value.permanent
        assert timeout * 0.8 <= elapsed < timeout + 2.0


def no_network(*args: object, **kwargs: object) -> NoReturn:
    raise AssertionError("the sender opened a connection or resolved a name")


class TestRefusedBeforeAnyConnection:
    @pytest.mark.parametrize(
        "url",
        [
            "http://hooks.slack.com/services/T0000/B0000/XXXX",
            "http://example.com.127.0.0.1.nip.io/hook",
            "http://127.0.0.2/hook",
            "http://127.0.0.1@hooks.example.com/hook",
            "http://localhost.example.com/hook",
            "ftp://hooks.example.com/hook",
            "file:///etc/passwd",
            "hooks.slack.com/services/T0000/B0000/XXXX",
            "https:///no-host",
            "https://hooks.example.com:port/hook",
        ],
    )
    def test_a_url_that_is_not_https_or_loopback_http_is_invalid_input(
        self, url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(socket, "create_connection", no_network)
        monkeypatch.setattr(socket, "getaddrinfo", no_network)
        monkeypatch.setattr(socket.socket, "connect", no_network)
        with pytest.raises(InvalidInput):
            WebhookSender(allow_hosts=LOCAL).post(url, PAYLOAD)

    @pytest.mark.parametrize(
        "payload",
        [{"when": object()}, {"ratio": float("nan")}, ["not", "an", "object"]],
        ids=["object", "nan", "list"],
    )
    def test_a_payload_that_is_not_a_json_object_is_invalid_input(
        self, payload: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(socket, "create_connection", no_network)
        with pytest.raises(InvalidInput):
            WebhookSender(allow_hosts=LOCAL).post("https://hooks.example.com/hook", payload)

    @pytest.mark.parametrize(
        "settings",
        [{"timeout": 0}, {"timeout": -1.0}, {"user_agent": ""}, {"user_agent": "a\nb"}],
        ids=["zero", "negative", "empty-agent", "two-line-agent"],
    )
    def test_a_malformed_setting_is_invalid_input(self, settings: dict[str, Any]) -> None:
        with pytest.raises(InvalidInput):
            WebhookSender(**settings)


class TestInternalHostsAreRefused:
    # Issue 13: a customer's webhook URL must not reach the operator's own network.

    @pytest.mark.parametrize(
        "url",
        [
            "https://127.0.0.1/hook",
            "https://localhost/hook",
            "https://[::1]/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.7/hook",
            "https://192.168.1.1/hook",
            "https://172.16.0.1/hook",
            "https://100.64.0.1/hook",
            "https://0.0.0.0/hook",
            "https://[::ffff:127.0.0.1]/hook",
            "https://[fe80::1]/hook",
            "https://metadata.localhost/hook",
            "http://127.0.0.1:9/hook",
        ],
    )
    def test_an_internal_address_is_refused_before_any_connection(self, url: str) -> None:
        with pytest.raises(InvalidInput, match="allow"):
            WebhookSender().post(url, PAYLOAD)

    def test_a_public_name_that_resolves_into_the_private_network_is_refused(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def resolve(host: str, port: object, *args: object, **kwargs: object) -> list[Any]:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 443))]

        monkeypatch.setattr(socket, "getaddrinfo", resolve)
        with pytest.raises(DeliveryFailed, match=r"10\.1\.2\.3") as failure:
            WebhookSender().post("https://hooks.example.com/T000/B000/XXXX", PAYLOAD)
        assert failure.value.permanent

    def test_an_allow_listed_network_may_be_reached(self) -> None:
        with webhook() as hook:
            WebhookSender(allow_hosts=["127.0.0.0/8"]).post(hook.url, PAYLOAD)
        assert len(hook.received) == 1

    def test_a_malformed_allow_list_is_invalid_input(self) -> None:
        with pytest.raises(InvalidInput):
            WebhookSender(allow_hosts="127.0.0.1")


REBINDING = "hooks.rebinding.test"


def rebinding_resolver(first: str, then: str | None) -> tuple[Callable[..., Any], list[str]]:
    """A resolver whose first answer for :data:`REBINDING` is ``first``, every later one ``then``.

    ``then=None`` makes later lookups fail. Other names resolve as usual. Returns the resolver
    and the list of lookups of :data:`REBINDING` it answered.
    """
    real = socket.getaddrinfo
    lookups: list[str] = []

    def resolve(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != REBINDING:
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        answer = first if len(lookups) == 1 else then
        if answer is None:
            raise socket.gaierror(socket.EAI_NONAME, "no such name (test)")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, port or 443))]

    return resolve, lookups


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_proxy")
class TestDnsRebinding:
    """The message goes to the addresses that were checked, not to a second DNS answer."""

    def test_a_second_answer_pointing_inside_is_never_connected_to(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # A public first answer passes the check; a rebinding resolver then points inside.
        resolve, lookups = rebinding_resolver("93.184.216.34", "127.0.0.1")
        connected: list[object] = []

        def connect(address: object, *args: object, **kwargs: object) -> NoReturn:
            connected.append(address)
            raise ConnectionRefusedError("the test has no network")

        monkeypatch.setattr(socket, "getaddrinfo", resolve)
        monkeypatch.setattr(socket, "create_connection", connect)
        with pytest.raises(DeliveryFailed) as failure:
            WebhookSender().post(f"https://{REBINDING}/T000/B000/XXXX", PAYLOAD)
        assert connected == [("93.184.216.34", 443)]
        assert lookups == [REBINDING]
        assert not failure.value.permanent

    @staticmethod
    def pinned(
        monkeypatch: pytest.MonkeyPatch, folder: Path, certified: str
    ) -> tuple[WebhookSender, ssl.SSLContext, list[str]]:
        """A sender trusting a certificate for ``certified``, the server context serving it,
        and the lookups of :data:`REBINDING`, which resolves once to 127.0.0.1, then never."""
        cert, key = make_certificate(folder, (certified,))
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.load_cert_chain(cert, key)
        resolve, lookups = rebinding_resolver("127.0.0.1", None)
        monkeypatch.setattr(socket, "getaddrinfo", resolve)
        sender = WebhookSender(
            ssl_context=ssl.create_default_context(cafile=str(cert)), allow_hosts=["127.0.0.0/8"]
        )
        return sender, server, lookups

    def test_a_pinned_connection_reaches_the_server_and_verifies_its_name(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        sender, server, lookups = self.pinned(monkeypatch, tmp_path, REBINDING)
        with webhook(tls=server) as hook:
            sender.post(f"https://{REBINDING}:{hook.port}{SECRET_PATH}", PAYLOAD)
        [request] = hook.received
        assert request.headers["Host"] == f"{REBINDING}:{hook.port}"
        assert json.loads(request.body) == PAYLOAD
        assert lookups == [REBINDING]

    def test_a_pinned_connection_refuses_a_certificate_for_another_name(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        sender, server, _ = self.pinned(monkeypatch, tmp_path, "someone-else.test")
        with webhook(tls=server) as hook, pytest.raises(DeliveryFailed, match="certificate"):
            sender.post(f"https://{REBINDING}:{hook.port}{SECRET_PATH}", PAYLOAD)
        assert hook.received == []
