"""The project's own rulebook (docs/rules.md) and the tests agree on the rule numbers:
every rule it states is cited by a test, and every rule a test cites is stated there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATED = re.compile(r"^- \*\*([A-Z]\d+[a-z]?) —", re.M)
CITED = re.compile(r"SPEC[ :]+([A-Z]\d+[a-z]?)")


def _stated() -> set[str]:
    return set(STATED.findall((ROOT / "docs" / "rules.md").read_text(encoding="utf-8")))


def _cited() -> set[str]:
    text = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("*.py"))
    return set(CITED.findall(text))


def test_every_rule_of_the_rulebook_is_cited_by_a_test() -> None:
    stated = {rule for rule in _stated() if not rule[-1].islower()}
    assert stated - _cited() == set()


def test_every_rule_a_test_cites_is_in_the_rulebook() -> None:
    stated = _stated()
    whole = {re.sub(r"[a-z]$", "", rule) for rule in _cited()}
    assert whole - {re.sub(r"[a-z]$", "", r) for r in stated} == set()
    assert len(stated) == 46  # D1-D5, E1-E12, N1-N10, I1-I7, S1-S5, R1-R6, C1
