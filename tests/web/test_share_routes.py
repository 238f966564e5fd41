"""The share link's pages (SPEC S2, S3, S4): who shares which UPS, "sign up first", the
accepted page with the "shared with you" list, and each refusal with its status."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from starlette.testclient import TestClient

from upslife.app.links import Link
from upslife.web import create_app

from .conftest import MSP, OWNER, SIGN_UP_URL, Site

SERIAL = "AS2312345678"


def outcome(html: str) -> str:
    found = re.search(r'data-outcome="([^"]+)"', html)
    assert found, html
    return found.group(1)


@pytest.fixture
def shared(site: Site) -> Site:
    site.service.register_device(OWNER, SERIAL, "SMT1500C", on=date(2025, 10, 1))
    return site


def test_the_share_link_shows_who_shares_which_ups_and_changes_nothing(shared: Site) -> None:
    made = shared.service.share(SERIAL, MSP, by=OWNER)
    assert made.url == shared.url(Link.SHARE, made.token)  # one source for mail and route
    before = shared.dump()
    for method in ("GET", "HEAD") * 3:
        assert shared.client.request(method, made.url).status_code == 200
    page = shared.client.get(made.url)
    assert outcome(page.text) == "share"
    assert "Acme Hosting shares a UPS with you" in page.text
    for shown in ("SMT1500C", SERIAL, MSP, ">Accept shared device</button>"):
        assert shown in page.text
    assert 'data-state="sign-up-first"' not in page.text
    assert shared.dump() == before
    assert shared.service.shared_with_me(MSP) == ()


def test_accepting_shows_the_device_under_shared_with_you(shared: Site) -> None:
    made = shared.service.share(SERIAL, MSP, by=OWNER)
    done = shared.client.post(made.url)
    assert (done.status_code, outcome(done.text)) == (200, "shared")
    assert "<h2>Shared with you</h2>" in done.text
    assert SERIAL in done.text.split("Shared with you")[1]
    (listed,) = shared.service.shared_with_me(MSP)
    assert listed.serial == SERIAL
    for again in (shared.client.get(made.url), shared.client.post(made.url)):
        assert (again.status_code, outcome(again.text)) == (409, "used")


def test_a_user_without_an_account_is_asked_to_sign_up_first(shared: Site) -> None:
    # SPEC S2: the library reports the state; the sign-up URL is configured
    made = shared.service.share(SERIAL, MSP, by=OWNER, user_has_account=False)
    page = shared.client.get(made.url)
    assert 'data-state="sign-up-first"' in page.text
    assert f'href="{SIGN_UP_URL}"' in page.text
    before = shared.dump()
    done = shared.client.post(made.url)
    assert (done.status_code, outcome(done.text)) == (200, "sign-up")
    assert f'href="{SIGN_UP_URL}"' in done.text
    assert shared.dump() == before  # nothing changed: the link works after signing up


def test_the_product_says_when_the_user_has_signed_up(shared: Site) -> None:
    made = shared.service.share(SERIAL, MSP, by=OWNER, user_has_account=False)
    signed_up = {MSP}
    app = create_app(shared.service, has_account=lambda email: email in signed_up)
    with TestClient(app, base_url=shared.links.public_url) as client:
        done = client.post(made.url)
    assert (done.status_code, outcome(done.text)) == (200, "shared")


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_expired_share_link_shows_the_expired_page(shared: Site, method: str) -> None:
    made = shared.service.share(SERIAL, MSP, by=OWNER)
    shared.clock.set(made.share.expires_at + timedelta(seconds=1))
    response = shared.client.request(method, made.url)
    assert (response.status_code, outcome(response.text)) == (410, "expired")
    assert "share invitation has expired" in response.text


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_revoked_share_link_says_the_share_was_withdrawn(shared: Site, method: str) -> None:
    # SPEC S4
    made = shared.service.share(SERIAL, MSP, by=OWNER)
    shared.service.revoke_share(SERIAL, MSP, by=OWNER)
    response = shared.client.request(method, made.url)
    assert response.status_code == 410
    assert outcome(response.text) in {"revoked"}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_share_link_that_is_not_valid_is_refused(shared: Site, method: str) -> None:
    made = shared.service.share(SERIAL, MSP, by=OWNER)
    i = len(made.token) // 2
    bad = made.token[:i] + ("A" if made.token[i] != "A" else "B") + made.token[i + 1 :]
    before = shared.dump()
    response = shared.client.request(method, shared.url(Link.SHARE, bad))
    assert (response.status_code, outcome(response.text)) == (400, "invalid")
    assert shared.dump() == before


def test_the_outbox_never_holds_the_share_token(shared: Site) -> None:
    # issue 13: the accept link of the share mail is signed at delivery
    made = shared.service.share(SERIAL, MSP, by=OWNER)
    assert made.token not in "\n".join(shared.dump())
