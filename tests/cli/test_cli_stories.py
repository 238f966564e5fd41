"""Every story of the product from a shell (issue 15): each test drives the ``upslife``
command only, on a real SQLite file and a real Maildir, the way an operator would."""

from __future__ import annotations

import email
import email.policy
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.test_cli import SECRET, run, setup_fleet

OWNER = "ops@acme.example"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("UPSLIFE_SECRET", SECRET)
    monkeypatch.setenv("UPSLIFE_MAIL", f"maildir://{tmp_path / 'outbox'}")
    monkeypatch.delenv("UPSLIFE_WEBHOOKS", raising=False)
    monkeypatch.delenv("UPSLIFE_WEBHOOK_ALLOW_HOSTS", raising=False)
    return str(tmp_path / "cli.db")


def ok(capsys: pytest.CaptureFixture[str], command: str) -> str:
    code, out, err = run(capsys, command)
    assert code == 0, (command, out, err)
    return out


def js(capsys: pytest.CaptureFixture[str], command: str) -> Any:
    return json.loads(ok(capsys, command + " --json"))


def messages(maildir: Path) -> list[EmailMessage]:
    found = []
    for path in sorted((maildir / "new").iterdir()):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        found.append(msg)
    return found


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


class TestInvitation:
    def test_invite_cancel_then_invite_again(
        self, capsys: pytest.CaptureFixture[str], db: str
    ) -> None:
        # SPEC I1: one invitation at a time; the owner withdraws it (I3) and may invite again.
        setup_fleet(capsys, db)
        first = js(capsys, f"--db {db} invite --owner {OWNER} --reseller a@reseller.example")
        code, _, err = run(
            capsys, f"--db {db} invite --owner {OWNER} --reseller b@reseller.example"
        )
        assert code == 2
        assert "cancel" in err
        assert err.count("\n") == 1
        cancelled = js(capsys, f"--db {db} cancel --owner {OWNER}")
        assert cancelled["invitation"] == first["invitation"]
        assert cancelled["state"] == "cancelled"
        # the cancelled invitation's accept link no longer works (SPEC I3)
        code, _, err = run(
            capsys, f"--db {db} respond --token {first['accept_token']} --action accept"
        )
        assert code == 2
        second = js(capsys, f"--db {db} invite --owner {OWNER} --reseller b@reseller.example")
        assert second["invitation"] != first["invitation"]
        out = ok(capsys, f"--db {db} respond --token {second['accept_token']} --action accept")
        assert out.strip().endswith("accepted")
        # nothing pending to cancel now: one line, exit 2
        code, _, err = run(capsys, f"--db {db} cancel --owner {OWNER}")
        assert code == 2
        assert err.count("\n") == 1


class TestSharing:
    def test_share_accept_through_the_mailed_link_then_shared_with_me(
        self, capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
    ) -> None:
        # SPEC S1, S2: the share mail carries a signed link; the user accepts with it.
        setup_fleet(capsys, db)
        user = "noc@msp.example"
        assert js(capsys, f"--db {db} shared-with-me --user {user}") == {"devices": []}
        ok(
            capsys,
            f"--db {db} share --serial AS0000000001 --user {user} --by {OWNER} --on 2025-11-02",
        )
        ok(capsys, f"--db {db} sweep --on 2025-11-02")
        (mail,) = [m for m in messages(tmp_path / "outbox") if m["To"] == user]
        (link,) = re.findall(r"https://\S+/share/\S+", text_of(mail))
        accepted = js(capsys, f"--db {db} accept-share {link} --on 2025-11-03")
        assert accepted == {"outcome": "accepted", "device": "AS0000000001", "user": user}
        listed = js(capsys, f"--db {db} shared-with-me --user {user} --on 2025-11-03")
        assert [(d["serial"], d["owner"], d["company"]) for d in listed["devices"]] == [
            ("AS0000000001", OWNER, "Acme")
        ]
        text = ok(capsys, f"--db {db} shared-with-me --user {user} --on 2025-11-03")
        assert "AS0000000001" in text
        assert "Acme" in text
        # the link is single-use (SPEC I5)
        code, _, err = run(capsys, f"--db {db} accept-share {link} --on 2025-11-03")
        assert code == 2
        assert err.count("\n") == 1
        # the owner's event log records the share, exported by extension (SPEC S5, R6)
        log = tmp_path / "log.json"
        assert (
            js(capsys, f"--db {db} event-log --owner {OWNER} --out {log} --on 2025-11-03")["rows"]
            >= 1
        )
        assert "AS0000000001" in log.read_text()
        # the user removes the customer from view: nothing shared any more (SPEC S4)
        removed = js(
            capsys, f"--db {db} remove-customer --user {user} --owner {OWNER} --on 2025-11-04"
        )
        assert removed == {"removed": ["AS0000000001"]}
        assert js(capsys, f"--db {db} shared-with-me --user {user} --on 2025-11-04") == {
            "devices": []
        }

    def test_remove_from_view_and_transfer(
        self, capsys: pytest.CaptureFixture[str], db: str
    ) -> None:
        # SPEC S4: a user drops one device; a transfer revokes every share.
        setup_fleet(capsys, db)
        user = "noc@msp.example"
        link = js(
            capsys,
            f"--db {db} share --serial AS0000000001 --user {user} --by {OWNER} "
            "--via link --on 2025-11-02",
        )
        assert "url" in link
        ok(capsys, f"--db {db} accept-share {link['url']} --on 2025-11-02")
        ok(
            capsys,
            f"--db {db} remove-from-view --serial AS0000000001 --user {user} --on 2025-11-03",
        )
        assert (
            js(capsys, f"--db {db} shared-with-me --user {user} --on 2025-11-03")["devices"] == []
        )
        ok(capsys, f"--db {db} owner-add --email new@globex.example --company Globex --name Grace")
        moved = js(
            capsys, f"--db {db} transfer --serial AS0000000001 --to new@globex.example --by {OWNER}"
        )
        assert moved == {"serial": "AS0000000001", "owner": "new@globex.example"}
        # the old owner may not transfer it back: one line, exit 2 (SPEC S3)
        code, _, err = run(
            capsys, f"--db {db} transfer --serial AS0000000001 --to {OWNER} --by {OWNER}"
        )
        assert code == 2
        assert err.count("\n") == 1


def battery_keys(capsys: pytest.CaptureFixture[str], db: str) -> list[str]:
    items = js(capsys, f"--db {db} outbox list --state sent")["items"]
    return sorted(i["key"] for i in items if "battery-replacement" in i["key"])


class TestBattery:
    @pytest.mark.parametrize("replaced", [False, True])
    def test_a_new_battery_stops_the_old_batterys_notices(
        self, capsys: pytest.CaptureFixture[str], db: str, replaced: bool
    ) -> None:
        # SPEC E9, N3: registered 2022-01-01, install date unknown: the battery (SMT1500C,
        # 48 months) is due on 2026-01-01; its 90-day notice goes out on 2025-10-03. A new
        # battery installed on 2025-10-10 moves the date 4 years on: the 30-day notice of
        # 2025-12-02 is not sent. Without the new battery (the control), it is.
        ok(capsys, f"--db {db} owner-add --email {OWNER} --company Acme --name Ada")
        ok(
            capsys,
            f"--db {db} register --owner {OWNER} --serial AS0000000009 --model SMT1500C "
            "--on 2022-01-01",
        )
        ok(capsys, f"--db {db} sweep --on 2025-10-03")
        assert len(battery_keys(capsys, db)) == 1
        if replaced:
            data = js(
                capsys,
                f"--db {db} battery --serial AS0000000009 --installed-on 2025-10-10 "
                f"--by {OWNER} --on 2025-10-10",
            )
            assert data["battery_replace_by"] == "2029-10-10"
        ok(capsys, f"--db {db} sweep --on 2025-12-02")
        assert len(battery_keys(capsys, db)) == (1 if replaced else 2)


class TestChat:
    def test_chat_routes_reach_a_local_webhook_server(
        self,
        capsys: pytest.CaptureFixture[str],
        db: str,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # SPEC N6, E10: a STANDARD device (the trial) notifies the owner's Slack and Teams
        # routes; the webhook URLs come from the configuration, never the database.
        with webhook_server() as (base, received):
            monkeypatch.setenv("UPSLIFE_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")  # a local relay
            monkeypatch.setenv(
                "UPSLIFE_WEBHOOKS", f"ops={base}/slack/T0/B0/secret,noc={base}/teams/secret"
            )
            setup_fleet(capsys, db)
            ok(
                capsys,
                f"--db {db} chat add --owner {OWNER} --kind slack --route ops-alerts --webhook ops",
            )
            ok(capsys, f"--db {db} chat add --owner {OWNER} --kind teams --route noc")
            listed = js(capsys, f"--db {db} chat list --owner {OWNER}")
            assert [(r["route"], r["kind"], r["configured"]) for r in listed["routes"]] == [
                ("ops-alerts", "slack", True),
                ("noc", "teams", True),
            ]
            assert "secret" not in json.dumps(listed)
            report = js(capsys, f"--db {db} sweep --on 2026-01-31")
            assert report["failed"] == 0
            assert report["sent"] == 3  # the owner's mail, Slack and Teams
        paths = sorted(path for path, _ in received)
        assert paths == ["/slack/T0/B0/secret", "/teams/secret"]
        payloads = dict(received)
        assert "blocks" in payloads["/slack/T0/B0/secret"]  # Slack Block Kit
        teams = payloads["/teams/secret"]
        attachments = teams["attachments"]
        assert isinstance(attachments, list)
        assert attachments[0]["contentType"] == "application/vnd.microsoft.card.adaptive"

    def test_a_route_whose_url_is_not_configured_waits_and_names_the_setting(
        self, capsys: pytest.CaptureFixture[str], db: str
    ) -> None:
        setup_fleet(capsys, db)
        out = ok(capsys, f"--db {db} chat add --owner {OWNER} --kind slack --route ops")
        assert "UPSLIFE_WEBHOOKS" in out
        code, _, _ = run(capsys, f"--db {db} sweep --on 2026-01-31")
        assert code == 75  # the notice waits in the outbox for the setting
        (item,) = js(capsys, f"--db {db} outbox list --state retrying")["items"]
        assert "UPSLIFE_WEBHOOKS" in item["last_error"]
        ok(capsys, f"--db {db} chat remove --owner {OWNER} --route ops")
        assert js(capsys, f"--db {db} chat list --owner {OWNER}")["routes"] == []


@contextmanager
def webhook_server() -> Iterator[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    """A webhook server on 127.0.0.1 recording each POST's path and JSON body."""
    received: list[tuple[str, dict[str, Any]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            received.append((self.path, json.loads(self.rfile.read(length))))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


class TestQuoteAndForecast:
    def setup_method(self) -> None:
        self.prices = {"RBC7": "189", "Standard plan license 1Y": "289.5"}

    def fleet(self, capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path) -> Path:
        # SMT1500C registered 2022-03-01, install date unknown: battery RBC7 due 2026-03-01
        # (48 months, SPEC E9); warranty (36 months) ended 2025-03-01; trial long over.
        ok(capsys, f"--db {db} owner-add --email {OWNER} --company Acme --name Ada")
        ok(
            capsys,
            f"--db {db} register --owner {OWNER} --serial AS0000000007 --model SMT1500C "
            "--on 2022-03-01",
        )
        prices = tmp_path / "prices.json"
        prices.write_text(json.dumps(self.prices))
        return prices

    def test_the_quote_says_what_to_order_and_what_it_costs(
        self, capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
    ) -> None:
        # SPEC R6: the six plan options, the battery needed within 12 months, unit prices,
        # the total, and the SKUs without a price.
        prices = self.fleet(capsys, db, tmp_path)
        command = f"--db {db} quote AS0000000007 --on 2025-06-01 --prices {prices}"
        data = js(capsys, command)
        skus = [o["sku"] for o in data["options"]]
        assert len(skus) == 6
        assert "Standard plan license 1Y" in skus
        one_year = data["options"][skus.index("Standard plan license 1Y")]
        assert (one_year["expires_on"], one_year["unit_price"]) == ("2026-06-01", "289.5")
        assert data["needed"] == [
            {"what": "battery", "sku": "RBC7", "quantity": 1, "unit_price": "189", "total": "189"}
        ]
        assert data["needed_total"] == "189"
        assert "RBC7" not in data["missing_prices"]
        assert "Advanced plan license 3Y" in data["missing_prices"]
        text = ok(capsys, command)
        assert re.search(r"Standard plan license 1Y\s+2026-06-01\s+2026-06-01\s+289\.50", text)
        assert re.search(r"RBC7\s+battery\s+1\s+189\.00\s+189\.00", text)
        assert "total of what is needed: 189.00" in text
        assert "missing prices: Advanced plan license 1Y" in text

    def test_the_forecast_prices_each_month_and_names_missing_prices(
        self, capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
    ) -> None:
        # SPEC R6, N1: the battery in March 2026, priced; without prices the totals are not
        # guessed and the forecast says which prices it lacks.
        prices = self.fleet(capsys, db, tmp_path)
        command = f"--db {db} forecast --owner {OWNER} --on 2025-06-01 --months 12"
        data = js(capsys, command + f" --prices {prices}")
        (march,) = [m for m in data["months"] if m["lines"]]
        assert march["month"] == "2026-03-01"
        assert march["lines"] == [
            {
                "kind": "battery-replacement",
                "sku": "RBC7",
                "quantity": 1,
                "overdue": 0,
                "unit_price": "189",
                "total": "189",
            }
        ]
        assert (data["total"], data["complete"]) == ("189", True)
        text = ok(capsys, command + f" --prices {prices}")
        assert re.search(r"2026-03\s+RBC7\s+battery-replacement\s+1\s+189\.00\s+189\.00", text)
        assert "total: 189.00" in text
        prices.write_text("{}")
        data = js(capsys, command + f" --prices {prices}")
        assert (data["complete"], data["missing_prices"]) == (False, ["RBC7"])
        text = ok(capsys, command + f" --prices {prices}")
        assert "missing prices: RBC7" in text
        assert "(incomplete)" in text
