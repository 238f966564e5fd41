"""The stored schedule and the reference planner can never disagree (docs/performance.md).

Random fleets (registration on month ends and 29 February, DEFER and FORFEIT policies,
two owners in time zones on either side of UTC (one with a Slack route, sent only on
plans that allow it, SPEC E10), a connected reseller or none) live through
random histories of licenses (upgrades included), battery replacements, extended
warranties, polls that report a replace-by date or a failed battery, transfers, reseller
disconnections, schedule rebuilds and sweep days (consecutive or weeks apart, so stages are
caught up, SPEC N4). The same history is applied through :class:`~upslife.app.Lifecycle` to
two stores: one planned from the stored schedule (:func:`plan_scheduled`, on memory, SQLite
or PostgreSQL), one by recomputing everything (:func:`plan_notices`, the reference, on
memory). After every sweep day both outboxes must hold the same notices, byte for byte:
keys (N9), payloads, owner-local days (D1), digest holds (N10); and the same stages sent.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from upslife.adapters.sqlite import SqliteStore
from upslife.app import FixedClock, Lifecycle
from upslife.app.schedule import plan_scheduled, rebuild_schedule
from upslife.app.sweep import plan_notices
from upslife.catalog import Catalog
from upslife.entitlements import ExtendedWarranty, Plan, Term, UpgradePolicy
from upslife.errors import UpslifeError
from upslife.hardware.simulator import SimulatedTransport, SimulatedUps
from upslife.invitations import Keyring, SigningKey, TokenAction
from upslife.notifications import ChatKind, ChatRoute, Contact, DeliveryPreference
from upslife.ports import Owner, Store
from upslife.testing.memory import MemoryStore

KEYRING = Keyring(SigningKey("k1", b"d" * 32))
OWNERS = ("ops@acme.example", "it@kiwi.example")
RESELLER = "sales@reseller.example"
START = datetime(2024, 3, 1, 7, tzinfo=UTC)
CATALOG = Catalog.default()
_CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci"

# Month ends, 29 February and their neighbours: where month arithmetic goes wrong (SPEC D3).
EDGE_DAYS = [
    date(2023, 8, 31), date(2023, 11, 30), date(2023, 12, 31), date(2024, 1, 31),
    date(2024, 2, 28), date(2024, 2, 29), date(2023, 9, 30), date(2023, 10, 31),
]  # fmt: skip
registration_days = st.one_of(
    st.sampled_from(EDGE_DAYS), st.dates(date(2023, 6, 1), date(2024, 2, 29))
)

devices = st.lists(
    st.tuples(
        registration_days,
        st.sampled_from([UpgradePolicy.DEFER, UpgradePolicy.FORFEIT]),
        st.integers(0, 1),  # owner
        st.sampled_from(["SMT1500C", "SMC1000C", "SMT2200RM2UC"]),
    ),
    min_size=1,
    max_size=3,
)
step = st.one_of(
    st.tuples(st.just("sweep"), st.integers(1, 45), st.integers(0, 23)),
    st.tuples(st.just("sweep"), st.just(1), st.integers(0, 23)),  # consecutive days
    st.tuples(
        st.just("license"),
        st.integers(0, 2),
        st.sampled_from([Plan.STANDARD, Plan.ADVANCED]),
        st.sampled_from([Term.Y1, Term.Y3]),
    ),
    st.tuples(st.just("battery"), st.integers(0, 2), st.integers(0, 1500)),
    st.tuples(st.just("warranty"), st.integers(0, 2), st.sampled_from([12, 24])),
    st.tuples(st.just("poll"), st.integers(0, 2), st.integers(-10, 120), st.booleans()),
    st.tuples(st.just("transfer"), st.integers(0, 2)),
    st.tuples(st.just("disconnect")),
    st.tuples(st.just("rebuild")),
)
histories = st.lists(step, min_size=4, max_size=16)


def serial_of(n: int) -> str:
    return f"AS{n:010d}"


@attrs.define
class World:
    """One store driven through the use cases, and the planner it is swept with."""

    store: Store
    planner: Callable[..., Any]
    clock: FixedClock = attrs.field(factory=lambda: FixedClock(START))
    service: Lifecycle = attrs.field(init=False)
    codes: int = 0

    def __attrs_post_init__(self) -> None:
        self.service = Lifecycle(self.store, clock=self.clock, keyring=KEYRING, catalog=CATALOG)


def _setup(world: World, fleet: list[Any], reseller: bool, digest: bool) -> None:
    zones = ("America/Los_Angeles", "Pacific/Auckland")
    for email, zone in zip(OWNERS, zones, strict=True):
        contact = Contact("Acme", "Ada Lovelace", email)
        preference = DeliveryPreference.DAILY_DIGEST if digest else DeliveryPreference.IMMEDIATE
        routes = (ChatRoute(ChatKind.SLACK, "ops"),) if email == OWNERS[0] else ()
        hooks = (("ops", "https://hooks.example/ops"),) if routes else ()
        owner = Owner(
            email, contact, zone, reseller_delivery=preference, chat_routes=routes,
            chat_webhooks=hooks,
        )
        world.service.add_owner(owner)
    for n, (day, policy, owner, model) in enumerate(fleet):
        world.service.register_device(OWNERS[owner], serial_of(n), model, on=day, policy=policy)
    if reseller:
        links = world.service.invite_reseller(OWNERS[0], RESELLER, invitation_id="inv-1")
        world.service.respond(links.accept_token, TokenAction.ACCEPT)


def _apply(world: World, action: tuple[Any, ...], count: int) -> object:
    """One step of the history; returns what it raised (type and text) or None."""
    kind = action[0]
    service, now = world.service, world.clock.now()
    try:
        if kind == "license":
            serial = serial_of(action[1] % count)
            world.codes += 1
            code = f"CODE-{world.codes}"
            service.issue_code(code, action[2], action[3], 1, "installer@acme.example")
            service.assign_code(code, serial, by=service.device(serial).owner_id)
        elif kind == "battery":
            serial = serial_of(action[1] % count)
            day = now.date() - timedelta(days=action[2])
            service.set_battery_install_date(serial, day, by=service.device(serial).owner_id)
        elif kind == "warranty":
            serial = serial_of(action[1] % count)
            world.codes += 1
            sku, months = "WEXTWAR1YR-SP-01", action[2]
            warranty = ExtendedWarranty(f"W-{world.codes}", sku, months, now.date())
            service.add_extended_warranty(serial, warranty)
        elif kind == "poll":
            serial = serial_of(action[1] % count)
            unit = SimulatedUps.smart_ups_1500(serial=serial)
            unit.update(battery_replace_by=now.date() + timedelta(days=action[2]))
            if action[3]:
                unit.fail_battery()
            service.poll(SimulatedTransport({"ups": unit}))
        elif kind == "transfer":
            serial = serial_of(action[1] % count)
            owner = service.device(serial).owner_id
            other = OWNERS[1] if owner == OWNERS[0] else OWNERS[0]
            service.transfer(serial, other, by=owner)
        elif kind == "disconnect":
            service.disconnect_reseller(OWNERS[0])
        elif kind == "rebuild":
            rebuild_schedule(world.store, CATALOG)
    except UpslifeError as e:
        return (type(e).__name__, str(e))
    return None


def _notices(store: Store) -> set[tuple[object, ...]]:
    return {
        (i.key, i.payload, i.day, i.owner_id, i.next_attempt_at, i.recipient)
        for i in store.items()
        if i.key.startswith("notice:")
    }


def _stages(store: Store, count: int) -> list[object]:
    return [sorted(map(repr, store.sent_stages(serial_of(n)))) for n in range(count)]


def run_history(
    store: Store, fleet: list[Any], reseller: bool, digest: bool, history: list[Any]
) -> None:
    scheduled = World(store, plan_scheduled)
    reference = World(MemoryStore(), plan_notices)
    worlds = (scheduled, reference)
    for world in worlds:
        _setup(world, fleet, reseller, digest)
    now = START
    days = 0
    for action in history:
        if action[0] == "sweep":
            now = (now + timedelta(days=action[1])).replace(hour=action[2])
            reports = []
            for world in worlds:
                world.clock.set(now)
                reports.append(world.planner(world.store, CATALOG, now))
            days += 1
            assert reports[0].damaged == reports[1].damaged == ()
            assert reports[0].notices_planned == reports[1].notices_planned, now
            assert _notices(scheduled.store) == _notices(reference.store), now
            assert _stages(scheduled.store, len(fleet)) == _stages(reference.store, len(fleet))
        else:
            outcomes = [_apply(world, action, len(fleet)) for world in worlds]
            assert outcomes[0] == outcomes[1], action
    # end with two consecutive days, so every history plans something on its own
    for extra in (1, 1):
        now += timedelta(days=extra)
        for world in worlds:
            world.clock.set(now)
            world.planner(world.store, CATALOG, now)
        assert _notices(scheduled.store) == _notices(reference.store), now
    keys = [str(key) for key, *_ in _notices(reference.store)]
    event(f"notices: {min(len(keys), 10) // 5 * 5}+")
    for kind in ("battery-replacement", "battery-failure", "plan-expiry", "ups-upgrade"):
        if any(f":{kind}:" in key for key in keys):
            event(f"has {kind}")


def _examples(memory: int) -> int:
    return memory if _CI else max(10, memory // 6)


def common(examples: int) -> settings:
    return settings(
        max_examples=_examples(examples),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


@common(800)
@given(fleet=devices, reseller=st.booleans(), digest=st.booleans(), history=histories)
def test_on_memory_the_stored_schedule_plans_what_recomputing_plans(
    fleet: list[Any], reseller: bool, digest: bool, history: list[Any]
) -> None:
    run_history(MemoryStore(), fleet, reseller, digest, history)


@common(300)
@given(fleet=devices, reseller=st.booleans(), digest=st.booleans(), history=histories)
def test_on_sqlite_the_stored_schedule_plans_what_recomputing_plans(
    fleet: list[Any], reseller: bool, digest: bool, history: list[Any]
) -> None:
    store = SqliteStore(":memory:")
    try:
        run_history(store, fleet, reseller, digest, history)
    finally:
        store.close()


@pytest.fixture
def fresh_postgres(postgres_dsn: str) -> Iterator[Callable[[], Store]]:
    """A PostgreSQL store emptied for each hypothesis example (one schema per test)."""
    import psycopg

    from upslife.adapters.postgres import PostgresStore

    PostgresStore(postgres_dsn).close()  # migrate once
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                " AND tablename <> 'schema_version'"
            ).fetchall()
        ]

        def make() -> Store:
            conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
            return PostgresStore(postgres_dsn)

        yield make


@common(150)
@given(fleet=devices, reseller=st.booleans(), digest=st.booleans(), history=histories)
def test_on_postgres_the_stored_schedule_plans_what_recomputing_plans(
    fresh_postgres: Callable[[], Store],
    fleet: list[Any],
    reseller: bool,
    digest: bool,
    history: list[Any],
) -> None:
    store = fresh_postgres()
    try:
        run_history(store, fleet, reseller, digest, history)
    finally:
        store.close()
