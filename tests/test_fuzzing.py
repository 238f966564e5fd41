"""Fuzzing the public API: only ``UpslifeError`` subclasses escape on bad input (issue 13, SPEC D5).

Every public function and constructor in ``upslife.__all__`` is called with arguments drawn
by ``tests.fuzz_values``: wrong types, naive instants, years 1 and 9999, huge and negative
numbers, control characters. A call may succeed or raise an ``UpslifeError``; anything else
(``TypeError``, ``OverflowError``, ``AttributeError``...) is a bug.
"""

from __future__ import annotations

import contextlib
import enum
import inspect
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import upslife
from tests.fuzz_values import call_arguments, garbage
from upslife import Contact, Keyring, Plan, SigningKey, Term
from upslife.adapters.sqlite import SqliteStore
from upslife.app import FixedClock, Lifecycle
from upslife.errors import InvalidDate, UpslifeError
from upslife.ports import Owner


def _targets() -> list[str]:
    names = []
    for name in upslife.__all__:
        obj = getattr(upslife, name)
        if not callable(obj):
            continue
        if inspect.isclass(obj) and (
            issubclass(obj, (BaseException, enum.Enum)) or getattr(obj, "_is_protocol", False)
        ):
            continue
        names.append(name)
    return names


def _consume(result: Any) -> None:
    """Lazy results (generators) are drained: their errors belong to the call."""
    if isinstance(result, Iterator):
        for _ in result:
            pass


# At most 100 examples a target, even under the CI profile: 120-odd targets must stay
# within a couple of minutes. Each target is its own test, with its own database entry.
FUZZ = settings(
    max_examples=min(settings().max_examples, 100),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.mark.parametrize("name", _targets())
@FUZZ
@given(data=st.data())
def test_only_upslife_errors_escape_from_a_public_callable(name: str, data: st.DataObject) -> None:
    target = getattr(upslife, name)
    args, kwargs = data.draw(call_arguments(target), label="call")
    with contextlib.suppress(UpslifeError):
        _consume(target(*args, **kwargs))


# --------------------------------------------------------------------------- use cases

# Lifecycle methods fuzzed through a real SQLite file. ``poll``, ``run_command`` and
# ``sweep`` take ports (a UPS transport, a mail sender), not user values: their adapters
# have their own tests.
PORT_METHODS = {"poll", "run_command", "sweep"}
NOW = datetime(2025, 6, 1, 9, tzinfo=UTC)


def _use_cases() -> list[str]:
    return sorted(
        name
        for name, member in inspect.getmembers(Lifecycle, inspect.isfunction)
        if not name.startswith("_") and name not in PORT_METHODS
    )


@pytest.fixture(scope="module")
def lifecycle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lifecycle]:
    """A store with an owner, a device on a paid plan, a code and a reseller invitation."""
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    store = SqliteStore(path)
    service = Lifecycle(store, clock=FixedClock(NOW), keyring=Keyring(SigningKey("k1", b"s" * 32)))
    contact = Contact("Acme Data Ltd", "Alice Martin", "alice@example.com")
    service.add_owner(Owner("alice@example.com", contact, "Europe/Paris"))
    service.register_device("alice@example.com", "AS1234567890", "SMT1500C", on=date(2025, 1, 2))
    service.issue_code("C-1", Plan.ADVANCED, Term.Y1, 3, "i@installer.example")
    service.assign_code("C-1", "AS1234567890", by="alice@example.com")
    service.invite_reseller("alice@example.com", "sales@res.example")
    yield service
    store.close()


def _owner_values() -> st.SearchStrategy[Any]:
    contact = Contact("Acme Data Ltd", "Alice Martin", "alice@example.com")
    return st.builds(
        lambda email, zone: Owner(email, contact, zone),
        st.sampled_from(["bob@example.com", "alice@example.com", "c@x.example"]),
        st.sampled_from(["UTC", "Europe/Paris", "Pacific/Kiritimati"]),
    )


@pytest.mark.parametrize("name", _use_cases())
@FUZZ
@given(data=st.data())
def test_only_upslife_errors_escape_from_a_use_case(
    name: str, data: st.DataObject, lifecycle: Lifecycle
) -> None:
    method = getattr(lifecycle, name)
    if name == "add_owner":
        # An Owner is built by the caller first: garbage there is the constructor's fuzz.
        arguments = data.draw(st.one_of(_owner_values(), garbage), label="owner")
        args: list[Any] = [arguments]
        kwargs: dict[str, Any] = {}
    else:
        args, kwargs = data.draw(call_arguments(method), label="call")
    with contextlib.suppress(UpslifeError):
        _consume(method(*args, **kwargs))


@pytest.mark.parametrize("day", [date.min, date(1, 1, 2), date(9999, 12, 31), date.max])
def test_a_clock_at_the_ends_of_the_calendar_is_refused(day: date) -> None:
    # Issue 13: `--on 0001-01-01 sweep` overflowed inside the sweep.
    with pytest.raises(InvalidDate, match="supported range"):
        FixedClock(datetime(day.year, day.month, day.day, 12, tzinfo=UTC))
