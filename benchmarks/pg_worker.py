"""One sweep worker on PostgreSQL, driven line by line by :mod:`benchmarks.b4_postgres`.

``python -m benchmarks.pg_worker DSN NAME [I/N]`` opens its own ``PostgresStore`` (planning
only shard I of N when given: the workers split the planning), prints a ready
line, then for each ``DAY k`` line sweeps at ``SWEEP_AT + k days`` (plan, fold digests,
deliver to null senders, as :func:`upslife.app.sweep` does) and prints one JSON line with
its wall-clock start and end (``time.time()``, so workers can be compared), each step's
seconds and reports. ``QUIT`` prints the Message-IDs it sent and ends.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta

import attrs

from benchmarks._measure import NullChat, NullMail, settings
from benchmarks.fleet import SWEEP_AT
from upslife.adapters.postgres import PostgresStore
from upslife.app.schedule import plan_scheduled
from upslife.app.sweep import deliver, earliest_local_date, fold_digests
from upslife.catalog import Catalog

__all__ = ["main"]


def _say(value: object) -> None:
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    dsn, name = args[:2]
    shard = None
    if len(args) > 2:  # "i/n": this worker plans shard i of n
        part, parts = args[2].split("/")
        shard = (int(part), int(parts))
    store = PostgresStore(dsn)
    catalog = Catalog.default()
    mail, chat, config = NullMail(), NullChat(), settings()
    _say({"ready": name})
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "QUIT":
            break
        now = SWEEP_AT + timedelta(days=int(words[1]))
        start, cpu = time.time(), time.process_time()
        plan = plan_scheduled(store, catalog, now, shard=shard)
        planned = time.time()
        # parallel workers fold only the days over everywhere, as sweep(shard=...) does
        digests = fold_digests(store, now, before=earliest_local_date(now) if shard else None)
        folded = time.time()
        delivery = deliver(store, mail, now, chat=chat, settings=config, worker=name)
        end = time.time()
        _say(
            {
                "start": start,
                "end": end,
                "plan_s": planned - start,
                "fold_s": folded - planned,
                "deliver_s": end - folded,
                "cpu": time.process_time() - cpu,
                "plan": attrs.asdict(plan),
                "digests": digests,
                "delivery": attrs.asdict(delivery),
            }
        )
    _say({"message_ids": mail.message_ids})
    store.close()


if __name__ == "__main__":
    main()
