"""The README's examples run as written (the quick start itself is run by CI)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("source", BLOCKS, ids=[f"block{n}" for n in range(len(BLOCKS))])
def test_a_readme_example_runs(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # examples write fleet.db and outbox/ where they run
    exec(compile(source, str(README), "exec"), {"__name__": "readme_example"})


def test_the_readme_has_examples_and_a_two_command_quick_start() -> None:
    assert len(BLOCKS) >= 2
    quick = README.read_text(encoding="utf-8").split("## Quick start")[1].split("```bash\n")[1]
    commands = [line for line in quick.split("```")[0].splitlines() if line.strip()]
    assert len(commands) == 2
    assert "upslife demo" in commands[0]
    assert "pytest" in commands[1]
