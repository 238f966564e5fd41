"""A daily digest's unsubscribe link (SPEC N10, I4): its page names every customer it
speaks for and one click opts out of all of them. And a store that fails answers 503."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import attrs
import pytest

from upslife.app.links import Link
from upslife.errors import StorageError
from upslife.invitations import InvitationState, TokenAction
from upslife.notifications import Contact, DeliveryPreference
from upslife.ports import Owner
from upslife.testing.fakes import RecordingMail

from .conftest import OWNER, RESELLER, Site

GLOBEX = "it@globex.example"


def outcome(html: str) -> str:
    found = re.search(r'data-outcome="([^"]+)"', html)
    assert found, html
    return found.group(1)


def test_a_digest_unsubscribe_page_names_every_customer_and_one_click_ends_all(
    site: Site,
) -> None:
    service = site.service
    service.add_owner(Owner(GLOBEX, Contact("Globex Clinics", "Grace", GLOBEX), "Europe/Paris"))
    for owner, serial in ((OWNER, "AS0000000001"), (GLOBEX, "AS0000000002")):
        stored = site.store.get_owner(owner)
        site.store.save_owner(
            attrs.evolve(stored, reseller_delivery=DeliveryPreference.DAILY_DIGEST)
        )
        service.register_device(owner, serial, "SMT1500C", on=date(2025, 11, 1))
        site.clock.set(datetime(2026, 1, 2, tzinfo=UTC))
        links = service.invite_reseller(owner, RESELLER, invitation_id=f"inv-{serial}")
        service.respond(links.accept_token, TokenAction.ACCEPT)
    site.clock.set(datetime(2026, 1, 31, 8, tzinfo=UTC))
    mail = RecordingMail()
    service.sweep(mail)
    (digest,) = [m for m in mail.sent if m["To"] == RESELLER and "AS0000000002" in str(m)]
    url = re.findall(r"<(https://[^>]+)>", str(digest["List-Unsubscribe"]))[0]
    assert url.startswith(site.links.public_url + "/reseller/unsubscribe/")

    page = site.client.get(url)
    assert (page.status_code, outcome(page.text)) == (200, "unsubscribe")
    names = re.search(r"<h1>Unsubscribe from the renewal notices of (.*)</h1>", page.text)
    assert names is not None
    assert sorted(names.group(1).split(" and ")) == ["Acme Hosting", "Globex Clinics"]
    done = site.client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert (done.status_code, outcome(done.text)) == (200, "unsubscribed")
    assert " have been told" in done.text
    for serial in ("AS0000000001", "AS0000000002"):
        assert site.store.get_invitation(f"inv-{serial}").state is InvitationState.OPTED_OUT
    told = sorted(i.key for i in site.store.items() if i.key.endswith(":opted-out"))
    assert told == [
        "owner-notice:inv-AS0000000001:opted-out",
        "owner-notice:inv-AS0000000002:opted-out",
    ]  # SPEC I4: each owner, once
    again = site.client.get(url)  # reusable (SPEC I5): nothing left to do
    assert (again.status_code, outcome(again.text)) == (200, "unsubscribe")
    assert "there is nothing to do" in again.text
    assert ">Unsubscribe</button>" not in again.text


def test_a_store_that_fails_answers_503_and_says_to_try_again(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    links = site.invite()

    def broken(_: str) -> None:
        raise StorageError("disk I/O error")

    monkeypatch.setattr(site.store, "get_invitation", broken)
    response = site.client.get(site.url(Link.ACCEPT, links.accept_token))
    assert (response.status_code, outcome(response.text)) == (503, "unavailable")
    assert site.client.get("/healthz").status_code == 200  # token_used still answers
