"""Seeing and repairing the outbox: list what waits or failed, show why, retry, requeue a day
(through the ``Lifecycle`` use cases and through ``upslife outbox``)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from upslife.adapters.sqlite import SqliteStore
from upslife.app.outbox import OutboxState, state_of
from upslife.cli import main
from upslife.errors import NotFound, OutboxItemNotRetryable
from upslife.notifications import DeliveryPreference
from upslife.ports import DeliveryStatus

from .conftest import Fleet

DAY = date(2026, 1, 31)


def _two_failed_one_sent(fleet: Fleet) -> tuple[str, str, str]:
    """Three devices' 90-day notices: two refused (5xx), then one sent."""
    for n in range(3):
        fleet.device(f"AS000000000{n}", on=date(2025, 11, 1))
    fleet.clock.set(datetime(2026, 1, 31, 8, tzinfo=UTC))
    fleet.mail.refuse = True
    fleet.service.sweep(fleet.mail)
    keys = sorted(i.key for i in fleet.store.items())
    fleet.mail.refuse = False
    fleet.service.retry_outbox_item(keys[2])
    fleet.service.sweep(fleet.mail)
    return keys[0], keys[1], keys[2]


def test_list_show_retry_and_requeue_a_day(fleet: Fleet) -> None:
    failed_a, failed_b, sent = _two_failed_one_sent(fleet)
    failed = fleet.service.outbox(states={OutboxState.FAILED})
    assert [e.item.key for e in failed] == [failed_a, failed_b]
    assert all("550" in (e.item.last_error or "") for e in failed)
    assert failed[0].summary.startswith("Standard Plan Expires")
    shown = fleet.service.outbox_item(sent)
    assert shown.state is OutboxState.SENT

    retried = fleet.service.retry_outbox_item(failed_a)
    assert retried.state is OutboxState.RETRYING  # tried before: its history is kept
    assert retried.item.last_error is not None
    with pytest.raises(OutboxItemNotRetryable):
        fleet.service.retry_outbox_item(sent)  # never sent twice by hand
    with pytest.raises(NotFound):
        fleet.service.retry_outbox_item("no-such-key")

    assert fleet.service.requeue_outbox_day(DAY) == (failed_b,)
    assert fleet.service.requeue_outbox_day(date(2026, 2, 1)) == ()
    report = fleet.service.sweep(fleet.mail)
    assert report.delivery.sent == 2
    assert {i.status for i in fleet.store.items()} == {DeliveryStatus.SENT}


def test_held_and_digested_items_are_not_retried_by_hand(fleet: Fleet) -> None:
    # SPEC N10: a notice held for a digest goes out in the digest, not on its own.
    fleet.set_delivery(reseller=DeliveryPreference.DAILY_DIGEST)
    fleet.device("AS0000000001", on=date(2025, 11, 1))
    fleet.connect_reseller(at=datetime(2026, 1, 2, tzinfo=UTC))
    fleet.sweep_on(DAY)
    states = {state_of(i) for i in fleet.store.items()}
    assert OutboxState.DIGESTED in states
    digested = next(i for i in fleet.store.items() if state_of(i) is OutboxState.DIGESTED)
    with pytest.raises(OutboxItemNotRetryable):
        fleet.service.retry_outbox_item(digested.key)


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_outbox_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("UPSLIFE_DB", "UPSLIFE_MAIL", "UPSLIFE_SECRET"):
        monkeypatch.delenv(name, raising=False)
    db = tmp_path / "fleet.db"
    store = SqliteStore(db)
    failed_a, failed_b, sent = _two_failed_one_sent(Fleet(store))
    store.close()
    base = ("--db", str(db))

    code, out, _ = _cli(capsys, *base, "outbox", "list")
    assert code == 0
    assert out.splitlines()[-1] == "0 pending, 0 retrying, 2 failed"
    assert failed_a in out
    assert sent not in out

    code, out, _ = _cli(capsys, *base, "outbox", "list", "--state", "sent", "--json")
    assert code == 0
    assert [i["key"] for i in json.loads(out)["items"]] == [sent]

    code, out, _ = _cli(capsys, *base, "outbox", "show", failed_a)
    assert code == 0
    assert "last_error: 550 mailbox unavailable (simulated)" in out

    code, out, _ = _cli(capsys, *base, "outbox", "retry", failed_a)
    assert code == 0
    assert "pending again" in out
    code, _, err = _cli(capsys, *base, "outbox", "retry", sent)
    assert code == 2
    assert err.count("\n") == 1
    assert "only failed or pending" in err
    code, _, err = _cli(capsys, *base, "outbox", "show", "nope")
    assert code == 2
    assert err.count("\n") == 1

    code, out, _ = _cli(capsys, *base, "outbox", "requeue", "--day", "2026-01-31", "--json")
    assert code == 0
    assert json.loads(out) == {"requeued": [failed_b]}
    code, out, _ = _cli(capsys, *base, "outbox", "list", "--state", "retrying")
    assert code == 0
    assert out.splitlines()[-1] == "2 retrying"
