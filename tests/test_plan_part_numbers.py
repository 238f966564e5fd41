"""Plan license part numbers in the rules (issue 15): the catalog's part number where it has
one, the description where it has none, and the list of what is still missing
(SPEC R6, C1; N1 and R2 for notices and MyRenewals)."""

from __future__ import annotations

import string
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from upslife.catalog import Catalog, PlanLicensePart
from upslife.entitlements import Plan, Term, register
from upslife.errors import InvalidType, UpslifeError
from upslife.notifications import EventKind, default_plan_license_sku, lifecycle_events
from upslife.reports import (
    QUOTED_OPTIONS,
    missing_part_numbers,
    plan_license_description,
    plan_license_prices,
    plan_license_sku_of,
    plan_option_sku,
    renewal_row,
    report_device,
)

SHIPPED = Catalog.default()
PAID = (Plan.STANDARD, Plan.ADVANCED)


@st.composite
def catalogs_with_parts(draw: st.DrawFn) -> Catalog:
    """The shipped models with part numbers for any subset of the six plan licenses."""
    chosen = draw(st.lists(st.sampled_from(QUOTED_OPTIONS), unique=True))
    numbers = draw(
        st.lists(
            st.text(string.ascii_uppercase + string.digits + "-", min_size=1, max_size=16),
            min_size=len(chosen),
            max_size=len(chosen),
            unique_by=str.upper,
        )
    )
    parts = [
        PlanLicensePart(plan.name, term.label, number, "test: made up")
        for (plan, term), number in zip(chosen, numbers, strict=True)
    ]
    return SHIPPED.merged(Catalog([], plan_licenses=parts))


def part_of(catalog: Catalog, plan: Plan, term: Term) -> str | None:
    found = catalog.plan_license(plan.name, term.label)
    return None if found is None else found.part_number


class TestTheShippedCatalogNamesPlanLicensesByDescription:
    def test_every_option_is_its_description_and_needs_a_part_number(self) -> None:
        # SPEC R6, C1: no part number ships, so nothing is invented.
        assert [plan_option_sku(SHIPPED, p, t) for p, t in QUOTED_OPTIONS] == [
            f"{p.title} plan license {t.label}" for p, t in QUOTED_OPTIONS
        ]
        assert missing_part_numbers(SHIPPED, QUOTED_OPTIONS) == QUOTED_OPTIONS

    def test_notices_keep_the_default_name_and_its_fast_path(self) -> None:
        # SPEC N1, C1: with no part number the hook is the default itself.
        assert plan_license_sku_of(SHIPPED) is default_plan_license_sku

    def test_prices_are_left_as_given(self) -> None:
        # SPEC R6
        prices = {"Standard plan license 1Y": Decimal("59")}
        assert plan_license_prices(SHIPPED, prices) == prices


class TestAnOperatorsPartNumbers:
    @given(catalogs_with_parts())
    def test_an_option_is_its_part_number_or_else_its_description(self, catalog: Catalog) -> None:
        # SPEC R6, C1
        for plan, term in QUOTED_OPTIONS:
            number = part_of(catalog, plan, term)
            expected = plan_license_description(plan, term) if number is None else number
            assert plan_option_sku(catalog, plan, term) == expected

    @given(catalogs_with_parts())
    def test_exactly_the_options_without_a_part_number_are_listed_missing(
        self, catalog: Catalog
    ) -> None:
        # SPEC R6, C1: in quote order, each once.
        missing = missing_part_numbers(catalog, [*QUOTED_OPTIONS, *QUOTED_OPTIONS])
        assert missing == tuple(
            (p, t) for p, t in QUOTED_OPTIONS if part_of(catalog, p, t) is None
        )

    @given(catalogs_with_parts())
    def test_a_plan_expiry_names_every_term_of_its_plan(self, catalog: Catalog) -> None:
        # SPEC N1, C1: the renewal's term is the buyer's choice, so each term is named, by
        # part number where there is one.
        sku_of = plan_license_sku_of(catalog)
        for plan in PAID:
            name = sku_of(plan)
            numbers = [part_of(catalog, plan, term) for term in Term]
            if all(n is None for n in numbers):
                assert name == default_plan_license_sku(plan)
                continue
            for term, number in zip(Term, numbers, strict=True):
                wanted = plan_license_description(plan, term) if number is None else (
                    f"{number} ({term.label})"
                )
                assert wanted in name

    @given(catalogs_with_parts(), st.decimals(0, 10_000, places=2))
    def test_a_description_keyed_price_prices_the_part_number(
        self, catalog: Catalog, price: Decimal
    ) -> None:
        # SPEC R6: a price list written in descriptions keeps working; a part number's own
        # price wins over its description's.
        for plan, term in QUOTED_OPTIONS:
            words = plan_license_description(plan, term)
            sku = plan_option_sku(catalog, plan, term)
            assert plan_license_prices(catalog, {words: price})[sku] == price
            if sku != words:
                both = {words: price, sku: price + 1}
                assert plan_license_prices(catalog, both)[sku] == price + 1
        for plan in PAID:
            combined = default_plan_license_sku(plan)
            prices = plan_license_prices(catalog, {combined: price})
            assert prices[plan_license_sku_of(catalog)(plan)] == price

    def test_myrenewals_and_the_events_carry_the_part_numbers(self) -> None:
        # SPEC R2, N1: registered 2024-08-31, the trial's STANDARD ends 2025-02-28.
        parts = [PlanLicensePart("STANDARD", t, f"PN-{t}", "test") for t in ("1Y", "3Y", "5Y")]
        catalog = SHIPPED.merged(Catalog([], plan_licenses=parts))
        device = report_device(register("AS1", "SMT1500C", date(2024, 8, 31)), catalog)
        sku_of = plan_license_sku_of(catalog)
        name = "PN-1Y (1Y) / PN-3Y (3Y) / PN-5Y (5Y)"
        row = renewal_row(device, date(2024, 12, 10), plan_license_sku=sku_of)
        assert row.skus_needed == (name,)
        (expiry,) = [
            e for e in lifecycle_events(device.facts(), plan_license_sku=sku_of)
            if e.kind is EventKind.PLAN_EXPIRY
        ]
        assert (expiry.due, expiry.sku) == (date(2025, 2, 28), name)


def test_the_schedule_stamp_changes_with_the_part_numbers_only() -> None:
    # SPEC C1, N1: a stored schedule holds the names of its events, so part numbers are
    # part of what it was built with; a catalog without them keeps its stamp.
    from upslife.app.schedule import schedule_stamp

    plain = Catalog(SHIPPED.entries)
    with_one = SHIPPED.merged(
        Catalog([], plan_licenses=[PlanLicensePart("STANDARD", "1Y", "PN-1", "test")])
    )
    assert schedule_stamp(plain) == schedule_stamp(SHIPPED)
    assert schedule_stamp(with_one) != schedule_stamp(SHIPPED)


class TestGarbageIsRefusedWithTypedErrors:
    @pytest.mark.parametrize(
        "licenses", [None, 3, "STANDARD", [(Plan.STANDARD,)], [("STANDARD", "1Y")], [1]]
    )
    def test_missing_part_numbers_takes_plan_and_term_pairs(self, licenses: object) -> None:
        # SPEC R6, SPEC D5
        with pytest.raises(UpslifeError):
            missing_part_numbers(SHIPPED, licenses)  # type: ignore[arg-type]

    def test_the_helpers_take_a_catalog(self) -> None:
        # SPEC C1, SPEC D5
        with pytest.raises(InvalidType):
            plan_license_sku_of("catalog")  # type: ignore[arg-type]
        with pytest.raises(InvalidType):
            plan_option_sku(SHIPPED, "STANDARD", Term.Y1)  # type: ignore[arg-type]
