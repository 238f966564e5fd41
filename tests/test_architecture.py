"""The dependency rule of ARCHITECTURE.md and the purity rule of SPEC D4, checked on source."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import upslife

PACKAGE = Path(upslife.__file__).parent
DOMAIN = [
    "catalog",
    "entitlements",
    "errors",
    "invitations",
    "notifications",
    "reports",
    "sharing",
    "_validation",
]
ALLOWED_THIRD_PARTY = {"attrs", "dateutil"}
FORBIDDEN_CALLS = {"today", "now", "utcnow", "time", "monotonic", "urandom", "random"}


def domain_modules() -> list[Path]:
    return [PACKAGE / f"{name}.py" for name in DOMAIN if (PACKAGE / f"{name}.py").exists()]


@pytest.mark.parametrize("path", domain_modules(), ids=lambda p: p.stem)
def test_domain_modules_import_only_each_other_the_stdlib_attrs_and_dateutil(path: Path) -> None:
    # SPEC D4 and ARCHITECTURE.md: arrows point inward.
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            if top == "upslife":
                assert name.split(".")[1] in DOMAIN, f"{path.name} imports {name}"
            else:
                assert top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY, (
                    f"{path.name} imports {name}"
                )


@pytest.mark.parametrize("path", domain_modules(), ids=lambda p: p.stem)
def test_domain_modules_read_no_clock_and_no_randomness(path: Path) -> None:
    # SPEC D4: "today" and "now" are arguments, never read inside the rules.
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in FORBIDDEN_CALLS, (
                f"{path.name}:{node.lineno} calls .{node.func.attr}()"
            )


def test_the_package_ships_its_type_information() -> None:
    assert (PACKAGE / "py.typed").exists()


def test_the_facade_exports_exactly_its_all() -> None:
    for name in upslife.__all__:
        assert hasattr(upslife, name), name
