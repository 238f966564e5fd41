"""The ``upslife`` command: every command, its JSON output, and bad input exiting 2 with one
line on standard error and no traceback."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from upslife.cli import main

SECRET = "c2VjcmV0LXNpZ25pbmcta2V5LWZvci10aGUtY2xpLXRlc3RzIQ"  # 37 bytes, base64url


def run(capsys: pytest.CaptureFixture[str], command: str) -> tuple[int, str, str]:
    """Run ``upslife`` with a command line written as one string, split as a shell would."""
    code = main(shlex.split(command))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("UPSLIFE_SECRET", SECRET)
    monkeypatch.setenv("UPSLIFE_MAIL", f"maildir://{tmp_path / 'outbox'}")
    return str(tmp_path / "cli.db")


def setup_fleet(capsys: pytest.CaptureFixture[str], db: str) -> None:
    assert (
        run(
            capsys,
            (
                f"--db {db} owner-add --email ops@acme.example --company Acme --name "
                "'Ada Lovelace' --timezone Europe/Paris"
            ),
        )[0]
        == 0
    )
    assert (
        run(
            capsys,
            (
                f"--db {db} register --owner ops@acme.example --serial AS0000000001 "
                "--model SMT1500C --on 2025-11-01"
            ),
        )[0]
        == 0
    )


class TestCommands:
    def test_register_assign_and_explain(self, capsys: pytest.CaptureFixture[str], db: str) -> None:
        # SPEC E2, E4a, E6, E12: the trial to 2026-05-01, then 1Y appended → 2027-05-01.
        setup_fleet(capsys, db)
        code, out, _ = run(
            capsys,
            (
                f"--db {db} code ORDER-1 --plan STANDARD --term 1Y --quantity 2 "
                "--installer i@example.com"
            ),
        )
        assert code == 0
        assert "2 × Standard 1Y" in out
        code, out, _ = run(
            capsys,
            (
                f"--db {db} assign --code ORDER-1 --serial AS0000000001 --by "
                "ops@acme.example --on 2026-01-10 --json"
            ),
        )
        assert code == 0
        assert json.loads(out) == {"licenses": ["ORDER-1#1"]}
        code, out, _ = run(capsys, f"--db {db} explain AS0000000001 --json")
        segments = json.loads(out)["segments"]
        assert [(s["plan"], s["start"], s["end"]) for s in segments] == [
            ("STANDARD", "2025-11-01", "2027-05-01"),
            ("BASIC", "2027-05-01", None),
        ]

    def test_sweep_is_idempotent_and_reports_json(
        self, capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
    ) -> None:
        # SPEC N2, N9: the 90-day plan notice on 2026-01-31, once.
        setup_fleet(capsys, db)
        code, out, _ = run(capsys, f"--db {db} sweep --on 2026-01-31 --json")
        assert code == 0
        assert json.loads(out)["sent"] == 1
        code, out, _ = run(capsys, f"--db {db} sweep --on 2026-01-31 --json")
        assert json.loads(out)["sent"] == 0
        assert len(list((tmp_path / "outbox" / "new").iterdir())) == 1

    def test_invite_respond_disconnect_share_revoke(
        self, capsys: pytest.CaptureFixture[str], db: str
    ) -> None:
        # SPEC I1, I5, S1, S4
        setup_fleet(capsys, db)
        code, out, _ = run(
            capsys,
            (f"--db {db} invite --owner ops@acme.example --reseller sales@reseller.example --json"),
        )
        assert code == 0
        token = json.loads(out)["accept_token"]
        code, out, _ = run(capsys, f"--db {db} respond --token {token} --action accept")
        assert (code, out.strip().split(": ")[-1]) == (0, "accepted")
        code, _, err = run(capsys, f"--db {db} respond --token {token} --action accept")
        assert code == 2  # single-use (SPEC I5)
        assert err.count("\n") == 1
        assert run(capsys, f"--db {db} disconnect --owner ops@acme.example")[0] == 0
        code, out, _ = run(
            capsys,
            (
                f"--db {db} share --serial AS0000000001 --user noc@msp.example --by "
                "ops@acme.example --on 2025-11-02"
            ),
        )
        assert code == 0, out
        assert (
            run(
                capsys,
                (
                    f"--db {db} revoke --serial AS0000000001 --user noc@msp.example --by "
                    "ops@acme.example --on 2025-11-03"
                ),
            )[0]
            == 0
        )
        # a week later the invitation has expired: nothing left to revoke (SPEC S2)
        code, _, err = run(
            capsys,
            (
                f"--db {db} revoke --serial AS0000000001 --user noc@msp.example --by "
                "ops@acme.example --on 2025-11-20"
            ),
        )
        assert code == 2
        assert err.startswith("upslife: error:")

    def test_reports_quotes_forecasts_and_the_calendar(
        self, capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
    ) -> None:
        # SPEC R1, R2, R4, R5, R6
        setup_fleet(capsys, db)
        out_csv = tmp_path / "renewals.csv"
        code, _, err = run(
            capsys,
            (
                f"--db {db} report renewals --owner ops@acme.example --out "
                f"{out_csv!s} --on 2026-01-10"
            ),
        )
        assert code == 0, err
        header, row = out_csv.read_text().splitlines()[:2]
        assert "Serial" in header
        assert "AS0000000001" in row
        assert "load" not in header.lower()  # SPEC R2: no operational data
        code, _, _ = run(
            capsys,
            (
                f"--db {db} report inventory --owner ops@acme.example --format xlsx "
                f"--out {tmp_path / 'inv.xlsx'!s}"
            ),
        )
        assert code == 0
        # a stranger gets an empty report: no device is shared with them (SPEC R5)
        code, out, _ = run(
            capsys,
            (
                f"--db {db} report renewals --owner ops@acme.example --user "
                f"stranger@example.com --out {tmp_path / 's.csv'!s} --json"
            ),
        )
        assert json.loads(out)["rows"] == 0
        code, out, _ = run(capsys, f"--db {db} quote AS0000000001 --on 2026-01-10 --json")
        options = {(o["plan"], o["term"]): o["expires_on"] for o in json.loads(out)["options"]}
        # trial 2025-11-01 → 2026-05-01; STANDARD 1Y appends: 2025-11-01 + 18 months
        assert options[("STANDARD", "Y1")] == "2027-05-01"
        code, _, _ = run(capsys, f"--db {db} quote AS0000000001 --user x@example.com")
        assert code == 2  # SPEC R5: a stranger's quote is refused
        prices = tmp_path / "prices.json"
        prices.write_text('{"APCRBC7": "189.00"}')
        code, out, _ = run(
            capsys,
            (
                f"--db {db} forecast --owner ops@acme.example --months 6 --prices "
                f"{prices!s} --on 2026-01-10 --json"
            ),
        )
        assert code == 0
        assert len(json.loads(out)["months"]) == 6
        code, out, _ = run(
            capsys,
            (f"--db {db} calendar --owner ops@acme.example --out {tmp_path / 'c.ics'!s} --json"),
        )
        assert code == 0
        assert json.loads(out)["events"] >= 3
        assert (tmp_path / "c.ics").read_bytes().startswith(b"BEGIN:VCALENDAR")

    def test_demo_runs_to_completion(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        code, out, err = run(
            capsys, f"demo --dir {tmp_path / 'demo'!s} --devices 6 --days 40 --json"
        )
        assert code == 0, err
        data = json.loads(out)
        assert data["devices"] == 6
        assert Path(data["database"]).exists()


class TestBadInput:
    @pytest.mark.parametrize(
        "argv",
        [
            ["sweep", "--on", "2026-02-30"],
            ["explain", "NO-SUCH-DEVICE"],
            ["--config", "/no/such/file.toml", "sweep"],
            ["register", "--owner", "nobody@example.com", "--serial", "X", "--model", "SMT1500C"],
            [
                "code",
                "C",
                "--plan",
                "GOLD",
                "--term",
                "1Y",
                "--quantity",
                "1",
                "--installer",
                "a@b.c",
            ],
            [
                "code",
                "C",
                "--plan",
                "STANDARD",
                "--term",
                "1Y",
                "--quantity",
                "0",
                "--installer",
                "a@b.c",
            ],
        ],
    )
    def test_exit_two_with_one_line(
        self, capsys: pytest.CaptureFixture[str], db: str, argv: list[str]
    ) -> None:
        # SPEC D5
        try:
            code = main(["--db", db, *argv])
        except SystemExit as e:  # argparse's own usage errors
            code = int(e.code or 0)
        _, err = capsys.readouterr()
        assert code == 2
        assert "Traceback" not in err
        assert err.strip().splitlines()[-1].startswith(("upslife", "usage"))

    def test_a_missing_database_directory(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        code, _, err = run(capsys, f"--db {tmp_path / 'missing' / 'x.db'!s} sweep")
        assert code == 2
        assert err.count("\n") == 1

    def test_python_dash_m_runs_the_same_command(self, tmp_path: Path) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "upslife", "--db", str(tmp_path / "m.db"), "explain", "NOPE"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 2
        assert result.stderr == "upslife: error: no device with serial NOPE\n"


def test_schedule_rebuild_recomputes_every_device(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    # docs/performance.md: after a rules or catalog change, one documented command.
    setup_fleet(capsys, db)
    code, out, err = run(capsys, f"--db {db} schedule rebuild --json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["devices"] == 1
    assert data["damaged"] == []
    assert data["stamp"].startswith("upslife.schedule.v1:")
    code, out, _ = run(capsys, f"--db {db} schedule rebuild")
    assert (code, out) == (0, "schedule rebuilt for 1 device(s)\n")
    with pytest.raises(SystemExit) as exited:
        run(capsys, f"--db {db} schedule tidy")
    assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
