"""Every page of the mailed links and every refusal, with its HTTP status (SPEC I2–I6, N6),
through an HTTP client against the ASGI app on a real SQLite file."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest

from upslife.app.links import Link
from upslife.invitations import InvitationState, Keyring, SigningKey, TokenAction, sign
from upslife.web.outcomes import REFUSALS
from upslife.web.security import SECURITY_HEADERS

from .conftest import OWNER, Site


def outcome(html: str) -> str:
    found = re.search(r'data-outcome="([^"]+)"', html)
    assert found, html
    return found.group(1)


def heading(html: str) -> str:
    found = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert found, html
    return found.group(1)


# --------------------------------------------------------------------------- invitation


def test_the_accept_link_shows_the_invitation_with_both_buttons_and_changes_nothing(
    site: Site,
) -> None:
    links = site.invite()
    before = site.dump()
    page = site.client.get(site.url(Link.ACCEPT, links.accept_token))
    assert page.status_code == 200
    assert outcome(page.text) == "invitation"
    assert "Acme Hosting invites you" in heading(page.text)
    assert ">Accept invite</button>" in page.text
    assert ">Decline</button>" in page.text
    # each button posts to its own signed link, the ones the mail carries
    assert f'action="/reseller/accept/{links.accept_token}"' in page.text
    assert f'action="/reseller/decline/{links.decline_token}"' in page.text
    # SPEC N6: the company name is the only customer detail
    for private in ("Ada Lovelace", "IT manager", "+33 1 23 45 67", OWNER):
        assert private not in page.text
    assert "8 November 2025 at 08:00 UTC" in page.text  # SPEC I2: 7 × 24 h
    assert site.dump() == before


def test_pressing_accept_connects_the_reseller(site: Site) -> None:
    links = site.invite()
    page = site.client.post(site.url(Link.ACCEPT, links.accept_token))
    assert (page.status_code, outcome(page.text)) == (200, "accepted")
    assert "You now support Acme Hosting" in heading(page.text)
    assert site.store.get_invitation(links.invitation.id).state is InvitationState.ACCEPTED


def test_an_accept_link_used_once_shows_already_used_on_get_and_post(site: Site) -> None:
    # SPEC I5: accept tokens are single-use
    links = site.invite()
    url = site.url(Link.ACCEPT, links.accept_token)
    site.client.post(url)
    for response in (site.client.get(url), site.client.post(url)):
        assert (response.status_code, outcome(response.text)) == (409, "used")
        assert "already used" in heading(response.text)


def test_the_decline_link_asks_first_then_declines_and_the_owner_is_told(site: Site) -> None:
    # SPEC I1, I4
    links = site.invite()
    url = site.url(Link.DECLINE, links.decline_token)
    page = site.client.get(url)
    assert (page.status_code, outcome(page.text)) == (200, "invitation")
    assert "Decline Acme Hosting" in heading(page.text)
    assert site.owner_mails() == []
    done = site.client.post(url)
    assert (done.status_code, outcome(done.text)) == (200, "declined")
    assert site.store.get_invitation(links.invitation.id).state is InvitationState.DECLINED
    assert site.owner_mails() == [f"owner-notice:{links.invitation.id}:declined"]
    again = site.client.get(site.url(Link.ACCEPT, links.accept_token))
    assert (again.status_code, outcome(again.text)) == (410, "declined")


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_expired_invitation_shows_the_expired_page(site: Site, method: str) -> None:
    # SPEC I2, I3: at exactly 7 × 24 h the invitation has expired
    links = site.invite()
    site.clock.set(links.invitation.expires_at)
    response = site.client.request(method, site.url(Link.ACCEPT, links.accept_token))
    assert (response.status_code, outcome(response.text)) == (410, "expired")
    assert "ask them to send you a new invitation" in response.text
    assert "Acme Hosting" in response.text


def test_one_microsecond_before_the_expiry_the_invitation_is_still_open(site: Site) -> None:
    links = site.invite()
    site.clock.set(links.invitation.expires_at - timedelta(microseconds=1))
    response = site.client.post(site.url(Link.ACCEPT, links.accept_token))
    assert (response.status_code, outcome(response.text)) == (200, "accepted")


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_withdrawn_invitation_shows_the_withdrawn_page(site: Site, method: str) -> None:
    # SPEC I3
    links = site.invite()
    site.service.cancel_invitation(OWNER)
    response = site.client.request(method, site.url(Link.ACCEPT, links.accept_token))
    assert (response.status_code, outcome(response.text)) == (410, "cancelled")
    assert "withdrawn" in heading(response.text)


def test_after_a_disconnect_the_links_show_the_connection_has_ended(site: Site) -> None:
    # SPEC I3, I6
    links = site.invite()
    site.client.post(site.url(Link.ACCEPT, links.accept_token))
    site.service.disconnect_reseller(OWNER)
    for response in (
        site.client.get(site.url(Link.ACCEPT, links.accept_token)),
        site.client.get(site.url(Link.DECLINE, links.decline_token)),
        site.client.post(site.url(Link.DECLINE, links.decline_token)),
    ):
        assert (response.status_code, outcome(response.text)) == (410, "disconnected")


def test_pressing_a_used_accept_button_after_a_disconnect_says_the_connection_ended(
    site: Site,
) -> None:
    # SPEC I3: the distinct outcome, even for a link used before (issue 12)
    links = site.invite()
    site.client.post(site.url(Link.ACCEPT, links.accept_token))
    site.service.disconnect_reseller(OWNER)
    response = site.client.post(site.url(Link.ACCEPT, links.accept_token))
    assert (response.status_code, outcome(response.text)) == (410, "disconnected")


def test_after_opting_out_the_accept_link_says_so(site: Site) -> None:
    # SPEC I6
    links = site.invite()
    site.client.post(site.url(Link.ACCEPT, links.accept_token))
    site.client.post(
        site.url(Link.UNSUBSCRIBE, links.unsubscribe_token),
        data={"List-Unsubscribe": "One-Click"},
    )
    response = site.client.get(site.url(Link.ACCEPT, links.accept_token))
    assert (response.status_code, outcome(response.text)) == (410, "opted-out")


def _tampered(token: str) -> str:
    i = len(token) // 2
    return token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_token_that_is_not_valid_is_refused_with_400(site: Site, method: str) -> None:
    # SPEC I5: tampered, wrong action, unknown key, garbage
    links = site.invite()
    other_key = Keyring(SigningKey("k9", b"another-secret-of-thirty-two-bytes"))
    foreign = sign(other_key, links.invitation.id, TokenAction.ACCEPT, links.invitation.expires_at)
    for url in (
        site.url(Link.ACCEPT, _tampered(links.accept_token)),
        site.url(Link.ACCEPT, links.decline_token),  # a decline token on the accept link
        site.url(Link.DECLINE, links.unsubscribe_token),
        site.url(Link.ACCEPT, foreign),
        site.url(Link.ACCEPT, "not-a-token"),
        site.url(Link.UNSUBSCRIBE, "v1." + "A" * 600),
    ):
        response = site.client.request(method, url, data={"List-Unsubscribe": "One-Click"})
        assert (response.status_code, outcome(response.text)) == (400, "invalid"), url
        assert "not valid" in heading(response.text)
    assert site.store.get_invitation(links.invitation.id).state is InvitationState.PENDING


def test_a_well_signed_token_of_an_unknown_invitation_is_404(site: Site) -> None:
    links = site.invite()
    ghost = sign(
        site_keyring(site), "no-such-invitation", TokenAction.ACCEPT, links.invitation.expires_at
    )
    response = site.client.get(site.url(Link.ACCEPT, ghost))
    assert (response.status_code, outcome(response.text)) == (404, "unknown")


def site_keyring(site: Site) -> Keyring:
    assert site.settings.keyring is not None
    return site.settings.keyring


# --------------------------------------------------------------------------- unsubscribe


def test_the_unsubscribe_link_asks_then_opts_out_and_the_owner_is_told_once(site: Site) -> None:
    # SPEC I1, I4, I5 (reusable), RFC 8058
    links = site.invite()
    site.client.post(site.url(Link.ACCEPT, links.accept_token))
    url = site.url(Link.UNSUBSCRIBE, links.unsubscribe_token)
    page = site.client.get(url)
    assert (page.status_code, outcome(page.text)) == (200, "unsubscribe")
    assert ">Unsubscribe</button>" in page.text
    assert '<input type="hidden" name="List-Unsubscribe" value="One-Click">' in page.text
    done = site.client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert (done.status_code, outcome(done.text)) == (200, "unsubscribed")
    assert "Acme Hosting has been told" in done.text
    assert site.store.get_invitation(links.invitation.id).state is InvitationState.OPTED_OUT
    again = site.client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert (again.status_code, outcome(again.text)) == (200, "unsubscribed")
    assert site.owner_mails() == [f"owner-notice:{links.invitation.id}:opted-out"]
    shown = site.client.get(url)
    assert ">Unsubscribe</button>" not in shown.text  # nothing left to do


def test_unsubscribing_from_a_pending_invitation_declines_it(site: Site) -> None:
    links = site.invite()
    url = site.url(Link.UNSUBSCRIBE, links.unsubscribe_token)
    assert "declines the invitation of Acme Hosting" in site.client.get(url).text
    done = site.client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert site.store.get_invitation(links.invitation.id).state is InvitationState.DECLINED


def test_the_one_click_post_works_as_multipart_form_data_too(site: Site) -> None:
    # RFC 8058 section 3.1 allows both form encodings
    links = site.invite()
    site.client.post(site.url(Link.ACCEPT, links.accept_token))
    response = site.client.post(
        site.url(Link.UNSUBSCRIBE, links.unsubscribe_token),
        files={"List-Unsubscribe": (None, "One-Click")},
    )
    assert (response.status_code, outcome(response.text)) == (200, "unsubscribed")


def test_a_post_without_the_one_click_pair_changes_nothing(site: Site) -> None:
    links = site.invite()
    site.client.post(site.url(Link.ACCEPT, links.accept_token))
    before = site.dump()
    response = site.client.post(
        site.url(Link.UNSUBSCRIBE, links.unsubscribe_token), data={"x": "1"}
    )
    assert response.status_code == 400
    assert site.dump() == before


def test_an_expired_unsubscribe_link_says_to_use_a_newer_mail(site: Site) -> None:
    links = site.invite()
    site.clock.set(site.clock.now() + timedelta(days=366))
    response = site.client.get(site.url(Link.UNSUBSCRIBE, links.unsubscribe_token))
    assert (response.status_code, outcome(response.text)) == (410, "expired")
    assert "more recent mail" in response.text


# --------------------------------------------------------------------------- GET is safe


def test_get_and_head_of_every_link_three_times_change_no_stored_state(site: Site) -> None:
    # Mail scanners fetch every link of a message before the person sees it.
    old = site.invite("old")
    site.client.post(site.url(Link.ACCEPT, old.accept_token))
    site.service.disconnect_reseller(OWNER)
    new = site.invite("new")
    urls = [
        site.url(link, token)
        for links in (old, new)
        for link, token in (
            (Link.ACCEPT, links.accept_token),
            (Link.DECLINE, links.decline_token),
            (Link.UNSUBSCRIBE, links.unsubscribe_token),
        )
    ] + [site.url(Link.ACCEPT, _tampered(new.accept_token)), site.links.public_url + "/healthz"]
    before = site.dump()
    for url in urls:
        for method in ("GET", "HEAD") * 3:
            response = site.client.request(method, url)
            assert response.status_code < 500, url
    assert site.dump() == before
    # and the buttons still work afterwards: nothing was consumed
    accepted = site.client.post(site.url(Link.ACCEPT, new.accept_token))
    assert (accepted.status_code, outcome(accepted.text)) == (200, "accepted")


# --------------------------------------------------------------------------- safe by default


def test_every_response_carries_the_safety_headers(site: Site) -> None:
    links = site.invite()
    for response in (
        site.client.get(site.url(Link.ACCEPT, links.accept_token)),
        site.client.get(site.url(Link.ACCEPT, "bad")),
        site.client.get("/nowhere"),
        site.client.get("/healthz"),
        site.client.get("/static/upslife.css"),
        site.client.put(site.url(Link.ACCEPT, links.accept_token)),
    ):
        for name, value in SECURITY_HEADERS:
            assert response.headers[name] == value, (response.url, name)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_pages_have_a_language_a_heading_labelled_buttons_and_no_external_asset(
    site: Site,
) -> None:
    links = site.invite()
    pages = [
        site.client.get(site.url(Link.ACCEPT, links.accept_token)).text,
        site.client.get(site.url(Link.UNSUBSCRIBE, links.unsubscribe_token)).text,
        site.client.get(site.url(Link.ACCEPT, "bad")).text,
        site.client.get("/nowhere").text,
    ]
    for html in pages:
        assert '<html lang="en">' in html
        assert html.count("<h1>") == 1
        assert "<script" not in html
        for button in re.findall(r"<button[^>]*>(.*?)</button>", html, re.S):
            assert button.strip()
        for ref in re.findall(r'(?:src|href|action)="([^"]+)"', html):
            assert ref.startswith("/"), ref  # same origin only


def test_tokens_never_reach_the_log(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    links = site.invite()
    caplog.set_level(logging.DEBUG)
    site.client.get(site.url(Link.ACCEPT, links.accept_token))
    site.client.post(site.url(Link.DECLINE, links.decline_token))
    site.client.get(
        site.url(Link.UNSUBSCRIBE, links.unsubscribe_token) + "?t=" + links.accept_token
    )
    access = [r.getMessage() for r in caplog.records if r.name == "upslife.web.access"]
    assert len(access) == 3
    assert access[0].startswith("GET /reseller/accept/[token] 200 ")
    # the server's loggers (the test client logs its own requests, as a browser would)
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))
    for token in (links.accept_token, links.decline_token, links.unsubscribe_token):
        assert token not in logged


def test_a_body_above_the_limit_is_refused_with_413_and_changes_nothing(site: Site) -> None:
    links = site.invite()
    before = site.dump()
    big = {"List-Unsubscribe": "One-Click", "pad": "x" * 100_000}
    response = site.client.post(site.url(Link.UNSUBSCRIBE, links.unsubscribe_token), data=big)
    assert response.status_code == 413
    streamed = site.client.post(
        site.url(Link.ACCEPT, links.accept_token), content=iter([b"x" * 10_000] * 5)
    )
    assert streamed.status_code == 413
    assert site.dump() == before


def test_the_health_endpoint_answers(site: Site) -> None:
    response = site.client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_unknown_pages_and_methods_get_pages_too(site: Site) -> None:
    missing = site.client.get("/reseller/accept")
    assert (missing.status_code, outcome(missing.text)) == (404, "not-found")
    links = site.invite()
    wrong = site.client.delete(site.url(Link.ACCEPT, links.accept_token))
    assert wrong.status_code == 405


def test_every_refusal_has_its_own_words_and_a_4xx_status() -> None:
    titles = set()
    for _, page in REFUSALS:
        assert 400 <= page.status < 500
        assert "SPEC" not in page.text
        assert "Error" not in page.title
        titles.add(page.title)
    assert len(titles) >= 10


def test_every_kind_of_mailed_link_has_its_route(site: Site) -> None:
    # one source for mails and routes: no Link the mails can carry goes unanswered
    for link in Link:
        response = site.client.get(site.url(link, "v1." + "A" * 40))
        assert outcome(response.text) != "not-found", link
        assert response.status_code == 400, link
