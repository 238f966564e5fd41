"""Retries are bounded by time and by the notice's usefulness, not by a count of attempts.

A 90-day notice is worth retrying until the 30-day notice takes over, a due-date notice
until its grace days end (SPEC N2, N3); whatever the stage, never less than
``min_retry_days`` after the day it was planned for.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from upslife.app import DeliverySettings
from upslife.app.sweep import useful_until
from upslife.notifications import (
    Contact,
    EventKind,
    LifecycleEvent,
    Notice,
    Recipient,
    Stage,
)
from upslife.ports import DeliveryStatus, OutboxItem
from upslife.rendering import message_id_for

from .conftest import Fleet

CUSTOMER = Contact("Acme", "Ada Lovelace", "ops@acme.example")


def _notice(stage: Stage, due: date, sent_on: date) -> Notice:
    event = LifecycleEvent("AS1", EventKind.WARRANTY_EXPIRY, due, model="SMT1500C")
    return Notice(event, stage, Recipient.owner("ops@acme.example"), CUSTOMER, sent_on)


def _item(day: date) -> OutboxItem:
    return OutboxItem("k", "AS1", "ops@acme.example", Recipient.owner("x@y.example"), day, "{}")


DATED = st.sampled_from([Stage.D90, Stage.D30, Stage.D7, Stage.DUE])


@given(
    stage=DATED,
    due=st.dates(date(2001, 1, 1), date(2090, 1, 1)),
    lead=st.integers(0, 120),
    floor=st.integers(0, 30),
)
def test_a_notice_is_retried_until_its_next_stage_and_never_less_than_the_floor(
    stage: Stage, due: date, lead: int, floor: int
) -> None:
    sent_on = due - timedelta(days=lead)
    settings = DeliverySettings(min_retry_days=floor)
    last = useful_until(_item(sent_on), _notice(stage, due, sent_on), settings)
    assert last >= sent_on + timedelta(days=floor)
    next_stage = {Stage.D90: 30, Stage.D30: 7, Stage.D7: 1}
    if stage in next_stage:
        # not past the day the next stage is planned, unless the floor says so
        assert last == max(due - timedelta(days=next_stage[stage]), sent_on + timedelta(floor))
    else:
        assert last == max(due + timedelta(days=7), sent_on + timedelta(days=floor))


def test_a_server_down_for_weeks_keeps_the_notice_until_it_is_useless_then_says_why(
    fleet: Fleet,
) -> None:
    # The 90-day notice of a trial ending 2026-05-01 is planned on 2026-01-31 and worth
    # sending until 2026-04-01, when the 30-day notice takes over.
    fleet.device("AS0000000001", on=date(2025, 11, 1))
    fleet.mail.down = True
    day = date(2026, 1, 31)
    key = None
    while day <= date(2026, 4, 3):
        fleet.sweep_on(day, hour=12)
        if key is None:
            (item,) = fleet.store.items()
            key = item.key
        item = fleet.store.get_item(key)
        if day <= date(2026, 4, 1):
            assert item.status is DeliveryStatus.PENDING, day  # 60 attempts, still kept
        else:
            assert item.status is DeliveryStatus.FAILED, day
        day += timedelta(days=1)
    assert key is not None
    given_up = fleet.store.get_item(key)
    assert given_up.last_error is not None
    assert given_up.last_error.startswith("gave up: not delivered by 2026-04-01")
    assert given_up.attempts == 62  # one a day from 2026-01-31 to 2026-04-02

    # the operator brings the server back and retries it by hand: it goes out once
    fleet.mail.down = False
    fleet.service.retry_outbox_item(key)
    fleet.clock.set(datetime(2026, 4, 3, 13, tzinfo=UTC))
    fleet.service.sweep(fleet.mail)
    assert fleet.store.get_item(key).status is DeliveryStatus.SENT
    assert fleet.mail.message_ids.count(message_id_for(key)) == 1
