"""Hypothesis strategies that turn a type annotation into hostile arguments (issue 13).

``values_for(annotation)`` draws, with about equal weight, a well-typed value whose content
is hostile (dates in years 1 and 9999, aware instants at the ends of ``datetime``, huge and
negative numbers, text with control, zero-width and bidirectional characters, very long
strings) and a value of the wrong type (``None``, floats, naive instants, lists, bytes,
objects). Domain types are drawn from a pool of real instances built through the public
API, so a fuzzed call reaches the rules and not only the first type check.
"""

from __future__ import annotations

import collections.abc as cabc
import enum
import inspect
import types
import typing
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from functools import cache
from typing import Any

from hypothesis import strategies as st

import upslife
from tests.strategies import MALFORMED_EMAILS
from upslife import (
    ActivationCode,
    Battery,
    Catalog,
    ChatKind,
    ChatRoute,
    Contact,
    DeviceFacts,
    EventId,
    EventKind,
    EventLog,
    ExtendedWarranty,
    Invitation,
    Keyring,
    License,
    LifecycleEvent,
    LogEntry,
    Notice,
    Plan,
    Recipient,
    Registration,
    ReportDevice,
    ResellerPrompt,
    SentStage,
    SharingState,
    SigningKey,
    Stage,
    Term,
    TokenAction,
    Vitals,
    VolumePromotion,
    accept,
    coverage,
    invite,
    lifecycle_events,
    register,
    report_device,
    sign,
    warranty,
)

# --- hostile scalars -------------------------------------------------------------------

NASTY_CHARS = (
    "\x00\r\n\t\x0b\x0c\x1b\x7f\x85\u200b\u200d\u202e\u2066\ufeff\u2028\ud800é@.<>\"'\\$%{}"
)
EXTREME_DATES = [date.min, date(1, 1, 2), date(9999, 12, 31), date(9999, 12, 1), date(1970, 1, 1)]
_ZONES = [UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12, minutes=-59))]
EXTREME_INSTANTS = [
    datetime.min.replace(tzinfo=UTC),
    datetime.max.replace(tzinfo=UTC),
    datetime(1, 1, 1, 5, tzinfo=timezone(timedelta(hours=14))),
    datetime(9999, 12, 31, 20, tzinfo=timezone(timedelta(hours=-12))),
]

texts = st.one_of(
    st.text(max_size=12),
    st.text(alphabet=st.sampled_from(NASTY_CHARS + "aZ0 -_"), max_size=12),
    st.sampled_from(["", " ", "a" * 100_000, "AS123\n", "x\r\nBcc: evil@x.example", "\x00"]),
)
emails = st.one_of(
    st.sampled_from(["alice@example.com", *MALFORMED_EMAILS]),
    st.builds(lambda a, b: f"{a}@{b}", texts, texts),
)
ints = st.one_of(
    st.integers(-3, 40),
    st.integers(-(10**20), 10**20),
    st.sampled_from([0, -1, 2**31, 2**63, 10**100, 3_652_059, 119_988]),
)
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.8, -0.0]))
dates = st.one_of(
    st.dates(),
    st.sampled_from(EXTREME_DATES),
    st.dates(min_value=date(2020, 1, 1), max_value=date(2032, 12, 31)),
)
aware = st.one_of(
    st.datetimes(timezones=st.sampled_from(_ZONES)),
    st.sampled_from(EXTREME_INSTANTS),
    st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ),
)
naive = st.one_of(st.datetimes(), st.just(datetime.max), st.just(datetime.min))
deltas = st.one_of(
    st.timedeltas(), st.sampled_from([timedelta(0), -timedelta(days=1), timedelta.max])
)
garbage = st.one_of(
    st.sampled_from([None, 0.8, -1, 10**30, True, b"\x00", [], {}, (), object(), "", "\n"]),
    st.sampled_from([float("nan"), Decimal("NaN"), Decimal("-1E+999"), 1j, frozenset({1})]),
    naive,
    texts,
    st.lists(st.sampled_from([None, 1, "x"]), max_size=2),
    st.sampled_from([time(12), Ellipsis, NotImplemented]),
)


# --- a pool of real instances ----------------------------------------------------------


@cache
def pool() -> dict[type, list[Any]]:
    """Real, valid instances of the domain types, built through the public API."""
    day = date(2024, 2, 29)
    now = datetime(2024, 3, 1, 9, tzinfo=UTC)
    catalog = Catalog.default()
    model = catalog.get(next(iter(catalog)))
    reg = register("AS1234567890", model.model, day)
    lic = License("L-1", Plan.ADVANCED, 12, date(2024, 5, 31))
    ext = ExtendedWarranty("W-1", model.warranty_extension_sku, 12, date(2024, 6, 1))
    cov = coverage(day, [lic], warranties=[ext])
    contact = Contact("Acme Data Ltd", "Alice Martin", "alice@example.com", "IT", "555-0100")
    facts = DeviceFacts(reg.serial, reg.model, cov, warranty_expires_on=date(2026, 2, 28))
    events = list(lifecycle_events(facts))
    pending = invite(
        "alice@example.com", "sales@res.example", "Acme", now, current=None, invitation_id="inv-1"
    )
    accepted = accept(pending, now + timedelta(hours=1))
    key = SigningKey("k1", b"s" * 32)
    keyring = Keyring(key)
    token = sign(keyring, "inv-1", TokenAction.ACCEPT, now + timedelta(days=7))
    sharing = SharingState("alice@example.com", devices=[reg.serial])
    battery = Battery(day)
    rdev = report_device(
        reg,
        catalog,
        licenses=[lic],
        extensions=[ext],
        battery=battery,
        vitals=Vitals(load_percent=12.5),
    )
    recipient = Recipient.owner("alice@example.com")
    notice = Notice(events[0], Stage.DUE, recipient, contact, day) if events else None
    entry = LogEntry(
        now,
        "alice@example.com",
        upslife.Role.OWNER,
        upslife.Action.VIEW,
        reg.serial,
        upslife.Outcome.SUCCEEDED,
        upslife.Severity.INFO,
        "viewed",
    )
    found: dict[type, list[Any]] = {
        Catalog: [catalog],
        upslife.ModelInfo: [model],
        Registration: [reg],
        License: [lic],
        ExtendedWarranty: [ext],
        upslife.Coverage: [cov],
        upslife.Warranty: [warranty(day, 24)],
        Contact: [contact],
        DeviceFacts: [facts],
        LifecycleEvent: events[:3],
        Invitation: [pending, accepted],
        SigningKey: [key],
        Keyring: [keyring],
        SharingState: [sharing],
        Battery: [battery],
        ReportDevice: [rdev],
        Recipient: [recipient, Recipient.route(ChatRoute(ChatKind.SLACK, "ops"))],
        ChatRoute: [ChatRoute(ChatKind.SLACK, "ops")],
        EventId: [EventId(reg.serial, EventKind.PLAN_EXPIRY, day)],
        SentStage: [SentStage(EventId(reg.serial, EventKind.PLAN_EXPIRY, day), Stage.DUE, day)],
        EventLog: [EventLog([entry])],
        LogEntry: [entry],
        ActivationCode: [ActivationCode("C-1", Plan.STANDARD, Term.Y1, 3, "i@x.example")],
        upslife.Promotion: [VolumePromotion("vol", 5, 1)],
        ResellerPrompt: [ResellerPrompt()],
        Vitals: [Vitals()],
        str: [token, reg.serial, model.model, "alice@example.com"],
    }
    if notice is not None:
        found[Notice] = [notice]
    return found


def _from_pool(cls: type) -> st.SearchStrategy[Any] | None:
    if getattr(cls, "_is_protocol", False):  # not runtime-checkable: take the pool's own
        return st.sampled_from(pool()[cls]) if cls in pool() else None
    candidates = [
        v
        for t, vs in pool().items()
        if isinstance(t, type)
        for v in vs
        if isinstance(v, cls) and t is not str
    ]
    return st.sampled_from(candidates) if candidates else None


# --- annotation -> strategy ------------------------------------------------------------


def _well_typed(tp: Any, name: str) -> st.SearchStrategy[Any]:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is typing.Any or tp is object or isinstance(tp, typing.TypeVar):
        return st.one_of(_any_domain(), texts, emails, dates, aware, ints)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*[values_for(a, name) for a in args])
    if origin is typing.Literal:
        return st.sampled_from(args)
    if (
        (origin in (tuple,)
        and len(args) == 2
        and args[1] is Ellipsis)
        or origin
        in (
            list,
            set,
            frozenset,
            cabc.Iterable,
            cabc.Sequence,
            cabc.Collection,
            cabc.Iterator,
            cabc.Container,
        )
    ):
        inner = args[0] if args else object
        return st.lists(values_for(inner, name), max_size=3).map(tuple if origin is tuple else list)
    if origin is tuple:
        return st.tuples(*[values_for(a, name) for a in args])
    if origin in (dict, cabc.Mapping):
        k, v = args if args else (str, object)
        keys = values_for(k, name).filter(_hashable)
        return st.dictionaries(keys, values_for(v, name), max_size=3)
    if origin is cabc.Callable or tp is cabc.Callable:
        return st.sampled_from(
            [upslife.default_plan_license_sku, lambda *a: None, lambda *a: "", lambda *a: "\n"]
        )
    if tp is bool:
        return st.booleans()
    if tp is int:
        return ints
    if tp is float:
        return st.one_of(floats, ints)
    if tp is Decimal:
        return st.one_of(st.decimals(), st.sampled_from([Decimal("1E+999999")]))
    if tp is str:
        if "email" in name or name in ("user", "by", "owner", "owner_id", "new_owner"):
            return st.one_of(emails, st.sampled_from(pool()[str]))
        return st.one_of(texts, st.sampled_from(pool()[str]))
    if tp is bytes:
        return st.binary(max_size=40)
    if tp is datetime:
        return aware
    if tp is date:
        return dates
    if tp is timedelta:
        return deltas
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    if isinstance(tp, type):
        found = _from_pool(tp)
        if found is not None:
            return found
    return garbage


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _any_domain() -> st.SearchStrategy[Any]:
    return st.sampled_from([v for t, vs in pool().items() for v in vs])


def values_for(tp: Any, name: str = "") -> st.SearchStrategy[Any]:
    """Hostile values for a parameter annotated ``tp``: well typed or not."""
    return st.one_of(_well_typed(tp, name), garbage)


def _hints(target: Any) -> dict[str, Any]:
    func = target.__init__ if inspect.isclass(target) else target
    module = vars(inspect.getmodule(target) or upslife)
    try:
        return typing.get_type_hints(func, globalns=module)
    except Exception:
        return {}


def call_arguments(target: Any) -> st.SearchStrategy[tuple[list[Any], dict[str, Any]]]:
    """Positional and keyword arguments for every parameter of ``target``.

    Optional parameters are sometimes left out, so defaults are exercised too.
    """
    sig = inspect.signature(target)
    hints = _hints(target)
    parameters = [
        p for p in sig.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    # Built once per target: building strategies on every example costs more than the call.
    strategies = {p.name: values_for(hints.get(p.name, object), p.name) for p in parameters}

    @st.composite
    def build(draw: st.DrawFn) -> tuple[list[Any], dict[str, Any]]:
        positional: list[Any] = []
        keywords: dict[str, Any] = {}
        skipping = False
        for p in parameters:
            strategy = strategies[p.name]
            optional = p.default is not p.empty
            if p.kind is p.KEYWORD_ONLY:
                if not optional or draw(st.booleans()):
                    keywords[p.name] = draw(strategy)
                continue
            if optional and (skipping or draw(st.booleans())):
                skipping = True
                if draw(st.booleans()):
                    keywords[p.name] = draw(strategy)
                continue
            positional.append(draw(strategy))
        return positional, keywords

    return build()
