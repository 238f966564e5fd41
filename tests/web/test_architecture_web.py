"""``upslife.web`` is an optional extra: the core imports nothing of it (docs/web.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import upslife

PACKAGE = Path(upslife.__file__).parent
WEB_ONLY = {"starlette", "jinja2", "uvicorn", "multipart", "python_multipart"}
CORE = sorted(p for p in PACKAGE.rglob("*.py") if "web" not in p.relative_to(PACKAGE).parts)


def _imports(tree: ast.AST) -> list[tuple[str, bool]]:
    """(module, at import time?) for every import; inside a function it is lazy."""
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                found.extend((alias.name, not lazy) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                found.append((child.module, not lazy))
            visit(child, inner)

    visit(tree, False)
    return found


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_core_imports_nothing_of_the_web_extra(path: Path) -> None:
    for module, eager in _imports(ast.parse(path.read_text())):
        top = module.split(".")[0]
        is_web = top in WEB_ONLY or module == "upslife.web" or module.startswith("upslife.web.")
        if not is_web:
            continue
        # the CLI wires: `upslife serve` imports the web app when it runs, not before
        assert path == PACKAGE / "cli" / "__init__.py", f"{path.name} imports {module}"
        assert not eager, f"the CLI imports {module} at import time"


def test_the_links_module_is_pure() -> None:
    # one source for mails and routes: standard library, attrs and the errors only
    allowed = {"__future__", "enum", "re", "urllib", "typing", "attrs", "upslife"}
    for module, _ in _imports(ast.parse((PACKAGE / "app" / "links.py").read_text())):
        assert module.split(".")[0] in allowed, module
        if module.startswith("upslife"):
            assert module == "upslife.errors", module
