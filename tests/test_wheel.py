"""A built wheel, installed (not editable) into a fresh virtual environment, runs
``upslife demo``: the catalog and the templates are packaged (issue 15).

The wheel is built by pip from this source tree; its two dependencies come from the
package index pip is configured with (the machine's mirror in CI). About half a minute.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pip(python: Path | str, *args: str) -> None:
    subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", "-q", *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_built_wheel_in_a_fresh_venv_runs_the_demo(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    pip(sys.executable, "wheel", "--no-deps", "-w", str(dist), str(ROOT))
    (wheel,) = dist.glob("upslife-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    pip(python, "install", str(wheel))
    where = subprocess.run(
        [str(python), "-c", "import upslife; print(upslife.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), where  # the wheel's copy, not this tree
    demo = subprocess.run(
        [
            str(venv / "bin" / "upslife"),
            "demo",
            "--dir",
            "d",
            "--devices",
            "4",
            "--days",
            "30",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr
    data = json.loads(demo.stdout)
    assert data["devices"] == 4
    assert data["messages"] >= 1  # rendered with the packaged templates
    version = subprocess.run(
        [str(venv / "bin" / "upslife"), "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("upslife ")
