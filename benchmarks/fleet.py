"""A seeded, deterministic fleet of APC Smart-UPS devices, written to any store in batches.

The same :class:`FleetSpec` always gives the same owners, devices, licenses and dates,
chunk by chunk, so chunks can be computed in parallel and a built file can be reused.

What a fleet holds (proportions are of devices unless said otherwise):

- models drawn evenly from ``Catalog.default().models``; registrations spread evenly over
  the five years before the sweep day; 60 % with a manufacture date up to ten months
  earlier; 3 % on the FORFEIT upgrade policy;
- licenses: 35 % none (trial only), 30 % one to three STANDARD licenses appended, 10 % a
  1Y + 3Y STANDARD stack on one day, 15 % STANDARD then an ADVANCED upgrade, 10 %
  ADVANCED then a STANDARD license queued behind it; 8 % an extended warranty (those
  activated before 2023-08-01 also credit STANDARD time, SPEC E7);
- batteries: 40 % of devices older than 900 days had their battery replaced, 5 % report
  their own replace-by date, 0.2 % reported a battery failure in the last 60 days and
  0.015 % on the sweep day itself;
- owners: two managed-service providers, one with a tenth of the fleet and one with a
  hundredth (the 100,000- and 10,000-device MyRenewals reports of a 1,000,000 fleet), and
  regular customers with about twelve devices each, in twelve time zones from Los Angeles
  to Auckland; 20 % of owners connected to one of fifty resellers (ACCEPTED), a fifth of
  those resellers on a daily digest; 3 % of owners on a daily digest themselves and 5 %
  with a Slack route.

Each device is stored as a daily sweep would have left it the day before the sweep:
the stage each event sent "yesterday" (the owner's yesterday) is recorded (only the
latest stage per event matters to the rules, SPEC N4), and ``next_notice_on`` is computed
with the application's own functions (:func:`upslife.app.facts.build_facts`,
:func:`upslife.app.facts.refresh_next_notice`). So the sweep day has no backlog: what is
due is exactly what falls due that day.

Writing uses the store's own API only, 10,000 devices per ``store.transaction()``;
:func:`build_sqlite` caches the result on disk, keyed by the spec.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Final

import attrs

from upslife.adapters.sqlite import MIGRATIONS, SqliteStore
from upslife.app.clock import local_date
from upslife.app.facts import build_facts, refresh_next_notice
from upslife.app.schedule import schedule_entry, schedule_stamp
from upslife.catalog import Catalog
from upslife.entitlements import (
    ExtendedWarranty,
    License,
    Plan,
    Term,
    UpgradePolicy,
    add_months,
)
from upslife.invitations import Invitation, accept, invite
from upslife.notifications import (
    ChatKind,
    ChatRoute,
    Contact,
    DeliveryPreference,
    EventKind,
    SentStage,
    lifecycle_events,
    stage_due,
)
from upslife.ports import Device, Owner, ScheduleEntry, Store
from upslife.sharing import SharingState

__all__ = [
    "EVENT_KINDS",
    "FORMAT_VERSION",
    "SWEEP_AT",
    "BuildInfo",
    "DeviceRecord",
    "FleetSpec",
    "RawDevice",
    "build_sqlite",
    "device_records",
    "invitations",
    "owners",
    "raw_devices",
    "write_fleet",
]

FORMAT_VERSION: Final = 2  # 2: the stored schedule (migration 4)
"""Bump when the generator changes, so cached fleet files are rebuilt."""

SWEEP_AT: Final = datetime(2026, 3, 16, 6, 0, tzinfo=UTC)
"""The instant of the benchmarked sweep: Los Angeles owners are still on 15 March."""

SPAN_DAYS: Final = 1826  # registrations over five years
TIMEZONES: Final = (
    ("UTC", 6),
    ("Europe/London", 10),
    ("Europe/Paris", 14),
    ("Europe/Berlin", 12),
    ("America/New_York", 16),
    ("America/Chicago", 8),
    ("America/Los_Angeles", 10),
    ("America/Sao_Paulo", 4),
    ("Asia/Kolkata", 6),
    ("Asia/Tokyo", 6),
    ("Australia/Sydney", 5),
    ("Pacific/Auckland", 3),
)
RESELLERS: Final = 50
EVENT_KINDS: Final = tuple(kind for kind in EventKind if kind.has_due_date)
"""Event kinds with a due date, by their index in ``DeviceRecord.events``."""

_SERIAL_MULTIPLIER: Final = 2_654_435_761  # odd, not a multiple of 5: a bijection mod 10**10
_TERMS: Final = (Term.Y1, Term.Y1, Term.Y1, Term.Y3, Term.Y3, Term.Y5)


@attrs.frozen
class FleetSpec:
    """What to generate: ``devices`` devices from ``seed``, as of the sweep at ``sweep_at``."""

    devices: int
    seed: int = 20260316
    sweep_at: datetime = SWEEP_AT
    chunk: int = 10_000

    @property
    def today(self) -> date:
        """The sweep day in UTC; registrations end two days before it."""
        return self.sweep_at.date()

    @property
    def msp_large(self) -> int:
        """Devices of the large managed-service provider (owner 0): a tenth of the fleet."""
        return (self.devices + 9) // 10

    @property
    def msp_small(self) -> int:
        """Devices of the small managed-service provider (owner 1): a hundredth."""
        return (self.devices + 98) // 100

    @property
    def regular_owners(self) -> int:
        return max(1, (self.devices - self.msp_large - self.msp_small) // 12)

    @property
    def owner_count(self) -> int:
        return 2 + self.regular_owners

    @property
    def chunks(self) -> int:
        return (self.devices + self.chunk - 1) // self.chunk

    def manifest(self) -> dict[str, object]:
        """What identifies a built file: the spec, the generator and the schema versions."""
        return {
            "format": FORMAT_VERSION,
            "schema": len(MIGRATIONS),
            "devices": self.devices,
            "seed": self.seed,
            "sweep_at": self.sweep_at.isoformat(),
            "chunk": self.chunk,
        }


def serial_of(index: int) -> str:
    """A unique APC-like serial for device ``index``, in an order unrelated to the index."""
    return f"AS{(index * _SERIAL_MULTIPLIER + 12_345) % 10**10:010d}"


def owner_id(index: int) -> str:
    if index == 0:
        return "noc@msp-large.example"
    if index == 1:
        return "noc@msp-small.example"
    return f"it{index:06d}@customer{index:06d}.example"


def reseller_of(index: int) -> str:
    return f"sales@reseller{index % RESELLERS:02d}.example"


@cache
def _catalog() -> Catalog:
    return Catalog.default()


# --------------------------------------------------------------------------- owners


def owners(spec: FleetSpec) -> list[Owner]:
    """Every owner of the fleet, owner ``k`` at index ``k``."""
    rng = random.Random(spec.seed * 1_000_003 - 1)
    zones = [name for name, weight in TIMEZONES for _ in range(weight)]
    made: list[Owner] = []
    for k in range(spec.owner_count):
        email = owner_id(k)
        contact = Contact(
            "Large MSP" if k == 0 else "Small MSP" if k == 1 else f"Customer {k}",
            f"Admin {k}",
            email,
            "IT manager",
            f"+1 555 {k % 10_000:04d}",
        )
        routes: tuple[ChatRoute, ...] = ()
        hooks: tuple[tuple[str, str], ...] = ()
        if rng.random() < 0.05:
            routes = (ChatRoute(ChatKind.SLACK, "ops"),)
            hooks = (("ops", f"https://hooks.slack.invalid/services/T{k}"),)
        digest = rng.random() < 0.03
        reseller_digest = k == 0 or rng.random() < 0.2
        made.append(
            Owner(
                email,
                contact,
                "Europe/Paris" if k < 2 else rng.choice(zones),
                chat_routes=routes,
                chat_webhooks=hooks,
                owner_delivery=(
                    DeliveryPreference.DAILY_DIGEST if digest else DeliveryPreference.IMMEDIATE
                ),
                reseller_delivery=(
                    DeliveryPreference.DAILY_DIGEST
                    if reseller_digest
                    else DeliveryPreference.IMMEDIATE
                ),
            )
        )
    return made


def invitations(spec: FleetSpec, fleet_owners: Sequence[Owner]) -> list[Invitation]:
    """The ACCEPTED reseller connections: the large MSP's and a fifth of the others'."""
    rng = random.Random(spec.seed * 1_000_003 - 2)
    made: list[Invitation] = []
    for k, owner in enumerate(fleet_owners):
        if k == 1 or (k > 1 and rng.random() >= 0.2):
            continue
        sent = spec.sweep_at - timedelta(days=rng.randint(10, 700), hours=rng.randint(0, 23))
        pending = invite(
            owner.id,
            reseller_of(k),
            owner.contact.company,
            sent,
            current=None,
            invitation_id=f"inv-{k:06d}",
        )
        made.append(accept(pending, sent + timedelta(hours=rng.randint(1, 100))))
    return made


# --------------------------------------------------------------------------- devices


@attrs.frozen
class RawDevice:
    """A generated device and its entitlements, before any rule ran (``next_notice_on`` unset)."""

    device: Device
    licenses: tuple[License, ...]
    warranties: tuple[ExtendedWarranty, ...]


@attrs.frozen
class DeviceRecord:
    """A device as the sweep of the day before left it, ready to store.

    ``sent`` is the stage each event sent that day; ``events`` the device's dated events as
    ``(index in EVENT_KINDS, due date ordinal)`` pairs, for the raw-SQL baseline's table.
    """

    device: Device
    licenses: tuple[License, ...]
    warranties: tuple[ExtendedWarranty, ...]
    sent: tuple[SentStage, ...]
    events: tuple[tuple[int, int], ...]
    schedule: ScheduleEntry


def _between(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randint(0, max(0, (end - start).days)))


def _licenses(rng: random.Random, serial: str, reg: date, last: date) -> tuple[License, ...]:
    def lic(n: int, plan: Plan, term: Term, on: date) -> License:
        return License(f"{serial}-L{n}", plan, term.months, on)

    r = rng.random()
    if r < 0.35:
        return ()
    if r < 0.65:  # renewals appended (SPEC E4a)
        days = sorted(_between(rng, reg, last) for _ in range(rng.choice((1, 1, 2, 3))))
        return tuple(lic(n, Plan.STANDARD, rng.choice(_TERMS), d) for n, d in enumerate(days))
    if r < 0.75:  # a 1Y + 3Y stack on one day (SPEC E4b)
        day = _between(rng, reg, last)
        return (lic(0, Plan.STANDARD, Term.Y1, day), lic(1, Plan.STANDARD, Term.Y3, day))
    if r < 0.90:  # STANDARD, then an upgrade to ADVANCED (SPEC E4c, E4d)
        s = _between(rng, reg, last)
        a = _between(rng, s, last)
        return (
            lic(0, Plan.STANDARD, rng.choice(_TERMS), s),
            lic(1, Plan.ADVANCED, rng.choice((Term.Y1, Term.Y3)), a),
        )
    a = _between(rng, reg, last)  # ADVANCED, then STANDARD queued behind it (SPEC E4e)
    s = _between(rng, a, min(a + timedelta(days=300), last))
    return (
        lic(0, Plan.ADVANCED, Term.Y1, a),
        lic(1, Plan.STANDARD, rng.choice((Term.Y1, Term.Y3)), s),
    )


def raw_devices(spec: FleetSpec, chunk: int) -> list[RawDevice]:
    """The devices of chunk ``chunk`` (``spec.chunk`` devices each), deterministically."""
    catalog = _catalog()
    models = catalog.models
    rng = random.Random(spec.seed * 1_000_003 + chunk)
    today = spec.today
    last = today - timedelta(days=2)
    start = chunk * spec.chunk
    made: list[RawDevice] = []
    for index in range(start, min(start + spec.chunk, spec.devices)):
        serial = serial_of(index)
        if index % 10 == 0:
            owner = 0
        elif index % 100 == 1:
            owner = 1
        else:
            owner = 2 + rng.randrange(spec.regular_owners)
        model = rng.choice(models)
        info = catalog.get(model)
        reg = today - timedelta(days=rng.randint(2, SPAN_DAYS))
        age = (today - reg).days
        manufactured = reg - timedelta(days=rng.randint(10, 300)) if rng.random() < 0.6 else None
        installed = None
        if age > 900 and rng.random() < 0.4:
            installed = reg + timedelta(days=rng.randint(700, min(age - 2, 1500)))
        reported = None
        if rng.random() < 0.05:
            reported = (installed or reg) + timedelta(days=rng.randint(900, 1800))
        failure = None
        x = rng.random()
        if x < 0.002:
            failure = max(reg, today - timedelta(days=rng.randint(1, 60)))
        elif x < 0.00215:
            failure = today
        warranties: tuple[ExtendedWarranty, ...] = ()
        if rng.random() < 0.08:
            expires = add_months(reg, info.base_warranty_months)
            on = _between(rng, reg, min(expires - timedelta(days=1), last))
            months = rng.choice((12, 12, 36))
            warranties = (
                ExtendedWarranty(f"{serial}-W1", info.warranty_extension_sku, months, on),
            )
        device = Device(
            serial,
            owner_id(owner),
            model,
            reg,
            policy=UpgradePolicy.FORFEIT if rng.random() < 0.03 else UpgradePolicy.DEFER,
            battery_installed_on=installed,
            battery_reported_replace_by=reported,
            battery_failure_reported_on=failure,
            manufactured_on=manufactured,
        )
        made.append(RawDevice(device, _licenses(rng, serial, reg, last), warranties))
    return made


@cache
def _owner_days(spec: FleetSpec) -> dict[str, date]:
    """Each owner's local date at the sweep instant (SPEC D1); computed once per process."""
    zones: dict[str, date] = {}
    days: dict[str, date] = {}
    for o in owners(spec):
        if o.timezone not in zones:
            zones[o.timezone] = local_date(spec.sweep_at, o.timezone)
        days[o.id] = zones[o.timezone]
    return days


def device_records(spec: FleetSpec, chunk: int) -> list[DeviceRecord]:
    """Chunk ``chunk`` as the previous day's sweep left it (see the module docstring)."""
    catalog = _catalog()
    days = _owner_days(spec)
    kinds = {kind: n for n, kind in enumerate(EVENT_KINDS)}
    made: list[DeviceRecord] = []
    for raw in raw_devices(spec, chunk):
        device = raw.device
        yesterday = days[device.owner_id] - timedelta(days=1)
        facts = build_facts(device, raw.licenses, raw.warranties, catalog)
        events = lifecycle_events(facts)
        sent: list[SentStage] = []
        for event in events:
            stage = stage_due(event, yesterday, ())
            if stage is not None:
                sent.append(SentStage(event.id, stage, yesterday))
        stored = refresh_next_notice(device, facts, tuple(sent), after=yesterday)
        dated = tuple((kinds[e.kind], e.due.toordinal()) for e in events if e.due is not None)
        entry = schedule_entry(stored, facts, sent, stored.next_notice_on, events=events)
        made.append(
            DeviceRecord(stored, raw.licenses, raw.warranties, tuple(sent), dated, entry)
        )
    return made


# --------------------------------------------------------------------------- writing


def write_owners(store: Store, spec: FleetSpec, *, batch: int = 10_000) -> int:
    """Owners and their reseller connections, ``batch`` per transaction; returns owners."""
    fleet_owners = owners(spec)
    for start in range(0, len(fleet_owners), batch):
        with store.transaction():
            for owner in fleet_owners[start : start + batch]:
                store.add_owner(owner)
    connected = invitations(spec, fleet_owners)
    for start in range(0, len(connected), batch):
        with store.transaction():
            for inv in connected[start : start + batch]:
                store.save_invitation(inv)
    return len(fleet_owners)


def write_records(store: Store, records: Sequence[DeviceRecord]) -> None:
    """Devices, their licenses, warranties and sent stages, in one transaction."""
    with store.transaction():
        for rec in records:
            serial = rec.device.serial
            store.add_device(rec.device)
            if rec.licenses:
                store.add_licenses(serial, rec.licenses)
            for warranty in rec.warranties:
                store.add_warranty(serial, warranty)
            if rec.sent:
                store.enqueue((), rec.sent)
            store.save_schedule(rec.schedule)


def write_sharing(store: Store, serials: dict[str, list[str]], *, batch: int = 10_000) -> None:
    """Each owner's sharing state: the devices they own (reports check it, SPEC R5)."""
    states = [SharingState(o, frozenset(s)) for o, s in serials.items()]
    for start in range(0, len(states), batch):
        with store.transaction():
            for state in states[start : start + batch]:
                store.save_sharing(state)


def _chunks(spec: FleetSpec, workers: int) -> Iterator[list[DeviceRecord]]:
    """The chunks in order, computed by ``workers`` processes a few chunks ahead."""
    if workers <= 1:
        for chunk in range(spec.chunks):
            yield device_records(spec, chunk)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: list[Future[list[DeviceRecord]]] = []
        submitted = 0
        for _ in range(spec.chunks):
            while submitted < spec.chunks and len(pending) < workers + 1:
                pending.append(pool.submit(device_records, spec, submitted))
                submitted += 1
            yield pending.pop(0).result()


@attrs.frozen
class BuildInfo:
    """What building (or finding) a fleet cost and holds."""

    devices: int
    owners: int
    licenses: int
    sent_stages: int
    events: int
    due_dates: int  # devices with a next notice date
    seconds: float
    cached: bool = False


def write_fleet(
    store: Store,
    spec: FleetSpec,
    *,
    workers: int = 1,
    on_events: Callable[[list[DeviceRecord]], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> BuildInfo:
    """Write the whole fleet to ``store`` through its own API; ``on_events`` sees each chunk."""
    started = time.perf_counter()
    owner_count = write_owners(store, spec)
    serials: dict[str, list[str]] = {}
    licenses = sent = events = due = 0
    for n, records in enumerate(_chunks(spec, workers)):
        write_records(store, records)
        for rec in records:
            serials.setdefault(rec.device.owner_id, []).append(rec.device.serial)
            licenses += len(rec.licenses)
            sent += len(rec.sent)
            events += len(rec.events)
            due += rec.device.next_notice_on is not None
        if on_events is not None:
            on_events(records)
        if progress is not None and (n + 1) % 10 == 0:
            progress(f"  {(n + 1) * spec.chunk:,} devices written")
    write_sharing(store, serials)
    store.set_schedule_stamp(schedule_stamp(_catalog()))
    return BuildInfo(
        spec.devices, owner_count, licenses, sent, events, due, time.perf_counter() - started
    )


class _EventTable:
    """The dated events of every device, for the raw-SQL baseline, kept compactly."""

    def __init__(self) -> None:
        self.serials: list[str] = []
        self.owners: list[str] = []
        self.kinds = array("b")
        self.dues = array("i")
        self.device = array("i")

    def add(self, records: list[DeviceRecord]) -> None:
        for rec in records:
            n = len(self.serials)
            self.serials.append(rec.device.serial)
            self.owners.append(rec.device.owner_id)
            for kind, due in rec.events:
                self.device.append(n)
                self.kinds.append(kind)
                self.dues.append(due)

    def rows(self) -> Iterator[tuple[str, str, str, str]]:
        names = [kind.value for kind in EVENT_KINDS]
        for n, kind, due in zip(self.device, self.kinds, self.dues, strict=True):
            yield (
                self.serials[n],
                self.owners[n],
                names[kind],
                date.fromordinal(due).isoformat(),
            )


def _write_event_table(path: Path, table: _EventTable) -> None:
    """``bench_events``: one row per dated event, indexed by due date (raw SQL reads it)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        conn.execute(
            "CREATE TABLE bench_events (serial TEXT NOT NULL, owner_id TEXT NOT NULL,"
            " kind TEXT NOT NULL, due TEXT NOT NULL)"
        )
        conn.executemany("INSERT INTO bench_events VALUES (?, ?, ?, ?)", table.rows())
        conn.execute("CREATE INDEX bench_events_by_due ON bench_events (due)")
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def build_sqlite(
    path: Path,
    spec: FleetSpec,
    *,
    workers: int = 1,
    progress: Callable[[str], None] | None = None,
) -> BuildInfo:
    """The fleet in SQLite file ``path``: built once, then reused while the spec matches.

    A manifest beside the file (``<name>.json``) records the spec and what the build cost.
    The file also holds ``bench_events`` for the raw-SQL baseline of the sweep benchmark.
    """
    manifest = path.with_name(path.name + ".json")
    if path.exists() and manifest.exists():
        saved = json.loads(manifest.read_text())
        if saved.get("spec") == spec.manifest():
            return attrs.evolve(BuildInfo(**saved["build"]), cached=True)
    building = path.with_name(path.name + ".building")
    for leftover in (path, manifest, building):
        leftover.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(str(building) + suffix).unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = _EventTable()
    store = SqliteStore(building)
    try:
        info = write_fleet(store, spec, workers=workers, on_events=table.add, progress=progress)
    finally:
        store.close()
    started = time.perf_counter()
    _write_event_table(building, table)
    info = attrs.evolve(info, seconds=info.seconds + time.perf_counter() - started)
    os.replace(building, path)
    manifest.write_text(
        json.dumps({"spec": spec.manifest(), "build": attrs.asdict(info)}, indent=2) + "\n"
    )
    return info
