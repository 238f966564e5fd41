"""RFC 8058 one-click unsubscribe against ``upslife serve``: the ``List-Unsubscribe`` URL of
a real notice mail, POSTed exactly as mail providers do (SPEC I4, I5, N7)."""

from __future__ import annotations

import http.client
import ssl
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from upslife.invitations import InvitationState, TokenAction
from upslife.notifications import Contact
from upslife.ports import Owner

from .served import Served, serving, unsubscribe_url

NOW = datetime(2026, 1, 31, 12, tzinfo=UTC)
OWNER, RESELLER = "it@acme.example", "sales@reseller.example"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("one-click"), on="2026-01-31") as site:
        at = datetime(2026, 1, 25, 10, tzinfo=UTC)
        service, store = site.service(at)
        service.add_owner(Owner(OWNER, Contact("Acme Hosting", "Ada", OWNER), "Europe/Paris"))
        service.register_device(OWNER, "AS0000000001", "SMT1500C", on=date(2025, 11, 1))
        links = service.invite_reseller(OWNER, RESELLER, invitation_id="inv-1")
        service.respond(links.accept_token, TokenAction.ACCEPT)
        store.close()
        site.sweep(NOW)  # the 90-day notice of the trial's end, to the connected reseller
        yield site


def _one_click(served: Served, url: str) -> tuple[int, dict[str, str]]:
    """The request of RFC 8058 section 3.1 and its example in section 8: a POST of
    ``List-Unsubscribe=One-Click``, no cookie, no referrer, not following redirects."""
    parts = urllib.parse.urlsplit(url)
    context = ssl.create_default_context(cafile=str(served.cert))
    conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, context=context)
    try:
        body = b"List-Unsubscribe=One-Click"
        conn.request(
            "POST",
            parts.path,
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        response = conn.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


def _state(served: Served) -> InvitationState:
    _, store = served.service(NOW)
    try:
        return store.get_invitation("inv-1").state
    finally:
        store.close()


def test_the_one_click_post_of_a_real_notice_mail_opts_the_reseller_out_at_once(
    served: Served,
) -> None:
    (notice,) = served.mail_to(RESELLER)
    url = unsubscribe_url(notice)
    assert url.startswith(served.public_url + "/reseller/unsubscribe/")
    with served.client() as client:  # scanners prefetch: nothing happens
        for _ in range(3):
            assert client.get(url).status_code == 200
            assert client.head(url).status_code == 200
    assert _state(served) is InvitationState.ACCEPTED

    status, headers = _one_click(served, url)
    assert status == 200  # at once: no redirect, no page to click
    assert "set-cookie" not in headers
    assert headers["referrer-policy"] == "no-referrer"
    assert _state(served) is InvitationState.OPTED_OUT

    # providers may retry: the link is reusable (SPEC I5) and the owner is told once (I4)
    assert _one_click(served, url)[0] == 200
    served.sweep(NOW)
    served.sweep(NOW)
    told = served.mail_to(OWNER, "Your reseller unsubscribed")
    assert len(told) == 1
    # SPEC N7: nothing more goes to the reseller
    assert len(served.mail_to(RESELLER)) == 1


def test_the_server_log_holds_no_token(served: Served) -> None:
    (notice,) = served.mail_to(RESELLER)
    token = unsubscribe_url(notice).rsplit("/", 1)[1]
    log = served.log_text()
    assert "/reseller/unsubscribe/[token] 200" in log
    assert token not in log
