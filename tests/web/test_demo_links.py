"""The links in every mail the demo writes point at the configured ``public_url`` and work
against ``upslife serve`` started on the demo's own database and settings."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from pathlib import Path

from upslife.cli.demo import run_demo

from .served import Served

URL = re.compile(r"https?://[^\s<>\"]+")


def test_every_link_the_demo_mails_is_served(tmp_path: Path) -> None:
    served = Served(tmp_path, on="")
    result = run_demo(tmp_path / "demo", devices=24, days=200, public_url=served.public_url)
    served.config = result.directory / "upslife.toml"  # the demo's own settings
    served.on = result.last_day.isoformat()
    links: list[str] = []
    for path in sorted((result.outbox / "new").iterdir()):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.strict)
        assert isinstance(message, EmailMessage)
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                links += URL.findall(part.get_content())
        if message["List-Unsubscribe"]:
            links += re.findall(r"<(https://[^>]+)>", str(message["List-Unsubscribe"]))
        assert str(message["Message-ID"]).endswith("@127.0.0.1>")
    assert len(links) >= 4, "the demo should mail some reseller notices"
    assert all(link.startswith(served.public_url + "/") for link in links), links
    served.start()
    try:
        with served.client() as client:
            for link in sorted(set(links)):
                page = client.get(link)
                assert page.status_code == 200, (link, page.text)
                assert 'data-outcome="unsubscribe"' in page.text
            done = client.post(links[-1], data={"List-Unsubscribe": "One-Click"})
            assert 'data-outcome="unsubscribed"' in done.text
    finally:
        served.stop()
