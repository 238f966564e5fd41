"""Fault injection into the daily job, as an operator meets faults: a poisoned item, a mail
server down for days, a missing secret, a TLS mismatch, a damaged device document,
concurrent sweeps, a locked database. Each test says what must hold; the figures go to
docs/reliability.md (set UPSLIFE_RELIABILITY_OUT to collect them)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from upslife.adapters.maildir import MaildirSender
from upslife.adapters.smtp import SmtpSender
from upslife.adapters.sqlite import SqliteStore
from upslife.app.mails import PlainMail
from upslife.app.sweep import enqueue_mail
from upslife.cli import main
from upslife.errors import DeliveryFailed
from upslife.notifications import Recipient
from upslife.ports import DeliveryStatus, MailSender, OutboxItem
from upslife.rendering import message_id_for

from .conftest import Fleet
from .faults import (
    SECRET_ENV,
    cli_command,
    cli_env,
    plain_smtp_url,
    record,
    run_cli,
    smtp_server,
    snapshot,
)

SWEEP_DAY = date(2026, 1, 31)  # the 90-day notice of a trial that began on 2025-11-01


def build(db: Path, devices: int, *, spread_days: int = 1, reseller: bool = True) -> None:
    """``devices`` trials begun over ``spread_days`` days from 2025-11-01 (their 90-day
    notices fall on as many days from 2026-01-31); a connected reseller doubles them."""
    store = SqliteStore(db)
    fleet = Fleet(store)
    for n in range(devices):
        fleet.device(f"AS{n:010d}", on=date(2025, 11, 1) + timedelta(days=n % spread_days))
    if reseller:
        fleet.connect_reseller(at=datetime(2026, 1, 2, tzinfo=UTC))
    store.close()


def notice_ids(db: Path) -> set[str]:
    store = SqliteStore(db)
    try:
        return {message_id_for(i.key) for i in store.items() if i.key.startswith("notice:")}
    finally:
        store.close()


def statuses(db: Path) -> Counter[DeliveryStatus]:
    store = SqliteStore(db)
    try:
        return Counter(i.status for i in store.items() if i.key.startswith("notice:"))
    finally:
        store.close()


def sweep_args(db: Path, mail: str, day: date) -> list[str]:
    return ["--db", str(db), "--mail", mail, "--on", day.isoformat(), "sweep"]


# --------------------------------------------------------------------------- poisoned items

INJECTIONS = {
    "crlf": "Poison\r\nBcc: evil@x.example",
    "empty-line": "Poison\r\n\r\nBcc: evil@x.example",
    "nul": "Poison\x00Bcc: evil@x.example",
}


@pytest.mark.parametrize("transport", ["maildir", "smtp"])
def test_a_poisoned_item_among_200_fails_alone_and_199_are_delivered_on_the_first_sweep(
    fleet: Fleet, tmp_path: Path, transport: str
) -> None:
    # Any exception for one item marks that item FAILED with its reason; the sweep goes on.
    # Header values are cleaned: no CR/LF/NUL/empty-line injection gets a Bcc in.
    for n in range(98):
        fleet.device(f"AS{n:010d}", on=date(2025, 11, 1))
    fleet.connect_reseller(at=datetime(2026, 1, 2, tzinfo=UTC))
    now = datetime(2026, 1, 31, 8, tzinfo=UTC)
    fleet.clock.set(now)
    owner = fleet.store.get_owner(fleet.owner_id)
    to_owner = Recipient.owner(owner.id)
    for name, subject in INJECTIONS.items():
        mail = PlainMail(f"test:{name}", owner.id, subject, f"body of {name}\x00")
        enqueue_mail(fleet.store, owner, to_owner, mail, now)
    poison = PlainMail("test:poison", f"{owner.id}\r\nBcc: evil@x.example", "Hello", "body")
    enqueue_mail(fleet.store, owner, to_owner, poison, now)

    def run(sender: MailSender) -> tuple[int, int]:
        report = fleet.service.sweep(sender)
        return report.delivery.sent, report.delivery.failed

    if transport == "maildir":
        maildir = MaildirSender(tmp_path / "mail")
        sent, failed = run(maildir)
        received = list(maildir.messages())
        envelopes: list[tuple[str, ...]] = []
    else:
        with smtp_server() as (port, inbox):
            sent, failed = run(SmtpSender("127.0.0.1", port, security="none", timeout=5))
        received = list(inbox.messages)
        envelopes = inbox.envelopes

    assert (sent, failed) == (199, 1)
    assert len(received) == 199
    (given_up,) = fleet.store.items(status=DeliveryStatus.FAILED)
    assert given_up.key == "test:poison"
    assert given_up.last_error is not None
    assert "InvalidEmail" in given_up.last_error
    for message in received:
        assert "Bcc" not in message
        assert "\n" not in str(message["Subject"])
        assert "\x00" not in str(message["Subject"])
    assert all("evil@x.example" not in rcpt for env in envelopes for rcpt in env)
    subjects = {str(m["Subject"]) for m in received}
    assert "Poison Bcc: evil@x.example" in subjects  # cleaned, not dropped
    record(
        f"poisoned_{transport}",
        items=200,
        delivered_first_sweep=sent,
        failed=failed,
        injected_headers=0,
    )


def test_an_item_whose_payload_no_longer_decodes_fails_alone(fleet: Fleet) -> None:
    for n in range(3):
        fleet.device(f"AS{n:010d}", on=date(2025, 11, 1))
    fleet.clock.set(datetime(2026, 1, 31, 8, tzinfo=UTC))
    broken = OutboxItem(
        key="broken:1",
        serial=None,
        owner_id=fleet.owner_id,
        recipient=Recipient.owner(fleet.owner_id),
        day=SWEEP_DAY,
        payload="{not json",
        next_attempt_at=datetime(2026, 1, 1, tzinfo=UTC),  # sorts first in the claim
    )
    fleet.store.enqueue([broken], ())
    report = fleet.service.sweep(fleet.mail)
    assert (report.delivery.sent, report.delivery.failed) == (3, 1)
    assert fleet.store.get_item("broken:1").status is DeliveryStatus.FAILED


# --------------------------------------------------------------------------- outage


def test_smtp_down_for_k_days_then_up_delivers_every_notice_once(tmp_path: Path) -> None:
    # Retries are bounded by usefulness, not by a count: 4 days down loses nothing, and
    # the exit status tells cron "try again later" (75) on each of those days.
    db = tmp_path / "fleet.db"
    build(db, 20, spread_days=5)  # 40 notices, due over 5 days from 2026-01-31
    env = cli_env(**SECRET_ENV)
    with smtp_server() as (port, inbox):
        url = plain_smtp_url(port)
    # the server is stopped: its port refuses connections
    k = 4
    codes: list[int] = []
    for offset in range(k):
        done = run_cli(sweep_args(db, url, SWEEP_DAY + timedelta(days=offset)), env)
        codes.append(done.returncode)
        assert done.returncode == 75, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        assert "try again later" in done.stderr
    with smtp_server(port) as (_, inbox):
        for offset in range(k, k + 3):
            done = run_cli(sweep_args(db, url, SWEEP_DAY + timedelta(days=offset)), env)
            codes.append(done.returncode)
            assert done.returncode == 0, done.stderr
    expected = notice_ids(db)
    assert len(expected) == 40
    assert Counter(inbox.message_ids()) == Counter(dict.fromkeys(expected, 1))
    assert statuses(db) == {DeliveryStatus.SENT: 40}
    record(
        "smtp_down_k_days",
        k=k,
        notices=len(expected),
        delivered=len(set(inbox.message_ids())),
        duplicates=inbox.duplicates(),
        exit_codes=codes,
    )


# --------------------------------------------------------------------------- preflight


def test_a_missing_secret_refuses_the_sweep_and_changes_nothing(tmp_path: Path) -> None:
    db, maildir = tmp_path / "fleet.db", tmp_path / "mail"
    build(db, 5)  # a connected reseller: its notices need the signing secret (SPEC I5)
    before = snapshot(db)
    done = run_cli(sweep_args(db, f"maildir://{maildir}", SWEEP_DAY), cli_env())
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "UPSLIFE_SECRET" in line
    assert snapshot(db) == before
    assert not list(MaildirSender(maildir).messages())
    # the setting fixed, nothing was lost
    done = run_cli(sweep_args(db, f"maildir://{maildir}", SWEEP_DAY), cli_env(**SECRET_ENV))
    assert done.returncode == 0, done.stderr
    assert len(list(MaildirSender(maildir).messages())) == 10
    record("missing_secret", exit_code=2, rows_changed=0, delivered_after_fix=10)


@pytest.mark.parametrize("scheme", ["smtp", "smtps"])
def test_a_tls_mismatch_refuses_the_sweep_and_changes_nothing(tmp_path: Path, scheme: str) -> None:
    # smtp:// asks for STARTTLS, which this server does not offer; smtps:// speaks TLS to
    # a server that answers in clear. Neither is an outage: refuse, naming the setting.
    db = tmp_path / "fleet.db"
    build(db, 5)
    before = snapshot(db)
    env = cli_env(**SECRET_ENV)
    with smtp_server() as (port, inbox):
        done = run_cli(sweep_args(db, f"{scheme}://127.0.0.1:{port}?timeout=5", SWEEP_DAY), env)
        assert done.returncode == 2, done.stderr
        (line,) = done.stderr.strip().splitlines()
        assert "UPSLIFE_MAIL" in line
        assert snapshot(db) == before
        assert inbox.message_ids() == []
        done = run_cli(sweep_args(db, plain_smtp_url(port), SWEEP_DAY), env)
        assert done.returncode == 0, done.stderr
        assert len(inbox.message_ids()) == 10
    record(f"tls_mismatch_{scheme}", exit_code=2, rows_changed=0, delivered_after_fix=10)


# --------------------------------------------------------------------------- damaged data


def test_a_damaged_device_document_is_set_aside_and_the_others_are_delivered(
    tmp_path: Path,
) -> None:
    db, maildir = tmp_path / "fleet.db", tmp_path / "mail"
    build(db, 5, reseller=False)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE devices SET doc = '{\"broken' WHERE serial = 'AS0000000002'")
    conn.close()
    done = run_cli(sweep_args(db, f"maildir://{maildir}", SWEEP_DAY), cli_env())
    assert done.returncode == 1
    # the library's warning, then the command's one-line summary; no traceback
    *_, summary = done.stderr.strip().splitlines()
    assert "AS0000000002 set aside" in summary
    assert "Traceback" not in done.stderr
    assert len(list(MaildirSender(maildir).messages())) == 4
    # it stays due, and is reported again until repaired
    again = run_cli(sweep_args(db, f"maildir://{maildir}", SWEEP_DAY), cli_env())
    assert again.returncode == 1
    assert "AS0000000002" in again.stderr
    record("damaged_device", devices=5, delivered=4, set_aside=1, exit_code=1)


# --------------------------------------------------------------------------- concurrency


@pytest.mark.parametrize("workers", [2, 4])
def test_concurrent_sweeps_on_sqlite_send_every_notice_once(tmp_path: Path, workers: int) -> None:
    # Several `upslife sweep` processes at once on one SQLite file (cron overlapping a
    # manual run): the busy timeout makes them wait for each other, never fail "locked";
    # the leased claims keep them from sending an item twice (SPEC N9).
    db = tmp_path / "fleet.db"
    build(db, 60)
    env = cli_env(**SECRET_ENV)
    with smtp_server() as (port, inbox):
        args = sweep_args(db, plain_smtp_url(port), SWEEP_DAY)
        procs = [
            subprocess.Popen(
                cli_command(args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(workers)
        ]
        results = [p.communicate(timeout=300) for p in procs]
    codes = [p.returncode for p in procs]
    assert codes == [0] * workers, [err for _, err in results]
    assert not any("locked" in err for _, err in results)
    assert inbox.duplicates() == 0
    assert set(inbox.message_ids()) == notice_ids(db)
    assert len(inbox.message_ids()) == 120
    record(
        f"concurrent_sqlite_{workers}",
        workers=workers,
        notices=120,
        received=len(inbox.message_ids()),
        duplicates=inbox.duplicates(),
        locked_failures=0,
    )


def test_a_locked_database_is_waited_for_then_a_temporary_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db, maildir = tmp_path / "fleet.db", tmp_path / "mail"
    build(db, 3, reseller=False)
    for name in ("UPSLIFE_SECRET", "UPSLIFE_DB", "UPSLIFE_MAIL"):
        monkeypatch.delenv(name, raising=False)

    def hold_lock(seconds: float, ready: threading.Event) -> None:
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        ready.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
        conn.close()

    def sweep_while_locked(seconds: float) -> int:
        ready = threading.Event()
        holder = threading.Thread(target=hold_lock, args=(seconds, ready))
        holder.start()
        ready.wait(5)
        try:
            return main(sweep_args(db, f"maildir://{maildir}", SWEEP_DAY))
        finally:
            holder.join()

    assert sweep_while_locked(1.0) == 0  # waited for the other writer
    monkeypatch.setattr("upslife.cli.config.SQLITE_BUSY_TIMEOUT", 0.2)
    capsys.readouterr()
    assert sweep_while_locked(2.0) == 75  # past the busy timeout: try again later
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "try again later" in err
    assert "locked" in err


# --------------------------------------------------------------------------- Maildir tmp/


def test_the_preflight_removes_stale_files_a_killed_writer_left_in_tmp(tmp_path: Path) -> None:
    maildir = MaildirSender(tmp_path / "mail")
    tmp = tmp_path / "mail" / "tmp"
    now = time.time()
    ours_old = tmp / "1700000000.P12T34R0123456789abcdef0123456789abcdef.host"
    ours_new = tmp / "1700000001.P12T34Rfedcba9876543210fedcba9876543210.host"
    theirs_2h = tmp / "1700000002.M1P2.other-mta"
    theirs_2d = tmp / "1700000003.M1P2.other-mta"
    for path, age in ((ours_old, 7200), (ours_new, 60), (theirs_2h, 7200), (theirs_2d, 172800)):
        path.write_text("From: a@b.example\n\nhello\n")
        stamp = now - age
        os.utime(path, (stamp, stamp))
    maildir.check()
    assert sorted(p.name for p in tmp.iterdir()) == sorted([ours_new.name, theirs_2h.name])


def test_a_maildir_this_user_cannot_write_fails_the_preflight_for_good(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (os.access is replaced: the tests may run as root, who writes anywhere.)
    maildir = MaildirSender(tmp_path / "mail")
    monkeypatch.setattr("upslife.adapters.maildir.os.access", lambda path, mode: False)
    with pytest.raises(DeliveryFailed) as caught:
        maildir.check()
    assert caught.value.permanent
    assert "not writable" in str(caught.value)


# --------------------------------------------------------------------------- breaker, owners


def test_five_transient_failures_in_a_row_leave_the_rest_of_the_batch_untouched(
    fleet: Fleet,
) -> None:
    # A server that goes down in the middle of a run: the items after the fifth failure
    # are put back without an attempt counted against them, ready for the next run.
    for n in range(12):
        fleet.device(f"AS{n:010d}", on=date(2025, 11, 1))
    fleet.mail.down = True
    report = fleet.sweep_on(SWEEP_DAY)
    assert report.delivery.retrying == 12
    assert report.delivery.sent == 0
    assert fleet.mail.attempts == 5
    attempts = Counter(i.attempts for i in fleet.store.items())
    assert attempts == {1: 5, 0: 7}
    fleet.mail.down = False
    later = fleet.sweep_on(SWEEP_DAY, hour=9)
    assert later.delivery.sent == 12


def test_a_damaged_owner_document_sets_aside_only_that_owners_devices(tmp_path: Path) -> None:
    db, maildir = tmp_path / "fleet.db", tmp_path / "mail"
    store = SqliteStore(db)
    fleet = Fleet(store)
    other = fleet.owner("it@other.example")
    fleet.device("AS0000000001", on=date(2025, 11, 1))
    fleet.device("AS0000000002", on=date(2025, 11, 1), owner=other)
    store.close()
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE owners SET doc = '[]' WHERE id = 'it@other.example'")
    conn.close()
    done = run_cli(sweep_args(db, f"maildir://{maildir}", SWEEP_DAY), cli_env())
    assert done.returncode == 1
    assert "AS0000000002 set aside" in done.stderr.strip().splitlines()[-1]
    assert len(list(MaildirSender(maildir).messages())) == 1
