"""Differential test: ``MemoryStore`` and ``SqliteStore`` driven in lockstep must agree.

A hypothesis ``RuleBasedStateMachine`` draws random calls of every ``Store`` method (from
small pools of serials, keys and owners, so that duplicates, unknown names, ties and lease
expiries happen often) and plays each one on both stores, alone or in ``transaction()``
blocks that may be aborted. Both stores must return equal results or raise the same error
type; after every step their outboxes and device counts must be equal. The memory store is
the executable specification the contract suite pins down, so any disagreement is a bug in
one of them (SPEC D5, E2, E6, N9).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from upslife.adapters.sqlite import SqliteStore
from upslife.entitlements import ExtendedWarranty, Plan
from upslife.errors import UpslifeError
from upslife.notifications import DeliveryPreference, Recipient, Stage
from upslife.ports import DeliveryStatus, Store
from upslife.sharing import SharingState
from upslife.testing import MemoryStore
from upslife.testing.contract import (
    code,
    device,
    invitation,
    item,
    license,
    log_entry,
    owner,
    sent_stage,
)

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
D0 = date(2025, 3, 1)

SERIALS = st.sampled_from(["AS1", "AS2", "B7", "b7"])
OWNERS = st.sampled_from(["ann@example.com", "bob@example.net"])
KEYS = st.sampled_from(["k1", "k2", "k3", "d1"])
CODES = st.sampled_from(["C1", "C2"])
LICENSE_IDS = st.sampled_from(["L1", "L2", "L3", "L4"])
DAYS = st.integers(-3, 3).map(lambda n: D0 + timedelta(days=n))
OPT_DAYS = st.none() | DAYS
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))])
INSTANTS = st.builds(
    lambda minutes, zone: (T0 + timedelta(minutes=minutes)).astimezone(zone),
    st.integers(0, 20),
    ZONES,
)
OPT_INSTANTS = st.none() | INSTANTS


@attrs.frozen
class Call:
    """One store method call, replayable on any store."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, name: str, *args: Any, **kwargs: Any) -> Call:
        return cls(name, args, tuple(sorted(kwargs.items())))

    def __call__(self, store: Store) -> object:
        method: Callable[..., object] = getattr(store, self.name)
        return method(*self.args, **dict(self.kwargs))

    def __repr__(self) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs]
        return f"store.{self.name}({', '.join(parts)})"


def outcome(call: Call, store: Store) -> tuple[str, object]:
    """``("ok", result)``, or ``("error", its type)`` for any library error. A foreign
    exception (a driver's own) escapes and fails the test."""
    try:
        return ("ok", call(store))
    except UpslifeError as e:
        return ("error", type(e))


def _outbox_calls() -> st.SearchStrategy[Call]:
    c = Call.of
    items = st.builds(
        lambda key, who, at, serial: item(key, owner_id=who, next_attempt_at=at, serial=serial),
        KEYS,
        OWNERS,
        OPT_INSTANTS,
        st.none() | SERIALS,
    )
    stages = st.builds(
        lambda serial, stage, due, on: sent_stage(serial, stage, due=due, on=on),
        SERIALS,
        st.sampled_from([s for s in Stage if s is not Stage.REMINDER]),
        DAYS,
        DAYS,
    )
    devices = st.builds(
        lambda s, o, d: device(s, owner_id=o, next_notice_on=d), SERIALS, OWNERS, OPT_DAYS
    )
    return st.one_of(
        st.builds(lambda s: c("sent_stages", s), SERIALS),
        st.builds(
            lambda its, ss, d: c("enqueue", its, ss, device=d),
            st.lists(items, max_size=3),
            st.lists(stages, max_size=2),
            st.none() | devices,
        ),
        st.builds(
            lambda at, w, n, lease: c("claim", at, worker=w, limit=n, lease_seconds=lease),
            INSTANTS,
            st.sampled_from(["w1", "w2"]),
            st.integers(0, 3),
            st.sampled_from([60.0, 600.0]),
        ),
        st.builds(lambda k, at: c("mark_sent", k, at), KEYS, INSTANTS),
        st.builds(
            lambda k, e, r, at: c("mark_failed", k, error=e, retry_at=r, at=at),
            KEYS,
            st.sampled_from(["421 busy", "550 unknown user"]),
            OPT_INSTANTS,
            INSTANTS,
        ),
        st.builds(
            lambda k, at: c("mark_suppressed", k, reason="not connected", at=at), KEYS, INSTANTS
        ),
        st.builds(
            lambda dk, who, members: c(
                "fold_into_digest", item(dk, owner_id=who, serial=None), members
            ),
            st.sampled_from(["d1", "d2"]),
            OWNERS,
            st.lists(KEYS, max_size=3, unique=True),
        ),
        st.builds(
            lambda s, o: c("items", status=s, owner_id=o),
            st.none() | st.sampled_from(list(DeliveryStatus)),
            st.none() | OWNERS,
        ),
    )


def _calls() -> st.SearchStrategy[Call]:
    c = Call.of
    companies = st.sampled_from(["Acme", "Beta"])
    devices = st.builds(
        lambda s, o, d: device(s, owner_id=o, next_notice_on=d), SERIALS, OWNERS, OPT_DAYS
    )
    return st.one_of(
        _outbox_calls(),
        # owners
        st.builds(lambda o, co: c("add_owner", owner(o, company=co)), OWNERS, companies),
        st.builds(lambda o, co: c("save_owner", owner(o, company=co)), OWNERS, companies),
        st.builds(lambda o: c("get_owner", o), OWNERS),
        # devices
        st.builds(lambda d: c("add_device", d), devices),
        st.builds(lambda d: c("save_device", d), devices),
        st.builds(lambda s: c("get_device", s), SERIALS),
        st.builds(lambda o: c("devices_of", o), OWNERS),
        st.builds(
            lambda d, a, n: c("devices_due", d, after=a, limit=n),
            DAYS,
            st.none() | SERIALS,
            st.integers(0, 4),
        ),
        st.just(c("count_devices")),
        st.builds(
            lambda s, ids, p: c("add_licenses", s, [license(i, p) for i in ids]),
            SERIALS,
            st.lists(LICENSE_IDS, max_size=3),
            st.sampled_from([Plan.STANDARD, Plan.ADVANCED]),
        ),
        st.builds(lambda s: c("licenses_of", s), SERIALS),
        st.builds(
            lambda s, w: c("add_warranty", s, ExtendedWarranty(w, "WEXTWAR1YR-SP-01", 12, D0)),
            SERIALS,
            st.sampled_from(["W1", "W2"]),
        ),
        st.builds(lambda s: c("warranties_of", s), SERIALS),
        st.builds(
            lambda s, at: c("delete_device", s, reason="the device was deleted", at=at),
            SERIALS,
            INSTANTS,
        ),
        # each recipient's own delivery choice (SPEC N10)
        st.builds(
            lambda a, p: c("set_delivery", Recipient.reseller(a), p),
            OWNERS,
            st.none() | st.sampled_from(list(DeliveryPreference)),
        ),
        st.builds(lambda a: c("delivery_of", Recipient.reseller(a)), OWNERS),
        # codes
        st.builds(
            lambda v, q, a: c("add_code", code(v, quantity=q, assigned=a)),
            CODES,
            st.sampled_from([3, 5]),
            st.integers(0, 3),
        ),
        st.builds(lambda v: c("get_code", v), CODES),
        st.builds(
            lambda v, a, e: c("save_code", code(v, quantity=5, assigned=a), expected_assigned=e),
            CODES,
            st.integers(0, 5),
            st.integers(0, 5),
        ),
        # invitations and tokens
        st.builds(
            lambda i, o, at: c("save_invitation", invitation(i, owner_id=o, sent_at=at)),
            st.sampled_from(["I1", "I2", "I3"]),
            OWNERS,
            INSTANTS,
        ),
        st.builds(lambda i: c("get_invitation", i), st.sampled_from(["I1", "I2", "I3"])),
        st.builds(lambda o: c("current_invitation", o), OWNERS),
        st.builds(lambda t: c("use_token", t), st.sampled_from(["t1", "t2"])),
        st.builds(lambda t: c("token_used", t), st.sampled_from(["t1", "t2"])),
        # sharing and the event log
        st.builds(lambda o: c("get_sharing", o), OWNERS),
        st.builds(
            lambda o, ds: c("save_sharing", SharingState.of(o, ds)),
            OWNERS,
            st.frozensets(SERIALS, max_size=3),
        ),
        st.builds(
            lambda o, ats: c("append_log", o, [log_entry(at, f"m{n}") for n, at in enumerate(ats)]),
            OWNERS,
            st.lists(INSTANTS, max_size=3),
        ),
        st.builds(lambda o, at: c("log_of", o, since=at), OWNERS, INSTANTS),
        st.builds(lambda at: c("prune_log", at), INSTANTS),
    )


CALLS = _calls()
OUTBOX_CALLS = _outbox_calls()


class _Abort(Exception):
    """Aborts a transaction block on purpose."""


def run_block(store: Store, calls: Sequence[Call], abort: bool) -> tuple[object, ...]:
    """Play ``calls`` inside one ``transaction()``, then abort it if ``abort``."""
    results: list[object] = []
    try:
        with store.transaction():
            results += [outcome(call, store) for call in calls]
            if abort:
                raise _Abort
    except _Abort:
        results.append("aborted")
    return tuple(results)


class MemoryAgreesWithSqlite(RuleBasedStateMachine):
    """MemoryStore and SqliteStore, same calls, same answers."""

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="upslife-differential-"))
        self.memory = MemoryStore()
        self.sqlite = SqliteStore(self.directory / "store.sqlite3")

    def agree(self, run: Callable[[Store], object]) -> None:
        expected = run(self.memory)
        actual = run(self.sqlite)
        assert actual == expected, f"sqlite {actual!r} != memory {expected!r}"

    @rule(call=CALLS)
    def one_call(self, call: Call) -> None:
        self.agree(lambda store: outcome(call, store))

    @rule(call=OUTBOX_CALLS)
    def one_outbox_call(self, call: Call) -> None:
        # The outbox has the most states to get wrong; it gets a rule of its own.
        self.agree(lambda store: outcome(call, store))

    @rule(calls=st.lists(CALLS, min_size=1, max_size=4), abort=st.booleans())
    def transaction(self, calls: list[Call], abort: bool) -> None:
        self.agree(lambda store: run_block(store, calls, abort))

    @rule(calls=st.lists(CALLS, min_size=1, max_size=3))
    def nested_block_that_fails(self, calls: list[Call]) -> None:
        def run(store: Store) -> object:
            with store.transaction():
                inner = run_block(store, calls, abort=True)
                return inner, outcome(Call.of("items"), store)

        self.agree(run)

    @invariant()
    def outboxes_and_device_counts_agree(self) -> None:
        self.agree(lambda store: (store.items(), store.count_devices()))

    def teardown(self) -> None:
        self.memory.close()
        self.sqlite.close()
        shutil.rmtree(self.directory, ignore_errors=True)


_PROFILE = settings()  # the loaded profile: 60 examples in "dev", 400 in "ci"
MemoryAgreesWithSqlite.TestCase.settings = settings(
    _PROFILE,
    max_examples=_PROFILE.max_examples,  # 400 under the CI profile: about 15-20 s
    stateful_step_count=40,
    deadline=None,
)
TestMemoryAgreesWithSqlite = MemoryAgreesWithSqlite.TestCase
