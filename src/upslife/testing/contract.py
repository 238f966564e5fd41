"""The contract every :class:`~upslife.ports.Store` keeps, as a pytest suite you can run.

Subclass :class:`StoreContract`, give it a ``make_store`` that returns a fresh, empty store,
and pytest runs every test below against your adapter::

    from upslife.testing.contract import StoreContract

    class TestMyStore(StoreContract):
        def make_store(self) -> Store:
            return MyStore(...)

``make_store`` is called once per test, and the store it returns is closed after the test
(``close()`` must tolerate being called twice). If creating the store needs a fixture (a
database URL, a temporary directory), add an ``autouse`` fixture to your subclass that keeps
what it needs on ``self``, or override the ``store`` fixture outright.

The suite is one class per port (:class:`OwnerStoreContract`, :class:`DeviceStoreContract`,
...), which :class:`StoreContract` combines; a store that implements only some ports can
subclass just those. Each test is named as the sentence it checks and cites the SPEC rule it
serves. The shipped :class:`~upslife.testing.MemoryStore`, the SQLite and the PostgreSQL
stores all pass it. It needs ``pytest`` (a test dependency; ``upslife`` itself does not).
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from upslife.entitlements import (
    ActivationCode,
    ExtendedWarranty,
    License,
    Plan,
    Term,
    UpgradePolicy,
)
from upslife.errors import (
    AlreadyExists,
    AlreadyRegistered,
    ConcurrentUpdate,
    InvalidInput,
    NaiveDatetime,
    NotFound,
    StorageError,
    UnknownCode,
    UnknownDevice,
    UnknownInvitation,
    UnknownOwner,
)
from upslife.invitations import Invitation, InvitationState, ResellerPrompt
from upslife.notifications import (
    ChatKind,
    ChatRoute,
    Contact,
    DeliveryPreference,
    EventId,
    EventKind,
    Recipient,
    SentStage,
    Stage,
)
from upslife.ports import (
    STALE,
    DeliveryStatus,
    Device,
    OutboxItem,
    Owner,
    ScheduleEntry,
    Store,
)
from upslife.rendering.templates import MessageTemplate, Templates
from upslife.reports import Vitals
from upslife.sharing import Action, LogEntry, Role, Share, ShareState, ShareVia, SharingState

__all__ = [
    "CodeStoreContract",
    "DeviceStoreContract",
    "EventLogStoreContract",
    "InvitationStoreContract",
    "OutboxContract",
    "OwnerStoreContract",
    "RecipientStoreContract",
    "ScheduleStoreContract",
    "SharingStoreContract",
    "StoreContract",
    "TransactionContract",
]

ANN = "ann@example.com"
BOB = "bob@example.com"
DAY = date(2024, 2, 29)
T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
PARIS_WINTER = datetime(2025, 3, 1, 11, 30, tzinfo=timezone(timedelta(hours=1)))
"""``T0`` plus one hour, written in UTC+1: the same instant as ``T0 + 1 h``."""


class _Boom(Exception):
    """Raised by tests to abort a transaction block."""


# --------------------------------------------------------------------------- sample values


def owner(owner_id: str = ANN, *, company: str = "Acme") -> Owner:
    """An owner with every optional field set, so the round trip is checked in full."""
    return Owner(
        id=owner_id,
        contact=Contact(company, "Ann Smith", owner_id, "IT lead", "+33 1 23 45 67 89"),
        timezone="Europe/Paris",
        chat_routes=(ChatRoute(ChatKind.SLACK, "ops"), ChatRoute(ChatKind.TEAMS, "facilities")),
        chat_webhooks=(("ops", "https://hooks.example.com/ops"),),
        owner_delivery=DeliveryPreference.DAILY_DIGEST,
        reseller_delivery=DeliveryPreference.IMMEDIATE,
        reseller_prompt=ResellerPrompt(not_interested=True),
        email_templates=Templates(
            owner=MessageTemplate(
                subject="[$company] $title",
                text="$model $serial: $due ($sku)\n",
                html="<p>$model $serial: $due ($sku)</p>",
            ),
            owner_by_kind={
                EventKind.BATTERY_FAILURE: MessageTemplate(
                    subject="Battery failed: $serial",
                    text="$model $serial $due $sku",
                    html="<b>$model $serial $due $sku</b>",
                )
            },
        ),
    )


def device(
    serial: str = "AS1", *, owner_id: str = ANN, next_notice_on: date | None = None
) -> Device:
    """A device with every optional field set but ``next_notice_on``, which is given."""
    return Device(
        serial=serial,
        owner_id=owner_id,
        model="SMT1500RMI2UC",
        registered_on=DAY,
        policy=UpgradePolicy.FORFEIT,
        battery_installed_on=date(2024, 1, 31),
        battery_reported_replace_by=date(2027, 1, 31),
        battery_failure_reported_on=None,
        manufactured_on=date(2023, 12, 31),
        firmware="UPS 09.8",
        next_notice_on=next_notice_on,
        vitals=Vitals(
            status="OL CHRG",
            load_percent=31.5,
            charge_percent=100.0,
            runtime_seconds=2460,
            temperature_c=24.3,
            firmware_version="UPS 09.8",
            update_available=False,
            observed_at=datetime(2025, 1, 31, 7, 30, tzinfo=UTC),
        ),
    )


def license(license_id: str, plan: Plan = Plan.STANDARD, *, on: date = DAY) -> License:
    """A 1Y license of ``plan`` assigned on ``on``."""
    return License.of(license_id, plan, "1Y", on)


def code(value: str = "CODE-1", *, quantity: int = 5, assigned: int = 0) -> ActivationCode:
    """An activation code for ``quantity`` STANDARD 3Y licenses."""
    email = "installer@example.net"
    return ActivationCode(value, Plan.STANDARD, Term.Y3, quantity, email, assigned)


def invitation(
    invitation_id: str = "INV-1", *, owner_id: str = ANN, sent_at: datetime = T0
) -> Invitation:
    """A PENDING invitation sent at ``sent_at``."""
    return Invitation(invitation_id, owner_id, "renewals@reseller.example.net", "Acme", sent_at)


def log_entry(at: datetime, message: str = "viewed", *, serial: str = "AS1") -> LogEntry:
    """An owner's successful VIEW of ``serial`` at ``at``."""
    return LogEntry.succeeded(at, ANN, Role.OWNER, Action.VIEW, serial, message)


def sent_stage(
    serial: str = "AS1",
    stage: Stage = Stage.D90,
    *,
    due: date = date(2025, 6, 1),
    on: date = date(2025, 3, 3),
    kind: EventKind = EventKind.WARRANTY_EXPIRY,
) -> SentStage:
    """``stage`` of the ``kind`` event of ``serial`` due on ``due``, recorded on ``on``."""
    return SentStage(EventId(serial, kind, due), stage, on)


def item(
    key: str,
    *,
    serial: str | None = "AS1",
    owner_id: str = ANN,
    next_attempt_at: datetime | None = None,
    recipient: Recipient | None = None,
    day: date = date(2025, 3, 1),
) -> OutboxItem:
    """A PENDING outbox item for ``owner_id``'s email."""
    return OutboxItem(
        key=key,
        serial=serial,
        owner_id=owner_id,
        recipient=Recipient.owner(owner_id) if recipient is None else recipient,
        day=day,
        payload='{"title": "Warranty Expires on June 1, 2025"}',
        next_attempt_at=next_attempt_at,
    )


def _evolve(value: OutboxItem, **changes: Any) -> OutboxItem:
    return attrs.evolve(value, **changes)


def _keys(items: tuple[OutboxItem, ...]) -> list[str]:
    return [i.key for i in items]


# --------------------------------------------------------------------------- the fixture


class _StoreFixture(abc.ABC):
    """Holds ``make_store`` and the ``store`` fixture every contract class uses."""

    @abc.abstractmethod
    def make_store(self) -> Store:
        """A new, empty store for one test."""

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        """The store under test, closed when the test ends."""
        store = self.make_store()
        try:
            yield store
        finally:
            store.close()


# --------------------------------------------------------------------------- owners


class OwnerStoreContract(_StoreFixture):
    """:class:`~upslife.ports.OwnerStore`."""

    def test_an_added_owner_is_returned_as_it_was_added(self, store: Store) -> None:
        store.add_owner(owner())
        assert store.get_owner(ANN) == owner()

    def test_adding_an_owner_id_twice_raises_already_exists_and_keeps_the_first(
        self, store: Store
    ) -> None:
        # SPEC D5: a failed call changes nothing.
        store.add_owner(owner())
        with pytest.raises(AlreadyExists) as raised:
            store.add_owner(owner(company="Other"))
        assert raised.type is AlreadyExists
        assert store.get_owner(ANN) == owner()

    def test_an_unknown_owner_raises_unknown_owner(self, store: Store) -> None:
        with pytest.raises(UnknownOwner):
            store.get_owner(ANN)

    def test_saving_an_owner_replaces_its_record(self, store: Store) -> None:
        store.add_owner(owner())
        store.save_owner(owner(company="Acme Renamed"))
        assert store.get_owner(ANN).contact.company == "Acme Renamed"

    def test_an_owner_without_email_templates_reads_back_without_them(
        self, store: Store
    ) -> None:
        # SPEC E10: the templates are optional; an owner stored without them has none
        plain = attrs.evolve(owner(), email_templates=None)
        store.add_owner(plain)
        assert store.get_owner(ANN) == plain
        store.save_owner(owner())
        assert store.get_owner(ANN) == owner()
        store.save_owner(plain)
        assert store.get_owner(ANN).email_templates is None

    def test_saving_an_unknown_owner_raises_unknown_owner_and_adds_nothing(
        self, store: Store
    ) -> None:
        # SPEC D5
        with pytest.raises(UnknownOwner):
            store.save_owner(owner())
        with pytest.raises(UnknownOwner):
            store.get_owner(ANN)

    def test_get_owners_reads_the_known_owners_of_a_page_by_id(self, store: Store) -> None:
        store.add_owner(owner(ANN))
        store.add_owner(owner(BOB, company="Bob's"))
        found = store.get_owners([BOB, "nobody@example.net", ANN, BOB])
        assert found == {ANN: owner(ANN), BOB: owner(BOB, company="Bob's")}
        assert store.get_owners([]) == {}

    def test_owners_are_told_apart_by_id(self, store: Store) -> None:
        store.add_owner(owner(ANN))
        store.add_owner(owner(BOB, company="Bob's"))
        assert store.get_owner(BOB).contact.company == "Bob's"
        assert store.get_owner(ANN).contact.company == "Acme"


# --------------------------------------------------------------------------- devices


class DeviceStoreContract(_StoreFixture):
    """:class:`~upslife.ports.DeviceStore`: devices, their licenses and warranties."""

    def test_an_added_device_is_returned_as_it_was_added(self, store: Store) -> None:
        store.add_device(device(next_notice_on=date(2025, 3, 2)))
        assert store.get_device("AS1") == device(next_notice_on=date(2025, 3, 2))

    def test_registering_a_known_serial_raises_already_registered_and_keeps_the_first(
        self, store: Store
    ) -> None:
        # SPEC E2: a device is registered once; SPEC D5: the failed call changes nothing.
        store.add_device(device())
        with pytest.raises(AlreadyRegistered):
            store.add_device(device(owner_id=BOB))
        assert store.get_device("AS1").owner_id == ANN
        assert store.count_devices() == 1

    def test_an_unknown_serial_raises_unknown_device(self, store: Store) -> None:
        with pytest.raises(UnknownDevice):
            store.get_device("NOPE")

    def test_saving_a_device_replaces_its_record(self, store: Store) -> None:
        store.add_device(device())
        changed = device(owner_id=BOB, next_notice_on=date(2025, 5, 1))
        store.save_device(changed)
        assert store.get_device("AS1") == changed
        assert store.devices_of(ANN) == ()
        assert store.devices_of(BOB) == (changed,)

    def test_saving_an_unknown_device_raises_unknown_device_and_adds_nothing(
        self, store: Store
    ) -> None:
        # SPEC D5
        with pytest.raises(UnknownDevice):
            store.save_device(device())
        assert store.count_devices() == 0

    def test_devices_of_lists_only_the_owners_devices_by_serial(self, store: Store) -> None:
        for serial, who in [("B2", ANN), ("A9", BOB), ("A1", ANN), ("C3", ANN)]:
            store.add_device(device(serial, owner_id=who))
        assert [d.serial for d in store.devices_of(ANN)] == ["A1", "B2", "C3"]
        assert [d.serial for d in store.devices_of(BOB)] == ["A9"]
        assert store.devices_of("nobody@example.com") == ()

    def test_devices_of_pages_by_serial_after_the_last_one_read(self, store: Store) -> None:
        serials = [f"AS{n:03}" for n in range(25)]
        for serial in reversed(serials):
            store.add_device(device(serial, owner_id=ANN))
        store.add_device(device("AS0125", owner_id=BOB))
        read: list[str] = []
        after: str | None = None
        while page := store.devices_of(ANN, after=after, limit=10):
            assert len(page) <= 10
            read += [d.serial for d in page]
            after = page[-1].serial
        assert read == serials
        assert [d.serial for d in store.devices_of(ANN, after="AS022")] == ["AS023", "AS024"]

    def test_devices_of_with_limit_zero_returns_nothing(self, store: Store) -> None:
        store.add_device(device("AS1", owner_id=ANN))
        assert store.devices_of(ANN, limit=0) == ()

    def test_devices_of_refuses_a_negative_limit(self, store: Store) -> None:
        with pytest.raises(InvalidInput):
            store.devices_of(ANN, limit=-1)

    def test_count_devices_counts_every_registered_device(self, store: Store) -> None:
        assert store.count_devices() == 0
        for n in range(3):
            store.add_device(device(f"S{n}"))
        assert store.count_devices() == 3

    def test_devices_due_returns_only_devices_due_on_or_before_the_day_by_serial(
        self, store: Store
    ) -> None:
        day = date(2025, 3, 1)
        due = {"D": day, "B": day - timedelta(days=400), "A": day - timedelta(days=1)}
        later = {"C": day + timedelta(days=1), "E": None}
        for serial, on in {**due, **later}.items():
            store.add_device(device(serial, next_notice_on=on))
        assert [d.serial for d in store.devices_due(day)] == ["A", "B", "D"]

    def test_devices_due_pages_by_serial_after_the_last_one_read(self, store: Store) -> None:
        day = date(2025, 3, 1)
        serials = [f"AS{n:03}" for n in range(25)]
        for serial in reversed(serials):
            store.add_device(device(serial, next_notice_on=day))
        store.add_device(device("AS0125", next_notice_on=day + timedelta(days=1)))
        read: list[str] = []
        after: str | None = None
        while page := store.devices_due(day, after=after, limit=10):
            assert len(page) <= 10
            read += [d.serial for d in page]
            after = page[-1].serial
        assert read == serials

    def test_devices_due_follows_each_saved_due_day(self, store: Store) -> None:
        day = date(2025, 3, 1)
        store.add_device(device("AS1", next_notice_on=day))
        store.save_device(device("AS1", next_notice_on=day + timedelta(days=30)))
        assert store.devices_due(day) == ()
        store.save_device(device("AS1", next_notice_on=None))
        assert store.devices_due(date.max) == ()
        store.save_device(device("AS1", next_notice_on=day - timedelta(days=1)))
        assert [d.serial for d in store.devices_due(day)] == ["AS1"]

    def test_entitlements_of_reads_a_page_of_devices_licenses_and_warranties(
        self, store: Store
    ) -> None:
        # SPEC R1–R5: an export reads each page's entitlements at once, in the order added.
        for serial in ("AS1", "AS2", "AS3"):
            store.add_device(device(serial))
        store.add_licenses("AS1", [license("L2"), license("L1", Plan.ADVANCED)])
        warranty = ExtendedWarranty("W1", "WEXTWAR1YR-SP-01", 12, DAY)
        store.add_warranty("AS2", warranty)
        store.add_licenses("AS3", [license("L3")])
        held = store.entitlements_of(["AS1", "AS2", "NOPE"])
        assert held == {
            "AS1": (store.licenses_of("AS1"), ()),
            "AS2": ((), (warranty,)),
            "NOPE": ((), ()),
        }
        assert [lic.id for lic in held["AS1"][0]] == ["L2", "L1"]
        assert store.entitlements_of([]) == {}

    def test_devices_due_with_limit_zero_returns_nothing(self, store: Store) -> None:
        store.add_device(device(next_notice_on=DAY))
        assert store.devices_due(DAY, limit=0) == ()

    def test_devices_due_refuses_a_negative_limit(self, store: Store) -> None:
        with pytest.raises(InvalidInput):
            store.devices_due(DAY, limit=-1)

    def test_licenses_come_back_in_the_order_they_were_added(self, store: Store) -> None:
        store.add_device(device("AS1"))
        store.add_device(device("AS2"))
        store.add_licenses("AS1", [license("C#2", on=date(2025, 1, 1)), license("C#1")])
        store.add_licenses("AS2", [license("C#3")])
        store.add_licenses("AS1", [license("C#4", Plan.ADVANCED), license("C#0")])
        assert [lic.id for lic in store.licenses_of("AS1")] == ["C#2", "C#1", "C#4", "C#0"]
        assert store.licenses_of("AS1")[2] == license("C#4", Plan.ADVANCED)
        assert store.licenses_of("AS2") == (license("C#3"),)

    def test_a_device_without_licenses_has_none(self, store: Store) -> None:
        store.add_device(device())
        assert store.licenses_of("AS1") == ()
        assert store.warranties_of("AS1") == ()

    def test_a_known_license_id_raises_already_exists_and_adds_none_of_the_batch(
        self, store: Store
    ) -> None:
        # SPEC D5: never a partial write. License ids are unique in the whole store.
        store.add_device(device("AS1"))
        store.add_device(device("AS2"))
        store.add_licenses("AS1", [license("C#1")])
        with pytest.raises(AlreadyExists):
            store.add_licenses("AS2", [license("C#2"), license("C#1")])
        assert store.licenses_of("AS2") == ()
        store.add_licenses("AS2", [license("C#2")])  # C#2 was not kept by the failed call
        assert store.licenses_of("AS1") == (license("C#1"),)

    def test_a_license_id_twice_in_one_batch_raises_already_exists_and_adds_nothing(
        self, store: Store
    ) -> None:
        # SPEC D5
        store.add_device(device())
        with pytest.raises(AlreadyExists):
            store.add_licenses("AS1", [license("C#1"), license("C#1", Plan.ADVANCED)])
        assert store.licenses_of("AS1") == ()

    def test_licenses_of_an_unknown_device_raise_unknown_device(self, store: Store) -> None:
        with pytest.raises(UnknownDevice):
            store.add_licenses("NOPE", [license("C#1")])
        with pytest.raises(UnknownDevice):
            store.licenses_of("NOPE")
        store.add_device(device("NOPE"))
        store.add_licenses("NOPE", [license("C#1")])  # the failed call kept nothing

    def test_warranties_come_back_in_the_order_they_were_added(self, store: Store) -> None:
        store.add_device(device())
        second = ExtendedWarranty("W2", "WEXTWAR3YR-SP-02", 36, date(2025, 1, 31))
        first = ExtendedWarranty("W1", "WEXTWAR1YR-SP-01", 12, date(2024, 3, 1))
        store.add_warranty("AS1", second)
        store.add_warranty("AS1", first)
        assert store.warranties_of("AS1") == (second, first)

    def test_a_known_warranty_id_raises_already_exists(self, store: Store) -> None:
        store.add_device(device("AS1"))
        store.add_device(device("AS2"))
        warranty = ExtendedWarranty("W1", "WEXTWAR1YR-SP-01", 12, date(2024, 3, 1))
        store.add_warranty("AS1", warranty)
        with pytest.raises(AlreadyExists):
            store.add_warranty("AS2", warranty)
        assert store.warranties_of("AS2") == ()

    def test_warranties_of_an_unknown_device_raise_unknown_device(self, store: Store) -> None:
        warranty = ExtendedWarranty("W1", "WEXTWAR1YR-SP-01", 12, date(2024, 3, 1))
        with pytest.raises(UnknownDevice):
            store.add_warranty("NOPE", warranty)
        with pytest.raises(UnknownDevice):
            store.warranties_of("NOPE")

    def test_deleting_a_device_removes_it_with_its_licenses_warranties_and_stages(
        self, store: Store
    ) -> None:
        # SPEC S3: the owner deletes a device; nothing of it is left to report or notify
        store.add_device(device("AS1"))
        store.add_device(device("AS2"))
        for serial in ("AS1", "AS2"):
            store.add_licenses(serial, [license(f"{serial}#1")])
            store.add_warranty(
                serial, ExtendedWarranty(f"W-{serial}", "WEXTWAR1YR-SP-01", 12, DAY)
            )
            store.enqueue([], [sent_stage(serial)])
        assert store.delete_device("AS1", reason="deleted by its owner", at=T0) == 0
        with pytest.raises(UnknownDevice):
            store.get_device("AS1")
        for read in (store.licenses_of, store.warranties_of, store.sent_stages):
            with pytest.raises(UnknownDevice):
                read("AS1")
        assert store.devices_of(ANN) == (device("AS2"),)
        assert store.count_devices() == 1
        assert store.licenses_of("AS2") == (license("AS2#1"),)
        assert store.sent_stages("AS2") == (sent_stage("AS2"),)

    def test_deleting_a_device_suppresses_its_pending_items_and_keeps_the_rest(
        self, store: Store
    ) -> None:
        # SPEC S3, N7: nothing more goes out about a deleted device; what went out stays
        store.add_device(device("AS1"))
        store.add_device(device("AS2"))
        store.enqueue(
            [
                item("k-pending", serial="AS1"),
                item("k-held", serial="AS1", next_attempt_at=datetime(9999, 12, 31, tzinfo=UTC)),
                item("k-sent", serial="AS1"),
                item("k-other", serial="AS2"),
                item("k-account", serial=None),
            ],
            [],
        )
        store.mark_sent("k-sent", T0)
        later = T0 + timedelta(hours=1)
        assert store.delete_device("AS1", reason="device deleted (SPEC S3)", at=later) == 2
        by_key = {i.key: i for i in store.items()}
        for key in ("k-pending", "k-held"):
            assert by_key[key].status is DeliveryStatus.SUPPRESSED
            assert by_key[key].last_error == "device deleted (SPEC S3)"
        assert by_key["k-sent"].status is DeliveryStatus.SENT
        assert by_key["k-other"].status is DeliveryStatus.PENDING
        assert by_key["k-account"].status is DeliveryStatus.PENDING
        assert _keys(store.claim(later, worker="w", limit=10)) == ["k-account", "k-other"]

    def test_deleting_an_unknown_device_raises_unknown_device_and_changes_nothing(
        self, store: Store
    ) -> None:
        store.add_device(device("AS1"))
        store.enqueue([item("k1", serial="AS1")], [])
        with pytest.raises(UnknownDevice):
            store.delete_device("NOPE", reason="deleted", at=T0)
        assert store.get_device("AS1") == device("AS1")
        assert store.get_item("k1").status is DeliveryStatus.PENDING

    def test_deleting_refuses_a_naive_instant_and_changes_nothing(self, store: Store) -> None:
        store.add_device(device("AS1"))
        with pytest.raises(NaiveDatetime):
            store.delete_device("AS1", reason="deleted", at=datetime(2025, 3, 1))
        assert store.get_device("AS1") == device("AS1")

    def test_a_deleted_serial_can_be_registered_again_with_nothing_of_the_old(
        self, store: Store
    ) -> None:
        store.add_device(device("AS1"))
        store.add_licenses("AS1", [license("AS1#1")])
        store.delete_device("AS1", reason="deleted", at=T0)
        store.add_device(device("AS1", owner_id=BOB))
        assert store.get_device("AS1").owner_id == BOB
        assert store.licenses_of("AS1") == ()
        store.add_licenses("AS1", [license("AS1#1")])  # the old license id is free again
        assert store.licenses_of("AS1") == (license("AS1#1"),)

    def test_a_first_registration_outlives_the_device_and_the_earliest_day_wins(
        self, store: Store
    ) -> None:
        # SPEC E2: registering a deleted serial again does not restart its trial
        assert store.first_registered_on("AS1") is None
        store.add_device(device("AS1"))
        store.remember_first_registration("AS1", date(2025, 3, 1))
        store.delete_device("AS1", reason="deleted", at=T0)
        assert store.first_registered_on("AS1") == date(2025, 3, 1)
        store.remember_first_registration("AS1", date(2025, 9, 1))  # later: kept as it was
        assert store.first_registered_on("AS1") == date(2025, 3, 1)
        store.remember_first_registration("AS1", date(2024, 12, 31))  # earlier: wins
        assert store.first_registered_on("AS1") == date(2024, 12, 31)
        assert store.first_registered_on("AS2") is None
        with pytest.raises(InvalidInput):
            store.remember_first_registration("AS2", datetime(2025, 3, 1, tzinfo=UTC))
        with pytest.raises(InvalidInput):
            store.remember_first_registration("", date(2025, 3, 1))
        assert store.first_registered_on("AS2") is None

    def test_a_first_registration_remembered_in_a_failed_transaction_is_undone(
        self, store: Store
    ) -> None:
        def remember_then_fail() -> None:
            with store.transaction():
                store.remember_first_registration("AS1", date(2025, 3, 1))
                raise _Boom

        with pytest.raises(_Boom):
            remember_then_fail()
        assert store.first_registered_on("AS1") is None

    def test_a_deletion_inside_a_transaction_that_fails_is_undone(self, store: Store) -> None:
        store.add_device(device("AS1"))
        store.add_licenses("AS1", [license("AS1#1")])

        def delete_then_fail() -> None:
            with store.transaction():
                store.delete_device("AS1", reason="deleted", at=T0)
                raise _Boom

        with pytest.raises(_Boom):
            delete_then_fail()
        assert store.get_device("AS1") == device("AS1")
        assert store.licenses_of("AS1") == (license("AS1#1"),)


# --------------------------------------------------------------------------- codes


class CodeStoreContract(_StoreFixture):
    """:class:`~upslife.ports.CodeStore`, with its compare-and-set (SPEC E6)."""

    def test_an_added_code_is_returned_as_it_was_added(self, store: Store) -> None:
        store.add_code(code(assigned=2))
        assert store.get_code("CODE-1") == code(assigned=2)

    def test_adding_a_known_code_raises_already_exists_and_keeps_the_first(
        self, store: Store
    ) -> None:
        # SPEC D5
        store.add_code(code())
        with pytest.raises(AlreadyExists) as raised:
            store.add_code(code(quantity=50))
        assert raised.type is AlreadyExists
        assert store.get_code("CODE-1") == code()

    def test_an_unknown_code_raises_unknown_code(self, store: Store) -> None:
        with pytest.raises(UnknownCode):
            store.get_code("NOPE")

    def test_saving_a_code_with_the_expected_count_stores_the_new_count(self, store: Store) -> None:
        # SPEC E6
        store.add_code(code())
        store.save_code(code(assigned=3), expected_assigned=0)
        store.save_code(code(assigned=5), expected_assigned=3)
        assert store.get_code("CODE-1").assigned == 5

    def test_saving_a_code_with_a_stale_count_raises_concurrent_update_and_changes_nothing(
        self, store: Store
    ) -> None:
        # SPEC E6: compare-and-set, so two assignments at once never over-assign a code.
        store.add_code(code(assigned=1))
        with pytest.raises(ConcurrentUpdate):
            store.save_code(code(assigned=4), expected_assigned=0)
        assert store.get_code("CODE-1") == code(assigned=1)

    def test_of_two_saves_from_one_read_only_the_first_succeeds(self, store: Store) -> None:
        # SPEC E6: two devices assigned from one code at once.
        store.add_code(code(quantity=5))
        read = store.get_code("CODE-1")
        first, _ = read.assign(DAY, 3)
        second, _ = read.assign(DAY, 4)
        store.save_code(first, expected_assigned=read.assigned)
        with pytest.raises(ConcurrentUpdate):
            store.save_code(second, expected_assigned=read.assigned)
        assert store.get_code("CODE-1").assigned == 3

    def test_saving_an_unknown_code_raises_unknown_code_and_adds_nothing(
        self, store: Store
    ) -> None:
        # SPEC D5
        with pytest.raises(UnknownCode):
            store.save_code(code(), expected_assigned=0)
        with pytest.raises(UnknownCode):
            store.get_code("CODE-1")


# --------------------------------------------------------------------------- invitations


class InvitationStoreContract(_StoreFixture):
    """:class:`~upslife.ports.InvitationStore` and single-use tokens (SPEC I1, I5)."""

    def test_a_saved_invitation_is_returned_as_it_was_saved(self, store: Store) -> None:
        store.save_invitation(invitation())
        assert store.get_invitation("INV-1") == invitation()

    def test_saving_an_invitation_again_replaces_it(self, store: Store) -> None:
        sent = invitation()
        accepted = Invitation(
            sent.id,
            sent.owner_id,
            sent.reseller_email,
            sent.company_name,
            sent.sent_at,
            InvitationState.ACCEPTED,
            responded_at=T0 + timedelta(days=2),
        )
        store.save_invitation(sent)
        store.save_invitation(accepted)
        assert store.get_invitation("INV-1") == accepted
        assert store.current_invitation(ANN) == accepted

    def test_pending_invitations_are_those_still_pending_and_sent_before(
        self, store: Store
    ) -> None:
        # SPEC I2, I4: what an expiry sweep reads.
        old, recent = invitation("INV-1"), invitation("INV-2", sent_at=T0 + timedelta(days=9))
        answered = Invitation(
            "INV-3",
            ANN,
            "renewals@reseller.example.net",
            "Acme",
            T0,
            InvitationState.DECLINED,
            responded_at=T0 + timedelta(days=1),
        )
        for item in (recent, answered, old):
            store.save_invitation(item)
        assert store.pending_invitations(sent_before=T0 + timedelta(days=8)) == (old,)
        assert store.pending_invitations(sent_before=T0) == ()
        accepted = Invitation(
            "INV-1",
            ANN,
            "renewals@reseller.example.net",
            "Acme",
            T0,
            InvitationState.ACCEPTED,
            responded_at=T0 + timedelta(days=2),
        )
        store.save_invitation(accepted)  # no longer pending once saved in another state
        assert store.pending_invitations(sent_before=T0 + timedelta(days=30)) == (recent,)

    def test_has_invitation_in_tells_whether_any_is_in_the_state(self, store: Store) -> None:
        # A sweep's preflight: a connected reseller needs the signing keyring (SPEC I5).
        assert not store.has_invitation_in(InvitationState.ACCEPTED)
        store.save_invitation(invitation())
        assert store.has_invitation_in(InvitationState.PENDING)
        assert not store.has_invitation_in(InvitationState.ACCEPTED)
        sent = invitation()
        store.save_invitation(
            Invitation(
                sent.id, sent.owner_id, sent.reseller_email, "ACCEPTED Ltd", sent.sent_at,
                InvitationState.DECLINED, responded_at=T0 + timedelta(days=1),
            )
        )
        assert not store.has_invitation_in(InvitationState.ACCEPTED)  # the name is no state
        store.save_invitation(
            Invitation(
                "INV-2", sent.owner_id, sent.reseller_email, "Acme", sent.sent_at,
                InvitationState.ACCEPTED, responded_at=T0 + timedelta(days=2),
            )
        )
        assert store.has_invitation_in(InvitationState.ACCEPTED)

    def test_an_unknown_invitation_raises_unknown_invitation(self, store: Store) -> None:
        with pytest.raises(UnknownInvitation):
            store.get_invitation("NOPE")

    def test_the_current_invitation_is_the_owners_most_recently_sent(self, store: Store) -> None:
        # SPEC I1
        store.save_invitation(invitation("INV-2", sent_at=T0 + timedelta(days=10)))
        store.save_invitation(invitation("INV-3", sent_at=T0 + timedelta(days=20)))
        store.save_invitation(invitation("INV-1", sent_at=T0))
        store.save_invitation(invitation("INV-9", owner_id=BOB, sent_at=T0 + timedelta(days=30)))
        current = store.current_invitation(ANN)
        assert current is not None
        assert current.id == "INV-3"

    def test_current_invitations_are_each_owners_current_invitation(self, store: Store) -> None:
        # SPEC I1: the same answer as current_invitation, for a page of owners at once
        store.save_invitation(invitation("INV-2", sent_at=T0 + timedelta(days=10)))
        store.save_invitation(invitation("INV-3", sent_at=T0 + timedelta(days=20)))
        store.save_invitation(invitation("INV-1", sent_at=T0))
        store.save_invitation(invitation("INV-8", owner_id=BOB, sent_at=T0))
        store.save_invitation(invitation("INV-9", owner_id=BOB, sent_at=T0))  # tie: greatest id
        found = store.current_invitations([ANN, BOB, "never@example.net"])
        assert {o: i.id for o, i in found.items()} == {ANN: "INV-3", BOB: "INV-9"}
        assert found[BOB] == store.current_invitation(BOB)
        assert store.current_invitations([]) == {}

    def test_an_owner_never_invited_has_no_current_invitation(self, store: Store) -> None:
        store.save_invitation(invitation(owner_id=BOB))
        assert store.current_invitation(ANN) is None

    def test_a_token_is_used_once(self, store: Store) -> None:
        # SPEC I5: accept and decline links are single-use.
        assert not store.token_used("tok-1")
        store.use_token("tok-1")
        assert store.token_used("tok-1")
        assert not store.token_used("tok-2")

    def test_using_a_token_twice_raises_already_exists(self, store: Store) -> None:
        # SPEC I5
        store.use_token("tok-1")
        with pytest.raises(AlreadyExists) as raised:
            store.use_token("tok-1")
        assert raised.type is AlreadyExists
        assert store.token_used("tok-1")


# --------------------------------------------------------------------------- sharing


class SharingStoreContract(_StoreFixture):
    """:class:`~upslife.ports.SharingStore`."""

    def test_an_owner_who_never_shared_has_an_empty_sharing_state(self, store: Store) -> None:
        assert store.get_sharing(ANN) == SharingState.of(ANN)

    def test_a_saved_sharing_state_is_returned_as_it_was_saved(self, store: Store) -> None:
        share = Share(
            "AS1", ANN, BOB, ANN, ShareVia.EMAIL, T0, T0 + timedelta(days=7),
            state=ShareState.ACTIVE, accepted_at=T0 + timedelta(hours=1),
        )  # fmt: skip
        state = SharingState(ANN, frozenset({"AS1", "AS2"}), (share,), T0 + timedelta(hours=1))
        store.save_sharing(state)
        assert store.get_sharing(ANN) == state
        assert store.get_sharing(BOB) == SharingState.of(BOB)

    def test_saving_a_sharing_state_again_replaces_it(self, store: Store) -> None:
        store.save_sharing(SharingState.of(ANN, ["AS1"]))
        store.save_sharing(SharingState.of(ANN, ["AS2", "AS3"]))
        assert store.get_sharing(ANN).devices == frozenset({"AS2", "AS3"})


# --------------------------------------------------------------------------- event log


class RecipientStoreContract(_StoreFixture):
    """:class:`~upslife.ports.RecipientStore`: each recipient's own choice of delivery."""

    def test_a_recipient_that_never_chose_has_no_choice(self, store: Store) -> None:
        assert store.delivery_of(Recipient.reseller("sales@reseller.example.net")) is None

    def test_a_choice_is_returned_and_replaced_by_the_next(self, store: Store) -> None:
        # SPEC N10: the recipient chooses its delivery
        reseller = Recipient.reseller("sales@reseller.example.net")
        store.set_delivery(reseller, DeliveryPreference.DAILY_DIGEST)
        assert store.delivery_of(reseller) is DeliveryPreference.DAILY_DIGEST
        store.set_delivery(reseller, DeliveryPreference.IMMEDIATE)
        assert store.delivery_of(reseller) is DeliveryPreference.IMMEDIATE

    def test_none_forgets_the_choice(self, store: Store) -> None:
        reseller = Recipient.reseller("sales@reseller.example.net")
        store.set_delivery(reseller, DeliveryPreference.DAILY_DIGEST)
        store.set_delivery(reseller, None)
        assert store.delivery_of(reseller) is None
        store.set_delivery(reseller, None)  # forgetting twice is harmless
        assert store.delivery_of(reseller) is None

    def test_recipients_are_told_apart_by_kind_and_address(self, store: Store) -> None:
        store.set_delivery(Recipient.reseller(ANN), DeliveryPreference.DAILY_DIGEST)
        assert store.delivery_of(Recipient.owner(ANN)) is None
        assert store.delivery_of(Recipient.reseller(BOB)) is None

    def test_a_choice_that_is_no_preference_is_refused(self, store: Store) -> None:
        reseller = Recipient.reseller(ANN)
        with pytest.raises(InvalidInput):
            store.set_delivery(reseller, "daily")  # type: ignore[arg-type]
        with pytest.raises(InvalidInput):
            store.set_delivery(ANN, DeliveryPreference.IMMEDIATE)  # type: ignore[arg-type]
        assert store.delivery_of(reseller) is None

    def test_a_choice_made_in_a_failed_transaction_is_undone(self, store: Store) -> None:
        reseller = Recipient.reseller(ANN)

        def choose_then_fail() -> None:
            with store.transaction():
                store.set_delivery(reseller, DeliveryPreference.DAILY_DIGEST)
                raise _Boom

        with pytest.raises(_Boom):
            choose_then_fail()
        assert store.delivery_of(reseller) is None


class EventLogStoreContract(_StoreFixture):
    """:class:`~upslife.ports.EventLogStore` (SPEC S5)."""

    def test_the_log_lists_the_owners_entries_since_an_instant_oldest_first(
        self, store: Store
    ) -> None:
        early, mid, late = (log_entry(T0 + timedelta(hours=h), f"h{h}") for h in (0, 1, 2))
        store.append_log(ANN, [late, early])
        store.append_log(ANN, [mid])
        store.append_log(BOB, [log_entry(T0 + timedelta(hours=1), "bob's")])
        assert store.log_of(ANN, since=T0) == (early, mid, late)
        assert store.log_of(ANN, since=T0 + timedelta(hours=1)) == (mid, late)
        assert store.log_of(ANN, since=T0 + timedelta(hours=3)) == ()

    def test_entries_of_one_instant_keep_the_order_they_were_appended(self, store: Store) -> None:
        entries = [log_entry(T0, f"m{n}") for n in range(5)]
        store.append_log(ANN, entries[:2])
        store.append_log(ANN, entries[2:])
        assert store.log_of(ANN, since=T0) == tuple(entries)

    def test_since_in_another_time_zone_means_the_same_instant(self, store: Store) -> None:
        store.append_log(ANN, [log_entry(T0 + timedelta(hours=1))])
        assert len(store.log_of(ANN, since=PARIS_WINTER)) == 1
        assert store.log_of(ANN, since=PARIS_WINTER + timedelta(microseconds=1)) == ()

    def test_pruning_deletes_the_entries_older_than_the_instant_and_counts_them(
        self, store: Store
    ) -> None:
        # SPEC S5: the log keeps 30 days; the instant itself is kept.
        store.append_log(ANN, [log_entry(T0 - timedelta(days=d)) for d in (40, 31, 30, 1)])
        store.append_log(BOB, [log_entry(T0 - timedelta(days=35))])
        assert store.prune_log(T0 - timedelta(days=30)) == 3
        assert [e.at for e in store.log_of(ANN, since=datetime.min.replace(tzinfo=UTC))] == [
            T0 - timedelta(days=30),
            T0 - timedelta(days=1),
        ]
        assert store.prune_log(T0 - timedelta(days=30)) == 0

    def test_a_naive_instant_is_refused(self, store: Store) -> None:
        # SPEC D1
        with pytest.raises(NaiveDatetime):
            store.log_of(ANN, since=datetime(2025, 1, 1))
        with pytest.raises(NaiveDatetime):
            store.prune_log(datetime(2025, 1, 1))


# --------------------------------------------------------------------------- outbox


class OutboxContract(_StoreFixture):
    """:class:`~upslife.ports.Outbox`: idempotent enqueue, leases, marks, digests."""

    def test_enqueue_adds_the_items_and_returns_how_many(self, store: Store) -> None:
        # SPEC N9
        store.add_device(device())
        assert store.enqueue([item("k2"), item("k1")], []) == 2
        assert store.items() == (item("k1"), item("k2"))

    def test_enqueue_again_with_the_same_keys_adds_nothing(self, store: Store) -> None:
        # SPEC N9: a sweep run twice, or re-run after a crash, sends each notice once.
        store.add_device(device())
        store.enqueue([item("k1"), item("k2")], [sent_stage()])
        changed = _evolve(item("k1"), payload="other")
        assert store.enqueue([changed, item("k2")], [sent_stage()]) == 0
        assert store.items() == (item("k1"), item("k2"))
        assert store.sent_stages("AS1") == (sent_stage(),)

    def test_a_key_twice_in_one_batch_is_added_once(self, store: Store) -> None:
        # SPEC N9
        assert store.enqueue([item("k1"), _evolve(item("k1"), payload="x")], []) == 1
        assert store.items() == (item("k1"),)

    def test_enqueue_records_the_stages_in_the_order_recorded(self, store: Store) -> None:
        # SPEC N4: the sweep's memory of what it planned.
        store.add_device(device("AS1"))
        store.add_device(device("AS2"))
        d30 = sent_stage(stage=Stage.D30, on=date(2025, 5, 2))
        battery = sent_stage(kind=EventKind.BATTERY_REPLACEMENT, due=date(2026, 1, 1))
        store.enqueue([], [d30, sent_stage("AS2")])
        store.enqueue([], [battery, sent_stage()])
        assert store.sent_stages("AS1") == (d30, battery, sent_stage())
        assert store.sent_stages("AS2") == (sent_stage("AS2"),)

    def test_a_stage_recorded_again_keeps_its_first_record(self, store: Store) -> None:
        # SPEC N9: idempotent, the first day it was planned stands.
        store.add_device(device())
        store.enqueue([], [sent_stage(on=date(2025, 3, 3))])
        store.enqueue([], [sent_stage(on=date(2025, 3, 4))])
        assert store.sent_stages("AS1") == (sent_stage(on=date(2025, 3, 3)),)

    def test_a_device_with_no_stages_has_none(self, store: Store) -> None:
        store.add_device(device())
        assert store.sent_stages("AS1") == ()

    def test_stages_of_an_unknown_device_raise_unknown_device(self, store: Store) -> None:
        with pytest.raises(UnknownDevice):
            store.sent_stages("NOPE")

    def test_enqueue_saves_the_device_with_its_next_notice_day(self, store: Store) -> None:
        store.add_device(device(next_notice_on=date(2025, 3, 3)))
        moved = device(next_notice_on=date(2025, 5, 2))
        assert store.enqueue([item("k1")], [sent_stage()], device=moved) == 1
        assert store.get_device("AS1") == moved
        assert store.devices_due(date(2025, 3, 3)) == ()

    def test_enqueue_with_an_unknown_device_raises_and_changes_nothing(self, store: Store) -> None:
        # SPEC D5: one transaction; nothing is half-enqueued.
        store.add_device(device("AS1"))
        with pytest.raises(UnknownDevice):
            store.enqueue([item("k1")], [sent_stage()], device=device("NOPE"))
        with pytest.raises(UnknownDevice):
            store.enqueue([item("k2")], [sent_stage(), sent_stage("NOPE")])
        assert store.items() == ()
        assert store.sent_stages("AS1") == ()

    def test_enqueue_refuses_a_naive_instant_and_changes_nothing(self, store: Store) -> None:
        # SPEC D1, D5
        naive = _evolve(item("k2"), next_attempt_at=datetime(2025, 3, 1, 9))
        with pytest.raises(NaiveDatetime):
            store.enqueue([item("k1"), naive], [])
        assert store.items() == ()

    def test_claim_returns_ready_items_earliest_first_then_by_key(self, store: Store) -> None:
        store.enqueue(
            [
                item("d", next_attempt_at=T0 - timedelta(minutes=1)),
                item("c"),
                item("a", next_attempt_at=T0),
                item("b", next_attempt_at=T0 - timedelta(minutes=1)),
                item("e", next_attempt_at=T0 + timedelta(microseconds=1)),
                item("f"),
            ],
            [],
        )
        claimed = store.claim(T0, worker="w1", limit=10)
        assert _keys(claimed) == ["c", "f", "b", "d", "a"]
        assert claimed[2] == item("b", next_attempt_at=T0 - timedelta(minutes=1))

    def test_claim_takes_at_most_limit_items(self, store: Store) -> None:
        store.enqueue([item(f"k{n}") for n in range(5)], [])
        assert _keys(store.claim(T0, worker="w1", limit=2)) == ["k0", "k1"]
        assert _keys(store.claim(T0, worker="w2", limit=2)) == ["k2", "k3"]
        assert _keys(store.claim(T0, worker="w3", limit=2)) == ["k4"]
        assert store.claim(T0, worker="w4", limit=2) == ()

    def test_claim_with_limit_zero_claims_nothing(self, store: Store) -> None:
        store.enqueue([item("k1")], [])
        assert store.claim(T0, worker="w1", limit=0) == ()
        assert _keys(store.claim(T0, worker="w2", limit=1)) == ["k1"]

    def test_claimed_items_go_to_no_other_worker_until_the_lease_ends(self, store: Store) -> None:
        store.enqueue([item("k1"), item("k2")], [])
        assert _keys(store.claim(T0, worker="w1", limit=10, lease_seconds=60)) == ["k1", "k2"]
        assert store.claim(T0 + timedelta(seconds=59), worker="w2", limit=10) == ()
        assert store.claim(T0, worker="w1", limit=10) == ()  # nor to the same worker
        again = store.claim(T0 + timedelta(seconds=60), worker="w2", limit=10)
        assert _keys(again) == ["k1", "k2"]

    def test_claim_leaves_the_items_pending(self, store: Store) -> None:
        store.enqueue([item("k1")], [])
        store.claim(T0, worker="w1", limit=10)
        assert store.items(status=DeliveryStatus.PENDING) == (item("k1"),)

    def test_claim_takes_only_pending_items(self, store: Store) -> None:
        store.enqueue([item(k) for k in ("sent", "failed", "suppressed", "pending")], [])
        store.mark_sent("sent", T0)
        store.mark_failed("failed", error="550 no such user", retry_at=None, at=T0)
        store.mark_suppressed("suppressed", reason="reseller disconnected", at=T0)
        assert _keys(store.claim(T0, worker="w1", limit=10)) == ["pending"]

    def test_claim_refuses_bad_arguments(self, store: Store) -> None:
        with pytest.raises(NaiveDatetime):
            store.claim(datetime(2025, 3, 1), worker="w1", limit=1)
        with pytest.raises(InvalidInput):
            store.claim(T0, worker="w1", limit=-1)
        with pytest.raises(InvalidInput):
            store.claim(T0, worker="w1", limit=1, lease_seconds=0)

    def test_a_sent_item_is_marked_sent_and_leaves_the_queue(self, store: Store) -> None:
        store.enqueue([item("k1")], [])
        store.claim(T0, worker="w1", limit=1)
        store.mark_sent("k1", T0 + timedelta(seconds=2))
        assert store.items() == (
            _evolve(item("k1"), status=DeliveryStatus.SENT, delivered_at=T0 + timedelta(seconds=2)),
        )
        assert store.claim(T0 + timedelta(days=1), worker="w2", limit=1) == ()

    def test_a_failed_item_to_retry_is_pending_again_from_the_retry_instant(
        self, store: Store
    ) -> None:
        store.enqueue([item("k1")], [])
        store.claim(T0, worker="w1", limit=1)
        retry = T0 + timedelta(minutes=5)
        store.mark_failed("k1", error="421 try later", retry_at=retry, at=T0)
        expected = _evolve(
            item("k1"), attempts=1, last_error="421 try later", next_attempt_at=retry
        )
        assert store.items() == (expected,)
        assert store.claim(retry - timedelta(microseconds=1), worker="w2", limit=1) == ()
        assert store.claim(retry, worker="w2", limit=1) == (expected,)

    def test_a_failure_ends_the_lease_at_once(self, store: Store) -> None:
        store.enqueue([item("k1")], [])
        store.claim(T0, worker="w1", limit=1, lease_seconds=600)
        store.mark_failed("k1", error="timeout", retry_at=T0, at=T0)
        assert _keys(store.claim(T0, worker="w2", limit=1)) == ["k1"]

    def test_failed_attempts_are_counted(self, store: Store) -> None:
        store.enqueue([item("k1")], [])
        store.mark_failed("k1", error="e1", retry_at=T0, at=T0)
        store.mark_failed("k1", error="e2", retry_at=T0 + timedelta(minutes=1), at=T0)
        (stored,) = store.items()
        assert (stored.attempts, stored.last_error) == (2, "e2")

    def test_a_failure_without_retry_gives_the_item_up(self, store: Store) -> None:
        store.enqueue([item("k1")], [])
        store.mark_failed("k1", error="550 mailbox unavailable", retry_at=None, at=T0)
        assert store.items(status=DeliveryStatus.FAILED) == (
            _evolve(
                item("k1"),
                status=DeliveryStatus.FAILED,
                attempts=1,
                last_error="550 mailbox unavailable",
            ),
        )

    def test_a_suppressed_item_keeps_its_reason(self, store: Store) -> None:
        # SPEC N7: not sent, on purpose.
        store.enqueue([item("k1")], [])
        store.mark_suppressed("k1", reason="reseller not connected", at=T0)
        assert store.items() == (
            _evolve(
                item("k1"), status=DeliveryStatus.SUPPRESSED, last_error="reseller not connected"
            ),
        )

    def test_get_item_returns_the_item_and_unknown_raises_not_found(self, store: Store) -> None:
        store.enqueue([item("k1"), item("k2")], [])
        assert store.get_item("k2") == item("k2")
        with pytest.raises(NotFound):
            store.get_item("nope")

    def test_requeue_makes_failed_items_pending_again_at_the_instant(self, store: Store) -> None:
        # Outbox repair: an item given up is tried again; its history stays readable.
        store.enqueue([item("k1"), item("k2"), item("k3"), item("k4")], [])
        store.mark_failed("k1", error="550 no such user", retry_at=None, at=T0)
        store.mark_failed("k2", error="421 later", retry_at=T0 + timedelta(days=1), at=T0)
        store.mark_sent("k3", T0)
        store.mark_suppressed("k4", reason="no consent", at=T0)
        later = T0 + timedelta(hours=1)
        assert store.requeue(["k1", "k2", "k3", "k4"], at=later) == 2
        assert store.get_item("k1") == _evolve(
            item("k1"), attempts=1, last_error="550 no such user", next_attempt_at=later
        )
        assert store.get_item("k2").next_attempt_at == later
        assert store.get_item("k3").status is DeliveryStatus.SENT
        assert store.get_item("k4").status is DeliveryStatus.SUPPRESSED
        assert _keys(store.claim(later, worker="w", limit=5)) == ["k1", "k2"]

    def test_requeue_ends_a_lease(self, store: Store) -> None:
        store.enqueue([item("k1")], [])
        store.claim(T0, worker="w1", limit=1, lease_seconds=600)
        assert store.requeue(["k1"], at=T0) == 1
        assert _keys(store.claim(T0, worker="w2", limit=1)) == ["k1"]

    def test_requeue_with_an_unknown_key_raises_and_changes_nothing(self, store: Store) -> None:
        store.enqueue([item("k1")], [])
        store.mark_failed("k1", error="x", retry_at=None, at=T0)
        with pytest.raises(NotFound):
            store.requeue(["k1", "nope"], at=T0)
        assert store.get_item("k1").status is DeliveryStatus.FAILED
        with pytest.raises(InvalidInput):
            store.requeue("k1", at=T0)

    def test_marking_an_unknown_key_raises_not_found(self, store: Store) -> None:
        with pytest.raises(NotFound):
            store.mark_sent("nope", T0)
        with pytest.raises(NotFound):
            store.mark_failed("nope", error="x", retry_at=None, at=T0)
        with pytest.raises(NotFound):
            store.mark_suppressed("nope", reason="x", at=T0)

    def test_marks_refuse_a_naive_instant(self, store: Store) -> None:
        store.enqueue([item("k1")], [])
        with pytest.raises(NaiveDatetime):
            store.mark_sent("k1", datetime(2025, 3, 1))
        with pytest.raises(NaiveDatetime):
            store.mark_failed("k1", error="x", retry_at=datetime(2025, 3, 1), at=T0)
        assert store.items() == (item("k1"),)

    def test_folding_into_a_digest_adds_it_and_marks_the_members_digested(
        self, store: Store
    ) -> None:
        # SPEC N10
        store.enqueue([item("k1"), item("k2"), item("k3")], [])
        digest = item("digest:owner:2025-03-01:x", serial=None)
        store.fold_into_digest(digest, ["k1", "k3"])
        folded = {"status": DeliveryStatus.DIGESTED, "digest_key": digest.key}
        assert store.items() == (
            digest,
            _evolve(item("k1"), **folded),
            item("k2"),
            _evolve(item("k3"), **folded),
        )
        assert _keys(store.claim(T0, worker="w1", limit=10)) == [digest.key, "k2"]

    def test_folding_the_same_digest_again_changes_nothing(self, store: Store) -> None:
        # SPEC N9, N10: a re-run sweep computes the same digest with the same key.
        store.enqueue([item("k1"), item("k2")], [])
        digest = item("digest:1", serial=None)
        store.fold_into_digest(digest, ["k1", "k2"])
        before = store.items()
        store.fold_into_digest(_evolve(digest, payload="again"), ["k1", "k2"])
        assert store.items() == before

    def test_folding_leaves_members_that_are_no_longer_pending_as_they_are(
        self, store: Store
    ) -> None:
        store.enqueue([item("k1"), item("k2")], [])
        store.mark_sent("k1", T0)
        store.fold_into_digest(item("digest:1", serial=None), ["k1", "k2"])
        (k1,) = (i for i in store.items() if i.key == "k1")
        assert k1.status is DeliveryStatus.SENT
        assert k1.digest_key is None

    def test_folding_an_unknown_member_raises_not_found_and_changes_nothing(
        self, store: Store
    ) -> None:
        # SPEC D5
        store.enqueue([item("k1")], [])
        with pytest.raises(NotFound):
            store.fold_into_digest(item("digest:1", serial=None), ["k1", "nope"])
        assert store.items() == (item("k1"),)

    def test_items_filter_by_status_and_owner_in_key_order(self, store: Store) -> None:
        store.enqueue(
            [item("b1", owner_id=BOB), item("a2"), item("a1"), item("b2", owner_id=BOB)], []
        )
        store.mark_sent("a2", T0)
        store.mark_sent("b2", T0)
        assert _keys(store.items()) == ["a1", "a2", "b1", "b2"]
        assert _keys(store.items(owner_id=BOB)) == ["b1", "b2"]
        assert _keys(store.items(status=DeliveryStatus.SENT)) == ["a2", "b2"]
        assert _keys(store.items(status=DeliveryStatus.PENDING, owner_id=ANN)) == ["a1"]
        assert store.items(status=DeliveryStatus.FAILED) == ()

    def test_items_keep_their_recipient(self, store: Store) -> None:
        chat = Recipient.route(ChatRoute(ChatKind.TEAMS, "facilities"))
        reseller = Recipient.reseller("renewals@reseller.example.net")
        store.enqueue([item("c", recipient=chat), item("r", recipient=reseller)], [])
        assert [i.recipient for i in store.items()] == [chat, reseller]

    def test_instants_come_back_as_the_same_instants(self, store: Store) -> None:
        store.enqueue([item("k1", next_attempt_at=PARIS_WINTER)], [])
        (stored,) = store.items()
        assert stored.next_attempt_at == PARIS_WINTER


# --------------------------------------------------------------------------- transactions


class TransactionContract(_StoreFixture):
    """``Store.transaction()`` and ``Store.close()`` (SPEC D5)."""

    def test_calls_inside_a_transaction_commit_together(self, store: Store) -> None:
        with store.transaction():
            store.add_owner(owner())
            store.add_device(device())
            assert store.get_device("AS1") == device()  # a block reads its own writes
        assert store.get_owner(ANN) == owner()
        assert store.count_devices() == 1

    def test_a_block_that_raises_leaves_nothing_behind(self, store: Store) -> None:
        # SPEC D5: never a partial write.
        store.add_device(device("AS0"))
        store.add_code(code())

        def write_everything_then_fail() -> None:
            with store.transaction():
                store.add_owner(owner())
                store.add_device(device())
                store.add_licenses("AS0", [license("C#1")])
                store.save_code(code(assigned=1), expected_assigned=0)
                store.save_invitation(invitation())
                store.use_token("tok-1")
                store.save_sharing(SharingState.of(ANN, ["AS0"]))
                store.append_log(ANN, [log_entry(T0)])
                due = device("AS0", next_notice_on=DAY)
                store.enqueue([item("k1")], [sent_stage("AS0")], device=due)
                raise _Boom

        with pytest.raises(_Boom):
            write_everything_then_fail()
        with pytest.raises(UnknownOwner):
            store.get_owner(ANN)
        assert store.count_devices() == 1
        assert store.get_device("AS0") == device("AS0")
        assert store.licenses_of("AS0") == ()
        assert store.get_code("CODE-1") == code()
        assert store.current_invitation(ANN) is None
        assert not store.token_used("tok-1")
        assert store.get_sharing(ANN) == SharingState.of(ANN)
        assert store.log_of(ANN, since=T0) == ()
        assert store.items() == ()
        assert store.sent_stages("AS0") == ()

    def test_a_nested_transaction_joins_the_outer_one(self, store: Store) -> None:

        def nest_then_fail() -> None:
            with store.transaction():
                with store.transaction():
                    store.add_owner(owner())
                assert store.get_owner(ANN) == owner()
                raise _Boom

        with pytest.raises(_Boom):
            nest_then_fail()
        with pytest.raises(UnknownOwner):
            store.get_owner(ANN)

    def test_an_inner_block_that_raises_undoes_only_its_own_work(self, store: Store) -> None:

        def add_device_then_fail() -> None:
            with store.transaction():
                store.add_device(device())
                raise _Boom

        with store.transaction():
            store.add_owner(owner())
            with pytest.raises(_Boom):
                add_device_then_fail()
            store.add_code(code())
        assert store.get_owner(ANN) == owner()
        assert store.count_devices() == 0
        assert store.get_code("CODE-1") == code()

    def test_a_failed_call_inside_a_transaction_changes_nothing_and_the_block_goes_on(
        self, store: Store
    ) -> None:
        # SPEC D5: the failed call leaves no partial write, even inside a transaction.
        with store.transaction():
            store.add_device(device())
            with pytest.raises(AlreadyExists):
                store.add_licenses("AS1", [license("C#1"), license("C#1")])
            with pytest.raises(AlreadyRegistered):
                store.add_device(device())
            store.add_licenses("AS1", [license("C#2")])
        assert store.licenses_of("AS1") == (license("C#2"),)

    def test_a_closed_store_refuses_every_call_with_storage_error(self, store: Store) -> None:
        store.close()
        with pytest.raises(StorageError):
            store.get_device("AS1")
        with pytest.raises(StorageError):
            store.add_owner(owner())
        store.close()  # closing twice is harmless


# --------------------------------------------------------------------------- schedule


def entry(
    serial: str = "AS1", *, owner_id: str = ANN, next_on: date | None = DAY, doc: str = "{}"
) -> ScheduleEntry:
    return ScheduleEntry(serial, owner_id, next_on, doc)


class ScheduleStoreContract(_StoreFixture):
    """The stored lifecycle schedule (docs/performance.md): entries indexed by next stage
    date, marked stale by every write of a device's facts (SPEC N1–N4)."""

    def test_a_saved_entry_is_read_back_and_replaced(self, store: Store) -> None:
        store.add_device(device())
        store.save_schedule(entry(doc='{"e":1}'))
        assert store.get_schedule("AS1") == entry(doc='{"e":1}')
        store.save_schedule(entry(next_on=None, doc='{"e":2}'))
        assert store.get_schedule("AS1") == entry(next_on=None, doc='{"e":2}')

    def test_an_entry_of_an_unknown_device_is_refused(self, store: Store) -> None:
        with pytest.raises(UnknownDevice):
            store.save_schedule(entry("NOPE"))
        assert store.get_schedule("NOPE") is None

    def test_schedule_due_returns_entries_due_on_or_before_the_day_by_serial_in_pages(
        self, store: Store
    ) -> None:
        day = date(2025, 3, 1)
        dates: dict[str, date | None] = {
            f"AS{n:03}": day - timedelta(days=n % 3) for n in range(12)
        }
        dates.update({"AS900": day + timedelta(days=1), "AS901": None})
        for serial, on in dates.items():
            store.add_device(device(serial))
            store.save_schedule(entry(serial, next_on=on))
        read: list[str] = []
        after: str | None = None
        while page := store.schedule_due(day, after=after, limit=5):
            read += [e.serial for e in page]
            after = page[-1].serial
        assert read == sorted(s for s, on in dates.items() if on is not None and on <= day)

    def test_writing_a_device_marks_its_entry_stale_mirroring_its_owner_and_date(
        self, store: Store
    ) -> None:
        # A write path that forgets to reschedule cannot leave the schedule disagreeing.
        store.add_owner(owner(BOB))
        store.add_device(device(next_notice_on=DAY))
        assert store.get_schedule("AS1") == entry(next_on=DAY, doc=STALE)
        store.save_schedule(entry(doc="{}"))
        later = DAY + timedelta(days=9)
        store.save_device(device(owner_id=BOB, next_notice_on=later))
        assert store.get_schedule("AS1") == entry(owner_id=BOB, next_on=later, doc=STALE)

    def test_adding_licenses_or_a_warranty_marks_the_entry_stale(self, store: Store) -> None:
        store.add_device(device())
        store.save_schedule(entry(doc="{}"))
        store.add_licenses("AS1", [license("L1")])
        assert store.get_schedule("AS1") == entry(doc=STALE)
        store.save_schedule(entry(doc="{}"))
        store.add_warranty("AS1", ExtendedWarranty("W1", "WEXTWAR1YR-SP-01", 12, DAY))
        assert store.get_schedule("AS1") == entry(doc=STALE)

    def test_enqueue_saves_the_entry_with_the_items_or_nothing(self, store: Store) -> None:
        store.add_device(device())
        store.enqueue([item("k1")], [], schedule=entry(next_on=None, doc="{}"))
        assert store.get_schedule("AS1") == entry(next_on=None, doc="{}")
        with pytest.raises(UnknownDevice):
            store.enqueue([item("k2")], [], schedule=entry("NOPE"))
        assert _keys(store.items()) == ["k1"]

    def test_enqueue_writes_a_page_of_devices_entries_and_stages_or_nothing(
        self, store: Store
    ) -> None:
        # The daily plan's page write: many devices' items, stages and entries in one call
        # (SPEC N9, D5). One unknown device refuses the call and nothing of it is kept.
        store.add_device(device("AS1"))
        store.add_device(device("AS2"))
        added = store.enqueue(
            [item("k1"), item("k2", serial="AS2")],
            [sent_stage("AS1"), sent_stage("AS2")],
            schedules=[entry("AS1", doc='{"a":1}'), entry("AS2", next_on=None, doc='{"b":2}')],
        )
        assert added == 2
        assert store.get_schedule("AS1") == entry("AS1", doc='{"a":1}')
        assert store.get_schedule("AS2") == entry("AS2", next_on=None, doc='{"b":2}')
        assert store.sent_stages("AS2") == (sent_stage("AS2"),)
        with pytest.raises(UnknownDevice):
            store.enqueue(
                [item("k3"), item("k4", serial="AS2")],
                [sent_stage("AS1", Stage.D30)],
                schedules=[entry("AS1", doc='{"c":3}'), entry("NOPE")],
            )
        with pytest.raises(UnknownDevice):
            store.enqueue([item("k5")], [sent_stage("NOPE")], schedules=[entry("AS1")])
        assert _keys(store.items()) == ["k1", "k2"]
        assert store.get_schedule("AS1") == entry("AS1", doc='{"a":1}')
        assert store.sent_stages("AS1") == (sent_stage("AS1"),)

    def test_all_devices_pages_through_every_device_by_serial(self, store: Store) -> None:
        serials = [f"AS{n:03}" for n in range(7)]
        for serial in reversed(serials):
            store.add_device(device(serial))
        read: list[str] = []
        after: str | None = None
        while page := store.all_devices(after=after, limit=3):
            read += [d.serial for d in page]
            after = page[-1].serial
        assert read == serials

    def test_deleting_a_device_deletes_its_entry(self, store: Store) -> None:
        # SPEC S3: a deleted device sends nothing more.
        store.add_device(device(next_notice_on=DAY))
        store.save_schedule(entry(doc="{}"))
        store.delete_device("AS1", reason="deleted", at=datetime(2025, 3, 1, tzinfo=UTC))
        assert store.get_schedule("AS1") is None
        assert store.schedule_due(date.max) == ()

    def test_the_stamp_is_unset_then_kept(self, store: Store) -> None:
        assert store.schedule_stamp() is None
        store.set_schedule_stamp("v1:abc")
        store.set_schedule_stamp("v1:def")
        assert store.schedule_stamp() == "v1:def"
        with pytest.raises(InvalidInput):
            store.set_schedule_stamp("")


class StoreContract(
    OwnerStoreContract,
    DeviceStoreContract,
    CodeStoreContract,
    InvitationStoreContract,
    SharingStoreContract,
    RecipientStoreContract,
    EventLogStoreContract,
    OutboxContract,
    ScheduleStoreContract,
    TransactionContract,
):
    """The whole :class:`~upslife.ports.Store` contract: subclass it with ``make_store``."""
