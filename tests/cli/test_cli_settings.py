"""Settings (issue 15): the signing secret as plain text or base64, key rotation with
previous keys, a replacement catalog (SPEC C1), configured webhooks, a generated secret,
and every configuration error naming its setting."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

import upslife
from tests.test_cli import run, setup_fleet
from upslife.catalog import Catalog
from upslife.cli.config import load_config, parse_secret
from upslife.cli.secret import generate_secret

from .test_cli_stories import OWNER, js, ok

PLAIN = "a secret of at least thirty-two bytes"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("UPSLIFE_MAIL", f"maildir://{tmp_path / 'outbox'}")
    for name in (
        "SECRET",
        "SECRET_ID",
        "PREVIOUS_SECRETS",
        "CATALOG",
        "WEBHOOKS",
        "MIN_RETRY_DAYS",
    ):
        monkeypatch.delenv(f"UPSLIFE_{name}", raising=False)
    return str(tmp_path / "settings.db")


class TestTheSecret:
    def test_plain_text_and_base64_are_both_accepted(self) -> None:
        # SPEC I5: at least 32 bytes either way.
        assert parse_secret("k1", PLAIN, "secret").secret == PLAIN.encode()
        raw = bytes(range(40))
        encoded = base64.b64encode(raw).decode()
        assert parse_secret("k1", encoded, "secret").secret == raw
        assert parse_secret("k1", "base64:" + encoded, "secret").secret == raw
        assert parse_secret("k1", "text:" + encoded, "secret").secret == encoded.encode()

    def test_a_generated_secret_is_32_random_bytes_of_base64(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        first, second = generate_secret(), generate_secret()
        assert first != second
        assert len(parse_secret("k1", first, "secret").secret) == 32
        assert run(capsys, "secret generate")[0] == 0
        _, out, _ = run(capsys, "secret generate --json")
        assert len(parse_secret("k1", json.loads(out)["secret"], "secret").secret) == 32

    @pytest.mark.parametrize(
        ("env", "value", "named"),
        [
            ("UPSLIFE_SECRET", "short", "UPSLIFE_SECRET"),
            ("UPSLIFE_PREVIOUS_SECRETS", "no-colon-here", "UPSLIFE_PREVIOUS_SECRETS"),
            ("UPSLIFE_PREVIOUS_SECRETS", "k0:short", "UPSLIFE_PREVIOUS_SECRETS"),
            ("UPSLIFE_WEBHOOKS", "ops", "UPSLIFE_WEBHOOKS"),
            ("UPSLIFE_CATALOG", "/no/such/catalog.json", "UPSLIFE_CATALOG"),
            ("UPSLIFE_MIN_RETRY_DAYS", "three", "UPSLIFE_MIN_RETRY_DAYS"),
        ],
    )
    def test_a_bad_setting_is_one_line_naming_it_and_never_the_secret(
        self,
        capsys: pytest.CaptureFixture[str],
        db: str,
        monkeypatch: pytest.MonkeyPatch,
        env: str,
        value: str,
        named: str,
    ) -> None:
        if env != "UPSLIFE_SECRET":
            monkeypatch.setenv("UPSLIFE_SECRET", PLAIN)
        monkeypatch.setenv(env, value)
        code, _, err = run(capsys, f"--db {db} sweep")
        assert code == 2
        assert err.count("\n") == 1
        assert named in err
        assert PLAIN not in err

    def test_inviting_without_a_secret_names_the_setting(
        self, capsys: pytest.CaptureFixture[str], db: str
    ) -> None:
        setup_fleet(capsys, db)
        code, _, err = run(
            capsys, f"--db {db} invite --owner {OWNER} --reseller sales@partner.example"
        )
        assert code == 2
        assert "UPSLIFE_SECRET" in err
        assert "secret" in err


class TestRotation:
    def test_links_already_mailed_still_work_after_a_rotation(
        self, capsys: pytest.CaptureFixture[str], db: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # SPEC I5: the new key signs; the previous key still verifies what it signed.
        monkeypatch.setenv("UPSLIFE_SECRET", PLAIN)
        setup_fleet(capsys, db)
        links = js(capsys, f"--db {db} invite --owner {OWNER} --reseller sales@partner.example")
        new = generate_secret()
        monkeypatch.setenv("UPSLIFE_SECRET", new)
        monkeypatch.setenv("UPSLIFE_SECRET_ID", "k2")
        # without the previous key the old link is refused
        code, _, err = run(
            capsys, f"--db {db} respond --token {links['accept_token']} --action accept"
        )
        assert code == 2
        assert err.count("\n") == 1
        # the old key, base64 (a plain-text key holding spaces cannot go in this list)
        encoded = base64.b64encode(PLAIN.encode()).decode()
        monkeypatch.setenv("UPSLIFE_PREVIOUS_SECRETS", f"k1:{encoded}")
        out = ok(capsys, f"--db {db} respond --token {links['accept_token']} --action accept")
        assert out.strip().endswith("accepted")

    def test_the_configuration_file_holds_every_setting(self, tmp_path: Path) -> None:
        encoded = base64.b64encode(PLAIN.encode()).decode()
        path = tmp_path / "upslife.toml"
        path.write_text(
            "[upslife]\n"
            f'db = "{tmp_path / "x.db"}"\n'
            'secret = "another secret of at least thirty-two bytes"\n'
            'secret_id = "k2"\n'
            f'previous_secrets = "k1:{encoded}"\n'
            'webhooks = "ops=https://hooks.example/a noc=https://hooks.example/b"\n'
        )
        config = load_config(path, environ={"UPSLIFE_MIN_RETRY_DAYS": "5"})
        assert config.delivery().min_retry_days == 5
        keyring = config.keyring()
        assert keyring is not None
        assert [k.key_id for k in keyring.keys] == ["k2", "k1"]
        assert keyring.find("k1").secret == PLAIN.encode()
        assert config.webhook_urls() == {
            "ops": "https://hooks.example/a",
            "noc": "https://hooks.example/b",
        }
        assert "thirty-two" not in repr(config)
        assert "hooks.example" not in repr(config)


class TestCatalog:
    def test_a_replacement_catalog_changes_the_dates(
        self,
        capsys: pytest.CaptureFixture[str],
        db: str,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # SPEC C1: the catalog is the user's to replace. SMT1500C with a 24-month battery:
        # registered 2025-11-01, its battery is due on 2027-11-01 instead of 2029-11-01.
        shipped = json.loads((Path(upslife.__file__).parent / "data" / "catalog.json").read_text())
        for entry in shipped["models"]:
            if entry["model"] == "SMT1500C":
                entry["battery_life_months"] = 24
        mine = tmp_path / "catalog.json"
        mine.write_text(json.dumps(shipped))
        Catalog.from_file(mine)  # the file is a valid catalog
        monkeypatch.setenv("UPSLIFE_SECRET", PLAIN)
        setup_fleet(capsys, db)
        before = js(capsys, f"--db {db} quote AS0000000001 --on 2025-11-02")
        assert before["battery"]["replace_by"] == "2029-11-01"
        monkeypatch.setenv("UPSLIFE_CATALOG", str(mine))
        after = js(capsys, f"--db {db} quote AS0000000001 --on 2025-11-02")
        assert after["battery"]["replace_by"] == "2027-11-01"
        mine.write_text('{"models": [{"model": "X"}]}')
        code, _, err = run(capsys, f"--db {db} quote AS0000000001")
        assert code == 2
        assert "UPSLIFE_CATALOG" in err


def test_a_report_format_follows_the_out_extension(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    setup_fleet(capsys, db)
    xlsx = tmp_path / "renewals.xlsx"
    ok(capsys, f"--db {db} report renewals --owner {OWNER} --out {xlsx}")
    assert xlsx.read_bytes()[:2] == b"PK"  # a zip: XLSX, not CSV under an .xlsx name
    data = tmp_path / "renewals.json"
    ok(capsys, f"--db {db} report renewals --owner {OWNER} --out {data}")
    assert isinstance(json.loads(data.read_text()), list | dict)
    for bad in (
        f"--out {tmp_path / 'r.pdf'}",
        f"--out {tmp_path / 'r'}",
        f"--format csv --out {xlsx}",
    ):
        code, _, err = run(capsys, f"--db {db} report renewals --owner {OWNER} {bad}")
        assert code == 2, bad
        assert err.count("\n") == 1
    assert not (tmp_path / "r.pdf").exists()
