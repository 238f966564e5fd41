"""Shared hypothesis strategies: dates that stress month arithmetic, licenses, codes."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from hypothesis import strategies as st

from upslife.entitlements import License, Plan, Term

PAID_PLANS = st.sampled_from([Plan.STANDARD, Plan.ADVANCED])
TERMS = st.sampled_from(list(Term))


@st.composite
def month_end_dates(draw: st.DrawFn, min_year: int = 2000, max_year: int = 2060) -> date:
    """A date on the last days of a month or the first of the next, 29 February often."""
    year = draw(st.integers(min_year, max_year))
    if draw(st.booleans()):
        year = draw(st.sampled_from([y for y in range(min_year, max_year + 1) if y % 4 == 0]))
        month = 2
    else:
        month = draw(st.integers(1, 12))
    last = calendar.monthrange(year, month)[1]
    day = draw(st.sampled_from(sorted({1, 28, min(29, last), min(30, last), last})))
    return date(year, month, day)


def dates(min_year: int = 2000, max_year: int = 2060) -> st.SearchStrategy[date]:
    """Any date, with month ends and 29 February heavily represented."""
    return st.one_of(
        month_end_dates(min_year, max_year),
        st.dates(date(min_year, 1, 1), date(max_year, 12, 31)),
    )


@st.composite
def licenses_after(
    draw: st.DrawFn,
    start: date,
    *,
    plans: st.SearchStrategy[Plan] = PAID_PLANS,
    max_size: int = 8,
    within_days: int = 3000,
) -> list[License]:
    """A list of licenses assigned on days from ``start`` on, in no particular order."""
    count = draw(st.integers(0, max_size))
    result = []
    for n in range(count):
        offset = draw(st.integers(0, within_days))
        result.append(
            License.of(f"L{n}", draw(plans), draw(TERMS), start + timedelta(days=offset))
        )
    return result
