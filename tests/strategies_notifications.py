"""Hypothesis strategies for lifecycle events and notices (SPEC N1–N10).

Shared with the tests of code built on notices (rendering, sweeps): dates come from
``tests.strategies.dates``, so month ends and 29 February are frequent.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import strategies as st

from tests.strategies import dates
from upslife.entitlements import Plan
from upslife.invitations import InvitationState
from upslife.notifications import (
    SCHEDULE,
    ChatKind,
    ChatRoute,
    Contact,
    EventKind,
    LifecycleEvent,
    Recipient,
    Stage,
)

SERIALS = st.sampled_from(["AS1234567890", "AS0987654321", "3S2105X01234"])
MODELS = st.sampled_from(["SMT1500RMI2UC", "SMT750IC", "SRT3000XLI"])
DATED_KINDS = st.sampled_from([k for k in EventKind if k.has_due_date])
STATES = st.sampled_from(list(InvitationState))
SCHEDULE_STAGES = st.sampled_from(SCHEDULE)


def contacts() -> st.SearchStrategy[Contact]:
    """An owner's contact, with or without job role and phone."""
    return st.builds(
        Contact,
        company=st.sampled_from(["Acme Data Ltd", "Bäckerei Müller GmbH", "O'Neil & Sons"]),
        full_name=st.sampled_from(["Alice Martin", "Bob Ng", "Zoë Ferré"]),
        email=st.sampled_from(["alice@example.com", "it@acme.example", "Bob.Ng@Example.ORG"]),
        job_role=st.sampled_from([None, "IT manager", "Facilities"]),
        phone=st.sampled_from([None, "+44 20 7946 0000", "555-0100"]),
    )


def recipients() -> st.SearchStrategy[Recipient]:
    """Owner, reseller or chat-route recipients from a small pool, so that repeats occur."""
    return st.one_of(
        st.sampled_from(["alice@example.com", "it@acme.example"]).map(Recipient.owner),
        st.sampled_from(["sales@reseller.example", "alice@example.com"]).map(Recipient.reseller),
        st.builds(
            ChatRoute, st.sampled_from(list(ChatKind)), st.sampled_from(["ops", "alerts"])
        ).map(Recipient.route),
    )


@st.composite
def events(draw: st.DrawFn, kind: EventKind | None = None) -> LifecycleEvent:
    """Any lifecycle event; plan expiries name a paid plan, failures a report day."""
    kind = kind or draw(st.sampled_from(list(EventKind)))
    serial, model = draw(SERIALS), draw(MODELS)
    day = draw(dates())
    if kind is EventKind.BATTERY_FAILURE:
        return LifecycleEvent(serial, kind, None, sku="APCRBC152", model=model, reported_on=day)
    plan = (
        draw(st.sampled_from([Plan.STANDARD, Plan.ADVANCED]))
        if kind is EventKind.PLAN_EXPIRY
        else None
    )
    return LifecycleEvent(
        serial, kind, day, plan, draw(st.sampled_from([None, "SKU-1"])), model=model
    )


@st.composite
def sweep_days(draw: st.DrawFn, around: date, before: int = 100, after: int = 15) -> list[date]:
    """Sorted sweep days near ``around``: random gaps, repeated days, possibly none at all."""
    offsets = draw(st.lists(st.integers(-before, after), max_size=40))
    return sorted(around + timedelta(days=offset) for offset in offsets)


def stage_for(kind: EventKind) -> st.SearchStrategy[Stage]:
    """A stage that fits the kind: IMMEDIATE for a failure, a schedule stage otherwise."""
    return st.just(Stage.IMMEDIATE) if kind is EventKind.BATTERY_FAILURE else SCHEDULE_STAGES


@st.composite
def notice_parts(draw: st.DrawFn) -> tuple[LifecycleEvent, Stage, Recipient]:
    """An event, a stage that fits it and a recipient: what identifies a notice (SPEC N9)."""
    event = draw(events())
    return event, draw(stage_for(event.kind)), draw(recipients())
