"""The owner deletes a device while the user it was shared with accepts the share, from two
processes on one store: whichever lands first, the device is gone, no share of it is left
live, and nothing of it is listed as shared (SPEC S3, S4; compare-and-set)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.stories import race_worker
from upslife.app import FixedClock, Lifecycle
from upslife.errors import UnknownDevice
from upslife.notifications import Contact
from upslife.ports import Owner
from upslife.sharing import ShareState, ShareVia

ROUNDS = 20
OWNER = "ops@acme.example"
MSP = "noc@msp.example"


def _race(where: str) -> list[tuple[str, str]]:
    store = race_worker.open_store(where)
    service = Lifecycle(store, clock=FixedClock(race_worker.NOW), keyring=race_worker.KEYRING)
    service.add_owner(Owner(OWNER, Contact("Acme", "Ada", OWNER, "IT", "+33 1")))
    outcomes = []
    try:
        with race_worker.rivals(where) as race:
            for n in range(ROUNDS):
                serial = f"AS23{n:08d}"
                service.register_device(OWNER, serial, "SMT1500C", on=date(2025, 6, 1))
                made = service.share(serial, MSP, by=OWNER, via=ShareVia.LINK)
                got = race(n, ("delete", (serial, OWNER)), ("accept-share", made.token))
                outcomes.append((got["delete"], got["accept-share"]))
                with pytest.raises(UnknownDevice):
                    store.get_device(serial)
                live = [
                    s
                    for s in store.get_sharing(OWNER).shares
                    if s.device == serial and s.state in (ShareState.ACTIVE, ShareState.PENDING)
                ]
                assert live == [], (n, got)
                assert serial not in store.get_sharing(OWNER).devices
                assert service.shared_with_me(MSP) == ()
    finally:
        store.close()
    return outcomes


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_deleting_while_the_share_is_accepted_leaves_no_share_of_a_device_that_is_gone(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    outcomes = _race(race_worker.store_for(backend, tmp_path, request))
    for deleted, accepted in outcomes:
        assert deleted == "won"  # the owner's deletion is never refused by an accept
        assert accepted in ("won", "TokenTampered", "ShareNotPending"), accepted
    assert len(outcomes) == ROUNDS
