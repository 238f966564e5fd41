"""End to end in a real headless Chromium against ``upslife serve`` (SPEC I2–I5, RFC 8058).

The sweep writes the mails to a Maildir; each link the browser opens is taken from a real
message there, as a reseller would click it. The server runs ``--on 2026-01-31`` (its clock
reads 2026-01-31 12:00 UTC), the library in this process sweeps at chosen instants.
Screenshots of every page go to ``test-artifacts/web/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from upslife.app import Lifecycle
from upslife.invitations import InvitationState
from upslife.notifications import Contact
from upslife.ports import Owner

from .browser import Browser, chromium
from .served import Served, links_in, serving, unsubscribe_url

SERVER_DAY = "2026-01-31"
NOW = datetime(2026, 1, 31, 12, tzinfo=UTC)
ACME, GLOBEX, INITECH = "it@acme.example", "it@globex.example", "it@initech.example"
RESELLER = "sales@reseller.example"
MSP, NEWCOMER = "noc@msp.example", "new@msp.example"


def _owner(email: str, company: str) -> Owner:
    return Owner(email, Contact(company, "Ada Lovelace", email, "IT manager"), "Europe/Paris")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("served")
    with serving(folder, on=SERVER_DAY) as site:
        service, store = site.service(datetime(2026, 1, 20, 9, tzinfo=UTC))
        service.add_owner(_owner(ACME, "Acme Hosting"))
        service.add_owner(_owner(GLOBEX, "Globex Clinics"))
        service.add_owner(_owner(INITECH, "Initech Retail"))
        service.register_device(ACME, "AS0000000001", "SMT1500C", on=date(2025, 11, 1))
        service.invite_reseller(GLOBEX, "other@reseller.example", invitation_id="globex-1")
        store.close()
        site.sweep(datetime(2026, 1, 20, 9, tzinfo=UTC))
        service, store = site.service(datetime(2026, 1, 30, 9, tzinfo=UTC))
        service.invite_reseller(ACME, RESELLER, invitation_id="acme-1")
        service.invite_reseller(INITECH, "team@initech-partner.example", invitation_id="initech-1")
        service.share("AS0000000001", MSP, by=ACME)
        service.share("AS0000000001", NEWCOMER, by=ACME, user_has_account=False)
        store.close()
        site.sweep(datetime(2026, 1, 30, 9, tzinfo=UTC))
        yield site


def _invitation_links(site: Served, to: str) -> list[str]:
    (message,) = site.mail_to(to, "invites you")
    links = links_in(message)
    assert [u.split("/")[4] for u in links] == ["accept", "decline", "unsubscribe"]
    return links


@contextmanager
def _library(site: Served) -> Iterator[Lifecycle]:
    """The library on the site's database at ``NOW``, closed afterwards."""
    service, store = site.service(NOW)
    try:
        yield service
    finally:
        store.close()


def _state(site: Served, invitation_id: str) -> InvitationState:
    with _library(site) as service:
        return service.store.get_invitation(invitation_id).state


def _page(
    browser: Browser, outcome: str, screenshot: str | None = None, *, heading: str | None = None
) -> str:
    """The page the browser shows is the ``outcome`` page (with ``heading``, when given);
    its screenshot is kept as ``screenshot``. Returns the page's text."""
    assert browser.outcome == outcome
    if heading is not None:
        assert browser.heading == heading
    if screenshot is not None:
        browser.screenshot(screenshot)
    return browser.text


def test_a_reseller_accepts_in_the_browser_and_the_link_is_then_used(
    served: Served, tmp_path: Path
) -> None:
    accept, _, _ = _invitation_links(served, RESELLER)
    assert accept.startswith(served.public_url + "/reseller/accept/v1.")
    with chromium(tmp_path / "profile") as browser:
        browser.open(accept)
        text = _page(
            browser,
            "invitation",
            "1-invitation",
            heading="Acme Hosting invites you to renewal support",
        )
        assert "valid until 6 February 2026 at 09:00 UTC" in text
        assert _state(served, "acme-1") is InvitationState.PENDING  # the GET changed nothing
        browser.press("Accept invite")
        _page(browser, "accepted", "2-accepted", heading="You now support Acme Hosting")
        assert _state(served, "acme-1") is InvitationState.ACCEPTED

        browser.open(accept)
        _page(browser, "used", "3-already-used", heading="This link was already used")


def test_an_expired_invitation_link_shows_the_expired_page(served: Served, tmp_path: Path) -> None:
    # SPEC I2, I3: Globex's invitation was sent on 2026-01-20, 11 days before
    accept, _, _ = _invitation_links(served, "other@reseller.example")
    with chromium(tmp_path / "profile") as browser:
        browser.open(accept)
        text = _page(browser, "expired", "4-expired", heading="This invitation has expired")
        assert "ask them to send you a new invitation" in text


def test_a_reseller_declines_in_the_browser(served: Served, tmp_path: Path) -> None:
    _, decline, _ = _invitation_links(served, "team@initech-partner.example")
    with chromium(tmp_path / "profile") as browser:
        browser.open(decline)
        _page(browser, "invitation", "5-decline", heading="Decline Initech Retail's invitation?")
        browser.press("Decline")
        _page(browser, "declined", "6-declined")
    assert _state(served, "initech-1") is InvitationState.DECLINED


def test_the_unsubscribe_link_of_a_notice_confirms_and_the_owner_is_told(
    served: Served, tmp_path: Path
) -> None:
    # SPEC I4, I5, N6, RFC 8058; runs after the acceptance above
    if _state(served, "acme-1") is not InvitationState.ACCEPTED:
        pytest.fail("test_a_reseller_accepts_in_the_browser... must run first")
    served.sweep(NOW)  # the 90-day notice of AS0000000001's trial end goes to the reseller
    (notice,) = [m for m in served.mail_to(RESELLER) if "AS0000000001" in str(m)]
    url = unsubscribe_url(notice)
    assert url.startswith(served.public_url + "/reseller/unsubscribe/v1.")
    with chromium(tmp_path / "profile") as browser:
        browser.open(url)
        _page(
            browser,
            "unsubscribe",
            "7-unsubscribe",
            heading="Unsubscribe from Acme Hosting's renewal notices",
        )
        assert _state(served, "acme-1") is InvitationState.ACCEPTED
        browser.press("Unsubscribe")
        assert "Acme Hosting has been told" in _page(browser, "unsubscribed", "8-unsubscribed")
    assert _state(served, "acme-1") is InvitationState.OPTED_OUT
    served.sweep(NOW)
    told = served.mail_to(ACME, "Your reseller unsubscribed")
    assert len(told) == 1  # SPEC I4


def _share_link(site: Served, to: str) -> str:
    (message,) = site.mail_to(to, "shares a UPS with you")
    links = [u for u in links_in(message) if "/share/" in u]
    assert len(links) == 1, links
    return links[0]


def test_a_share_link_accepted_in_the_browser_lists_the_device_as_shared(
    served: Served, tmp_path: Path
) -> None:
    # SPEC S2, S3
    url = _share_link(served, MSP)
    assert url.startswith(served.public_url + "/share/v1.")
    with chromium(tmp_path / "profile") as browser:
        browser.open(url)
        text = _page(browser, "share", "9-share", heading="Acme Hosting shares a UPS with you")
        assert "AS0000000001" in text
        browser.press("Accept shared device")
        shared_list = _page(browser, "shared", "10-shared-with-me").split("Shared with you")[1]
        assert "SMT1500C AS0000000001 from Acme Hosting" in shared_list
        browser.open(url)
        _page(browser, "used")
    with _library(served) as service:
        assert [d.serial for d in service.shared_with_me(MSP)] == ["AS0000000001"]


def test_a_share_link_for_a_user_without_an_account_asks_to_sign_up_first(
    served: Served, tmp_path: Path
) -> None:
    # SPEC S2: the library reports the state, the configured sign-up URL is offered
    url = _share_link(served, NEWCOMER)
    with chromium(tmp_path / "profile") as browser:
        browser.open(url)
        assert "Sign up first" in _page(browser, "share", "11-share-sign-up-first")
        browser.press("Accept shared device")
        _page(browser, "sign-up", "12-sign-up", heading="Sign up first")
    with _library(served) as service:
        assert service.shared_with_me(NEWCOMER) == ()
