"""The use cases issue 12 added, from the shell: delete a device, an owner's email
templates, a reseller's delivery choice, MyRenewals mailed to a partner."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

import attrs
import pytest

from tests.test_cli import run, setup_fleet
from upslife.rendering.templates import DEFAULT_OWNER_TEMPLATE, Templates, templates_to_doc

from .test_cli_stories import OWNER, db, js, ok

__all__ = ["db"]


def test_delete_a_shared_device(capsys: pytest.CaptureFixture[str], db: str) -> None:
    # SPEC S3, S4: only the owner deletes; the share ends with the device.
    setup_fleet(capsys, db)
    user = "noc@msp.example"
    share = js(
        capsys,
        f"--db {db} share --serial AS0000000001 --user {user} --by {OWNER} --via link "
        "--on 2025-11-02",
    )
    ok(capsys, f"--db {db} accept-share {share['token']} --on 2025-11-02")
    code, _, err = run(capsys, f"--db {db} delete --serial AS0000000001 --by {user}")
    assert code == 2
    assert err.count("\n") == 1
    deleted = js(capsys, f"--db {db} delete --serial AS0000000001 --by {OWNER} --on 2025-11-03")
    assert (deleted["serial"], deleted["revoked"]) == ("AS0000000001", [user])
    assert js(capsys, f"--db {db} shared-with-me --user {user}")["devices"] == []
    code, _, _ = run(capsys, f"--db {db} explain AS0000000001")
    assert code == 2


def test_delete_then_register_again_grants_no_second_trial(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    # SPEC E2: registered on 2025-11-01, its trial ends on 2026-05-01, deleted or not
    setup_fleet(capsys, db)
    register = f"--db {db} register --owner {OWNER} --serial AS0000000001 --model SMT1500C"
    ok(capsys, f"--db {db} delete --serial AS0000000001 --by {OWNER} --on 2025-12-01")
    out = ok(capsys, f"{register} --on 2026-01-10")
    assert out.splitlines()[0] == (
        "registered AS0000000001 (SMT1500C) again: first registered on 2025-11-01, its "
        "Standard trial goes on until 2026-05-01 (a serial's trial is granted once)"
    )
    explained = js(capsys, f"--db {db} explain AS0000000001")["segments"]
    assert [(s["plan"], s["start"], s["end"]) for s in explained] == [
        ("STANDARD", "2025-11-01", "2026-05-01"),
        ("BASIC", "2026-05-01", None),
    ]
    ok(capsys, f"--db {db} delete --serial AS0000000001 --by {OWNER} --on 2026-06-01")
    again = js(capsys, f"{register} --on 2026-06-02")
    assert (again["registered_on"], again["registered_again"], again["trial_ends_on"]) == (
        "2025-11-01",
        True,
        "2026-05-01",
    )
    out = ok(capsys, f"--db {db} explain AS0000000001")
    assert out.startswith("Standard 2025-11-01 → 2026-05-01")
    assert "Basic    2026-05-01 → open-ended" in out
    fresh = js(
        capsys, f"--db {db} register --owner {OWNER} --serial AS9 --model SMT1500C --on 2026-06-02"
    )
    assert (fresh["registered_on"], fresh["registered_again"], fresh["trial_ends_on"]) == (
        "2026-06-02",
        False,
        "2026-12-02",
    )


def test_templates_set_show_reset(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    # SPEC E10: an owner's own emails, checked when set.
    setup_fleet(capsys, db)
    assert js(capsys, f"--db {db} templates show --owner {OWNER}")["templates"] is None
    mine = Templates(owner=attrs.evolve(DEFAULT_OWNER_TEMPLATE, subject="Acme IT: $title"))
    doc = templates_to_doc(mine)
    path = tmp_path / "templates.json"
    path.write_text(json.dumps(doc))
    ok(capsys, f"--db {db} templates set --owner {OWNER} --file {path}")
    assert js(capsys, f"--db {db} templates show --owner {OWNER}")["templates"] == doc
    ok(capsys, f"--db {db} sweep --on 2026-01-31")  # the 90-day notice, on the trial
    (message,) = (tmp_path / "outbox" / "new").iterdir()
    parsed = email.message_from_bytes(message.read_bytes(), policy=email.policy.default)
    assert str(parsed["Subject"]).startswith("Acme IT: ")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"owner": {"subject": "$nope", "text": "", "html": ""}}))
    code, _, err = run(capsys, f"--db {db} templates set --owner {OWNER} --file {bad}")
    assert code == 2
    assert err.count("\n") == 1
    ok(capsys, f"--db {db} templates reset --owner {OWNER}")
    assert js(capsys, f"--db {db} templates show --owner {OWNER}")["templates"] is None


def test_send_renewals_to_the_connected_reseller_in_its_chosen_delivery(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    # SPEC R2, N10: MyRenewals attached, to the reseller; the reseller's own choice kept.
    setup_fleet(capsys, db)
    code, _, _ = run(capsys, f"--db {db} send-renewals --owner {OWNER} --by {OWNER}")
    assert code == 2  # no reseller connected, no --to
    links = js(capsys, f"--db {db} invite --owner {OWNER} --reseller sales@partner.example")
    ok(capsys, f"--db {db} respond --token {links['accept_token']} --action accept")
    chosen = js(
        capsys,
        f"--db {db} reseller-delivery --reseller sales@partner.example --choice daily-digest",
    )
    assert chosen == {"reseller": "sales@partner.example", "preference": "daily-digest"}
    sent = js(capsys, f"--db {db} send-renewals --owner {OWNER} --by {OWNER}")
    assert (sent["to"], sent["rows"]) == ("sales@partner.example", 1)
    ok(capsys, f"--db {db} sweep")
    found = []
    for path in (tmp_path / "outbox" / "new").iterdir():
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        found += [part.get_filename() for part in parsed.iter_attachments()]
    assert found == [sent["file"]]
    forgot = js(
        capsys, f"--db {db} reseller-delivery --reseller sales@partner.example --choice default"
    )
    assert forgot["preference"] is None


def test_view_share_changes_nothing_then_accept(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    # SPEC S2: a share link shows who shares which UPS; only accepting changes anything.
    setup_fleet(capsys, db)
    user = "noc@msp.example"
    share = js(
        capsys,
        f"--db {db} share --serial AS0000000001 --user {user} --by {OWNER} --via link "
        "--on 2025-11-02",
    )
    for _ in range(2):
        view = js(capsys, f"--db {db} view-share {share['url']} --on 2025-11-02")
        assert (view["device"], view["company"], view["state"]) == (
            "AS0000000001",
            "Acme",
            "pending",
        )
    ok(capsys, f"--db {db} accept-share {share['url']} --on 2025-11-02")
    assert js(capsys, f"--db {db} view-share {share['url']} --on 2025-11-02")["state"] == "active"


def test_a_remote_command_needs_a_reachable_ups(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    # SPEC E10: a self-test on the trial (STANDARD); nothing listens, so the UPS cannot be
    # reached: the job ran and failed (exit 1), one line.
    from tests.peers import free_port

    setup_fleet(capsys, db)
    url = f"nut://127.0.0.1:{free_port()}/ups"
    code, _, err = run(
        capsys,
        f"--db {db} command self-test --serial AS0000000001 --by {OWNER} --url {url} "
        "--on 2025-11-02",
    )
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("upslife: AS0000000001: self-test failed")


def test_a_remote_command_the_plan_lacks_is_refused(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    # SPEC E10: after the trial, on BASIC, a self-test is refused before any connection.
    setup_fleet(capsys, db)
    code, _, err = run(
        capsys,
        f"--db {db} command self-test --serial AS0000000001 --by {OWNER} "
        "--url nut://127.0.0.1:1/ups --on 2026-06-01",
    )
    assert code == 2
    assert err.count("\n") == 1
