"""The stored schedule as a user meets it: a store from before it, a catalog change, a
write the use cases did not make, a damaged entry (docs/performance.md, SPEC N1–N9)."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import attrs

from upslife.adapters.sqlite import SqliteStore
from upslife.app import FixedClock, Lifecycle
from upslife.app.clock import local_date
from upslife.app.facts import facts_of
from upslife.app.schedule import plan_scheduled, schedule_stamp
from upslife.app.sweep import plan_notices
from upslife.catalog import Catalog
from upslife.entitlements import Plan, Term
from upslife.notifications import Contact, due_notices
from upslife.ports import STALE, Owner, Store

OWNER = "ops@acme.example"
SWEEP = datetime(2026, 1, 31, 8, tzinfo=UTC)  # the 90-day notices of trials begun 2025-11-01


def fleet(path: Path, devices: int = 6) -> None:
    store = SqliteStore(path)
    service = Lifecycle(store, clock=FixedClock(datetime(2025, 11, 1, 8, tzinfo=UTC)))
    service.add_owner(Owner(OWNER, Contact("Acme", "Ada Lovelace", OWNER), "Europe/Paris"))
    for n in range(devices):
        service.register_device(OWNER, f"AS{n:010d}", "SMT1500C", on=date(2025, 11, 1))
    service.issue_code("C1", Plan.STANDARD, Term.Y1, 1, "installer@acme.example")
    service.assign_code("C1", "AS0000000001", by=OWNER)
    store.close()


def notices(store: Store) -> set[tuple[str, str]]:
    return {(i.key, i.payload) for i in store.items() if i.key.startswith("notice:")}


def planned_serials(store: Store) -> set[str | None]:
    return {i.serial for i in store.items() if i.key.startswith("notice:")}


def downgrade_to_schema_4(path: Path) -> None:
    """The file as an upslife from before the schedule wrote it."""
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DROP TABLE schedule")
        conn.execute("DROP TABLE settings")
        conn.execute("UPDATE schema_version SET version = 4")
    conn.close()


def test_a_store_from_before_the_schedule_is_migrated_and_plans_as_before(
    tmp_path: Path,
) -> None:
    old, reference = tmp_path / "old.db", tmp_path / "reference.db"
    fleet(old)
    downgrade_to_schema_4(old)
    shutil.copyfile(old, reference)
    migrated = SqliteStore(old)  # migration 5: the table, no entries, no stamp
    assert migrated.schema_version() == 5
    assert migrated.schedule_stamp() is None
    ref = SqliteStore(reference)
    for k in range(3):
        now = SWEEP + timedelta(days=k)
        planned = plan_scheduled(migrated, Catalog.default(), now)  # rebuilds first
        assert planned.notices_planned == plan_notices(ref, Catalog.default(), now).notices_planned
    assert migrated.schedule_stamp() == schedule_stamp(Catalog.default())
    assert notices(migrated) == notices(ref) != set()
    migrated.close()
    ref.close()


def full_scan(store: Store, catalog: Catalog, now: datetime) -> set[str]:
    """The notice keys of every device, recomputed from its stored facts (no index)."""
    owner = store.get_owner(OWNER)
    today = local_date(now, owner.timezone)
    keys: set[str] = set()
    for device in store.devices_of(OWNER):
        facts = facts_of(store, catalog, device)
        sent = store.sent_stages(device.serial)
        keys |= {n.key for n in due_notices(facts, today, owner=owner.contact, sent=sent)}
    return keys


def test_a_catalog_change_rebuilds_the_schedule_before_planning(tmp_path: Path) -> None:
    # SPEC C1: a new catalog changes the events (here: batteries of 6 months, due on
    # 2026-05-01, whose 90-day notice is due on 2026-01-31). The stored dates of the old
    # rules would not read that device today; the rebuild does.
    path = tmp_path / "u.db"
    fleet(path)
    store = SqliteStore(path)
    plan_scheduled(store, Catalog.default(), SWEEP - timedelta(days=1))
    shorter = Catalog.default().get("SMT1500C")
    changed = Catalog((attrs.evolve(shorter, battery_life_months=6),))
    assert schedule_stamp(changed) != store.schedule_stamp()
    expected = full_scan(store, changed, SWEEP)
    plan_scheduled(store, changed, SWEEP)
    assert store.schedule_stamp() == schedule_stamp(changed)
    assert {key for key, _ in notices(store)} == expected
    assert any(key.startswith("notice:AS0000000001:battery-replacement:") for key in expected)
    store.close()


def test_a_write_no_use_case_made_is_recomputed_by_the_plan(tmp_path: Path) -> None:
    # A license stored straight into the store: its entry is stale, and the plan
    # recomputes that device from its stored facts, as the reference does.
    path, reference = tmp_path / "u.db", tmp_path / "r.db"
    fleet(path)
    store = SqliteStore(path)
    plan_scheduled(store, Catalog.default(), SWEEP - timedelta(days=40))
    from upslife.entitlements import License

    lic = License.of("L-direct", Plan.ADVANCED, "1Y", date(2025, 11, 1))
    store.add_licenses("AS0000000002", [lic])
    entry = store.get_schedule("AS0000000002")
    assert entry is not None
    assert entry.doc == STALE
    store.close()
    shutil.copyfile(path, reference)
    store, ref = SqliteStore(path), SqliteStore(reference)
    for k in range(2):
        plan_scheduled(store, Catalog.default(), SWEEP + timedelta(days=k))
        plan_notices(ref, Catalog.default(), SWEEP + timedelta(days=k))
    assert notices(store) == notices(ref)
    store.close()
    ref.close()


def test_a_damaged_entry_is_set_aside_and_the_others_are_planned(tmp_path: Path) -> None:
    path = tmp_path / "u.db"
    fleet(path)
    store = SqliteStore(path)
    store.set_schedule_stamp(schedule_stamp(Catalog.default()))
    store.close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE schedule SET doc = '{\"broken' WHERE serial = 'AS0000000003'")
    conn.close()
    store = SqliteStore(path)
    report = plan_scheduled(store, Catalog.default(), SWEEP)
    assert [serial for serial, _ in report.damaged] == ["AS0000000003"]
    assert report.devices_due == 4  # AS0000000001 has a license: nothing due today
    assert "cannot be read" in report.damaged[0][1]
    store.close()


def test_a_device_whose_write_is_refused_is_set_aside_and_its_page_is_written(
    tmp_path: Path,
) -> None:
    # A page's devices are written together; a refused write falls back to one device at
    # a time, so only the refused device is set aside, and it stays due (SPEC N9: it is
    # planned once it can be written, nothing twice).
    path = tmp_path / "u.db"
    fleet(path)
    store = SqliteStore(path)
    store.set_schedule_stamp(schedule_stamp(Catalog.default()))
    store.close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON outbox WHEN NEW.serial = 'AS0000000004' "
            "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        )
    conn.close()
    store = SqliteStore(path)
    report = plan_scheduled(store, Catalog.default(), SWEEP)
    assert [serial for serial, _ in report.damaged] == ["AS0000000004"]
    assert "refused by the test" in report.damaged[0][1]
    assert report.devices_due == 4  # AS0000000001 has a license: nothing due today
    assert planned_serials(store) == {f"AS{n:010d}" for n in (0, 2, 3, 5)}
    entry = store.get_schedule("AS0000000004")
    assert entry is not None
    assert entry.next_on is not None
    assert entry.next_on <= SWEEP.date()
    store.close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DROP TRIGGER refuse")
    conn.close()
    store = SqliteStore(path)
    again = plan_scheduled(store, Catalog.default(), SWEEP)
    assert (again.devices_due, again.damaged) == (1, ())
    assert planned_serials(store) == {f"AS{n:010d}" for n in (0, 2, 3, 4, 5)}
    reference = tmp_path / "ref.db"
    fleet(reference)
    ref = SqliteStore(reference)
    plan_notices(ref, Catalog.default(), SWEEP)
    assert notices(store) == notices(ref)
    ref.close()
    store.close()
