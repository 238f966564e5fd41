"""``upslife serve``: bad settings exit 2 with one line and start nothing; on PostgreSQL
the same pages are served."""

from __future__ import annotations

import base64
import shlex
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from upslife.cli import main
from upslife.notifications import Contact
from upslife.ports import Owner

from .served import SECRET, Served, links_in

ENCODED = base64.b64encode(SECRET).decode()


@pytest.mark.parametrize(
    ("flags", "env", "message"),
    [
        ("serve --tls-cert c.pem", {"UPSLIFE_SECRET": ENCODED}, "--tls-cert and --tls-key"),
        ("serve --port 0", {"UPSLIFE_SECRET": ENCODED}, "--port"),
        ("serve", {}, "signing secret"),
        ("serve", {"UPSLIFE_SECRET": ENCODED, "UPSLIFE_PUBLIC_URL": "http://x.example"}, "https"),
    ],
)
def test_bad_settings_exit_2_with_one_line(
    flags: str,
    env: dict[str, str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("UPSLIFE_SECRET", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = main(shlex.split(f"--db {tmp_path / 'u.db'} {flags}"))
    _, err = capsys.readouterr()
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert message in err
    assert "Traceback" not in err


def test_a_port_in_use_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UPSLIFE_SECRET", ENCODED)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(shlex.split(f"--db {tmp_path / 'u.db'} serve --port {port}"))
    _, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1, err
    assert f"cannot listen on 127.0.0.1:{port}" in err


def test_serve_on_postgresql_serves_the_invitation(postgres_dsn: str, tmp_path: Path) -> None:
    from upslife.adapters.postgres import PostgresStore

    served = Served(tmp_path, on="2026-01-31", db=postgres_dsn)
    at = datetime(2026, 1, 30, 9, tzinfo=UTC)
    store = PostgresStore(postgres_dsn)
    service = served.lifecycle(store, at)
    service.add_owner(Owner("it@acme.example", Contact("Acme Hosting", "Ada", "it@acme.example")))
    service.invite_reseller("it@acme.example", "sales@reseller.example")
    service.sweep(served.mail_sender())
    store.close()
    (message,) = served.messages()
    accept = links_in(message)[0]
    served.start()
    try:
        with served.client() as client:
            page = client.get(accept)
            assert page.status_code == 200
            assert "Acme Hosting invites you" in page.text
            done = client.post(accept)
            assert (done.status_code, 'data-outcome="accepted"' in done.text) == (200, True)
    finally:
        served.stop()
    store = PostgresStore(postgres_dsn)
    try:
        current = store.current_invitation("it@acme.example")
        assert current is not None
        assert current.state.value == "accepted"
    finally:
        store.close()
