"""The command's habits (issue 15): ``--version``, help text on every option of every
command, a bash completion script built from the parser, and progress only on a terminal."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import upslife
from upslife.cli import _parser, main
from upslife.cli.completion import bash_script


def parsers(
    parser: argparse.ArgumentParser, path: str = "upslife"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, child in action.choices.items():
                assert helps.get(name), f"{path} {name} has no help"
                yield from parsers(child, f"{path} {name}")


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["--version"])
    assert exit.value.code == 0
    assert capsys.readouterr().out == f"upslife {upslife.__version__}\n"


def test_every_option_of_every_command_has_help() -> None:
    missing = [
        f"{path} {action.option_strings or action.dest}"
        for path, parser in parsers(_parser())
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction)
        and (not action.help or action.help == argparse.SUPPRESS)
    ]
    assert missing == []


def test_every_command_shows_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    for path, _ in parsers(_parser()):
        with pytest.raises(SystemExit) as exit:
            main([*path.split()[1:], "--help"])
        assert exit.value.code == 0, path
        assert "usage: upslife" in capsys.readouterr().out


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["upslife", "outb"], ["outbox"]),
        (["upslife", "--db", "fleet.db", "outbox", "re"], ["requeue", "retry"]),
        (["upslife", "chat", "add", "--ro"], ["--route"]),
        (["upslife", "accept-share", "--has"], ["--has-account"]),
        (["upslife", "report", "inventory", "--fo"], ["--format"]),
    ],
)
def test_bash_completion_completes_commands_actions_and_options(
    words: list[str], expected: list[str]
) -> None:
    script = bash_script(_parser())
    probe = (
        f"{script}\nCOMP_WORDS=({' '.join(words)}); COMP_CWORD={len(words) - 1}; _upslife; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    result = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
    assert sorted(result.stdout.split()) == expected


def test_the_completion_command_prints_the_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "bash"]) == 0
    out = capsys.readouterr().out
    assert out == bash_script(_parser())
    assert "complete -o default -F _upslife upslife" in out


def test_progress_stays_off_when_standard_error_is_not_a_terminal(tmp_path: object) -> None:
    # The demo sweeps a year: on a pipe (cron, CI) it prints no progress bar.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "upslife",
            "demo",
            "--dir",
            f"{tmp_path}/d",
            "--devices",
            "3",
            "--days",
            "20",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "sweeping [" not in result.stderr


def test_a_poll_counts_its_reads_on_a_terminal(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from upslife.adapters.sqlite import SqliteStore
    from upslife.app import Lifecycle
    from upslife.cli.progress import CountingTransport
    from upslife.hardware.simulator import SimulatedTransport, SimulatedUps

    simulated = SimulatedTransport()
    for n in range(3):
        simulated.add(f"ups{n}", SimulatedUps.smart_ups_1500(serial=f"AS00000000{n:02d}"))
    store = SqliteStore(tmp_path / "p.db")
    try:
        counting = CountingTransport(simulated)
        report = Lifecycle(store).poll(counting, workers=2)
        counting.finish()
    finally:
        store.close()
    assert report.read == 3
    err = capsys.readouterr().err
    assert "polled 3/3 UPS" in err
    assert err.endswith("\n")


def test_show_progress_only_on_a_terminal_and_never_with_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from upslife.cli._common import counted, show_progress

    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert not show_progress(argparse.Namespace(json=False))
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert show_progress(argparse.Namespace(json=False))
    assert not show_progress(argparse.Namespace(json=True))
    assert list(counted(range(5), "writing r.csv", every=2)) == [0, 1, 2, 3, 4]
    assert capsys.readouterr().err == "\rwriting r.csv: 2\rwriting r.csv: 4\rwriting r.csv: 5\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["no-such-command"],
        ["battery", "--serial", "X"],
        ["chat", "add", "--owner", "o@x.example", "--kind", "irc", "--route", "r"],
        ["event-log", "--owner", "o@x.example"],
        ["secret"],
        ["quote"],
    ],
)
def test_a_usage_error_is_one_line_with_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("upslife")


def test_a_sweep_counts_the_devices_it_plans_on_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # issue 15: long work shows progress on a terminal, and says nothing on a pipe
    from upslife.cli import main

    def on(day: str, *command: str) -> int:
        db, mail = str(tmp_path / "fleet.db"), f"maildir://{tmp_path}/outbox"
        return main(["--db", db, "--mail", mail, "--on", day, *command])

    owner = "o@acme.example"
    assert on("2025-01-01", "owner-add", "--email", owner, "--company", "A", "--name", "B") == 0
    for n in range(3):
        serial = f"AS{n:010d}"
        assert on("2025-01-01", "register", "--owner", owner, "--serial", serial,
                  "--model", "SMT1500C") == 0  # fmt: skip
    capsys.readouterr()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert on("2025-06-01", "sweep") == 0  # the trials' 30-day stage is due
    assert "planned 3 device(s)" in capsys.readouterr().err
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert on("2025-06-24", "sweep") == 0  # the 7-day stage, on a pipe
    assert "planned" not in capsys.readouterr().err
