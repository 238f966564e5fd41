"""B4: the sweep on PostgreSQL with one, two and four workers over one fleet.

The fleet is written once into a schema of its own through ``PostgresStore`` (the store's
API, batched transactions), then copied table by table into a second schema, so both runs
start from the same rows. One worker (a process with its own store,
:mod:`benchmarks.pg_worker`) sweeps the first schema day after day; two workers sweep the
second, both released at once each day. The figure is the speed-up of two over one, and
every Message-ID sent by either worker is checked for duplicates (SPEC N9); both runs
must send the same number of messages.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import IO, Any
from urllib.parse import quote

import attrs

from benchmarks._measure import Figure, child_env
from benchmarks.fleet import BuildInfo, FleetSpec, write_fleet

__all__ = ["B4Result", "figures", "run"]

_TABLES = (
    "owners",
    "devices",
    "licenses",
    "warranties",
    "codes",
    "invitations",
    "used_tokens",
    "sharing",
    "event_log",
    "sent_stages",
    "outbox",
    "schedule",
    "settings",
)
_IDENTITY = ("licenses", "warranties", "event_log", "sent_stages")


def with_schema(dsn: str, schema: str) -> str:
    """``dsn`` whose sessions work in ``schema`` (first on the ``search_path``)."""
    option = quote(f"-csearch_path={schema}", safe="")
    if "://" in dsn:
        return f"{dsn}{'&' if '?' in dsn else '?'}options={option}"
    return f"{dsn} options='-csearch_path={schema}'"


@attrs.frozen
class B4Result:
    devices: int
    build: BuildInfo
    days: int
    runs: dict[int, list[dict[str, Any]]]  # workers -> per day, per worker reports
    walls: dict[int, float]  # workers -> seconds, summed over the days
    messages: dict[int, int]
    duplicates: dict[int, int]


def _reset_schema(dsn: str, schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn, autocommit=True) as conn:
        name = sql.Identifier(schema)
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(name))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(name))


def _copy_schema(dsn: str, source: str, target: str) -> None:
    """Copy every table's rows from ``source`` into the migrated ``target`` schema."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
        for table in _TABLES:
            src = sql.Identifier(source, table)
            dst = sql.Identifier(target, table)
            override = sql.SQL(" OVERRIDING SYSTEM VALUE" if table in _IDENTITY else "")
            conn.execute(sql.SQL("INSERT INTO {}{} SELECT * FROM {}").format(dst, override, src))
        for table in _IDENTITY:
            conn.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence({}, 'seq'),"
                    " coalesce((SELECT max(seq) FROM {}), 0) + 1, false)"
                ).format(sql.Literal(f"{target}.{table}"), sql.Identifier(target, table))
            )
        conn.execute(sql.SQL("ANALYZE"))


def _send(stream: IO[str] | None, line: str) -> None:
    assert stream is not None
    stream.write(line + "\n")
    stream.flush()


def _read(stream: IO[str] | None) -> dict[str, Any]:
    assert stream is not None
    line = stream.readline()
    if not line:
        raise RuntimeError("a PostgreSQL sweep worker ended early (see its stderr)")
    value: dict[str, Any] = json.loads(line)
    return value


def _sweep(dsn: str, workers: int, days: int) -> tuple[list[dict[str, Any]], float, list[str]]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.pg_worker", dsn, f"w{n}", f"{n}/{workers}"],
            env=child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(workers)
    ]
    try:
        for p in procs:
            _read(p.stdout)  # ready: imports done, connected
        reports: list[dict[str, Any]] = []
        wall = 0.0
        for k in range(days):
            for p in procs:
                _send(p.stdin, f"DAY {k}")
            day = [_read(p.stdout) for p in procs]
            wall += max(r["end"] for r in day) - min(r["start"] for r in day)
            reports.append({"day": k, "workers": day})
        ids: list[str] = []
        for p in procs:
            _send(p.stdin, "QUIT")
            ids.extend(_read(p.stdout)["message_ids"])
        for p in procs:
            p.wait(timeout=60)
        return reports, wall, ids
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            for stream in (p.stdin, p.stdout):
                if stream is not None:
                    stream.close()


def run(
    dsn: str,
    devices: int,
    *,
    days: int,
    build_workers: int = 2,
    progress: Callable[[str], None] = print,
) -> B4Result:
    from upslife.adapters.postgres import PostgresStore

    spec = FleetSpec(devices)
    schemas = {1: "upslife_bench_one", 2: "upslife_bench_two", 4: "upslife_bench_four"}
    for schema in schemas.values():
        _reset_schema(dsn, schema)
    progress(f"B4 PostgreSQL: writing {devices:,} devices through PostgresStore")
    started = time.perf_counter()
    store = PostgresStore(with_schema(dsn, schemas[1]))
    try:
        build = write_fleet(store, spec, workers=build_workers)
    finally:
        store.close()
    for copy in (schemas[2], schemas[4]):
        PostgresStore(with_schema(dsn, copy)).close()  # migrates the copy's schema
        _copy_schema(dsn, schemas[1], copy)
    build = attrs.evolve(build, seconds=time.perf_counter() - started)
    runs: dict[int, list[dict[str, Any]]] = {}
    walls: dict[int, float] = {}
    messages: dict[int, int] = {}
    duplicates: dict[int, int] = {}
    for workers, schema in schemas.items():
        progress(f"  sweeping {days} day(s) with {workers} worker(s)")
        reports, wall, ids = _sweep(with_schema(dsn, schema), workers, days)
        runs[workers], walls[workers], messages[workers] = reports, wall, len(ids)
        duplicates[workers] = sum(c - 1 for c in Counter(ids).values())
    for schema in schemas.values():
        _reset_schema(dsn, schema)
    return B4Result(devices, build, days, runs, walls, messages, duplicates)


def figures(result: B4Result) -> list[Figure]:
    due = sum(w["plan"]["devices_due"] for day in result.runs[1] for w in day["workers"])
    figs: list[Figure] = []
    for workers in sorted(w for w in result.walls if w > 1):
        speedup = result.walls[1] / result.walls[workers]
        same = result.messages[1] == result.messages[workers]
        clean = result.duplicates[1] == 0 and result.duplicates[workers] == 0 and same
        figs.append(
            Figure(
                "B4",
                f"sweep on PostgreSQL, {workers} workers vs 1, {result.devices:,} devices, "
                f"{result.days} day(s)",
                speedup,
                "× speed-up",
                "0 duplicates",
                clean,
                f"{workers} workers {result.walls[workers]:.2f} s: "
                f"{result.messages[workers]:,} messages, "
                f"{result.duplicates[workers]} duplicate Message-IDs",
                f"1 worker {result.walls[1]:.2f} s: {result.messages[1]:,} messages "
                f"({due:,} due devices)",
            )
        )
    return figs
