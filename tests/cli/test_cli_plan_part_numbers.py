"""Plan license part numbers from a shell (issue 15): an operator's catalog names them, and
everything that says what to order uses them; the shipped catalog has none, and quotes and
forecasts say which catalog keys are still to fill (SPEC R6, C1)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_cli_stories import OWNER, db, js, messages, ok, text_of  # noqa: F401
from upslife.catalog import Catalog

SERIAL = "AS0000000007"
# Registered 2025-03-01: the STANDARD trial ends on 2025-09-01 (a plan expiry, SPEC N1);
# the SMT1500C battery (RBC7) is due 2029-03-01, its warranty ends 2028-03-01.
QUOTE_DAY = "2025-06-01"
PARTS = {
    "STANDARD": {
        "1Y": {"part_number": "TEST-STD-1Y", "source": "test: a made-up distributor list"},
        "3Y": {"part_number": "TEST-STD-3Y", "source": "test: a made-up distributor list"},
    },
    "ADVANCED": {
        "1Y": {"part_number": "TEST-ADV-1Y", "source": "test: a made-up distributor list"},
    },
}
RENEWAL = "TEST-STD-1Y (1Y) / TEST-STD-3Y (3Y) / Standard plan license 5Y"


def register(capsys: pytest.CaptureFixture[str], db: str) -> None:  # noqa: F811
    ok(capsys, f"--db {db} owner-add --email {OWNER} --company Acme --name Ada")
    ok(
        capsys,
        f"--db {db} register --owner {OWNER} --serial {SERIAL} --model SMT1500C --on 2025-03-01",
    )


def operator_catalog(tmp_path: Path) -> Path:
    """The shipped catalog with part numbers for STANDARD 1Y/3Y and ADVANCED 1Y."""
    document = json.loads(Catalog.default().to_json())
    document["plan_licenses"] = PARTS
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(document))
    return path


def prices(tmp_path: Path, table: dict[str, str]) -> Path:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(table))
    return path


def option(data: dict[str, Any], plan: str, term: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        o for o in data["options"] if (o["plan"], o["term"]) == (plan, term)
    ]
    assert len(found) == 1
    return found[0]


class TestWithAnOperatorsPartNumbers:
    @pytest.fixture(autouse=True)
    def catalog(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("UPSLIFE_CATALOG", str(operator_catalog(tmp_path)))

    def test_the_quote_orders_by_part_number_and_names_the_keys_still_to_fill(
        self, capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path  # noqa: F811
    ) -> None:
        # SPEC R6, C1: options with a part number are named by it and priced by it (or by
        # their description, the key that always works); the rest keep their description
        # and are listed with the catalog key to fill.
        register(capsys, db)
        price_list = prices(
            tmp_path,
            {"TEST-STD-1Y": "59", "Standard plan license 3Y": "150", "TEST-STD-3Y": "149"},
        )
        command = f"--db {db} quote {SERIAL} --on {QUOTE_DAY} --prices {price_list}"
        data = js(capsys, command)
        one_year = option(data, "STANDARD", "Y1")
        assert (one_year["sku"], one_year["unit_price"]) == ("TEST-STD-1Y", "59")
        # the part number's own price wins over the description's
        assert option(data, "STANDARD", "Y3")["unit_price"] == "149"
        assert option(data, "ADVANCED", "Y1")["sku"] == "TEST-ADV-1Y"
        assert option(data, "STANDARD", "Y5")["sku"] == "Standard plan license 5Y"
        assert data["needs_part_number"] == [
            {"sku": "Standard plan license 5Y", "catalog_key": "plan_licenses.STANDARD.5Y"},
            {"sku": "Advanced plan license 3Y", "catalog_key": "plan_licenses.ADVANCED.3Y"},
            {"sku": "Advanced plan license 5Y", "catalog_key": "plan_licenses.ADVANCED.5Y"},
        ]
        assert "TEST-ADV-1Y" in data["missing_prices"]
        text = ok(capsys, command)
        assert re.search(r"TEST-STD-1Y\s+2026-09-01\s+2026-09-01\s+59\.00", text)
        assert re.search(r"TEST-STD-3Y\s+2028-09-01\s+2028-09-01\s+149\.00", text)
        (line,) = [n for n in text.splitlines() if n.startswith("needs a part number:")]
        assert "Standard plan license 5Y (catalog key plan_licenses.STANDARD.5Y)" in line
        assert "TEST-STD-1Y" not in line
        assert "STANDARD.1Y" not in line

    def test_a_description_keyed_price_list_keeps_pricing_a_part_number(
        self, capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path  # noqa: F811
    ) -> None:
        # SPEC R6: a price list written before the part numbers were known still works.
        register(capsys, db)
        price_list = prices(tmp_path, {"Standard plan license 1Y": "289.5"})
        data = js(capsys, f"--db {db} quote {SERIAL} --on {QUOTE_DAY} --prices {price_list}")
        one_year = option(data, "STANDARD", "Y1")
        assert (one_year["sku"], one_year["unit_price"]) == ("TEST-STD-1Y", "289.5")
        assert "TEST-STD-1Y" not in data["missing_prices"]

    def test_the_forecast_names_the_renewals_part_numbers(
        self, capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path  # noqa: F811
    ) -> None:
        # SPEC R6, N1: the trial's end in September is a plan renewal; its term is the
        # buyer's choice, so the line names each term's part number and lists the term
        # that has none. The "1Y/3Y/5Y" price key keeps pricing it.
        register(capsys, db)
        command = f"--db {db} forecast --owner {OWNER} --on {QUOTE_DAY} --months 6"
        data = js(capsys, command)
        (september,) = [m for m in data["months"] if m["lines"]]
        assert september["month"] == "2025-09-01"
        assert [(line["kind"], line["sku"]) for line in september["lines"]] == [
            ("plan-expiry", RENEWAL)
        ]
        assert data["needs_part_number"] == [
            {"sku": "Standard plan license 5Y", "catalog_key": "plan_licenses.STANDARD.5Y"}
        ]
        text = ok(capsys, command)
        assert re.search(r"2025-09\s+" + re.escape(RENEWAL) + r"\s+plan-expiry\s+1", text)
        assert "needs a part number: Standard plan license 5Y" in text
        price_list = prices(tmp_path, {"Standard plan license 1Y/3Y/5Y": "100"})
        priced = js(capsys, command + f" --prices {price_list}")
        assert (priced["total"], priced["complete"], priced["missing_prices"]) == ("100", True, [])

    def test_myrenewals_and_the_swept_notice_name_the_part_numbers(
        self, capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path  # noqa: F811
    ) -> None:
        # SPEC R2, N1, C1: MyRenewals' "SKUs needed" and the notice's "Needed" line say
        # what to order by part number.
        register(capsys, db)
        out = tmp_path / "renewals.csv"
        ok(capsys, f"--db {db} report renewals --owner {OWNER} --on {QUOTE_DAY} --out {out}")
        (row,) = csv.DictReader(out.read_text(encoding="utf-8").splitlines())
        assert row["SKUs needed"] == RENEWAL
        ok(capsys, f"--db {db} sweep --on 2025-08-02")
        (mail,) = messages(tmp_path / "outbox")
        assert "Standard Plan Expires" in mail["Subject"]
        assert RENEWAL in text_of(mail)


def test_part_numbers_added_later_reach_the_stored_schedule(
    capsys: pytest.CaptureFixture[str],
    db: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # SPEC N1, C1: a fleet scheduled with the shipped catalog, then the operator supplies
    # part numbers: the schedule was built with other names, so the sweep rebuilds it and
    # the notice names the part numbers.
    register(capsys, db)
    monkeypatch.setenv("UPSLIFE_CATALOG", str(operator_catalog(tmp_path)))
    ok(capsys, f"--db {db} sweep --on 2025-08-02")
    (mail,) = messages(tmp_path / "outbox")
    assert RENEWAL in text_of(mail)


class TestWithTheShippedCatalog:
    def test_the_quote_names_every_plan_license_by_description_and_lists_its_key(
        self, capsys: pytest.CaptureFixture[str], db: str  # noqa: F811
    ) -> None:
        # SPEC R6, C1: the shipped catalog has no part numbers (no public source): all six
        # options need one, each with the key an operator fills.
        register(capsys, db)
        command = f"--db {db} quote {SERIAL} --on {QUOTE_DAY}"
        data = js(capsys, command)
        assert [o["sku"] for o in data["options"]] == [
            f"{plan} plan license {term}"
            for plan in ("Standard", "Advanced")
            for term in ("1Y", "3Y", "5Y")
        ]
        assert [n["catalog_key"] for n in data["needs_part_number"]] == [
            f"plan_licenses.{plan}.{term}"
            for plan in ("STANDARD", "ADVANCED")
            for term in ("1Y", "3Y", "5Y")
        ]
        text = ok(capsys, command)
        assert (
            "needs a part number: Standard plan license 1Y "
            "(catalog key plan_licenses.STANDARD.1Y)"
        ) in text

    def test_the_forecast_lists_the_renewed_plans_terms_as_needing_part_numbers(
        self, capsys: pytest.CaptureFixture[str], db: str  # noqa: F811
    ) -> None:
        # SPEC R6, C1: only STANDARD renews within the window, so only its keys are listed.
        register(capsys, db)
        command = f"--db {db} forecast --owner {OWNER} --on {QUOTE_DAY} --months 6"
        data = js(capsys, command)
        assert [n["catalog_key"] for n in data["needs_part_number"]] == [
            "plan_licenses.STANDARD.1Y",
            "plan_licenses.STANDARD.3Y",
            "plan_licenses.STANDARD.5Y",
        ]
        lines = [m["lines"] for m in data["months"] if m["lines"]]
        assert lines[0][0]["sku"] == "Standard plan license 1Y/3Y/5Y"
        assert "needs a part number: Standard plan license 1Y" in ok(capsys, command)

    def test_nothing_needs_a_part_number_when_nothing_is_renewed(
        self, capsys: pytest.CaptureFixture[str], db: str  # noqa: F811
    ) -> None:
        # SPEC R6: a forecast with no plan renewal asks for no part number.
        register(capsys, db)
        command = f"--db {db} forecast --owner {OWNER} --on 2025-10-01 --months 3"
        assert js(capsys, command)["needs_part_number"] == []
        assert "needs a part number" not in ok(capsys, command)

    def test_a_malformed_part_number_table_is_refused_naming_the_key(
        self,
        capsys: pytest.CaptureFixture[str],
        db: str,  # noqa: F811
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # SPEC C1, D5: a bad entry is one line on standard error naming the catalog key.
        from tests.test_cli import run

        register(capsys, db)
        document = json.loads(Catalog.default().to_json())
        document["plan_licenses"] = {"STANDARD": {"3Y": {"part_number": "X-3"}}}
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps(document))
        monkeypatch.setenv("UPSLIFE_CATALOG", str(bad))
        code, _, err = run(capsys, f"--db {db} quote {SERIAL} --on {QUOTE_DAY}")
        assert code == 2
        assert "plan_licenses.STANDARD.3Y" in err
        assert "source" in err
        assert err.count("\n") == 1
