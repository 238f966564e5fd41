"""The sweep killed with SIGKILL at random points, then run again: nothing lost, nothing twice.

A worker process sweeps a SQLite fleet into a Maildir outbox, slowed down so that kills land
everywhere: between devices of the plan step, between sending a message and marking it
sent, inside transactions. After every kill the next run resumes; a last run finishes.
The Maildir (the receiving side) must then hold exactly the messages of an uninterrupted
reference run, each once (SPEC N9).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

from upslife.adapters.maildir import MaildirSender
from upslife.adapters.sqlite import SqliteStore
from upslife.app import FixedClock, Lifecycle

from .conftest import KEYRING, Fleet
from .faults import record, smtp_server

WORKER = Path(__file__).with_name("sweep_worker.py")
SWEEP_DAY = date(2026, 1, 31)


def build_fleet(db: Path) -> None:
    store = SqliteStore(db)
    fleet = Fleet(store)
    for n in range(30):
        fleet.device(f"AS00000000{n:02d}", on=date(2025, 11, 1))  # trial ends 2026-05-01
    for n in range(10):
        fleet.device(f"AS10000000{n:02d}", on=date(2025, 7, 31 - n))  # later stages
    fleet.connect_reseller(at=datetime(2026, 1, 2, tzinfo=UTC))
    store.close()


def run_worker(db: Path, maildir: Path | str, run: int, *, kill_after: float | None) -> int:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), str(db), str(maildir), SWEEP_DAY.isoformat(), str(10 * run)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if kill_after is not None:
        time.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    if kill_after is None:
        assert proc.returncode == 0, err.decode()
    return proc.returncode


def message_ids(maildir: Path) -> list[str]:
    return [str(m["Message-ID"]) for m in MaildirSender(maildir).messages()]


def test_a_sweep_killed_at_random_points_delivers_every_notice_once(tmp_path: Path) -> None:
    # SPEC N9: zero lost, zero delivered twice, over many kill -9 at random points.
    reference_db, reference_mail = tmp_path / "ref.db", tmp_path / "ref-mail"
    build_fleet(reference_db)
    run_worker(reference_db, reference_mail, 0, kill_after=None)
    expected = sorted(message_ids(reference_mail))
    assert len(expected) >= 70  # 40 devices, owner and reseller notices

    db, maildir = tmp_path / "crash.db", tmp_path / "crash-mail"
    build_fleet(db)
    rng = random.Random(20261121)
    killed = 0
    runs = 12
    for run in range(runs):
        if run_worker(db, maildir, run, kill_after=rng.uniform(0.4, 1.2)) == -signal.SIGKILL:
            killed += 1
    run_worker(db, maildir, runs, kill_after=None)
    delivered = message_ids(maildir)
    assert killed >= 3  # the kills really interrupted runs (each run makes < 1.2 s of progress)
    assert sorted(delivered) == expected  # nothing lost, nothing twice
    record(
        "sigkill_maildir",
        runs=runs + 1,
        kills_landed=killed,
        expected=len(expected),
        delivered=len(set(delivered)),
        doubled=len(delivered) - len(set(delivered)),
    )
    store = SqliteStore(db)
    try:
        assert {i.status.value for i in store.items()} <= {"sent", "digested"}
    finally:
        store.close()


def test_the_worker_script_runs_the_service_sweep(tmp_path: Path) -> None:
    # The reference path above, checked against an in-process sweep of the same fleet.
    db = tmp_path / "inproc.db"
    build_fleet(db)
    store = SqliteStore(db)
    try:
        clock = FixedClock(datetime(2026, 1, 31, 8, tzinfo=UTC))
        service = Lifecycle(store, clock=clock, keyring=KEYRING)
        mail = MaildirSender(tmp_path / "inproc-mail")
        report = service.sweep(mail)
        assert report.delivery.sent == len(list(mail.messages()))
        assert report.delivery.sent >= 70
    finally:
        store.close()


def test_a_sweep_into_smtp_killed_at_random_points_loses_nothing(tmp_path: Path) -> None:
    # SPEC N9 over SMTP. SMTP has no idempotent submission: a kill after the server's 250
    # and before the outbox marks the item sends that one message again after its lease,
    # with the same Message-ID (the receiving side's duplicate check drops it). Nothing is
    # lost; the copies are counted, and bounded by the kills.
    reference_db, reference_mail = tmp_path / "ref.db", tmp_path / "ref-mail"
    build_fleet(reference_db)
    run_worker(reference_db, reference_mail, 0, kill_after=None)
    expected = sorted(message_ids(reference_mail))

    db = tmp_path / "crash.db"
    build_fleet(db)
    rng = random.Random(20261201)
    killed = 0
    runs = 8
    with smtp_server() as (port, inbox):
        url = f"smtp://127.0.0.1:{port}?security=none&timeout=5"
        for run in range(runs):
            if run_worker(db, url, run, kill_after=rng.uniform(0.4, 1.2)) == -signal.SIGKILL:
                killed += 1
        run_worker(db, url, runs, kill_after=None)
    received = inbox.message_ids()
    assert killed >= 3
    assert sorted(set(received)) == expected  # nothing lost
    doubled = len(received) - len(set(received))
    assert doubled <= killed  # at most the one message in flight per kill
    record(
        "sigkill_smtp",
        runs=runs + 1,
        kills_landed=killed,
        expected=len(expected),
        delivered=len(set(received)),
        copies_received_twice=doubled,
    )
