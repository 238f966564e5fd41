"""Every ``upslife`` command given garbage: exit 2, one line on stderr, no traceback (issue 13).

Each command gets arguments a new user could type by mistake: a missing or unknown option,
a malformed date, a date in year 1 or 9999, an address with a line break or a NUL, a
100 kB serial, a file path for a time zone, zero devices. Every one must be refused with
status 2 and exactly one line on standard error, whatever the command.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from upslife.cli import _parser, main

SECRET = "c2VjcmV0LXNpZ25pbmcta2V5LWZvci10aGUtY2xpLXRlc3RzIQ"


def commands() -> list[str]:
    """The command names, read from the parser so a new command is fuzzed too."""
    import argparse

    parser = _parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


# A valid command line for each command, which the garbage below is spliced into.
VALID = {
    "assign": "assign --code C1 --serial AS0000000001 --by ops@acme.example",
    "calendar": "calendar --owner ops@acme.example --out {tmp}/c.ics",
    "code": "code C1 --plan STANDARD --term 1Y --quantity 2 --installer i@acme.example",
    "demo": "demo --dir {tmp}/demo --devices 2 --days 1",
    "disconnect": "disconnect --owner ops@acme.example",
    "explain": "explain AS0000000001",
    "forecast": "forecast --owner ops@acme.example",
    "invite": "invite --owner ops@acme.example --reseller r@res.example",
    "outbox": "outbox list",
    "owner-add": "owner-add --email new@acme.example --company Acme --name Ada",
    "poll": "poll nut://127.0.0.1:1/ups",
    "quote": "quote AS0000000001",
    "register": "register --owner ops@acme.example --serial AS0000000002 --model SMT1500C",
    "report": "report inventory --owner ops@acme.example --out {tmp}/r.csv",
    "respond": "respond --token x --action accept",
    "revoke": "revoke --serial AS0000000001 --user u@acme.example --by ops@acme.example",
    "schedule": "schedule rebuild",
    "serve": "serve --host 127.0.0.1 --port 8000",
    "share": "share --serial AS0000000001 --user u@acme.example --by ops@acme.example",
    "sweep": "sweep",
    # issue 15's commands
    "accept-share": "accept-share TOKEN",
    "battery": "battery --serial AS0000000001 --installed-on 2025-11-02 --by ops@acme.example",
    "cancel": "cancel --owner ops@acme.example",
    "chat": "chat add --owner ops@acme.example --kind slack --route ops",
    "command": "command self-test --serial AS0000000001 --by ops@acme.example "
    "--url nut://127.0.0.1:1/ups",
    "completion": "completion bash",
    "delete": "delete --serial AS0000000001 --by ops@acme.example",
    "event-log": "event-log --owner ops@acme.example --out {tmp}/log.csv",
    "not-interested": "not-interested --owner ops@acme.example",
    "remind": "remind --serial AS0000000001 --kind plan-expiry --by ops@acme.example",
    "remove-customer": "remove-customer --user u@acme.example --owner ops@acme.example",
    "remove-from-view": "remove-from-view --serial AS0000000001 --user u@acme.example",
    "reseller-delivery": "reseller-delivery --reseller r@res.example --choice daily-digest",
    "secret": "secret generate",
    "send-renewals": "send-renewals --owner ops@acme.example --by ops@acme.example "
    "--to p@partner.example",
    "shared-with-me": "shared-with-me --user u@acme.example",
    "templates": "templates show --owner ops@acme.example",
    "transfer": "transfer --serial AS0000000001 --to ops@acme.example --by ops@acme.example",
    "unsubscribe": "unsubscribe TOKEN",
    "view-share": "view-share TOKEN",
    "warranty": "warranty --serial AS0000000001 --id W1 --sku WEXTWAR1YR-SP-02 --months 12",
}

LONG = "A" * 100_000

# Garbage that every command must refuse, whatever it is spliced into.
ANY_COMMAND: list[list[str]] = [
    ["--no-such-option"],
    ["--on", "2025-13-45"],
    ["--on", "0001-01-01"],
    ["--on", "9999-12-31"],
    ["--on", ""],
    ["--db", ""],
    ["--db", "postgresql://u:hunter2@[::1"],
    ["--mail", "maildir://relative/x"],
    ["--mail", "maildir://"],
    ["--mail", "gopher://x"],
    ["--mail", "smtp://u:hunter2@[::1"],
    ["--mail", "smtp://u:hunter2@host:99999"],
    ["--config", "/nonexistent.toml"],
    ["--config", "/etc"],
]

# Per command: values for its own arguments that must be refused.
OWN: dict[str, list[list[str]]] = {
    "assign": [["--count", "0"], ["--count", "-1"], ["--serial", "A\nB"], ["--by", "a@x.com\n"]],
    "calendar": [["--owner", "a\x00@x.com"], ["--out", "/nonexistent/dir/c.ics"]],
    "code": [
        ["--quantity", "0"],
        ["--quantity", "9" * 30],
        ["--installer", "i@x\n.com"],
        ["C\r\n1"],
    ],
    "demo": [["--devices", "0"], ["--devices", "-5"], ["--days", "0"], ["--days", "9" * 12]],
    "disconnect": [["--owner", ""]],
    "explain": [["AS\rX"], [LONG]],
    "forecast": [["--months", "0"], ["--months", "100000000"], ["--prices", "/nonexistent.json"]],
    "invite": [
        ["--reseller", "a..b@x.com"],
        ["--reseller", ".a@x.com"],
        ["--reseller", "a@x\n.com"],
    ],
    "outbox": [["nope"], ["--state", "lost"], ["--day", "0001-01-01"], ["--day", "2025-02-30"]],
    "owner-add": [
        ["--timezone", "/etc/passwd"],
        ["--timezone", "XYZ3"],
        ["--timezone", "UTC+3"],
        ["--timezone", "/etc/localtime"],
        ["--company", "Poison\r\nBcc: evil@x.example"],
        ["--name", "A\x00"],
        ["--email", "a\u200b@x.com"],
        ["--email", "\u202eevil@x.com"],
        ["--role", "IT\nX"],
        ["--company", LONG],
    ],
    "poll": [["modbus://[::1"], ["nut://"], ["gopher://x"], ["modbus://host:99999"]],
    "quote": [[LONG]],
    "register": [
        ["--serial", LONG],
        ["--serial", "A\x00"],
        ["--model", ""],
        ["--owner", "nobody@x.example"],
    ],
    "report": [["--format", "pdf"], ["--out", "/nonexistent/dir/r.csv"], ["--user", "u\n@x.com"]],
    "respond": [["--token", ""], ["--token", "\x00"], ["--action", "maybe"]],
    "revoke": [["--user", "a..b@x.com"]],
    "schedule": [
        ["tidy"],
        ["rebuild-everything"],
        ["rebuild", "extra"],
        ["rebuild", "--db", "postgresql://\x00"],
    ],
    "serve": [["--port", "99999"], ["--port", "x"], ["--tls-cert", "/nonexistent/cert.pem"]],
    "share": [["--via", "pigeon"], ["--user", ".a@x.com"]],
    "sweep": [["extra-argument"]],
    "accept-share": [["x"], ["https://upslife.invalid/share/forged"], ["\x00"]],
    "battery": [["--installed-on", "2025-02-30"], ["--serial", "A\nB"], ["--by", "x"]],
    "cancel": [["--owner", "a\n@x.com"], ["--owner", "nobody@x.example"]],
    "chat": [["--kind", "irc"], ["--route", ""], ["--owner", "nobody@x.example"], ["nope"]],
    "command": [
        ["reboot-everything"],
        ["--url", "gopher://x"],
        ["--sensitivity", "extreme"],
        ["--serial", LONG],
    ],
    "completion": [["zsh"], ["--no-such"]],
    "delete": [["--serial", "NOPE"], ["--by", "a..b@x.com"]],
    "event-log": [["--out", "{tmp}/log.pdf"], ["--format", "pdf"], ["--owner", "x@y.example"]],
    "not-interested": [["--owner", "nobody@x.example"], ["--owner", ""]],
    "remind": [["--kind", "coffee"], ["--serial", "NOPE"]],
    "remove-customer": [["--owner", "a\n@x.com"], ["--user", ".a@x.com"]],
    "remove-from-view": [["--serial", "A\x00"], ["--user", "a..b@x.com"]],
    "reseller-delivery": [["--choice", "weekly"], ["--reseller", "a\n@x.com"]],
    "secret": [["rotate"]],
    "send-renewals": [["--format", "pdf"], ["--to", "a..b@x.com"], ["--by", "x"]],
    "shared-with-me": [["--user", "a\n@x.com"], ["--user", ""]],
    "templates": [["edit"], ["--owner", "nobody@x.example"]],
    "transfer": [["--to", "nobody@x.example"], ["--serial", "NOPE"]],
    "unsubscribe": [["x"], [""], ["https://upslife.invalid/unsubscribe/forged"]],
    "view-share": [["x"], [""]],
    "warranty": [["--months", "0"], ["--months", "-3"], ["--activated-on", "0001-01-01"]],
}


def splice(command: str, garbage: list[str], tmp: Path) -> list[str]:
    """The valid command line of ``command`` with ``garbage`` in place of its own value."""
    valid = shlex.split(VALID[command].format(tmp=tmp))
    garbage = [g.format(tmp=tmp) if "{tmp}" in g else g for g in garbage]
    if garbage[0] in valid and len(garbage) == 2:  # an option: replace its value
        at = valid.index(garbage[0])
        return valid[:at] + garbage + valid[at + 2 :]
    if not garbage[0].startswith("-") and len(valid) > 1 and not valid[1].startswith("-"):
        return [valid[0], *garbage, *valid[2:]]  # the positional argument replaced
    return valid + garbage


@pytest.fixture
def fleet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    monkeypatch.setenv("UPSLIFE_SECRET", SECRET)
    monkeypatch.setenv("UPSLIFE_MAIL", f"maildir://{tmp_path / 'outbox'}")
    monkeypatch.setenv("UPSLIFE_DB", str(tmp_path / "cli.db"))
    monkeypatch.chdir(tmp_path)
    for line in (
        "owner-add --email ops@acme.example --company Acme --name Ada --timezone Europe/Paris",
        "register --owner ops@acme.example --serial AS0000000001 --model SMT1500C --on 2025-11-01",
    ):
        assert main(shlex.split(line)) == 0
    capsys.readouterr()
    return tmp_path


def exit_status(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as e:  # argparse's usage errors
        return int(e.code or 0)


def assert_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code = exit_status(argv)
    _, err = capsys.readouterr()
    shown = " ".join(shlex.quote(a[:40]) for a in argv)
    assert code == 2, f"upslife {shown} exited {code}: {err!r}"
    assert err.count("\n") == 1, f"upslife {shown}: {err!r}"
    assert err.endswith("\n")
    assert "Traceback" not in err
    assert err.startswith("upslife")
    assert "hunter2" not in err


CASES = [(c, g) for c in sorted(VALID) for g in OWN[c]] + [
    (c, g) for c in sorted(VALID) for g in ANY_COMMAND
]
IDS = [f"{c}:{' '.join(g)[:30]!r}" for c, g in CASES]


def test_every_command_is_covered() -> None:
    assert sorted(VALID) == commands() == sorted(OWN)


@pytest.mark.parametrize(("command", "garbage"), CASES, ids=IDS)
def test_garbage_is_refused_with_one_line_and_status_2(
    command: str, garbage: list[str], fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_refused(splice(command, garbage, fleet), capsys)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    command=st.sampled_from(sorted(VALID)),
    words=st.lists(st.text(st.characters(codec="utf-8"), max_size=12), min_size=1, max_size=4),
)
def test_random_words_after_a_command_never_give_a_traceback(
    command: str, words: list[str], fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = exit_status([command, "--no-such-flag", *words])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_through_the_installed_command_a_usage_error_is_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "upslife", "--db", str(tmp_path / "x.db"), "sweep", "--bogus"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert "--bogus" in done.stderr
