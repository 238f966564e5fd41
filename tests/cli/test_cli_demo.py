"""``upslife demo`` shows every feature (issue 15): an accepted share, polled vitals, a
reseller digest, chat routes; it honours ``--db`` and refuses an impossible size."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.test_cli import run


def test_the_demo_shows_every_feature(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(
        capsys, f"--db {tmp_path / 'mine.db'} demo --dir d --devices 10 --days 300 --json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["database"] == str(tmp_path / "mine.db")  # --db is honoured
    assert not (tmp_path / "d" / "upslife.db").exists()
    assert len(data["shared"]) >= 1  # accepted shares with the managed-service user
    assert data["polled"] == 10  # every UPS read through the simulator
    assert data["digests"] >= 1  # the second customer's reseller gets a daily digest
    assert data["chat_routes"] == ["slack:ops-alerts"]
    assert data["chat_messages"] >= 1
    db = data["database"]
    code, out, _ = run(
        capsys, f"--db {db} shared-with-me --user noc@managed-services.example --json"
    )
    assert code == 0
    assert {d["serial"] for d in json.loads(out)["devices"]} == set(data["shared"])
    report = tmp_path / "ops.csv"
    code, _, err = run(
        capsys, f"--db {db} report operational --owner it@acme.example --out {report}"
    )
    assert code == 0, err
    with report.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows
    loads = [value for row in rows for key, value in row.items() if "load" in key.lower()]
    assert loads
    assert all(loads)  # every UPS has a reading


@pytest.mark.parametrize("devices", ["0", "-1", "10001"])
def test_an_impossible_fleet_size_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, devices: str
) -> None:
    code, _, err = run(capsys, f"demo --dir {tmp_path / 'd'} --devices {devices} --days 3")
    assert code == 2
    assert err.count("\n") == 1
    assert "--devices" in err
    assert not (tmp_path / "d").exists()


def test_a_large_fleet_runs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # 300 devices used to exhaust the demo's activation codes.
    code, out, err = run(capsys, f"demo --dir {tmp_path / 'd'} --devices 300 --days 3 --json")
    assert code == 0, err
    assert json.loads(out)["devices"] == 300
