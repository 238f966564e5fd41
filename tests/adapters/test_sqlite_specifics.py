"""What the SQLite store promises beyond the contract: its file settings, versioned
migrations, index use, and safety with several connections and processes on one file."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from upslife.adapters._codec import decode, encode, instant_to_text
from upslife.adapters.sqlite import MIGRATIONS, SchemaVersionTooNew, SqliteStore
from upslife.errors import ConcurrentUpdate, InvalidInput, StorageError
from upslife.notifications import DeliveryPreference, Recipient
from upslife.ports import OutboxItem
from upslife.sharing import Share, ShareState, ShareVia, SharingState
from upslife.testing.contract import code, device, invitation, item, log_entry, owner

T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "upslife.sqlite3"


@pytest.fixture
def store(path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(path)
    yield store
    store.close()


@contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection to the file, outside the store (autocommit), closed after."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def version_of(path: Path) -> int:
    with raw(path) as conn:
        return int(conn.execute("SELECT version FROM schema_version").fetchone()[0])


def build_file_at(path: Path, version: int) -> None:
    """A file as an upslife that knew ``version`` migrations would have left it."""
    with raw(path) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
        for statements in MIGRATIONS[:version]:
            for statement in statements:
                conn.execute(statement)


class TestTheFile:
    def test_the_file_is_in_wal_mode(self, store: SqliteStore, path: Path) -> None:
        with raw(path) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    def test_foreign_keys_are_enforced(self, store: SqliteStore) -> None:
        conn = store._conn  # white-box: the store's own connection and its settings
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            conn.execute("INSERT INTO licenses (id, serial, doc) VALUES ('L1', 'NOPE', '{}')")

    def test_the_busy_timeout_is_set(self, path: Path) -> None:
        store = SqliteStore(path, busy_timeout=2.5)
        assert store._conn.execute("PRAGMA busy_timeout").fetchone()[0] == 2500
        store.close()

    def test_a_nonsense_busy_timeout_is_refused(self, path: Path) -> None:
        with pytest.raises(InvalidInput):
            SqliteStore(path, busy_timeout=-1)

    def test_an_unopenable_path_is_a_storage_error(self, tmp_path: Path) -> None:
        with pytest.raises(StorageError):
            SqliteStore(tmp_path / "no" / "such" / "dir" / "db.sqlite3")

    def test_a_damaged_document_is_a_storage_error(self, store: SqliteStore, path: Path) -> None:
        store.add_device(device())
        with raw(path) as conn:
            conn.execute("UPDATE devices SET doc = '{\"serial\": 1}'")
        with pytest.raises(StorageError, match="Device"):
            store.get_device("AS1")


class TestMigrations:
    def test_a_new_file_gets_the_newest_schema_and_a_version_table(
        self, store: SqliteStore, path: Path
    ) -> None:
        assert store.schema_version() == len(MIGRATIONS) == version_of(path)
        with raw(path) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert {"schema_version", "devices", "outbox", "sent_stages", "devices_due"} <= tables

    def test_opening_a_file_again_keeps_its_rows_and_version(self, path: Path) -> None:
        first = SqliteStore(path)
        first.add_device(device())
        first.close()
        again = SqliteStore(path)
        assert again.get_device("AS1") == device()
        assert again.schema_version() == len(MIGRATIONS)
        again.close()

    def test_an_old_version_file_is_migrated_forward_keeping_its_rows(self, path: Path) -> None:
        build_file_at(path, 1)
        with raw(path) as conn:
            conn.execute(
                "INSERT INTO devices (serial, owner_id, next_notice_on, doc) VALUES (?, ?, ?, ?)",
                ("AS1", "ann@example.com", None, encode(device())),
            )
        store = SqliteStore(path)
        assert version_of(path) == len(MIGRATIONS)
        assert store.get_device("AS1") == device()
        assert store.enqueue([item("k1")], []) == 1  # the tables of migration 2 work
        store.close()

    def test_migration_three_marks_the_stored_pending_invitations(self, path: Path) -> None:
        # SPEC I2, I4: invitations saved before the column existed are found by expiry.
        build_file_at(path, 2)
        with raw(path) as conn:
            conn.execute(
                "INSERT INTO invitations (id, owner_id, sent_at, doc) VALUES (?, ?, ?, ?)",
                ("INV-1", invitation().owner_id, instant_to_text(T0), encode(invitation())),
            )
        store = SqliteStore(path)
        try:
            assert store.pending_invitations(sent_before=T0 + timedelta(days=8)) == (
                invitation(),
            )
        finally:
            store.close()

    def test_migration_four_adds_recipient_choices_and_keeps_older_owner_records(
        self, path: Path
    ) -> None:
        # SPEC N10, E10: an owner written before templates existed reads back without them;
        # a reseller stored before choices existed has none until it chooses
        build_file_at(path, 3)
        older = attrs.evolve(owner(), email_templates=None)
        with raw(path) as conn:
            conn.execute("INSERT INTO owners (id, doc) VALUES (?, ?)", (older.id, encode(older)))
        store = SqliteStore(path)
        try:
            assert version_of(path) == len(MIGRATIONS)
            assert store.get_owner(older.id) == older
            reseller = Recipient.reseller("sales@reseller.example.net")
            assert store.delivery_of(reseller) is None
            store.set_delivery(reseller, DeliveryPreference.DAILY_DIGEST)
            assert store.delivery_of(reseller) is DeliveryPreference.DAILY_DIGEST
        finally:
            store.close()

    def test_a_file_from_a_newer_upslife_is_refused_and_left_unchanged(self, path: Path) -> None:
        build_file_at(path, len(MIGRATIONS))
        with raw(path) as conn:
            conn.execute("UPDATE schema_version SET version = 99")
        with pytest.raises(SchemaVersionTooNew) as raised:
            SqliteStore(path)
        assert (raised.value.found, raised.value.known) == (99, len(MIGRATIONS))
        assert isinstance(raised.value, StorageError)
        assert version_of(path) == 99

    def test_a_migration_that_fails_is_rolled_back_whole(
        self, path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        SqliteStore(path).close()
        broken = ("CREATE TABLE added_by_three (id TEXT)", "CREATE TABLE broken (")
        monkeypatch.setattr(SqliteStore, "MIGRATIONS", (*MIGRATIONS, broken))
        with pytest.raises(StorageError):
            SqliteStore(path)
        assert version_of(path) == len(MIGRATIONS)
        with raw(path) as conn:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "added_by_three" not in names

    def test_several_stores_opening_a_new_file_at_once_migrate_it_once(self, path: Path) -> None:
        errors: list[BaseException] = []

        def open_and_close() -> None:
            try:
                SqliteStore(path, busy_timeout=30).close()
            except BaseException as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=open_and_close) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert version_of(path) == len(MIGRATIONS)


class TestIndexes:
    def plan(self, store: SqliteStore, sql: str, params: tuple[object, ...]) -> str:
        rows = store._conn.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
        return " | ".join(str(r[3]) for r in rows)

    def test_devices_due_reads_the_due_index_not_the_whole_table(
        self, store: SqliteStore
    ) -> None:
        first = self.plan(store, SqliteStore._DEVICES_DUE, ("2025-03-01", 500))
        after = self.plan(store, SqliteStore._DEVICES_DUE_AFTER, ("2025-03-01", "AS1", 500))
        for plan in (first, after):
            assert "USING INDEX devices_due (next_notice_on<?)" in plan
            assert "SCAN devices" not in plan

    def test_claim_reads_the_claim_index(self, store: SqliteStore) -> None:
        from upslife.adapters.sqlite import _CLAIMABLE

        plan = self.plan(store, _CLAIMABLE, ("t", "t", 10))
        assert "USING INDEX outbox_claim (ready_at<?)" in plan
        assert "SCAN" not in plan


def claim_everything(path: str, worker: str) -> list[str]:
    """Claim in small batches until nothing is left; the keys this worker got."""
    store = SqliteStore(path, busy_timeout=30)
    keys: list[str] = []
    try:
        while batch := store.claim(T0, worker=worker, limit=3, lease_seconds=3600):
            keys += [i.key for i in batch]
    finally:
        store.close()
    return keys


class TestSeveralConnections:
    def fill(self, path: Path, count: int) -> set[str]:
        store = SqliteStore(path)
        keys = {f"k{n:04}" for n in range(count)}
        store.enqueue([item(k) for k in keys], [])
        store.close()
        return keys

    def test_stores_in_several_threads_never_claim_the_same_item(self, path: Path) -> None:
        keys = self.fill(path, 120)
        results: dict[str, list[str]] = {}

        def work(name: str) -> None:
            results[name] = claim_everything(str(path), name)

        threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        claimed = [k for got in results.values() for k in got]
        assert sorted(claimed) == sorted(keys)

    def test_processes_on_one_file_never_claim_the_same_item(self, path: Path) -> None:
        keys = self.fill(path, 90)
        with multiprocessing.get_context("spawn").Pool(3) as pool:
            got = pool.starmap(claim_everything, [(str(path), f"p{n}") for n in range(3)])
        claimed = [k for keys_of_one in got for k in keys_of_one]
        assert sorted(claimed) == sorted(keys)

    def test_a_code_saved_from_two_stores_at_once_is_assigned_once(self, path: Path) -> None:
        # SPEC E6: compare-and-set across connections.
        one, two = SqliteStore(path), SqliteStore(path)
        one.add_code(code(quantity=5))
        read_one, read_two = one.get_code("CODE-1"), two.get_code("CODE-1")
        one.save_code(read_one.assign(date(2025, 3, 1), 3)[0], expected_assigned=0)
        with pytest.raises(ConcurrentUpdate):
            two.save_code(read_two.assign(date(2025, 3, 1), 4)[0], expected_assigned=0)
        assert two.get_code("CODE-1").assigned == 3
        one.close()
        two.close()

    def test_a_reader_does_not_wait_for_a_writer(self, store: SqliteStore, path: Path) -> None:
        store.add_owner(owner())
        with raw(path) as writer:
            writer.execute("BEGIN IMMEDIATE")
            writer.execute("DELETE FROM owners")
            assert store.get_owner("ann@example.com") == owner()  # WAL: the committed state
            writer.execute("ROLLBACK")

    def test_a_write_kept_waiting_past_the_busy_timeout_is_a_storage_error(
        self, path: Path
    ) -> None:
        store = SqliteStore(path, busy_timeout=0.05)
        with raw(path) as writer:
            writer.execute("BEGIN IMMEDIATE")
            with pytest.raises(StorageError) as raised:
                store.add_owner(owner())
            assert isinstance(raised.value.__cause__, sqlite3.OperationalError)
            writer.execute("ROLLBACK")
        store.add_owner(owner())  # the failed call left the store usable
        store.close()


ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
)
INSTANTS = st.builds(
    lambda at, zone: at.replace(tzinfo=UTC).astimezone(zone),
    st.datetimes(datetime(1970, 1, 1), datetime(2200, 1, 1)),
    ZONES,
)
# Names and messages refuse control and format characters at the door (issue 13).
TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cc", "Cf", "Cs", "Zl", "Zp"]), min_size=1
).filter(
    lambda t: t == t.strip()
)


class TestDocuments:
    """The JSON documents the SQL stores keep (``upslife.adapters._codec``)."""

    def round_trip(self, value: object) -> object:
        return decode(type(value), encode(value))

    @given(at=INSTANTS, due=st.none() | st.dates(), key=TEXT, payload=st.text())
    def test_an_outbox_item_comes_back_equal_with_its_instants_in_utc(
        self, at: datetime, due: date | None, key: str, payload: str
    ) -> None:
        value = attrs.evolve(item(key), next_attempt_at=at, delivered_at=at, payload=payload)
        back = self.round_trip(value)
        assert back == value
        assert isinstance(back, OutboxItem)
        assert back.next_attempt_at is not None
        assert back.next_attempt_at.utcoffset() == timedelta(0)

    @given(serial=TEXT, day=st.dates(), due=st.none() | st.dates())
    def test_a_device_comes_back_equal(self, serial: str, day: date, due: date | None) -> None:
        value = attrs.evolve(device(serial, next_notice_on=due), registered_on=day)
        assert self.round_trip(value) == value

    @given(at=INSTANTS, message=TEXT)
    def test_log_entries_invitations_and_sharing_states_come_back_equal(
        self, at: datetime, message: str
    ) -> None:
        share = Share(
            "AS1", "ann@example.com", "bob@example.com", "ann@example.com", ShareVia.LINK,
            at, at + timedelta(days=7), state=ShareState.REVOKED, accepted_at=at,
            ended_at=at + timedelta(hours=1), ended_by="ann@example.com",
        )  # fmt: skip
        values: list[object] = [
            log_entry(at, message),
            invitation(sent_at=at),
            SharingState("ann@example.com", frozenset({"AS1", "AS2"}), (share,), at),
            owner(),
            code(assigned=2),
        ]
        for value in values:
            assert self.round_trip(value) == value

    def test_the_text_of_one_value_is_always_the_same(self) -> None:
        assert encode(owner()) == encode(owner())
        assert encode(device()).startswith('{"battery_failure_reported_on":null,')

    def test_a_document_that_is_not_json_is_a_storage_error(self) -> None:
        with pytest.raises(StorageError):
            decode(OutboxItem, "{not json")
        with pytest.raises(StorageError):
            decode(OutboxItem, "[]")
