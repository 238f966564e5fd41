"""Every use case issue 12 added, given anything: it succeeds or raises an
``UpslifeError`` subclass, and when it refuses, the store is as it was (SPEC D5).

Each example runs on a fresh SQLite file holding a small world (an owner, two devices,
one shared, a connected reseller, an activation code). Refusals are logged to the event
log by design (SPEC S5), so the comparison leaves refused log entries out.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.stories.conftest import World
from upslife.adapters.sqlite import SqliteStore
from upslife.errors import UpslifeError
from upslife.invitations import TokenAction
from upslife.notifications import Recipient
from upslife.sharing import Outcome

OWNER = "ops@acme.example"
MSP = "noc@msp.example"
RESELLER = "sales@partner.example"
SERIALS = ("AS2300000001", "AS2300000002")


@contextmanager
def small_world() -> Iterator[tuple[World, str]]:
    """The world, and the unsubscribe token of the reseller's invitation mail."""
    with tempfile.TemporaryDirectory() as where:
        store = SqliteStore(Path(where) / "fleet.db")
        try:
            world = World(store)
            world.owner(OWNER)
            for serial in SERIALS:
                world.service.register_device(OWNER, serial, "SMT1500C", on=date(2025, 6, 1))
            made = world.service.share(SERIALS[0], MSP, by=OWNER)
            world.service.accept_share_link(made.token)
            links = world.service.invite_reseller(OWNER, RESELLER)
            world.service.respond(links.accept_token, TokenAction.ACCEPT)
            world.service.issue_code("ORDER-1", "STANDARD", "1Y", 2, "installer@partner.example")
            yield world, links.unsubscribe_token
        finally:
            store.close()


def snapshot(world: World) -> tuple[object, ...]:
    """Everything a use case could change, but refusals written to the event log."""
    store = world.store
    since = datetime(2000, 1, 1, tzinfo=world.clock.now().tzinfo) - timedelta(days=1)
    log = tuple(e for e in store.log_of(OWNER, since=since) if e.outcome is not Outcome.REFUSED)
    return (
        store.get_owner(OWNER),
        store.devices_of(OWNER),
        tuple(store.licenses_of(d.serial) for d in store.devices_of(OWNER)),
        store.get_sharing(OWNER),
        store.get_code("ORDER-1"),
        store.items(),
        store.current_invitation(OWNER),
        store.delivery_of(Recipient.reseller(RESELLER)),
        log,
    )


def anything(*valid: object) -> st.SearchStrategy[Any]:
    """A valid value half of the time; otherwise a near miss or junk."""
    junk = st.one_of(
        st.none(),
        st.integers(-3, 3),
        st.booleans(),
        st.text(max_size=12),
        st.sampled_from(["", " ", "a@b", "x@y.example", "AS0", "\x00", "é@ü.example"]),
        st.lists(st.text(max_size=3), max_size=2),
        st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=2),
    )
    return st.one_of(st.sampled_from(valid), junk)


def _call(world: World, token: str, use_case: str, args: tuple[Any, ...]) -> None:
    service = world.service
    calls: dict[str, Callable[..., object]] = {
        "issue_code": lambda a: service.issue_code(*a),
        "delete_device": lambda a: service.delete_device(a[0], by=a[1]),
        "send_renewals": lambda a: service.send_renewals(a[0], by=a[1], to=a[2], fmt=a[3]),
        "set_email_templates": lambda a: service.set_email_templates(a[0], a[1]),
        "set_reseller_delivery": lambda a: service.set_reseller_delivery(a[0], a[1]),
        "set_reseller_delivery_by_link": lambda a: service.set_reseller_delivery_by_link(
            token if a[0] == "<token>" else a[0], a[1]
        ),
    }
    calls[use_case](args)


ARGUMENTS: dict[str, st.SearchStrategy[tuple[Any, ...]]] = {
    "issue_code": st.tuples(
        anything("ORDER-1", "ORDER-2"),
        anything("STANDARD", "ADVANCED", "BASIC"),
        anything("1Y", "3Y", 36),
        anything(1, 5, 0),
        anything("installer@partner.example"),
    ),
    "delete_device": st.tuples(anything(*SERIALS, "as2300000001"), anything(OWNER, MSP)),
    "send_renewals": st.tuples(
        anything(OWNER), anything(OWNER, MSP), anything(None, "buyer@x.example"),
        anything("csv", "xlsx", "pdf"),
    ),
    "set_email_templates": st.tuples(
        anything(OWNER),
        anything(None, {"owner": {"subject": "$title", "text": "$serial", "html": "$serial"}}),
    ),
    "set_reseller_delivery": st.tuples(
        anything(RESELLER), anything("daily-digest", "immediate", "DAILY_DIGEST")
    ),
    "set_reseller_delivery_by_link": st.tuples(
        anything("<token>"), anything("daily-digest", "immediate")
    ),
}


@pytest.mark.parametrize("use_case", sorted(ARGUMENTS))
def test_a_use_case_given_anything_succeeds_or_refuses_with_a_typed_error_changing_nothing(
    use_case: str,
) -> None:
    # SPEC D5: typed errors only, and a refusal is no partial write
    @settings(max_examples=20, deadline=None)
    @given(args=ARGUMENTS[use_case])
    def check(args: tuple[Any, ...]) -> None:
        with small_world() as (world, token):
            before = snapshot(world)
            try:
                _call(world, token, use_case, args)
            except UpslifeError:
                assert snapshot(world) == before
            except Exception as e:  # the property: nothing else escapes
                raise AssertionError(f"{use_case}{args!r} raised {e!r}") from e

    check()
