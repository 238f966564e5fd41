"""What an operator relies on (docs/operations.md): the exit-status table of every command,
and the files the library writes being private to their user (0600)."""

from __future__ import annotations

import os
import re
import shlex
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from upslife.adapters.sqlite import SqliteStore
from upslife.cli import _parser, main
from upslife.notifications import Recipient
from upslife.ports import OutboxItem

from .test_cli import SECRET, run, setup_fleet

OPERATIONS = Path(__file__).parents[1] / "docs" / "operations.md"


def _table_rows() -> dict[str, set[int]]:
    """``command -> documented exit codes`` from the table in docs/operations.md."""
    rows: dict[str, set[int]] = {}
    for line in OPERATIONS.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\|\s*`upslife ([a-z-]+)[^`]*`\s*\|([^|]*)\|", line)
        if match:
            rows[match.group(1)] = {int(code) for code in re.findall(r"\b(\d+)\b", match[2])}
    return rows


def _commands() -> set[str]:
    parser = _parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    assert sub.choices is not None
    return set(sub.choices)


def test_the_exit_status_table_covers_every_command() -> None:
    rows = _table_rows()
    assert set(rows) == _commands()
    for command, codes in rows.items():
        assert {0, 2} <= codes <= {0, 1, 2, 75}, command
    assert rows["sweep"] == {0, 1, 2, 75}


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("UPSLIFE_SECRET", SECRET)
    monkeypatch.setenv("UPSLIFE_MAIL", f"maildir://{tmp_path / 'outbox'}")
    return str(tmp_path / "ops.db")


class TestSweepExitStatus:
    """0 done, 1 a notice failed for good, 2 bad input or configuration, 75 try later."""

    def test_0_when_everything_was_delivered(
        self, capsys: pytest.CaptureFixture[str], db: str
    ) -> None:
        setup_fleet(capsys, db)
        assert run(capsys, f"--db {db} --on 2026-01-31 sweep")[0] == 0

    def test_1_when_a_notice_failed_for_good(
        self, capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
    ) -> None:
        setup_fleet(capsys, db)
        maildir = tmp_path / "outbox"
        code, _, err = run(capsys, f"--db {db} --mail maildir://{maildir} --on 2026-01-30 sweep")
        assert code == 0
        # a stored notice whose payload no longer reads: that one fails for good
        store = SqliteStore(db)
        to = Recipient.owner("ops@acme.example")
        store.enqueue([OutboxItem("bad", None, to.address, to, date(2026, 1, 31), "{")], ())
        store.close()
        code, _, err = run(capsys, f"--db {db} --on 2026-01-31 sweep")
        assert code == 1
        assert err.strip().splitlines()[-1].startswith("upslife: 1 notice(s) failed for good")

    def test_2_when_a_setting_is_missing(
        self, capsys: pytest.CaptureFixture[str], db: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("UPSLIFE_MAIL", "smtps://")
        code, _, err = run(capsys, f"--db {db} sweep")
        assert code == 2
        assert err.count("\n") == 1

    def test_75_when_the_mail_server_is_down(
        self, capsys: pytest.CaptureFixture[str], db: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from tests.peers import free_port

        setup_fleet(capsys, db)
        monkeypatch.setenv("UPSLIFE_MAIL", f"smtp://127.0.0.1:{free_port()}?security=none")
        code, out, err = run(capsys, f"--db {db} --on 2026-01-31 sweep")
        assert code == 75
        assert "delivery deferred" in out
        assert err.count("\n") == 1
        assert err.startswith("upslife: nothing sent, try again later")


def _upslife(*args: str) -> subprocess.CompletedProcess[str]:
    """The real ``upslife`` command, in a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UPSLIFE_", "PG"))}
    return subprocess.run(
        [sys.executable, "-m", "upslife", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=60,
    )


class TestTheDatabaseExitStatus:
    """A database that cannot serve now is 75 (cron tries again), a wrong setting 2."""

    PASSWORD = "s3cret-pw"

    @pytest.mark.parametrize(
        "command",
        ["explain AS1", "sweep", "register --owner a@b.example --serial AS1 --model SMT1500C"],
    )
    def test_75_when_postgresql_refuses_the_connection(self, command: str) -> None:
        from tests.peers import free_port

        port = free_port()  # nothing listens there: the server is down
        dsn = f"postgresql://upslife:{self.PASSWORD}@127.0.0.1:{port}/upslife"
        result = _upslife("--db", dsn, *shlex.split(command))
        assert result.returncode == 75, result.stderr
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1
        assert result.stderr.startswith("upslife: try again later: ")
        assert f"127.0.0.1:{port}" in result.stderr
        assert "refused" in result.stderr.lower()
        assert self.PASSWORD not in result.stderr
        assert "Traceback" not in result.stderr

    def test_75_when_postgresql_does_not_answer_in_time(self) -> None:
        from tests.peers import silent_server

        with silent_server() as port:  # accepts, never speaks: a hung server
            dsn = f"postgresql://upslife:{self.PASSWORD}@127.0.0.1:{port}/upslife?connect_timeout=1"
            result = _upslife("--db", dsn, "explain", "AS1")
        assert result.returncode == 75, result.stderr
        assert result.stderr.count("\n") == 1
        assert f"127.0.0.1:{port}" in result.stderr
        assert "timeout" in result.stderr
        assert self.PASSWORD not in result.stderr

    def test_2_for_a_malformed_dsn(self) -> None:
        dsn = f"postgresql://upslife:{self.PASSWORD}@127.0.0.1:5432/upslife?connect_timeout=soon"
        result = _upslife("--db", dsn, "explain", "AS1")
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1
        assert result.stderr.startswith("upslife: error: ")
        assert "connect_timeout" in result.stderr
        assert self.PASSWORD not in result.stderr

    def test_2_when_the_server_refuses_the_login(self, postgres_dsn: str) -> None:
        # the server is up and answers: an unknown role is the configuration's fault
        from psycopg.conninfo import conninfo_to_dict

        params = conninfo_to_dict(postgres_dsn)
        host, port = params.get("host", "localhost"), params.get("port", "5432")
        dsn = f"postgresql://no_such_upslife_role:{self.PASSWORD}@{host}:{port}/postgres"
        result = _upslife("--db", dsn, "explain", "AS1")
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1
        assert "no_such_upslife_role" in result.stderr
        assert self.PASSWORD not in result.stderr

    def test_the_running_server_serves_the_same_command(self, postgres_dsn: str) -> None:
        result = _upslife("--db", postgres_dsn, "explain", "AS1")
        assert (result.returncode, result.stderr) == (
            2,
            "upslife: error: no device with serial AS1\n",
        )

    @pytest.mark.parametrize("fresh", [False, True], ids=["existing", "new-file"])
    def test_75_when_sqlite_stays_locked_past_the_busy_timeout(
        self,
        capsys: pytest.CaptureFixture[str],
        db: str,
        monkeypatch: pytest.MonkeyPatch,
        fresh: bool,
    ) -> None:
        # not only the sweep: any command that opens the store, even one creating the file
        if not fresh:
            setup_fleet(capsys, db)
        monkeypatch.setattr("upslife.cli.config.SQLITE_BUSY_TIMEOUT", 0.1)
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            code, out, err = run(
                capsys,
                f"--db {db} register --owner ops@acme.example "
                "--serial AS7777777777 --model SMT1500C",
            )
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert (code, out) == (75, "")
        assert err.count("\n") == 1
        assert err.startswith("upslife: try again later: ")
        assert "locked" in err


@pytest.mark.parametrize(
    "command",
    [
        "explain AS9999999999",
        "outbox show nope",
        "report inventory --owner nobody@x.example --out {tmp}/r.csv",
        "--config {tmp} sweep",
    ],
)
def test_2_for_bad_input_with_one_line(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path, command: str
) -> None:
    code, _, err = run(capsys, f"--db {db} " + command.format(tmp=tmp_path))
    assert code == 2
    assert err.count("\n") == 1
    assert "Traceback" not in err


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)  # the usual umask: without care, files would be 0644
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("umask_022")
def test_files_the_library_writes_are_private(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    # Customer names, emails and fleets: 0600 files, 0700 directories (docs/operations.md).
    setup_fleet(capsys, db)
    assert run(capsys, f"--db {db} --on 2026-01-31 sweep")[0] == 0
    owner = "--owner ops@acme.example"
    for fmt in ("csv", "json", "xlsx"):
        out = tmp_path / f"inventory.{fmt}"
        assert run(capsys, f"--db {db} report inventory {owner} --format {fmt} --out {out}")[0] == 0
        assert _mode(out) == 0o600, fmt
    ics = tmp_path / "fleet.ics"
    assert run(capsys, f"--db {db} calendar {owner} --out {ics}")[0] == 0
    assert _mode(ics) == 0o600
    assert _mode(Path(db)) == 0o600
    outbox = tmp_path / "outbox"
    assert _mode(outbox) == 0o700
    messages = list((outbox / "new").iterdir())
    assert messages
    assert all(_mode(m) == 0o600 for m in messages)


@pytest.mark.usefixtures("umask_022")
def test_a_file_that_exists_keeps_the_mode_its_operator_chose(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    setup_fleet(capsys, db)
    out = tmp_path / "shared.csv"
    out.write_text("")
    out.chmod(0o640)
    command = f"--db {db} report inventory --owner ops@acme.example --out {out}"
    assert main(shlex.split(command)) == 0
    assert _mode(out) == 0o640
