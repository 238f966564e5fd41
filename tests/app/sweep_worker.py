"""A sweep in its own process, slowed down so that a SIGKILL can land anywhere.

Usage: python sweep_worker.py DB MAILDIR-OR-SMTP-URL YYYY-MM-DD MINUTES

MINUTES past 08:00 UTC is the run's "now": each re-run comes later than the previous
run's claim leases (5 minutes), as the next sweep after a crash would.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, date, datetime, timedelta
from email.message import Message
from pathlib import Path

from upslife.adapters.maildir import MaildirSender
from upslife.adapters.smtp import SmtpSender
from upslife.adapters.sqlite import SqliteStore
from upslife.app import DeliverySettings, deliver, fold_digests, plan_notices
from upslife.catalog import Catalog
from upslife.invitations import Keyring, SigningKey
from upslife.ports import MailSender

PAUSE = 0.02


class SlowMaildir:
    """Pauses before and after each send: the gap between sending and marking is wide."""

    def __init__(self, target: str) -> None:
        self.inner: MailSender = (
            SmtpSender.from_url(target) if target.startswith("smtp://") else MaildirSender(target)
        )

    def send(self, message: Message) -> None:
        time.sleep(PAUSE)
        self.inner.send(message)
        time.sleep(PAUSE)


def main(db: str, maildir: str, day: str, minutes: str) -> None:
    d = date.fromisoformat(day)
    now = datetime(d.year, d.month, d.day, 8, tzinfo=UTC) + timedelta(minutes=int(minutes))
    store = SqliteStore(Path(db))
    settings = DeliverySettings(keyring=Keyring(SigningKey("k1", b"s" * 32)), batch=5)
    plan_notices(store, Catalog.default(), now, batch=4, on_device=lambda _: time.sleep(PAUSE))
    fold_digests(store, now)
    deliver(store, SlowMaildir(maildir), now, settings=settings)
    store.close()


if __name__ == "__main__":
    main(*sys.argv[1:5])
