"""``upslife serve`` as a real process on 127.0.0.1 over TLS, on a real SQLite file, and the
Maildir its mails go to: what the browser, RFC 8058, demo and load tests talk to."""

from __future__ import annotations

import base64
import email
import email.policy
import os
import re
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import httpx2
import pytest

from tests.peers import free_port, make_certificate
from upslife.adapters.maildir import MaildirSender
from upslife.adapters.sqlite import SqliteStore
from upslife.app import DeliverySettings, FixedClock, Lifecycle
from upslife.invitations import Keyring, SigningKey
from upslife.ports import Store

SECRET = b"served-tests-signing-secret-32-bytes"
KEYRING = Keyring(SigningKey("k1", SECRET))
LINK = re.compile(r"https://127\.0\.0\.1:\d+/\S+")


def need(tool: str) -> str:
    """The path of a command the test needs: skipped on a developer's machine without it,
    a failure in CI (.ci/browser.sh installs it)."""
    found = shutil.which(tool)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} is needed here: .ci/browser.sh installs it")
        pytest.skip(f"{tool} is not installed (apt-get install chromium chromium-driver)")
    return found


class Served:
    """A database, a Maildir, a config file, and ``upslife serve`` on them."""

    def __init__(self, folder: Path, *, on: str, db: str | None = None) -> None:
        self.folder = folder
        self.db = folder / "upslife.db"
        self.db_url = db or str(self.db)
        self.maildir = folder / "outbox"
        self.port = free_port()
        self.public_url = f"https://127.0.0.1:{self.port}"
        self.cert, self.key = make_certificate(folder)
        self.on = on
        self.config = folder / "upslife.toml"
        secret = base64.b64encode(SECRET).decode()
        self.config.write_text(
            "[upslife]\n"
            f'db = "{self.db_url}"\n'
            f'mail = "maildir://{self.maildir}"\n'
            f'secret = "{secret}"\n'
            'secret_id = "k1"\n'
            f'public_url = "{self.public_url}"\n'
            'sign_up_url = "https://accounts.example/sign-up"\n',
            encoding="utf-8",
        )
        self.settings = DeliverySettings(
            keyring=KEYRING,
            public_url=self.public_url,
            sign_up_url="https://accounts.example/sign-up",
        )
        self.links = self.settings.links
        self.process: subprocess.Popen[bytes] | None = None
        self.log = folder / "serve.log"

    def lifecycle(self, store: Store, at: datetime) -> Lifecycle:
        clock = FixedClock(at.astimezone(UTC))
        return Lifecycle(store, clock=clock, keyring=KEYRING, settings=self.settings)

    def service(self, at: datetime) -> tuple[Lifecycle, SqliteStore]:
        """The library on the same file, as another process (the sweep, the product) uses it."""
        store = SqliteStore(self.db)
        return self.lifecycle(store, at), store

    def mail_sender(self) -> MaildirSender:
        return MaildirSender(self.maildir)

    def sweep(self, at: datetime) -> None:
        service, store = self.service(at)
        try:
            service.sweep(self.mail_sender())
        finally:
            store.close()

    def start(self) -> None:
        command = [
            sys.executable, "-m", "upslife", "--config", str(self.config), "--on", self.on,
            "serve", "--port", str(self.port), "--tls-cert", str(self.cert),
            "--tls-key", str(self.key),
        ]  # fmt: skip
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        with self.client() as client:
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        return
                except httpx2.TransportError:
                    pass
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError(f"upslife serve did not start:\n{self.log_text()}")
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def client(self) -> httpx2.Client:
        context = ssl.create_default_context(cafile=str(self.cert))
        return httpx2.Client(base_url=self.public_url, verify=context, timeout=30)

    def messages(self) -> list[EmailMessage]:
        """Every message in the Maildir, parsed with the strict policy."""
        found = []
        for path in sorted((self.maildir / "new").iterdir()):
            parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.strict)
            assert isinstance(parsed, EmailMessage)
            found.append(parsed)
        return found

    def mail_to(self, address: str, subject: str = "") -> list[EmailMessage]:
        return [
            m
            for m in self.messages()
            if (not address or m["To"] == address) and subject in str(m["Subject"])
        ]


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    content = body.get_content()
    assert isinstance(content, str)
    return content


def links_in(message: EmailMessage) -> list[str]:
    return LINK.findall(text_of(message))


def unsubscribe_url(message: EmailMessage) -> str:
    """The https URL of the message's ``List-Unsubscribe`` header (RFC 2369, RFC 8058)."""
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    found = re.search(r"<(https://[^>]+)>", str(message["List-Unsubscribe"]))
    assert found, message["List-Unsubscribe"]
    return found.group(1)


@contextmanager
def serving(folder: Path, *, on: str) -> Iterator[Served]:
    served = Served(folder, on=on)
    served.start()
    try:
        yield served
    finally:
        served.stop()
