"""The daily sweep on a SQLite fleet file, in a process of its own: timings and peak RSS.

``python -m benchmarks.sweep_child DB [--days N] [--profile DIR]`` sweeps day after day from
:data:`~benchmarks.fleet.SWEEP_AT` (plan, fold digests, deliver to null senders) and prints
one JSON object: per day the plan/digest/delivery reports with wall and CPU seconds (and
the plan's seconds in SQLite, its commits apart), the
resident set before the first sweep (imports done, store open: the baseline) and the peak
(VmHWM) after the last, the Message-IDs sent and how many were duplicates, and the time to
build a bare ``MIMEText`` per message sent on the first day (the delivery baseline).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import timedelta
from email.mime.text import MIMEText
from pathlib import Path

import attrs

from benchmarks._measure import (
    NullChat,
    NullMail,
    SqlClock,
    hwm_mb,
    profiled,
    rss_mb,
    settings,
    timed,
)
from benchmarks.fleet import SWEEP_AT
from upslife.adapters.sqlite import SqliteStore
from upslife.app.schedule import plan_scheduled
from upslife.app.sweep import deliver, fold_digests, plan_notices
from upslife.catalog import Catalog

__all__ = ["bare_mime", "main"]

_BODY = (
    "Hello Admin,\n\nThe warranty of your APC Smart-UPS SMT1500C (serial AS0123456789) "
    "expires on 15 April 2026. Extend it with WEXTWAR1YR-SP-02 before that day to keep "
    "the unit covered.\n\nCompany: Customer 42\nContact: Admin 42, IT manager\n"
    "Phone: +1 555 0042\n\nThis message was sent because the unit is registered to your "
    "account.\n"
)


def bare_mime(count: int) -> int:
    """Build ``count`` bare single-part ``MIMEText`` messages with the usual headers."""
    size = 0
    for n in range(count):
        message = MIMEText(_BODY, "plain", "utf-8")
        message["From"] = "upslife <notices@upslife.invalid>"
        message["To"] = f"it{n:06d}@customer{n:06d}.example"
        message["Subject"] = "Warranty Expires on 15 April 2026"
        message["Message-ID"] = f"<{n:040x}@upslife.invalid>"
        size += len(message)
    return size


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweep_child")
    parser.add_argument("db", type=Path)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument(
        "--planner", choices=("scheduled", "reference"), default="scheduled",
        help="the stored schedule (the sweep's) or the recompute-everything reference",
    )
    args = parser.parse_args(argv)
    planner = plan_scheduled if args.planner == "scheduled" else plan_notices
    store = SqliteStore(args.db)
    sql = SqlClock(store)
    catalog = Catalog.default()
    mail, chat, config = NullMail(), NullChat(), settings()
    start_rss = rss_mb()
    days: list[dict[str, object]] = []
    for k in range(args.days):
        now = SWEEP_AT + timedelta(days=k)
        profile = args.profile if k == 0 else None
        with profiled(profile, f"sweep-plan-{args.planner}-{args.db.stem}"):
            sql.reset()
            plan, t_plan = timed(lambda: planner(store, catalog, now))  # noqa: B023
            plan_sql, plan_commit = sql.reset()
        digests, t_fold = timed(lambda: fold_digests(store, now))  # noqa: B023
        with profiled(profile, f"sweep-deliver-{args.db.stem}"):
            delivery, t_deliver = timed(
                lambda: deliver(store, mail, now, chat=chat, settings=config)  # noqa: B023
            )
        days.append(
            {
                "now": now.isoformat(),
                "plan": attrs.asdict(plan),
                "plan_wall": t_plan.wall,
                "plan_cpu": t_plan.cpu,
                "plan_sql_wall": plan_sql,
                "plan_commit_wall": plan_commit,
                "digests": digests,
                "fold_wall": t_fold.wall,
                "delivery": attrs.asdict(delivery),
                "deliver_wall": t_deliver.wall,
                "deliver_cpu": t_deliver.cpu,
                "mails": len(mail.message_ids) - sum(int(str(d["mails"])) for d in days),
            }
        )
    peak = hwm_mb()
    store.close()
    first_day_mails = int(str(days[0]["mails"])) if days else 0
    _, t_mime = timed(lambda: bare_mime(first_day_mails))
    counts = Counter(mail.message_ids)
    json.dump(
        {
            "days": days,
            "start_rss_mb": start_rss,
            "peak_rss_mb": peak,
            "messages": len(mail.message_ids),
            "chat_posts": chat.posted,
            "duplicates": sum(c - 1 for c in counts.values()),
            "mime_count": first_day_mails,
            "mime_wall": t_mime.wall,
            "mime_cpu": t_mime.cpu,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
