"""Properties of the link routes over arbitrary input (SPEC I5): whatever the path holds, a
GET or HEAD answers a page with a 2xx or 4xx status and changes nothing; a POST of a token
that is not valid changes nothing either."""

from __future__ import annotations

import urllib.parse

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from upslife.app.links import Link

from .conftest import Site

TOKENS = st.one_of(
    st.text(min_size=1, max_size=80),
    st.from_regex(r"v1\.[A-Za-z0-9_-]{1,120}", fullmatch=True),
    st.binary(min_size=1, max_size=60).map(lambda b: "v1." + b.hex()),
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=TOKENS, link=st.sampled_from(list(Link)), method=st.sampled_from(["GET", "HEAD"]))
def test_reading_any_link_answers_a_page_and_changes_nothing(
    token: str, link: Link, method: str, site_once: Site
) -> None:
    site = site_once
    before = site.dump()
    path = site.links.prefix + link.route.replace("{token}", urllib.parse.quote(token, safe=""))
    response = site.client.request(method, path)
    assert response.status_code in {200, 400, 404, 405, 409, 410}, (path, response.status_code)
    assert response.headers["cache-control"] == "no-store"
    assert site.dump() == before


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=TOKENS, link=st.sampled_from([Link.ACCEPT, Link.DECLINE, Link.UNSUBSCRIBE]))
def test_posting_a_token_that_is_not_valid_changes_nothing(
    token: str, link: Link, site_once: Site
) -> None:
    site = site_once
    before = site.dump()
    path = link.route.replace("{token}", urllib.parse.quote(token, safe=""))
    response = site.client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert 400 <= response.status_code < 500
    assert site.dump() == before
