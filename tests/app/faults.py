"""Shared pieces of the fault-injection tests: a counting SMTP server, the ``upslife``
command in a subprocess, and a snapshot of a SQLite database's delivery state."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.peers import HOST, free_port

SECRET_ENV = {"UPSLIFE_SECRET": base64.b64encode(b"s" * 32).decode(), "UPSLIFE_SECRET_ID": "k1"}
FIGURES: dict[str, Any] = {}
"""Figures the fault tests measure; written to $UPSLIFE_RELIABILITY_OUT (JSON) when set,
to fill docs/reliability.md."""


def record(name: str, **values: Any) -> None:
    FIGURES[name] = values
    out = os.environ.get("UPSLIFE_RELIABILITY_OUT")
    if out:
        path = Path(out)
        known = json.loads(path.read_text()) if path.exists() else {}
        known[name] = values
        path.write_text(json.dumps(known, indent=2, sort_keys=True))


class Inbox:
    """An aiosmtpd handler counting every message it accepts, duplicates included."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, ...]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        with self.lock:
            self.messages.append(parsed)
            self.envelopes.append(tuple(str(r) for r in envelope.rcpt_tos))
        return "250 OK: queued"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [str(m["Message-ID"]) for m in self.messages]

    def duplicates(self) -> int:
        return sum(n - 1 for n in Counter(self.message_ids()).values())


@contextmanager
def smtp_server(port: int | None = None) -> Iterator[tuple[int, Inbox]]:
    """A plain SMTP server on 127.0.0.1 (no STARTTLS offered); yields (port, inbox)."""
    inbox = Inbox()
    chosen = port or free_port()
    controller = Controller(inbox, hostname=HOST, port=chosen, server_hostname="mx.test")
    controller.start()
    try:
        yield chosen, inbox
    finally:
        controller.stop()


def plain_smtp_url(port: int) -> str:
    return f"smtp://{HOST}:{port}?security=none&timeout=5"


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPSLIFE_")}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    env.update(extra)
    return env


def cli_command(args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "upslife", *args]


def run_cli(args: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``upslife ARGS`` in its own process, as cron runs it."""
    return subprocess.run(
        cli_command(args), env=env, capture_output=True, text=True, timeout=300, check=False
    )


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a sweep changes, to prove a refused sweep changed nothing."""
    conn = sqlite3.connect(db)
    try:
        return {
            table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in ("outbox", "devices", "invitations", "sent_stages")
        }
    finally:
        conn.close()
