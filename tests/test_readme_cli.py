"""The README's "Command line" section runs as written, in order, in a fresh directory
(issue 15): every line succeeds with the secret set as the README says."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def command_line_block() -> str:
    section = README.read_text(encoding="utf-8").split("## Command line", 1)[1]
    match = re.search(r"```bash\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_the_command_line_section_runs_as_written(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "upslife").exists(), "the upslife script is installed beside python"
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPSLIFE_")} | {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    }
    script = "set -euo pipefail\n" + command_line_block()
    result = subprocess.run(
        ["bash", "-x", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "renewals.xlsx").read_bytes()[:2] == b"PK"
    assert (tmp_path / "fleet.ics").exists()
    assert "AS2312345678" in result.stdout  # shared-with-me lists the accepted share


def test_the_api_tour_fills_the_outbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The tour's sweep is on a day a notice is due: the owner's and the reseller's.
    text = README.read_text(encoding="utf-8").split("## API tour", 1)[1]
    match = re.search(r"```python\n(.*?)```", text, re.S)
    assert match is not None
    monkeypatch.chdir(tmp_path)
    scope: dict[str, object] = {"__name__": "readme_tour"}
    exec(compile(match.group(1), str(README), "exec"), scope)
    report = scope["report"]
    assert report.plan.by_kind == {"warranty-expiry/d90": 2}  # type: ignore[attr-defined]
    mails = list((tmp_path / "outbox" / "new").iterdir())
    assert len(mails) >= 2
