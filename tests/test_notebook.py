"""The product owners' notebook (examples/) runs top to bottom and shows what it promises.

The notebook is executed once per test session in a real ``python3`` kernel, in a temporary
working directory, from a copy held in memory: nothing is written into the repository. A
missing kernel fails the test instead of skipping it: CI must execute the notebook.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbclient import NotebookClient
from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NOTEBOOK = EXAMPLES / "product_owners.ipynb"
KERNEL = "python3"
TIME_BUDGET_SECONDS = 60.0

# One figure per section: coverage (E4), notice calendar (N2, N4), invitation states (I1),
# fleet forecast (R6).
EXPECTED_FIGURES = 4


def _read(path: Path) -> NotebookNode:
    notebook: NotebookNode = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    return notebook


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and modification time."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


class Executed:
    """The executed notebook, where and how long it ran, and examples/ before it ran."""

    def __init__(
        self,
        notebook: NotebookNode,
        seconds: float,
        workdir: Path,
        examples_before: dict[str, tuple[int, int]],
    ) -> None:
        self.notebook = notebook
        self.seconds = seconds
        self.workdir = workdir
        self.examples_before = examples_before

    @property
    def code_cells(self) -> list[NotebookNode]:
        return [cell for cell in self.notebook.cells if cell.cell_type == "code"]

    def outputs(self) -> Iterator[tuple[int, NotebookNode]]:
        for number, cell in enumerate(self.notebook.cells):
            if cell.cell_type == "code":
                for output in cell.outputs:
                    yield number, output

    def printed(self) -> str:
        """Everything the cells printed to standard output."""
        return "".join(
            str(output.text)
            for _, output in self.outputs()
            if output.output_type == "stream" and output.name == "stdout"
        )


def _require_kernel() -> None:
    try:
        KernelSpecManager().get_kernel_spec(KERNEL)
    except NoSuchKernel:
        pytest.fail(
            f"no Jupyter kernel named {KERNEL!r}: the notebook cannot be executed. Install "
            'the notebook extra into this environment (pip install -e ".[notebook]", which '
            "brings ipykernel) or register one with `python -m ipykernel install --user`.",
            pytrace=False,
        )


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Executed:
    _require_kernel()
    workdir = tmp_path_factory.mktemp("notebook")
    notebook = _read(NOTEBOOK)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(workdir)}},  # the kernel's working directory
    )
    env = {
        **os.environ,
        # The inline backend is what turns plt.show() into a PNG output; a MPLBACKEND set
        # for headless runs (Agg) would silently produce none.
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    before = _snapshot(EXAMPLES)
    started = time.monotonic()
    try:
        client.execute(env=env)
    except Exception as error:  # nbclient raises CellExecutionError, DeadKernelError...
        pytest.fail(f"the notebook did not run to the end: {error}", pytrace=False)
    return Executed(notebook, time.monotonic() - started, workdir, before)


class TestTheStoredNotebook:
    def test_it_is_stored_without_outputs(self) -> None:
        notebook = _read(NOTEBOOK)
        nbformat.validate(notebook)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [], f"cell {cell.id} is stored with outputs"
                assert cell.execution_count is None, f"cell {cell.id} has an execution count"

    def test_it_asks_for_the_python3_kernel(self) -> None:
        notebook = _read(NOTEBOOK)
        assert notebook.metadata.kernelspec.name == KERNEL

    def test_it_is_what_build_notebook_writes(self) -> None:
        check = subprocess.run(
            [sys.executable, str(EXAMPLES / "build_notebook.py"), "--check"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, check.stderr


class TestExecution:
    def test_every_cell_runs_without_an_error(self, executed: Executed) -> None:
        errors = [
            f"cell {number}: {output.ename}: {output.evalue}"
            for number, output in executed.outputs()
            if output.output_type == "error"
        ]
        assert errors == []
        assert all(cell.execution_count is not None for cell in executed.code_cells)

    def test_no_cell_writes_to_standard_error(self, executed: Executed) -> None:
        # Warnings (deprecations, matplotlib layout or glyph warnings) land here.
        stderr = [
            f"cell {number}: {output.text}"
            for number, output in executed.outputs()
            if output.output_type == "stream" and output.name == "stderr"
        ]
        assert stderr == []

    def test_it_runs_within_its_time_budget(self, executed: Executed) -> None:
        assert executed.seconds < TIME_BUDGET_SECONDS

    def test_it_writes_nothing_into_the_repository(self, executed: Executed) -> None:
        # The kernel ran in a temporary directory, on a copy of the notebook in memory.
        assert executed.examples_before == _snapshot(EXAMPLES)
        assert executed.workdir != ROOT
        assert ROOT not in executed.workdir.parents


class TestFigures:
    def test_it_draws_one_figure_per_section(self, executed: Executed) -> None:
        figures = [
            number for number, output in executed.outputs() if "image/png" in output.get("data", {})
        ]
        assert len(figures) == EXPECTED_FIGURES

    def test_every_plt_show_produces_exactly_one_png(self, executed: Executed) -> None:
        for cell in executed.code_cells:
            pngs = [output for output in cell.outputs if "image/png" in output.get("data", {})]
            expected = 1 if "plt.show()" in cell.source else 0
            assert len(pngs) == expected, f"cell {cell.id}: {len(pngs)} figures"


class TestPrintedValues:
    def test_the_e4_worked_example_under_both_policies(self, executed: Executed) -> None:
        # SPEC E4, E4d, E5: 445 paused days resume after ADVANCED under DEFER only.
        printed = executed.printed()
        assert "Advanced 2024-12-10 → 2025-12-10" in printed
        assert "Standard 2025-12-10 → 2030-02-28" in printed
        assert "Standard 2025-12-10 → 2028-12-10" in printed
        assert "keeps 445 more days of paid coverage" in printed

    def test_the_notice_calendar_of_a_daily_and_a_monday_sweep(self, executed: Executed) -> None:
        # SPEC N2, N4, N5: replace-by 2026-03-01 (a Sunday).
        printed = executed.printed()
        for line in (
            "2025-12-01 Mon  D90  INFO     Battery Replacement Due",
            "2026-01-30 Fri  D30  WARNING  Battery Replacement Due",
            "2026-02-22 Sun  D7   WARNING  Battery Replacement Due",
            "2026-03-01 Sun  DUE  CRITICAL Replace Battery",
            "2026-02-02 Mon  D30  WARNING  Battery Replacement Due",
            "2026-02-23 Mon  D7   WARNING  Battery Replacement Due",
            "2026-03-02 Mon  DUE  CRITICAL Battery End of Life Exceeded",
        ):
            assert line in printed

    def test_the_invitations_and_the_owner_notices(self, executed: Executed) -> None:
        # SPEC I1-I4: the transition table, and an expiry that tells the owner.
        printed = executed.printed()
        assert "-> DECLINED + notice" in printed
        assert "-> EXPIRED + notice" in printed
        assert "-> OPTED_OUT + notice" in printed
        assert "-> DISCONNECTED " in printed
        assert "owner told: expired (renewals@reseller.example)" in printed
        assert "Accept clicked too late: InvitationExpired" in printed

    def test_the_fleet_forecast_is_fully_priced(self, executed: Executed) -> None:
        # SPEC R6: prices are the notebook's data, and every event has one.
        printed = executed.printed()
        assert "40 devices, forecast from 2026-01-01" in printed
        assert "complete: True, missing prices: []" in printed

    def test_the_sweep_sends_the_invitation_and_the_first_notices(self, executed: Executed) -> None:
        # SPEC E2, N2, N6, I5: the trial's 90-day notice to the owner and the reseller.
        printed = executed.printed()
        assert "Subject: Acme Hosting invites you to renewal support" in printed
        assert "== sweep of 2026-01-31" in printed
        assert "Subject: Standard Plan Expires on 1 May 2026: SMT1500C AS2511010001" in printed
        assert "List-Unsubscribe: <https://" in printed
