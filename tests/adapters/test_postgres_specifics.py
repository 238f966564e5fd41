"""What the PostgreSQL store promises beyond the contract: workers on several connections
never claim one outbox item twice, codes are never over-assigned, driver errors are
translated, and the schema is versioned as SQLite's is."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import pytest

from upslife.adapters._codec import encode
from upslife.errors import (
    AlreadyRegistered,
    ConcurrentUpdate,
    OverAssignment,
    StorageError,
)
from upslife.testing.contract import code, device, item, owner

psycopg = pytest.importorskip("psycopg")

from upslife.adapters.postgres import (  # noqa: E402 (after the psycopg check)
    MIGRATIONS,
    PostgresStore,
    SchemaVersionTooNew,
)

T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def store(postgres_dsn: str) -> Iterator[PostgresStore]:
    store = PostgresStore(postgres_dsn)
    yield store
    store.close()


def run_together(count: int, work: Callable[[int], None]) -> None:
    """Run ``work(0..count-1)`` in threads released at the same moment; re-raise failures."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def start(n: int) -> None:
        try:
            barrier.wait()
            work(n)
        except BaseException as e:  # re-raised below, in the test's thread
            errors.append(e)

    threads = [threading.Thread(target=start, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


class TestConcurrentClaims:
    def test_workers_on_several_connections_never_claim_the_same_key(
        self, store: PostgresStore, postgres_dsn: str
    ) -> None:
        keys = {f"k{n:04}" for n in range(300)}
        store.enqueue([item(k) for k in keys], [])
        claimed: dict[int, list[str]] = {}

        def work(n: int) -> None:
            worker = PostgresStore(postgres_dsn)
            got: list[str] = []
            try:
                while batch := worker.claim(T0, worker=f"w{n}", limit=4, lease_seconds=3600):
                    got += [i.key for i in batch]
            finally:
                worker.close()
            claimed[n] = got

        run_together(8, work)
        every = [k for got in claimed.values() for k in got]
        assert len(every) == len(set(every))
        assert set(every) == keys

    def test_a_claim_skips_rows_another_worker_is_claiming_instead_of_waiting(
        self, store: PostgresStore, postgres_dsn: str
    ) -> None:
        store.enqueue([item(f"k{n}") for n in range(4)], [])
        other = PostgresStore(postgres_dsn)
        # Without SKIP LOCKED the second claim would wait for the first: fail, don't hang.
        other._conn.execute("SET lock_timeout = '2s'")
        try:
            with store.transaction():  # holds its rows' locks until the block ends
                first = store.claim(T0, worker="w1", limit=2)
                second = other.claim(T0, worker="w2", limit=10)
            assert [i.key for i in first] == ["k0", "k1"]
            assert [i.key for i in second] == ["k2", "k3"]
        finally:
            other.close()


class TestCompareAndSet:
    def test_concurrent_assignments_never_over_assign_a_code(
        self, store: PostgresStore, postgres_dsn: str
    ) -> None:
        # SPEC E6: ten assignments of one license race for a code of seven.
        store.add_code(code(quantity=7))
        outcomes: dict[int, str] = {}

        def assign_one(n: int) -> None:
            worker = PostgresStore(postgres_dsn)
            try:
                while True:
                    read = worker.get_code("CODE-1")
                    try:
                        changed, _ = read.assign(date(2025, 3, 1), 1)
                        worker.save_code(changed, expected_assigned=read.assigned)
                    except ConcurrentUpdate:
                        continue
                    except OverAssignment:
                        outcomes[n] = "refused"
                        return
                    outcomes[n] = "assigned"
                    return
            finally:
                worker.close()

        run_together(10, assign_one)
        assert sorted(outcomes.values()).count("assigned") == 7
        assert store.get_code("CODE-1").assigned == 7


class TestTranslation:
    def test_a_duplicate_serial_is_already_registered_with_the_driver_error_as_cause(
        self, store: PostgresStore
    ) -> None:
        # SPEC E2
        store.add_device(device())
        with pytest.raises(AlreadyRegistered) as raised:
            store.add_device(device())
        assert isinstance(raised.value.__cause__, psycopg.errors.UniqueViolation)
        store.add_device(device("AS2"))  # the connection is usable after the failure

    def test_text_postgresql_cannot_hold_is_a_storage_error(self, store: PostgresStore) -> None:
        # The library refuses a NUL at the door (docs/validation.md); the store must still
        # translate the driver's refusal of one that reaches it (a value built around the
        # checks, as a careless caller could).
        poisoned = owner()
        object.__setattr__(poisoned, "id", "nul\x00@example.com")  # a key column
        with pytest.raises(StorageError) as raised:
            store.add_owner(poisoned)
        assert isinstance(raised.value.__cause__, psycopg.Error)
        store.add_owner(owner())

    def test_a_lost_connection_is_a_storage_error(
        self, store: PostgresStore, postgres_dsn: str
    ) -> None:
        pid = store._conn.info.backend_pid  # white-box: the store's own connection
        with psycopg.connect(postgres_dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(StorageError) as raised:
            store.count_devices()
        assert isinstance(raised.value.__cause__, psycopg.Error)


class TestSchema:
    def test_a_new_schema_is_at_the_newest_version(self, store: PostgresStore) -> None:
        assert store.schema_version() == len(MIGRATIONS)

    def test_an_old_version_schema_is_migrated_forward_keeping_its_rows(
        self, postgres_dsn: str
    ) -> None:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            conn.execute("INSERT INTO schema_version (version) VALUES (1)")
            for statement in MIGRATIONS[0]:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO owners (id, doc) VALUES (%s, %s)",
                ("ann@example.com", encode(owner())),
            )
        store = PostgresStore(postgres_dsn)
        try:
            assert store.schema_version() == len(MIGRATIONS)
            assert store.get_owner("ann@example.com") == owner()
            assert store.enqueue([item("k1")], []) == 1
        finally:
            store.close()

    def test_a_schema_from_a_newer_upslife_is_refused(
        self, store: PostgresStore, postgres_dsn: str
    ) -> None:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute("UPDATE schema_version SET version = 99")
        with pytest.raises(SchemaVersionTooNew):
            PostgresStore(postgres_dsn)

    def test_several_stores_opening_a_new_schema_at_once_migrate_it_once(
        self, postgres_dsn: str
    ) -> None:
        run_together(5, lambda n: PostgresStore(postgres_dsn).close())
        with psycopg.connect(postgres_dsn) as conn:
            row = conn.execute("SELECT version FROM schema_version").fetchall()
        assert row == [(len(MIGRATIONS),)]

    def test_a_store_on_a_given_connection_leaves_it_open(self, postgres_dsn: str) -> None:
        with psycopg.connect(postgres_dsn) as conn:
            store = PostgresStore(conn)
            store.add_owner(owner())
            store.close()
            assert not conn.closed
            assert conn.execute("SELECT count(*) FROM owners").fetchone() == (1,)

    def test_devices_due_reads_the_due_index_not_the_whole_table(
        self, store: PostgresStore
    ) -> None:
        with store.transaction():
            for n in range(400):
                due = date(2025, 3, 1) if n % 80 == 0 else None
                store.add_device(device(f"AS{n:04}", next_notice_on=due))
        conn = store._conn  # white-box: the plan of the store's own statement
        conn.execute("ANALYZE devices")
        sql = PostgresStore._DEVICES_DUE_AFTER.replace("?", "%s")
        plan = "\n".join(
            r[0] for r in conn.execute(f"EXPLAIN {sql}", (date(2025, 3, 1), "AS0001", 500))
        )
        assert "devices_due" in plan
        assert "Seq Scan" not in plan

    def test_keys_sort_as_python_sorts_them_whatever_the_locale(
        self, store: PostgresStore
    ) -> None:
        serials = ["b", "B", "a", "_x", "é1", "Z9", "e2", "10", "9"]
        for serial in serials:
            store.add_device(device(serial, next_notice_on=date(2025, 1, 1)))
        assert [d.serial for d in store.devices_of("ann@example.com")] == sorted(serials)
        assert [d.serial for d in store.devices_due(date(2025, 1, 1))] == sorted(serials)


def test_importing_upslife_and_its_sqlite_store_does_not_import_psycopg() -> None:
    code = (
        "import sys, upslife, upslife.adapters.sqlite, upslife.testing; "
        "sys.exit('psycopg' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
