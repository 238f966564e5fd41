"""``upslife poll`` against the real peers: NUT's upsd with dummy-ups, and a pymodbus server.

The SMT1500C of the fixtures (serial AS2312345678) is registered first; a poll folds its
battery dates into storage (SPEC E9) and prints what it did.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from upslife.cli import main

from .conftest import ModbusServer, smt1500c_image

SERIAL = "AS2312345678"


def register(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "--db",
                db,
                "owner-add",
                "--email",
                "ops@acme.example",
                "--company",
                "Acme",
                "--name",
                "Ada Lovelace",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "--db",
                db,
                "register",
                "--owner",
                "ops@acme.example",
                "--serial",
                SERIAL,
                "--model",
                "SMT1500C",
                "--on",
                "2025-01-06",
            ]
        )
        == 0
    )
    capsys.readouterr()


def test_poll_reads_a_real_upsd(
    nut_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # SPEC E9
    db = str(tmp_path / "poll.db")
    register(db, capsys)
    assert main(["--db", db, "poll", nut_url, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["updated"] == [SERIAL]


def test_poll_reads_a_modbus_ups(
    modbus_server: Callable[[dict[int, int] | None], ModbusServer],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # SPEC E9
    server = modbus_server(smt1500c_image())
    db = str(tmp_path / "poll.db")
    register(db, capsys)
    assert main(["--db", db, "poll", f"modbus://127.0.0.1:{server.port}", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["updated"] == [SERIAL]


def test_poll_refuses_an_unknown_scheme(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(tmp_path / "x.db"), "poll", "snmp://127.0.0.1"]) == 2
    assert capsys.readouterr().err.startswith("upslife: error: poll needs")
