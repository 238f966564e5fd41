"""A small load test on loopback against ``upslife serve`` (docs/performance.md): many
concurrent RFC 8058 one-click POSTs and page GETs; no error, no duplicate owner notice
(SPEC I4), nothing changed by a GET. Bounded in count (``REQUESTS``) and time (``BUDGET``)."""

from __future__ import annotations

import json
import random
import statistics
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx2
import pytest

from upslife.app.links import Link
from upslife.invitations import InvitationState, TokenAction
from upslife.notifications import Contact
from upslife.ports import Owner

from .browser import ARTIFACTS
from .served import Served, serving

NOW = datetime(2026, 1, 31, 12, tzinfo=UTC)
CONNECTED = 24  # owners whose reseller unsubscribes, each by 10 concurrent one-click POSTs
PENDING = 24  # owners whose pending invitation pages are fetched
CLICKS_PER_LINK = 10
PAGE_GETS = 15  # per pending invitation (accept page) and per connection (unsubscribe page)
THREADS = 16
BUDGET = 120.0  # seconds: the test stops by itself and fails if the server is this slow
REQUESTS = CONNECTED * CLICKS_PER_LINK + (PENDING + CONNECTED) * PAGE_GETS


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("load"), on="2026-01-31") as site:
        yield site


def test_concurrent_one_click_posts_and_page_gets(served: Served) -> None:
    service, store = served.service(datetime(2026, 1, 25, 10, tzinfo=UTC))
    unsubscribe, pages, invitations = [], [], []
    for n in range(CONNECTED + PENDING):
        owner = f"it@customer{n:02d}.example"
        service.add_owner(Owner(owner, Contact(f"Customer {n:02d}", "Ada", owner), "UTC"))
        links = service.invite_reseller(owner, f"sales@reseller{n:02d}.example")
        invitations.append(links.invitation.id)
        if n < CONNECTED:
            service.respond(links.accept_token, TokenAction.ACCEPT)
            url = served.links.url(Link.UNSUBSCRIBE, links.unsubscribe_token)
            unsubscribe += [("POST", url)] * CLICKS_PER_LINK
            pages += [("GET", url)] * PAGE_GETS
        else:
            pages += [("GET", served.links.url(Link.ACCEPT, links.accept_token))] * PAGE_GETS
    store.close()
    work = unsubscribe + pages
    assert len(work) == REQUESTS
    random.Random(8058).shuffle(work)

    lock = threading.Lock()
    results: list[tuple[str, int, float]] = []
    deadline = time.monotonic() + BUDGET

    def worker() -> None:
        with served.client() as client:
            while time.monotonic() < deadline:
                with lock:
                    if not work:
                        return
                    method, url = work.pop()
                started = time.perf_counter()
                try:
                    if method == "POST":
                        status = client.post(
                            url, data={"List-Unsubscribe": "One-Click"}
                        ).status_code
                    else:
                        status = client.get(url).status_code
                except httpx2.HTTPError as e:
                    status = -1
                    print(f"{method} failed: {type(e).__name__}")
                with lock:
                    results.append((method, status, time.perf_counter() - started))

    began = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began

    assert len(results) == REQUESTS, f"only {len(results)} of {REQUESTS} within {BUDGET}s"
    errors = [r for r in results if r[1] != 200]
    assert errors == []
    _, store = served.service(NOW)
    try:
        states = [store.get_invitation(i).state for i in invitations]
    finally:
        store.close()
    assert states[:CONNECTED] == [InvitationState.OPTED_OUT] * CONNECTED
    assert states[CONNECTED:] == [InvitationState.PENDING] * PENDING  # GETs changed nothing
    served.sweep(NOW)
    told = [str(m["To"]) for m in served.mail_to("", "Your reseller unsubscribed")]
    assert sorted(told) == sorted(f"it@customer{n:02d}.example" for n in range(CONNECTED))

    figures: dict[str, object] = {"requests": REQUESTS, "threads": THREADS}
    figures["seconds"] = round(elapsed, 2)
    figures["per_second"] = round(REQUESTS / elapsed, 1)
    for method in ("POST", "GET"):
        times = sorted(1000 * t for m, _, t in results if m == method)
        q = statistics.quantiles(times, n=100)
        figures[method] = {
            "count": len(times),
            "p50_ms": round(q[49], 1),
            "p95_ms": round(q[94], 1),
            "p99_ms": round(q[98], 1),
            "max_ms": round(times[-1], 1),
        }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "load.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures))
