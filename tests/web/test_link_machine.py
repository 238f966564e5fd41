"""A state machine of everything that can happen to one invitation's links (SPEC I1–I6):
a reseller's GETs and button POSTs, the owner's cancel and disconnect, time passing. Each
answer's page and status is the model's, and no GET ever changes what is stored."""

from __future__ import annotations

import re
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from upslife.app.links import Link

from .conftest import OWNER, Site

# the page each link answers, by the model's state (accept and decline links)
_REFUSED = {
    "accepted": (409, "used"),
    "declined": (410, "declined"),
    "cancelled": (410, "cancelled"),
    "disconnected": (410, "disconnected"),
    "opted-out": (410, "opted-out"),
}


class LinkMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp())
        self.site = Site(self.folder)
        self.links = self.site.invite("inv-1")
        self.state = "pending"
        self.notices = 0  # owner notices queued (SPEC I4)

    def teardown(self) -> None:
        self.site.client.close()
        self.site.store.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def expired(self) -> bool:
        return self.site.clock.now() >= self.links.invitation.expires_at

    def url(self, link: Link) -> str:
        token = {
            Link.ACCEPT: self.links.accept_token,
            Link.DECLINE: self.links.decline_token,
            Link.UNSUBSCRIBE: self.links.unsubscribe_token,
        }[link]
        return self.site.url(link, token)

    def answer(self, method: str, link: Link) -> tuple[int, str]:
        response = self.site.client.request(
            method, self.url(link), data={"List-Unsubscribe": "One-Click"}
        )
        if method == "HEAD":
            return response.status_code, ""
        found = re.search(r'data-outcome="([^"]+)"', response.text)
        assert found, response.text
        return response.status_code, found.group(1)

    def expected_for_link(self) -> tuple[int, str]:
        if self.expired:  # the accept and decline tokens expire with the invitation (I2)
            return 410, "expired"
        return _REFUSED.get(self.state, (200, "invitation"))

    @rule(
        method=st.sampled_from(["GET", "HEAD"]),
        link=st.sampled_from([Link.ACCEPT, Link.DECLINE, Link.UNSUBSCRIBE]),
    )
    def read(self, method: str, link: Link) -> None:
        before = self.site.dump()
        status, slug = self.answer(method, link)
        assert self.site.dump() == before  # a GET never changes anything
        if link is Link.UNSUBSCRIBE:
            assert (status, slug or "unsubscribe") == (200, "unsubscribe")
        else:
            assert status == self.expected_for_link()[0]
            if slug:
                assert slug == self.expected_for_link()[1]

    @rule()
    def press_accept(self) -> None:
        expected = self.expected_for_link()
        if expected == (200, "invitation"):
            expected = (200, "accepted")
            self.state = "accepted"
        assert self.answer("POST", Link.ACCEPT) == expected

    @rule()
    def press_decline(self) -> None:
        expected = self.expected_for_link()
        if expected == (200, "invitation"):
            expected = (200, "declined")
            self.state, self.notices = "declined", self.notices + 1
        assert self.answer("POST", Link.DECLINE) == expected

    @rule()
    def one_click_unsubscribe(self) -> None:
        if self.state == "pending" and not self.expired:
            self.state, self.notices = "declined", self.notices + 1
        elif self.state == "accepted":
            self.state, self.notices = "opted-out", self.notices + 1
        assert self.answer("POST", Link.UNSUBSCRIBE) == (200, "unsubscribed")

    @precondition(lambda self: self.state == "pending" and not self.expired)
    @rule()
    def owner_cancels(self) -> None:
        self.site.service.cancel_invitation(OWNER)
        self.state = "cancelled"

    @precondition(lambda self: self.state == "accepted")
    @rule()
    def owner_disconnects(self) -> None:
        self.site.service.disconnect_reseller(OWNER)
        self.state = "disconnected"

    @rule(hours=st.integers(min_value=1, max_value=100))
    def time_passes(self, hours: int) -> None:
        self.site.clock.set(self.site.clock.now() + timedelta(hours=hours))

    @invariant()
    def the_owner_is_told_once_per_decline_or_opt_out(self) -> None:
        told = [i for i in self.site.store.items() if i.key.startswith("owner-notice:")]
        assert len(told) == self.notices


TestLinkMachine = LinkMachine.TestCase
TestLinkMachine.settings = settings(max_examples=25, stateful_step_count=12, deadline=None)
